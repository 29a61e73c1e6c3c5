import { BotwireConfigError } from '../../src/errors.js';
import { MAX_JOB_ID_LENGTH } from '../../src/jobs/codec.js';
import { queueInternals } from '../../src/jobs/job-queue.js';
import { runDue } from '../../src/jobs/run-due.js';
import type { Job } from '../../src/jobs/types.js';
import { intInRange } from '../../src/internal/validate.js';
import { checkAccess, type JobsHttpAction, type JobsHttpOptions, type JobsHttpSubject } from './jobs-options.js';
import { errorResponse, etagOf, fail, isJsonContentType, json, matchesEtag, readBody } from './respond.js';
import { checkCronSecret, cronRefusal, runCleanup } from './cleanup-handler.js';

const PENDING = new Set(['waiting', 'delayed', 'active', 'partial']);
const ID = new RegExp(`^[^\\u0000-\\u001f\\u007f]{1,${MAX_JOB_ID_LENGTH}}$`);
/** Namespace of the ids `POST /jobs/:name` derives from `Idempotency-Key`: `http:<name>:<key>`. */
const KEY_PREFIX = 'http:';

function statusView(job: Job, exposeErrors: boolean) {
  const error = job.error ? (exposeErrors ? { name: job.error.name, message: job.error.message } : { name: job.error.name }) : null;
  return {
    id: job.id, name: job.name, state: job.state, attempts: job.attempts,
    maxAttempts: Number.isFinite(job.maxAttempts) ? job.maxAttempts : null,
    progress: job.progress, missing: job.missing, error, hasResult: job.result !== undefined,
    runAt: job.runAt.toISOString(), createdAt: job.createdAt.toISOString(), updatedAt: job.updatedAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null, finishedAt: job.finishedAt?.toISOString() ?? null,
    retryUntil: job.retryUntil?.toISOString() ?? null,
  };
}

/**
 * Web-standard `(Request) => Promise<Response>` endpoints for jobs, for Vercel/Next route handlers,
 * Hono, Deno, Bun — and Express or `node:http` through `toNodeHandler` from `botwire/http/node`.
 *
 * - `POST /jobs/:name` — JSON body = payload → 201 `{ id, state, statusUrl }`. With
 *   `Idempotency-Key: K` the job id is `http:<name>:K`; repeating the key returns that job (200,
 *   `Idempotent-Replayed: true`) when `authorize` allows reading it, whatever the new payload
 * - `GET /jobs/:id` — status with `ETag` (304 on `If-None-Match`) and `Retry-After` while pending
 * - `GET /jobs/:id/result` — 200 with the result (also a partial one), 202 while nothing is there yet
 * - `POST /jobs/:id/retry` — run a failed/partial/cancelled job again now
 * - `GET /jobs/:id/missing` — the parts a partial job is still missing and when it retries
 * - `GET|POST /cron/tick` — `runDue` within `budgetMs`, `Authorization: Bearer <cronSecret>` required
 * - `GET|POST /cron/cleanup` — finished jobs past retention (and the `cleanup` option's session and
 *   rate-limit stores) deleted within `budgetMs`, same secret; see `cleanupHandler`
 *
 * Both POST job routes require `Content-Type: application/json` (415 otherwise). Errors are JSON
 * `{ error: { code, message } }` with messages safe to show callers.
 *
 * @throws {BotwireConfigError} without `authorize` or `public: true`, or for invalid options.
 * @example
 * ```ts
 * // app/api/[...path]/route.ts (Next.js)
 * const handle = jobsHttpHandler({
 *   queue, cronSecret: process.env.CRON_SECRET, basePath: '/api',
 *   authorize: (request, _action, job) => (job.payload as { chatId?: unknown } | null)?.chatId === chatOf(request),
 * });
 * export { handle as GET, handle as POST, handle as HEAD };
 * ```
 */
