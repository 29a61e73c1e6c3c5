import { BotwireConfigError, JobNotFoundError, SessionConflictError, SyncTopicError } from '../../src/errors.js';
import { MAX_JOB_ID_LENGTH } from '../../src/jobs/codec.js';
import type { JobQueue } from '../../src/jobs/job-queue.js';
import type { Job } from '../../src/jobs/types.js';
import { intInRange, positiveMs } from '../../src/internal/validate.js';
import { errorResponse, etagOf, fail, isJsonContentType, json, matchesEtag, readBody } from '../http/respond.js';
import { queuesOf, type DashboardAction, type DashboardOptions, type DashboardSubject } from './dashboard-options.js';
import { countsView, detailView, isJobState, limitsView, listView, schedulesView, type ListFilter } from './jobs-api.js';
import { LiveFeed, patternsMatcher } from './live-feed.js';
import { ProgressWatch } from './progress-watch.js';
import { Refusal, refuse } from './refusal.js';
import { assetResponse, pageResponse, SECURITY_HEADERS } from './static-files.js';
import { healthView, sessionDelete, sessionSet, sessionView, type SessionStoreLike } from './sessions-api.js';

const ID = new RegExp(`^[^\\u0000-\\u001f\\u007f]{1,${MAX_JOB_ID_LENGTH}}$`);
const NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

/**
 * A web-standard `(Request) => Promise<Response>` serving the botwire dashboard — a prebuilt page
 * (no runtime dependency, assets inside the package) and the JSON endpoints it uses: job counts per
 * name and state, a filtered job list, a job in full with retry / cancel / run now / remove, schedules,
 * limits, sessions by key, bus events live over Server-Sent Events (with an ETag-polled fallback),
 * and health checks. Mount it in any framework that speaks `Request`/`Response`, or on Express and
 * `node:http` with `toNodeHandler` from `botwire/http/node`.
 *
 * Every request asks `authorize(request, 'view', …)` first (refused: 401, and the page shows its
 * sign-in hint); every action asks again with its own action and subject (refused: 403). Actions
 * are POSTs with `Content-Type: application/json` from the same host, so a cross-site form or
 * beacon cannot trigger them. Errors are JSON `{ error: { code, message } }`.
 *
 * @throws {BotwireConfigError} without `authorize`, without a queue, or for invalid options.
 * @example
 * ```ts
 * // app/admin/jobs/[[...path]]/route.ts (Next.js)
 * const handle = dashboardHandler({ queue, store, bus, basePath: '/admin/jobs', authorize: (request) => isAdmin(request) });
 * export { handle as GET, handle as POST };
 * ```
 */
