/**
 * `/cron/cleanup`: the housekeeping a serverless deploy has no long-running process for — expired
 * sessions, finished jobs past their retention, rate-limit counters of past windows — within a time
 * budget, behind the cron secret.
 *
 * @module
 */
import { BotwireConfigError } from '../../src/errors.js';
import { healthReason } from '../../src/health.js';
import type { JobQueue } from '../../src/jobs/job-queue.js';
import type { RateLimitStore } from '../../src/rate-limit/rate-limit-store.js';
import type { SessionStore } from '../../src/session/session-store.js';
import { intInRange } from '../../src/internal/validate.js';
import { fail, json, safeEqual } from './respond.js';

/** What `/cron/cleanup` cleans; each may be one object or a list. */
export interface CleanupTargets {
  /** Session stores whose expired records are deleted (`cleanup()`; a no-op on memory and Redis). */
  sessions?: SessionStore<any> | ReadonlyArray<SessionStore<any>>; // eslint-disable-line @typescript-eslint/no-explicit-any -- any session type
  /** Job queues whose finished jobs past retention are deleted (`removeFinished()`). */
  queues?: JobQueue | readonly JobQueue[];
  /** Rate-limit stores whose counters of past windows are deleted (`cleanup()`; Postgres, Supabase). */
  rateLimits?: RateLimitStore | readonly RateLimitStore[];
}

/** Options of {@link cleanupHandler}. */
export interface CleanupHandlerOptions extends CleanupTargets {
  /**
   * Secret the route requires as `Authorization: Bearer <secret>` (Vercel Cron sends `CRON_SECRET`
   * this way), at least 16 characters.
   */
  cronSecret: string;
  /** Wall time one run may use; no new batch starts after it (`complete: false` then). @default 50_000 */
  budgetMs?: number;
  /** Path prefix the handler is mounted under, e.g. `/api`. @default '' */
  basePath?: string;
  /** Where failures go with full details (the response names only a short reason). @default console.error */
  onError?: (error: unknown) => void;
}

/** The body `/cron/cleanup` answers with. */
export interface CleanupSummary {
  /** Expired session records deleted. */
  sessions: number;
  /** Finished jobs deleted. */
  jobs: number;
  /** Rate-limit counters deleted. */
  rateLimits: number;
  /** False when the budget ran out (run again) or a part failed. */
  complete: boolean;
  /** Wall time in milliseconds. */
  durationMs: number;
  /** Parts that failed, with a publishable reason (`'unavailable'`, `'timed out'` …). */
  errors: Array<{ part: 'sessions' | 'jobs' | 'rateLimits'; reason: string }>;
}

const list = <T>(value: T | readonly T[] | undefined): readonly T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value as T]);

/** Run the cleanup of `targets` within `budgetMs`. @internal shared with `jobsHttpHandler`. */
export async function runCleanup(targets: CleanupTargets, budgetMs: number, onError: (e: unknown) => void): Promise<CleanupSummary> {
  const started = Date.now();
  const left = (): number => Math.max(1, budgetMs - (Date.now() - started));
  const summary: CleanupSummary = { sessions: 0, jobs: 0, rateLimits: 0, complete: true, durationMs: 0, errors: [] };
  const parts: Array<[CleanupSummary['errors'][number]['part'], Array<() => Promise<number>>]> = [
    ['sessions', list(targets.sessions).map((s) => () => s.cleanup({ budgetMs: left() }))],
    ['jobs', list(targets.queues).map((q) => () => q.removeFinished({ budgetMs: left() }))],
    ['rateLimits', list(targets.rateLimits).map((r) => () => r.cleanup({ budgetMs: left() }))],
  ];
  for (const [part, runs] of parts) {
    for (const run of runs) {
      if (Date.now() - started >= budgetMs) { summary.complete = false; break; }
      try {
        summary[part] += await run();
      } catch (err) {
        onError(err);
        summary.errors.push({ part, reason: healthReason(err) });
        summary.complete = false;
      }
    }
  }
  summary.durationMs = Date.now() - started;
  if (summary.durationMs >= budgetMs) summary.complete = false;
  return summary;
}

/** Refuse a weak or missing cron secret. @internal */
export function checkCronSecret(where: string, secret: unknown): void {
  if (typeof secret !== 'string' || secret.length < 16) {
    throw new BotwireConfigError(`${where}: cronSecret must be a string of at least 16 characters; generate one with \`openssl rand -hex 32\`.`);
  }
}

/** 401 unless `request` carries `Authorization: Bearer <secret>` (compared in constant time). @internal */
export async function cronRefusal(request: Request, secret: string): Promise<Response | undefined> {
  const auth = request.headers.get('authorization') ?? '';
  const presented = auth.startsWith('Bearer ') ? auth.slice(7) : '';
  if (await safeEqual(presented, secret)) return undefined;
  return fail(401, 'UNAUTHORIZED', 'Send the cron secret as `Authorization: Bearer <secret>`.', { 'www-authenticate': 'Bearer' });
}

/**
 * A web-standard handler for `GET|POST /cron/cleanup` (under `basePath`): with the cron secret it
 * deletes expired sessions, finished jobs past retention and rate-limit counters of past windows,
 * stopping once `budgetMs` is used, and answers `200 { sessions, jobs, rateLimits, complete,
 * durationMs, errors }` (503 when a part failed). `jobsHttpHandler` serves the same route for its
 * queue when given a `cronSecret`.
 *
 * @example
 * ```ts
 * // app/api/cron/cleanup/route.ts, run every 6 h by Vercel Cron
 * const handle = cleanupHandler({ cronSecret: process.env.CRON_SECRET!, sessions: store, queues: queue, rateLimits: limits, basePath: '/api' });
 * export { handle as GET };
 * ```
 */
export function cleanupHandler(options: CleanupHandlerOptions): (request: Request) => Promise<Response> {
  checkCronSecret('cleanupHandler', options?.cronSecret);
  const budgetMs = intInRange('budgetMs', options.budgetMs ?? 50_000, 1);
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  if (base && !base.startsWith('/')) throw new BotwireConfigError(`basePath must start with "/", got ${JSON.stringify(options.basePath)}.`);
  const onError = options.onError ?? ((e: unknown) => console.error('[botwire cleanup]', e));
  return async function handleCleanupRequest(request: Request): Promise<Response> {
    let path: string;
    try { path = new URL(request.url).pathname; } catch { return fail(400, 'BAD_REQUEST', 'The request URL or Host header is invalid.'); }
    if (path !== `${base}/cron/cleanup`) return fail(404, 'NOT_FOUND', 'No such route.');
    const method = request.method.toUpperCase();
    if (method !== 'GET' && method !== 'POST') return fail(405, 'METHOD_NOT_ALLOWED', 'Use GET or POST here.', { allow: 'GET, POST' });
    const refused = await cronRefusal(request, options.cronSecret);
    if (refused) return refused;
    const summary = await runCleanup(options, budgetMs, onError);
    return json(summary.errors.length > 0 ? 503 : 200, summary);
  };
}