export function jobsHttpHandler(options: JobsHttpOptions): (request: Request) => Promise<Response> {
  const { queue } = options;
  if (!queue || typeof queue.add !== 'function') throw new BotwireConfigError('jobsHttpHandler needs `queue`: a JobQueue.');
  checkAccess(options);
  const handlers = options.handlers ?? queue.handlers;
  const startable = new Set(options.startable ?? Object.keys(handlers ?? {}));
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  if (base && !base.startsWith('/')) throw new BotwireConfigError(`basePath must start with "/", got ${JSON.stringify(options.basePath)}.`);
  const maxBody = intInRange('maxBodyBytes', options.maxBodyBytes ?? 65_536, 1);
  const pollAfter = String(intInRange('pollAfterSeconds', options.pollAfterSeconds ?? 2, 1));
  const onError = options.onError ?? queue.onError;
  const exposeErrors = options.exposeErrors === true;
  const { cronSecret } = options;
  if (cronSecret !== undefined) checkCronSecret('jobsHttpHandler', cronSecret);

  const authorize = options.authorize as ((r: Request, a: JobsHttpAction, s: JobsHttpSubject) => boolean | Promise<boolean>) | undefined;
  const allowed = async (request: Request, action: JobsHttpAction, subject: JobsHttpSubject): Promise<boolean> =>
    !authorize || (await authorize(request, action, subject)) === true;

  const retryAfter = (job: Job): string => {
    if (job.state === 'delayed' || job.state === 'partial') {
      return String(Math.max(1, Math.ceil((job.runAt.getTime() - queue.now()) / 1000)));
    }
    return pollAfter;
  };

  const started = (job: Job, status: 200 | 201): Response => {
    const location = `${base}/jobs/${encodeURIComponent(job.id)}`;
    const headers: Record<string, string> = { location };
    if (status === 200) headers['idempotent-replayed'] = 'true';
    return json(status, { id: job.id, state: job.state, statusUrl: location }, headers);
  };

  /** A key that exists already: the caller gets the job only if it may read it, and learns nothing else. */
  async function replay(request: Request, name: string, job: Job): Promise<Response> {
    if (job.name === name && (await allowed(request, 'read', job))) return started(job, 200);
    return fail(409, 'JOB_CONFLICT', 'This Idempotency-Key is already used by another job.');
  }

  async function enqueue(request: Request, name: string): Promise<Response> {
    if (!startable.has(name)) return fail(404, 'JOB_UNKNOWN', 'There is no such job that can be started here.');
    const text = await readBody(request, maxBody);
    if (text instanceof Response) return text;
    let payload: unknown = null;
    if (text.trim() !== '') {
      try { payload = JSON.parse(text); } catch { return fail(400, 'BAD_JSON', 'The request body is not valid JSON.'); }
    }
    const key = request.headers.get('idempotency-key');
    const maxKey = MAX_JOB_ID_LENGTH - KEY_PREFIX.length - name.length - 1;
    if (key !== null && (!ID.test(key) || key.length > maxKey)) {
      return fail(400, 'BAD_IDEMPOTENCY_KEY', `Idempotency-Key must be 1–${maxKey} printable characters for this job.`);
    }
    if (!(await allowed(request, 'enqueue', { name, payload }))) return fail(403, 'FORBIDDEN', 'Not allowed to start this job.');
    if (key === null) return started(await queue.add(name, payload), 201);
    // The name is part of the id, so a key can never reach another name's job, the app's own ids
    // (unless they start with `http:`) or a schedule slot (`$…`).
    const id = `${KEY_PREFIX}${name}:${key}`;
    const existing = await queue.get(id);
    if (existing) return replay(request, name, existing);
    const job = await queue.add(name, payload, { id });
    // Another request with this key may have won the race between get and add.
    if (JSON.stringify(job.payload) !== JSON.stringify(payload)) return replay(request, name, job);
    return started(job, 201);
  }

  async function status(request: Request, job: Job): Promise<Response> {
    const body = JSON.stringify(statusView(job, exposeErrors));
    const etag = await etagOf(body);
    const headers: Record<string, string> = { etag, 'cache-control': 'no-cache' };
    if (PENDING.has(job.state)) headers['retry-after'] = retryAfter(job);
    if (matchesEtag(request.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers });
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });
  }

  function result(job: Job): Response {
    if (job.result !== undefined) {
      return json(200, { id: job.id, state: job.state, complete: job.state === 'completed', result: job.result, missing: job.missing });
    }
    if (PENDING.has(job.state)) return json(202, { id: job.id, state: job.state }, { 'retry-after': retryAfter(job) });
    const why = job.error ? (exposeErrors ? ` (${job.error.name}: ${job.error.message})` : ` (${job.error.name})`) : '';
    return fail(409, 'JOB_NO_RESULT', `The job ended ${job.state} without a result${why}. Retry it with POST ${base}/jobs/${encodeURIComponent(job.id)}/retry.`);
  }

  function missing(job: Job): Response {
    return json(200, {
      id: job.id, state: job.state, missing: job.missing,
      nextRunAt: PENDING.has(job.state) && job.state !== 'active' ? job.runAt.toISOString() : null,
    });
  }

  async function tick(request: Request): Promise<Response> {
    if (cronSecret === undefined) return fail(404, 'NOT_FOUND', 'No route for /cron/tick.');
    const refused = await cronRefusal(request, cronSecret);
    if (refused) return refused;
    const summary = await runDue(queue, handlers, { budgetMs: options.budgetMs, concurrency: options.concurrency });
    return json(200, summary);
  }

  async function cleanup(request: Request): Promise<Response> {
    if (cronSecret === undefined) return fail(404, 'NOT_FOUND', 'No route for /cron/cleanup.');
    const refused = await cronRefusal(request, cronSecret);
    if (refused) return refused;
    const summary = await runCleanup({ ...options.cleanup, queues: queue }, intInRange('budgetMs', options.budgetMs ?? 50_000, 1), onError);
    return json(summary.errors.length > 0 ? 503 : 200, summary);
  }

  async function onJob(request: Request, id: string, route: 'status' | 'result' | 'missing' | 'retry'): Promise<Response> {
    const job = await queue.get(id);
    if (!job) return fail(404, 'JOB_NOT_FOUND', `Job "${id}" does not exist (never started, or already removed by retention).`);
    const action = route === 'retry' ? 'retry' : 'read';
    if (!(await allowed(request, action, job))) return fail(403, 'FORBIDDEN', `Not allowed to ${action} this job.`);
    if (route === 'status') return status(request, job);
    if (route === 'result') return result(job);
    if (route === 'missing') return missing(job);
    return json(200, statusView(await queue.retry(id), exposeErrors));
  }

  const handle = async (request: Request): Promise<Response> => {
    try {
      let path: string;
      try { path = new URL(request.url).pathname; } catch { return fail(400, 'BAD_REQUEST', 'The request URL or Host header is invalid.'); }
      if (base) {
        if (path !== base && !path.startsWith(`${base}/`)) return fail(404, 'NOT_FOUND', 'No such route.');
        path = path.slice(base.length);
      }
      const parts = path.split('/').filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch { return '\u0000'; } });
      const method = request.method.toUpperCase();
      const only = (methods: string[]): Response | undefined =>
        methods.includes(method) ? undefined : fail(405, 'METHOD_NOT_ALLOWED', `Use ${methods.join(' or ')} here.`, { allow: methods.join(', ') });
      // Checked before the body is read: a cross-site form or beacon cannot send JSON without a preflight.
      const jsonOnly = (): Response | undefined =>
        isJsonContentType(request.headers.get('content-type'))
          ? undefined
          : fail(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send `Content-Type: application/json` (with a JSON body, or none).');

      if (parts[0] === 'cron' && parts[1] === 'tick' && parts.length === 2) return only(['GET', 'POST']) ?? (await tick(request));
      if (parts[0] === 'cron' && parts[1] === 'cleanup' && parts.length === 2) return only(['GET', 'POST']) ?? (await cleanup(request));
      if (parts[0] !== 'jobs' || parts.length < 2 || parts.length > 3) return fail(404, 'NOT_FOUND', 'No such route.');
      const subject = parts[1]!;
      if (!ID.test(subject)) return fail(400, 'BAD_ID', `A job id must be 1–${MAX_JOB_ID_LENGTH} printable characters.`);
      if (parts.length === 2 && method === 'POST') return jsonOnly() ?? (await enqueue(request, subject));
      const route = parts.length === 2 ? 'status' : parts[2];
      if (route === 'retry') return only(['POST']) ?? jsonOnly() ?? (await onJob(request, subject, 'retry'));
      if (route === 'status' || route === 'result' || route === 'missing') {
        return only(['GET', 'HEAD']) ?? (await onJob(request, subject, route));
      }
      return fail(404, 'NOT_FOUND', 'No such route.');
    } catch (err) {
      return errorResponse(err, onError);
    }
  };
  const logger = options.logger ?? queueInternals(queue).logger;
  if (!logger) return handle;
  return async function handleJobsRequest(request: Request): Promise<Response> {
    const response = await handle(request);
    // Refusals are what an operator watches for (a leaked or rotated cron secret, a broken client).
    if (response.status === 401 || response.status === 403) {
      let path = '';
      try { path = new URL(request.url).pathname; } catch { /* answered 400 above */ }
      logger.warn({ name: path, method: request.method, status: response.status }, 'botwire http: request refused');
    }
    return response;
  };
}