export function dashboardHandler(options: DashboardOptions): (request: Request) => Promise<Response> {
  const queues = queuesOf(options);
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  if (base && !base.startsWith('/')) throw new BotwireConfigError(`basePath must start with "/", got ${JSON.stringify(options.basePath)}.`);
  const streamMs = positiveMs('streamMs', options.streamMs ?? 25_000);
  const maxBody = intInRange('maxBodyBytes', options.maxBodyBytes ?? 262_144, 1);
  const healthTimeoutMs = positiveMs('healthTimeoutMs', options.healthTimeoutMs ?? 5_000);
  const feed = options.bus ? new LiveFeed(options.bus, intInRange('bufferSize', options.bufferSize ?? 500, 1, 100_000)) : undefined;
  const store = options.store as SessionStoreLike | undefined;
  const onError = options.onError ?? ((e: unknown) => console.error('[botwire dashboard]', e));
  const progress = feed ? new ProgressWatch(queues, positiveMs('progressIntervalMs', options.progressIntervalMs ?? 1_000), onError) : undefined;
  const { authorize } = options;
  const features = {
    queues: [...queues.keys()], sessions: store !== undefined, sessionEdit: store !== undefined && options.allowSessionEdit === true,
    events: feed !== undefined, health: Object.keys(options.health ?? {}),
  };

  async function allow(request: Request, action: DashboardAction, subject: DashboardSubject): Promise<void> {
    if ((await authorize(request, action, subject)) === true) return;
    if (action === 'view') {
      const headers: Record<string, string> = options.challenge ? { 'www-authenticate': options.challenge } : {};
      const res = json(401, { error: { code: 'UNAUTHORIZED', message: 'Sign in to see the dashboard.' }, loginUrl: options.loginUrl ?? null }, headers);
      throw new Refusal(res);
    }
    throw refuse(403, 'FORBIDDEN', `Not allowed to ${action.replace('.', ' ')} here.`);
  }

  /** A JSON answer with an ETag, or 304 when the page already has it (cheap polling). */
  async function cached(request: Request, value: unknown): Promise<Response> {
    const body = JSON.stringify(value);
    const etag = await etagOf(body);
    const headers = { etag, 'cache-control': 'no-cache', ...SECURITY_HEADERS };
    if (matchesEtag(request.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers });
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });
  }

  function queueOf(url: URL): [string, JobQueue] {
    const name = url.searchParams.get('queue') ?? features.queues[0]!;
    const queue = queues.get(name);
    if (!queue) throw refuse(404, 'QUEUE_NOT_FOUND', `There is no queue "${name}" here; use one of ${features.queues.join(', ')}.`);
    return [name, queue];
  }

  function param(url: URL, key: string, test: RegExp, what: string): string | undefined {
    const v = url.searchParams.get(key);
    if (v === null || v === '') return undefined;
    if (!test.test(v)) throw refuse(400, 'BAD_QUERY', `${key} must be ${what}.`);
    return v;
  }

  function patternsOf(url: URL): readonly string[] {
    return (url.searchParams.get('topics') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  }

  function afterOf(request: Request, url: URL): number {
    const v = url.searchParams.get('after') ?? request.headers.get('last-event-id') ?? '0';
    if (!/^\d{1,15}$/.test(v)) throw refuse(400, 'BAD_QUERY', 'after must be a non-negative integer (the seq of the last event seen).');
    return Number(v);
  }

  /** The parsed JSON object of an action's body (`{}` when empty). */
  async function bodyOf(request: Request): Promise<Record<string, unknown>> {
    const text = await readBody(request, maxBody);
    if (text instanceof Response) throw new Refusal(text);
    if (text.trim() === '') return {};
    let value: unknown;
    try { value = JSON.parse(text); } catch { throw refuse(400, 'BAD_JSON', 'The request body is not valid JSON.'); }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refuse(400, 'BAD_JSON', 'The request body must be a JSON object.');
    return value as Record<string, unknown>;
  }

  /** Refuse what a cross-site page could send: non-JSON bodies (forms, beacons) and foreign origins. */
  function sameSiteJson(request: Request): void {
    if (!isJsonContentType(request.headers.get('content-type'))) {
      throw refuse(415, 'UNSUPPORTED_MEDIA_TYPE', 'Actions need `Content-Type: application/json`; forms cannot trigger them.');
    }
    const site = request.headers.get('sec-fetch-site');
    const origin = request.headers.get('origin');
    let foreign = site === 'cross-site';
    if (origin !== null) {
      try { foreign ||= new URL(origin).host !== new URL(request.url).host; } catch { foreign = true; }
    }
    if (foreign) throw refuse(403, 'CROSS_SITE', 'Actions are accepted only from the dashboard page itself (same host).');
  }

  async function jobOf(url: URL, id: string): Promise<[string, JobQueue, Job]> {
    const [name, queue] = queueOf(url);
    if (!ID.test(id)) throw refuse(400, 'BAD_ID', `A job id must be 1–${MAX_JOB_ID_LENGTH} printable characters.`);
    const job = await queue.get(id);
    if (!job) throw new JobNotFoundError(id);
    return [name, queue, job];
  }

  async function overview(request: Request, url: URL): Promise<Response> {
    const [name, queue] = queueOf(url);
    const [counts, limits] = await Promise.all([countsView(queue), limitsView(queue)]);
    return cached(request, { queue: name, features, counts, schedules: schedulesView(queue), limits, loginUrl: options.loginUrl ?? null });
  }

  async function list(request: Request, url: URL): Promise<Response> {
    const [, queue] = queueOf(url);
    const state = url.searchParams.get('state') || undefined;
    if (state !== undefined && !isJobState(state)) throw refuse(400, 'BAD_QUERY', 'state must be one of waiting, delayed, active, partial, completed, failed, cancelled.');
    const limit = url.searchParams.get('limit');
    const filter: ListFilter = {
      state, name: param(url, 'name', NAME, 'a job name'), group: param(url, 'group', NAME, 'a group name'),
      text: url.searchParams.get('q')?.slice(0, MAX_JOB_ID_LENGTH) || undefined, cursor: url.searchParams.get('cursor') || undefined,
      limit: limit === null ? 50 : /^\d{1,4}$/.test(limit) && +limit >= 1 && +limit <= 500 ? +limit : NaN,
    };
    if (Number.isNaN(filter.limit)) throw refuse(400, 'BAD_QUERY', 'limit must be an integer from 1 to 500.');
    return cached(request, await listView(queue, filter));
  }

  async function jobAction(request: Request, url: URL, id: string, action: 'retry' | 'cancel' | 'run' | 'remove'): Promise<Response> {
    sameSiteJson(request);
    await bodyOf(request);
    const [name, queue, job] = await jobOf(url, id);
    await allow(request, `job.${action}`, { kind: 'job', queue: name, job });
    if (action === 'remove') {
      // An active job answers 409 JOB_STATE: the page tells to cancel it first or wait.
      const removed = await queue.remove(id);
      return json(200, { id, removed });
    }
    const after = action === 'cancel' ? await queue.cancel(id) : await queue.retry(id);
    return json(200, await detailView(queue, after, feed));
  }

  async function events(request: Request, url: URL, live: boolean): Promise<Response> {
    if (!feed) throw refuse(404, 'NO_EVENTS', 'This dashboard has no bus; pass `bus` to dashboardHandler for live events.');
    const patterns = patternsOf(url);
    const match = patternsMatcher(patterns);
    const after = afterOf(request, url);
    await allow(request, 'events', { kind: 'events', patterns });
    feed.start();
    if (live) return feed.stream(after, match, streamMs, request.signal, progress);
    return cached(request, { last: feed.last, events: feed.since(after, match) });
  }

  async function api(request: Request, url: URL, parts: string[], method: string): Promise<Response> {
    const only = (m: string): void => {
      if (method !== m && !(m === 'GET' && method === 'HEAD')) throw refuse(405, 'METHOD_NOT_ALLOWED', `Use ${m} here.`, { allow: m === 'GET' ? 'GET, HEAD' : m });
    };
    const route = parts.join('/');
    await allow(request, 'view', { kind: 'dashboard' });
    // Subscribed from the first request on, so job timelines include the state changes seen since.
    feed?.start();
    if (route === 'overview') { only('GET'); return overview(request, url); }
    if (route === 'jobs') { only('GET'); return list(request, url); }
    if (parts[0] === 'jobs' && parts.length === 2) {
      only('GET');
      const [, queue, job] = await jobOf(url, parts[1]!);
      return cached(request, await detailView(queue, job, feed));
    }
    if (parts[0] === 'jobs' && parts.length === 3 && (parts[2] === 'retry' || parts[2] === 'cancel' || parts[2] === 'run' || parts[2] === 'remove')) {
      only('POST');
      return jobAction(request, url, parts[1]!, parts[2]);
    }
    if (route === 'session' || route === 'session/delete' || route === 'session/set') {
      if (!store) throw refuse(404, 'NO_SESSIONS', 'This dashboard has no session store; pass `store` to dashboardHandler.');
      if (route === 'session') {
        only('GET');
        const key = url.searchParams.get('key') ?? '';
        await allow(request, 'session.read', { kind: 'session', key });
        return json(200, await sessionView(store, key));
      }
      only('POST');
      sameSiteJson(request);
      const body = await bodyOf(request);
      if (typeof body.key !== 'string') throw refuse(400, 'BAD_KEY', 'Send { "key": "<session key>" }.');
      if (route === 'session/set' && !features.sessionEdit) throw refuse(403, 'SESSION_EDIT_OFF', 'Editing sessions is off; pass `allowSessionEdit: true` to dashboardHandler.');
      await allow(request, route === 'session/set' ? 'session.edit' : 'session.delete', { kind: 'session', key: body.key });
      return json(200, route === 'session/set' ? await sessionSet(store, body) : await sessionDelete(store, body));
    }
    if (route === 'health') { only('GET'); return json(200, await healthView(options.health ?? {}, healthTimeoutMs)); }
    if (route === 'live') { only('GET'); return events(request, url, true); }
    if (route === 'events') { only('GET'); return events(request, url, false); }
    throw refuse(404, 'NOT_FOUND', 'No such route.');
  }

  return async function handleDashboardRequest(request: Request): Promise<Response> {
    try {
      let url: URL;
      try { url = new URL(request.url); } catch { return fail(400, 'BAD_REQUEST', 'The request URL or Host header is invalid.'); }
      let path = url.pathname;
      if (base) {
        if (path === base) return new Response(null, { status: 308, headers: { location: `${base}/${url.search}` } });
        if (!path.startsWith(`${base}/`)) return fail(404, 'NOT_FOUND', 'No such route.');
        path = path.slice(base.length);
      }
      const parts = path.split('/').filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch { return '\u0000'; } });
      const method = request.method.toUpperCase();
      if (parts.length === 0 || (parts.length === 1 && parts[0] === 'index.html')) {
        if (method !== 'GET' && method !== 'HEAD') return fail(405, 'METHOD_NOT_ALLOWED', 'Use GET here.', { allow: 'GET, HEAD' });
        return pageResponse(method, (await authorize(request, 'view', { kind: 'dashboard' })) === true, options.challenge);
      }
      if (parts[0] === 'assets' && parts.length === 2) return assetResponse(parts[1]!);
      if (parts[0] === 'api') return await api(request, url, parts.slice(1), method);
      return fail(404, 'NOT_FOUND', 'No such route.');
    } catch (err) {
      if (err instanceof Refusal) return err.response;
      if (err instanceof SessionConflictError) return fail(409, err.code, err.message);
      if (err instanceof SyncTopicError) return fail(400, err.code, err.message);
      return errorResponse(err, onError);
    }
  };
}
