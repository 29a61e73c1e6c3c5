import { BotwireConfigError } from '../../src/errors.js';
import type { JobQueue } from '../../src/jobs/job-queue.js';
import { runDue } from '../../src/jobs/run-due.js';
import type { Job, JobHandlers } from '../../src/jobs/types.js';
import { errorResponse, etagOf, fail, json, matchesEtag, readBody, safeEqual } from './respond.js';

/** What an `authorize` hook is asked about. */
export type JobsHttpAction = 'start' | 'status' | 'result' | 'retry' | 'missing';

/** Options of {@link jobsHttpHandler}. */
export interface JobsHttpOptions {
  /** The queue jobs are started on and read from. */
  queue: JobQueue;
  /** Handlers `/cron/tick` runs (and the names `POST /jobs/:name` accepts). @default the queue's handlers */
  handlers?: JobHandlers;
  /**
   * Secret `/cron/tick` requires as `Authorization: Bearer <secret>` (Vercel sends `CRON_SECRET` this
   * way). Without it the tick route answers 404.
   */
  cronSecret?: string;
  /** Wall time one tick may use. @default 50_000 */
  budgetMs?: number;
  /** Jobs one tick runs at the same time. @default 4 */
  concurrency?: number;
  /** Path prefix the handler is mounted under, e.g. `/api`. @default '' */
  basePath?: string;
  /** Largest request body accepted, in bytes. @default 65_536 */
  maxBodyBytes?: number;
  /** Job names `POST /jobs/:name` may start. @default every handler name */
  startable?: readonly string[];
  /**
   * Decide whether a request may do `action` (return false → 403). Job ids are random UUIDs, but
   * anyone holding one can read its status: add your own check for anything sensitive.
   * @default allow everything
   */
  authorize?: (request: Request, action: JobsHttpAction, subject: string) => boolean | Promise<boolean>;
  /** Suggested polling interval for pending jobs (`Retry-After`), seconds. @default 2 */
  pollAfterSeconds?: number;
  /** Where unexpected errors go. @default the queue's onError */
  onError?: (error: unknown) => void;
}

const PENDING = new Set(['waiting', 'delayed', 'active', 'partial']);
const ID = /^[^\u0000-\u001f\u007f]{1,200}$/;

function statusView(job: Job) {
  return {
    id: job.id, name: job.name, state: job.state, attempts: job.attempts,
    maxAttempts: Number.isFinite(job.maxAttempts) ? job.maxAttempts : null,
    progress: job.progress, missing: job.missing, error: job.error ?? null, hasResult: job.result !== undefined,
    runAt: job.runAt.toISOString(), createdAt: job.createdAt.toISOString(), updatedAt: job.updatedAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null, finishedAt: job.finishedAt?.toISOString() ?? null,
    retryUntil: job.retryUntil?.toISOString() ?? null,
  };
}

/**
 * Web-standard `(Request) => Promise<Response>` endpoints for jobs, for Vercel/Next route handlers,
 * Hono, Deno, Bun — and Express or `node:http` through `toNodeHandler` from `botwire/http/node`.
 *
 * - `POST /jobs/:name` — body = JSON payload; optional `Idempotency-Key` header = job id → 201 `{ id, state }`
 * - `GET /jobs/:id` — status with `ETag` (304 on `If-None-Match`) and `Retry-After` while pending
 * - `GET /jobs/:id/result` — 200 with the result (also a partial one), 202 while nothing is there yet
 * - `POST /jobs/:id/retry` — run a failed/partial/cancelled job again now
 * - `GET /jobs/:id/missing` — the parts a partial job is still missing and when it retries
 * - `GET|POST /cron/tick` — `runDue` within `budgetMs`, `Authorization: Bearer <cronSecret>` required
 *
 * Errors are JSON `{ error: { code, message } }` with a fitting status.
 *
 * @example
 * ```ts
 * // app/api/[...path]/route.ts (Next.js)
 * const handle = jobsHttpHandler({ queue, cronSecret: process.env.CRON_SECRET, basePath: '/api' });
 * export { handle as GET, handle as POST };
 * ```
 */
