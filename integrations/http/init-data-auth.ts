/**
 * Mini App authentication for web-standard handlers: the user behind a request's signed `initData`
 * (`Authorization: tma <initData>`), and a ready `authorize` for `jobsHttpHandler` built on it.
 *
 * @module
 */
import { BotwireConfigError, InitDataError } from '../../src/errors.js';
import type { Job } from '../../src/jobs/types.js';
import { verifyInitData, type InitDataUser, type VerifiedInitData } from '../../src/telegram/init-data.js';
import { initDataFromAuthorization } from '../../src/telegram/init-data-token.js';
import type { JobsHttpAuthorize, JobsHttpEnqueueSubject } from './jobs-options.js';

/** Options of {@link initDataAuth}. */
export interface InitDataAuthOptions {
  /** The token of the bot the Mini App belongs to. */
  botToken: string;
  /** Refuse `initData` signed longer ago than this. @default 86_400 (one day) */
  maxAgeSec?: number;
  /** Told about every refused `initData` (bad hash, expired…). */
  onRefused?: (error: InitDataError) => void;
}

function checkToken(where: string, botToken: unknown): asserts botToken is string {
  if (typeof botToken !== 'string' || !/^\d+:[\w-]{20,}$/.test(botToken)) {
    throw new BotwireConfigError(`${where}: \`botToken\` is not a Bot API token (<id>:<secret>); pass the token the Mini App belongs to.`);
  }
}

/**
 * Read and verify the `initData` of a request (`Authorization: tma <initData>`, or
 * `Authorization: Bearer tma.<base64url>` from `initDataToken`): resolves with the verified data
 * when it carries a user, else `undefined` (no header, bad signature, expired).
 *
 * @example
 * ```ts
 * const miniAppUser = initDataAuth({ botToken: process.env.BOT_TOKEN! });
 * const data = await miniAppUser(request);
 * if (!data) return new Response('Unauthorized', { status: 401 });
 * ```
 */
export function initDataAuth(options: InitDataAuthOptions): (request: Request) => Promise<(VerifiedInitData & { user: InitDataUser }) | undefined> {
  checkToken('initDataAuth', options?.botToken);
  const { botToken, maxAgeSec } = options;
  return async (request) => {
    const initData = initDataFromAuthorization(request.headers.get('authorization'));
    if (!initData) return undefined;
    try {
      const data = await verifyInitData(initData, botToken, maxAgeSec === undefined ? {} : { maxAgeSec });
      return data.user && Number.isSafeInteger(data.user.id) ? (data as VerifiedInitData & { user: InitDataUser }) : undefined;
    } catch (err) {
      if (err instanceof InitDataError) { options.onRefused?.(err); return undefined; }
      throw err;
    }
  };
}

/** Options of {@link initDataJobsAuthorize}. */
export interface InitDataJobsAuthorizeOptions extends InitDataAuthOptions {
  /**
   * Whether this Mini App user may `enqueue` (subject: name and payload), `read` or `retry`
   * (subject: the stored job). Only `true` allows.
   */
  allow: (user: InitDataUser, action: 'enqueue' | 'read' | 'retry', subject: JobsHttpEnqueueSubject | Job) => boolean | Promise<boolean>;
}

/**
 * `authorize` for `jobsHttpHandler` from Mini App `initData`: requests without valid `initData`
 * get 403; the others are decided by `allow(user, action, subject)`.
 *
 * @example
 * ```ts
 * const handle = jobsHttpHandler({
 *   queue,
 *   authorize: initDataJobsAuthorize({
 *     botToken: process.env.BOT_TOKEN!,
 *     allow: (user, _action, subject) => (subject.payload as { userId?: unknown } | null)?.userId === user.id,
 *   }),
 * });
 * ```
 */
export function initDataJobsAuthorize(options: InitDataJobsAuthorizeOptions): JobsHttpAuthorize {
  if (typeof options?.allow !== 'function') throw new BotwireConfigError('initDataJobsAuthorize needs `allow: (user, action, subject) => boolean`.');
  const userOf = initDataAuth(options);
  return async (request, action, subject) => {
    const data = await userOf(request);
    return data !== undefined && (await options.allow(data.user, action, subject)) === true;
  };
}