export function jobsHttpHandler(options: JobsHttpOptions): (request: Request) => Promise<Response> {
  const { queue } = options;
  if (!queue || typeof queue.add !== 'function') throw new BotwireConfigError('jobsHttpHandler needs `queue`: a JobQueue.');
  const handlers = options.handlers ?? queue.handlers;
  const startable = new Set(options.startable ?? Object.keys(handlers ?? {}));
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  if (base && !base.startsWith('/')) throw new BotwireConfigError(`basePath must start with "/", got ${JSON.stringify(options.basePath)}.`);
  const maxBody = options.maxBodyBytes ?? 65_536;
  const pollAfter = String(options.pollAfterSeconds ?? 2);
  const onError = options.onError ?? queue.onError;
  if (options.cronSecret !== undefined && options.cronSecret.length < 16) {
    throw new BotwireConfigError('cronSecret must be at least 16 characters; generate one with `openssl rand -hex 32`.');
  }

  const allowed = async (request: Request, action: JobsHttpAction, subject: string): Promise<boolean> =>
    !options.authorize || (await options.authorize(request, action, subject)) === true;

  const retryAfter = (job: Job): string => {
    if (job.state === 'delayed' || job.state === 'partial') {
      return String(Math.max(1, Math.ceil((job.runAt.getTime() - queue.now()) / 1000)));
    }
    return pollAfter;
  };

  async function load(id: string): Promise<Job | Response> {
    const job = await queue.get(id);
    return job ?? fail(404, 'JOB_NOT_FOUND', `Job "${id}" does not exist (never started, or already removed by retention).`);
  }

  async function start(request: Request, name: string): Promise<Response> {
    if (!startable.has(name)) return fail(404, 'JOB_UNKNOWN', `There is no job "${name}" that can be started here.`);
    if (!(await allowed(request, 'start', name))) return fail(403, 'FORBIDDEN', 'Not allowed to start this job.');
    const type = request.headers.get('content-type') ?? '';
    if (type && !/^application\/([\w.+-]*\+)?json\b/i.test(type)) {
      return fail(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the job payload as application/json.');
    }
    const text = await readBody(request, maxBody);
    if (text instanceof Response) return text;
    let payload: unknown = null;
    if (text.trim() !== '') {
      try { payload = JSON.parse(text); } catch { return fail(400, 'BAD_JSON', 'The request body is not valid JSON.'); }
    }
    const key = request.headers.get('idempotency-key');
    if (key !== null && !ID.test(key)) return fail(400, 'BAD_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1–200 printable characters.');
    const job = await queue.add(name, payload, key === null ? {} : { id: key });
    const location = `${base}/jobs/${encodeURIComponent(job.id)}`;
    return json(201, { id: job.id, state: job.state, statusUrl: location }, { location });
  }

  async function status(request: Request, id: string): Promise<Response> {
    const job = await load(id);
    if (job instanceof Response) return job;
    const body = JSON.stringify(statusView(job));
    const etag = await etagOf(body);
    const headers: Record<string, string> = { etag, 'cache-control': 'no-cache' };
    if (PENDING.has(job.state)) headers['retry-after'] = retryAfter(job);
    if (matchesEtag(request.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers });
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });
  }

  async function result(id: string): Promise<Response> {
    const job = await load(id);
    if (job instanceof Response) return job;
    if (job.result !== undefined) {
      return json(200, { id: job.id, state: job.state, complete: job.state === 'completed', result: job.result, missing: job.missing });
    }
    if (PENDING.has(job.state)) return json(202, { id: job.id, state: job.state }, { 'retry-after': retryAfter(job) });
    const why = job.error ? `: ${job.error.message}` : '';
    return fail(409, 'JOB_NO_RESULT', `Job "${id}" ended ${job.state} without a result${why}. Retry it with POST ${base}/jobs/${id}/retry.`);
  }

  async function missing(id: string): Promise<Response> {
    const job = await load(id);
    if (job instanceof Response) return job;
    return json(200, {
      id: job.id, state: job.state, missing: job.missing,
      nextRunAt: PENDING.has(job.state) && job.state !== 'active' ? job.runAt.toISOString() : null,
    });
  }

  async function tick(request: Request): Promise<Response> {
    if (options.cronSecret === undefined) return fail(404, 'NOT_FOUND', 'The cron tick is disabled: pass `cronSecret` to jobsHttpHandler.');
    const auth = request.headers.get('authorization') ?? '';
    const presented = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!(await safeEqual(presented, options.cronSecret))) {
      return fail(401, 'UNAUTHORIZED', 'Send the cron secret as `Authorization: Bearer <secret>`.', { 'www-authenticate': 'Bearer' });
    }
    const summary = await runDue(queue, handlers, { budgetMs: options.budgetMs, concurrency: options.concurrency });
    return json(200, summary);
  }

  return async function handleJobsRequest(request: Request): Promise<Response> {
    try {
      let path = new URL(request.url).pathname;
      if (base) {
        if (path !== base && !path.startsWith(`${base}/`)) return fail(404, 'NOT_FOUND', `No route for ${path}.`);
        path = path.slice(base.length);
      }
      const parts = path.split('/').filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch { return '\u0000'; } });
      const method = request.method.toUpperCase();
      const only = (allowedMethods: string[], run: () => Promise<Response>): Promise<Response> =>
        allowedMethods.includes(method)
          ? run()
          : Promise.resolve(fail(405, 'METHOD_NOT_ALLOWED', `Use ${allowedMethods.join(' or ')} here.`, { allow: allowedMethods.join(', ') }));

      if (parts[0] === 'cron' && parts[1] === 'tick' && parts.length === 2) return await only(['GET', 'POST'], () => tick(request));
      if (parts[0] !== 'jobs' || parts.length < 2 || parts.length > 3) return fail(404, 'NOT_FOUND', `No route for ${path}.`);
      const subject = parts[1]!;
      if (!ID.test(subject)) return fail(400, 'BAD_ID', 'A job id must be 1–200 printable characters.');
      if (parts.length === 2 && method === 'POST') return await start(request, subject);
      const action: JobsHttpAction = parts.length === 2 ? 'status' : (parts[2] as JobsHttpAction);
      if (!['status', 'result', 'retry', 'missing'].includes(action)) return fail(404, 'NOT_FOUND', `No route for ${path}.`);
      const methods = action === 'retry' ? ['POST'] : action === 'status' ? ['GET', 'HEAD', 'POST'] : ['GET', 'HEAD'];
      return await only(methods, async () => {
        if (!(await allowed(request, action, subject))) return fail(403, 'FORBIDDEN', `Not allowed to ${action} this job.`);
        if (action === 'status') return status(request, subject);
        if (action === 'result') return result(subject);
        if (action === 'missing') return missing(subject);
        const job = await queue.retry(subject);
        return json(200, statusView(job));
      });
    } catch (err) {
      return errorResponse(err, onError);
    }
  };
}
