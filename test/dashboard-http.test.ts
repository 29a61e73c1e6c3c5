/**
 * `botwire/dashboard` over HTTP: mounted under /admin/jobs on node:http (through `toNodeHandler`)
 * and behind a Next.js-style route handler. Every endpoint asks `authorize`, refuses cross-site
 * posts and answers bad input with typed error JSON; the page's assets fit the size budget.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryJobQueue, memorySessionStore, memorySyncBus } from 'botwire/memory';
import { basicAuthorize, dashboardHandler, type DashboardAction } from 'botwire/dashboard';
import { toNodeHandler } from 'botwire/http/node';
import { BotwireConfigError, leaseHolder } from 'botwire';
import type { JobQueue } from 'botwire/jobs';
import { dashboardAssets } from '../integrations/dashboard/assets.generated.js';

let sourceUp = false;
let flakyRuns = 0;
let gate: Promise<void> = Promise.resolve();
const bus = memorySyncBus();
const store = memorySessionStore();
let queue: JobQueue;
let server: http.Server;
let origin: string;
const BASE = '/admin/jobs';
const asked: Array<[DashboardAction, string]> = [];

/** `Bearer admin` may do everything, `Bearer viewer` may only look, anyone else nothing. */
function roleOf(request: Request): string | undefined {
  return request.headers.get('authorization')?.replace(/^Bearer /, '');
}

let handle: (request: Request) => Promise<Response>;

/** A report typed by an interface, as the stores' and queues' own `health()` answer. */
interface Report { ok: boolean; backend: string; latencyMs: number; details: Record<string, string | number | boolean | null>; error?: string }
const reporting: { health(): Promise<Report> } = {
  health: async () => ({ ok: false, backend: 'Redis', latencyMs: 3, details: { connected: false }, error: 'unavailable' }),
};

beforeAll(async () => {
  queue = memoryJobQueue({
    bus, groups: { concurrency: 1 },
    handlers: {
      report: async ({ job, partial, progress }) => {
        await progress(40, 'fetching prices');
        const result = { ...(job.result as object | undefined), main: `report for ${(job.payload as { chat: number }).chat}` };
        if (!sourceUp) { await partial(result, { missing: ['prices'], retryInMs: 300_000 }); return result; }
        return { ...result, prices: [1, 2] };
      },
      boom: () => { throw new Error('source exploded'); },
      flaky: () => { if (++flakyRuns <= 2) throw Object.assign(new Error(`flaky ${flakyRuns}`), { code: `E${flakyRuns}` }); return 'ok'; },
      slow: async ({ progress }) => { await progress(30, 'halfway there'); await gate; return 'done'; },
    },
  });
  await queue.setLimit('report', { concurrency: 2 });
  queue.schedule('report', '0 9 * * *', { chat: 0 }, { key: 'daily-report' });
  handle = dashboardHandler({
    queue, store, bus, basePath: BASE, allowSessionEdit: true, loginUrl: '/login', streamMs: 5_000, progressIntervalMs: 100,
    health: {
      memory: { health: async () => ({ ok: true, latencyMs: 1, backend: 'memory' }) },
      broken: { health: async () => { throw new Error('connection refused'); } },
      slow: { health: () => new Promise(() => undefined) },
      reporting,
    },
    healthTimeoutMs: 200,
    authorize: (request, action, subject) => {
      asked.push([action, subject.kind]);
      const role = roleOf(request);
      return role === 'admin' || (role === 'viewer' && action === 'view');
    },
  });
  server = http.createServer(toNodeHandler(handle));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await bus.close();
});

const auth = (role = 'admin'): Record<string, string> => ({ authorization: `Bearer ${role}` });
const get = (path: string, headers: Record<string, string> = auth()) => fetch(`${origin}${BASE}/${path}`, { headers });
const post = (path: string, body: unknown = {}, headers: Record<string, string> = { ...auth(), 'content-type': 'application/json' }) =>
  fetch(`${origin}${BASE}/${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

describe('dashboardHandler', () => {
  it('refuses to start without authorize, without a queue, or with both queue and queues', () => {
    expect(() => dashboardHandler({ queue } as never)).toThrow(BotwireConfigError);
    expect(() => dashboardHandler({ authorize: () => true } as never)).toThrow(/exactly one of `queue`/);
    expect(() => dashboardHandler({ queue, queues: { a: queue }, authorize: () => true })).toThrow(BotwireConfigError);
    expect(() => dashboardHandler({ queue, authorize: () => true, basePath: 'admin' })).toThrow(/basePath/);
    expect(() => dashboardHandler({ queue, authorize: () => true, health: { x: {} as never } })).toThrow(/health\(\)/);
  });

  it('serves the page under /admin/jobs/ (redirecting the bare path) with its assets, within 80 KB gzipped', async () => {
    const bare = await fetch(`${origin}${BASE}`, { redirect: 'manual', headers: auth() });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe(`${BASE}/`);
    const page = await get('');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    const refs = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(2);
    let gz = gzipSync(html).length;
    for (const ref of refs) {
      const res = await fetch(`${origin}${BASE}/${ref}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toContain('immutable');
      gz += gzipSync(Buffer.from(await res.arrayBuffer())).length;
    }
    expect(gz).toBeLessThanOrEqual(80 * 1024);
    // Every file of the build is one the page references (nothing unreferenced ships).
    expect(Object.keys(dashboardAssets).sort()).toEqual(['index.html', ...refs].sort());
    expect((await get('assets/nope.js')).status).toBe(404);
  });

  it('answers the page with 401 (and the sign-in hint in it) when view is refused', async () => {
    const res = await get('', {});
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('id="login"');
  });

  it('shows counts per name and state, a filtered list and a job in full, with ETag/304 for polling', async () => {
    const a = await queue.add('report', { chat: 1 }, { id: 'report-a' });
    await queue.add('report', { chat: 2 }, { id: 'report-b' });
    await queue.add('report', { chat: 9 }, { id: 'report-g', group: 'chat-9', delayMs: 3_600_000 });
    await queue.add('boom', null, { id: 'boom-1', delayMs: 60_000 });
    const overview = await get('api/overview');
    expect(overview.status).toBe(200);
    const o = await overview.json();
    expect(o.counts.byName.report).toMatchObject({ waiting: 2, delayed: 1 });
    expect(o.counts.byName.boom).toMatchObject({ delayed: 1 });
    expect(o.features).toEqual({ queues: ['default'], sessions: true, sessionEdit: true, events: true, health: ['memory', 'broken', 'slow', 'reporting'] });
    expect(o.schedules[0]).toMatchObject({ key: 'daily-report', name: 'report', cron: '0 9 * * *' });
    expect(o.schedules[0].next).toHaveLength(3);
    const slots = (o.schedules[0].next as string[]).map((t) => Date.parse(t));
    expect(slots[0]).toBeGreaterThan(Date.now());
    expect(slots[1]! - slots[0]!).toBe(86_400_000);
    expect(o.schedules[0].nextIds[0]).toBe(`$schedule:daily-report:${o.schedules[0].next[0]}`);
    expect(o.limits).toEqual([{ name: 'report', concurrency: 2, active: 0 }]);
    const again = await get('api/overview', { ...auth(), 'if-none-match': overview.headers.get('etag')! });
    expect(again.status).toBe(304);

    const ids = async (query: string) => ((await (await get(`api/jobs?${query}`)).json()) as { jobs: Array<{ id: string }> }).jobs.map((j) => j.id);
    expect((await ids('name=report')).sort()).toEqual(['report-a', 'report-b', 'report-g']);
    expect((await ids('state=delayed')).sort()).toEqual(['boom-1', 'report-g']);
    expect(await ids('group=chat-9')).toEqual(['report-g']);
    expect(await ids('q=RT-A')).toEqual(['report-a']);

    const detail = await (await get(`api/jobs/${a.id}`)).json();
    expect(detail).toMatchObject({ id: 'report-a', state: 'waiting', payload: { chat: 1 }, group: null, actions: { retry: false, cancel: true, run: false } });
    expect(detail.timeline.map((t: { what: string }) => t.what)).toContain('created');
  });

  it('shows a partial result with its missing parts, runs a delayed job now, retries and cancels', async () => {
    const { runDue } = await import('botwire/jobs');
    await runDue(queue, queue.handlers!, { budgetMs: 40_000 });
    const partial = await (await get('api/jobs/report-a')).json();
    expect(partial).toMatchObject({ state: 'partial', result: { main: 'report for 1' }, missing: ['prices'], progress: { pct: 40, message: 'fetching prices' } });
    expect(partial.actions).toEqual({ retry: true, cancel: true, run: true, remove: true });
    expect(partial.timeline.map((t: { what: string }) => t.what)).toContain('partial (attempt 1)');

    const ran = await post('api/jobs/boom-1/run');
    expect(ran.status).toBe(200);
    expect((await ran.json()).state).toBe('waiting');
    await runDue(queue, queue.handlers!, { budgetMs: 40_000 });
    const failed = await (await get('api/jobs/boom-1')).json();
    expect(failed.error).toMatchObject({ name: 'Error', message: 'source exploded' });
    expect(failed.error.stack).toMatch(/^Error: source exploded\n\s+at /);

    sourceUp = true;
    const retried = await post('api/jobs/report-a/retry');
    expect((await retried.json()).state).toBe('waiting');
    await runDue(queue, queue.handlers!, { budgetMs: 40_000 });
    expect(await (await get('api/jobs/report-a')).json()).toMatchObject({ state: 'completed', result: { main: 'report for 1', prices: [1, 2] }, missing: [] });

    await queue.add('report', { chat: 3 }, { id: 'report-c', delayMs: 60_000 });
    const cancelled = await post('api/jobs/report-c/cancel');
    expect((await cancelled.json()).state).toBe('cancelled');
    const again = await post('api/jobs/report-c/cancel');
    expect(again.status).toBe(409);
    expect((await errorOf(again)).code).toBe('JOB_STATE');
  });

  it('shows the error of each attempt, removes a job that is not running, and refuses a running one', async () => {
    const { runDue } = await import('botwire/jobs');
    await queue.add('flaky', null, { id: 'flaky-1', attempts: 3, backoff: { type: 'fixed', delayMs: 0 } });
    for (let i = 0; i < 3 && (await queue.get('flaky-1'))?.state !== 'completed'; i++) await runDue(queue, queue.handlers!, { budgetMs: 40_000 });
    const detail = await (await get('api/jobs/flaky-1')).json();
    expect(detail).toMatchObject({ state: 'completed', attempts: 3, result: 'ok', error: { message: 'flaky 2' }, actions: { remove: true } });
    expect(detail.errors.map((e: { attempt: number; name: string; message: string; code: string }) => [e.attempt, e.name, e.message, e.code]))
      .toEqual([[1, 'Error', 'flaky 1', 'E1'], [2, 'Error', 'flaky 2', 'E2']]);
    expect(detail.errors[0].stack).toMatch(/^Error: flaky 1\n\s+at /);
    expect(Date.parse(detail.errors[0].at)).toBeLessThanOrEqual(Date.parse(detail.errors[1].at));

    const before = (await (await get('api/overview')).json()).counts.byName.flaky.completed;
    const removed = await post('api/jobs/flaky-1/remove');
    expect(removed.status).toBe(200);
    expect(await removed.json()).toEqual({ id: 'flaky-1', removed: true });
    expect(await queue.get('flaky-1')).toBeUndefined();
    expect((await (await get('api/overview')).json()).counts.byName.flaky.completed).toBe(before - 1);
    const again = await post('api/jobs/flaky-1/remove');
    expect(again.status).toBe(404);
    expect((await errorOf(again)).code).toBe('JOB_NOT_FOUND');

    let release!: () => void;
    gate = new Promise((r) => { release = r; });
    await queue.add('slow', null, { id: 'slow-rm' });
    const tick = runDue(queue, queue.handlers!, { budgetMs: 40_000 });
    for (let i = 0; i < 200 && (await queue.get('slow-rm'))?.state !== 'active'; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await (await get('api/jobs/slow-rm')).json()).actions.remove).toBe(false);
    const refused = await post('api/jobs/slow-rm/remove');
    expect(refused.status).toBe(409);
    expect((await errorOf(refused)).code).toBe('JOB_STATE');
    release();
    await tick;
    expect((await queue.get('slow-rm'))?.state).toBe('completed');
    expect((await post('api/jobs/slow-rm/remove')).status).toBe(200);
  });

  it('looks sessions up, deletes with ifVersion, edits only as a compare-and-set', async () => {
    await store.set('chat:42', { step: 'pay', cart: [1, 2] }, { ttlMs: 60_000 });
    const found = await (await get('api/session?key=chat%3A42')).json();
    expect(found).toMatchObject({ key: 'chat:42', found: true, data: { step: 'pay', cart: [1, 2] }, version: 1 });
    expect(found.expiresAt).toMatch(/^\d{4}-/);
    expect(await (await get('api/session?key=nobody')).json()).toEqual({ key: 'nobody', found: false, lease: null });

    expect((await post('api/session/set', { key: 'chat:42', data: { step: 'done' }, ifVersion: 1 })).status).toBe(200);
    const stale = await post('api/session/set', { key: 'chat:42', data: { step: 'x' }, ifVersion: 1 });
    expect(stale.status).toBe(409);
    expect((await errorOf(stale)).code).toBe('SESSION_CONFLICT');
    expect((await post('api/session/set', { key: 'chat:42', data: 1 })).status).toBe(400);

    const deleted = await post('api/session/delete', { key: 'chat:42', ifVersion: 2 });
    expect(await deleted.json()).toEqual({ key: 'chat:42', deleted: true });
    expect(await store.get('chat:42')).toBeUndefined();
  });

  it('shows who holds a session\'s lease (a fingerprint, never the token), for how long and until when', async () => {
    await store.set('chat:7', { step: 'pay' });
    expect((await (await get('api/session?key=chat%3A7')).json()).lease).toBeNull();
    const lease = await store.acquire('chat:7', { leaseMs: 30_000 });
    await new Promise((r) => setTimeout(r, 150));
    const text = await (await get('api/session?key=chat%3A7')).text();
    // Neither the token nor its per-process part (which, with a counter, would let one guess it).
    expect(text).not.toContain(lease.token);
    expect(text).not.toContain(lease.token.slice(0, 12));
    const held = JSON.parse(text);
    expect(held).toMatchObject({ key: 'chat:7', found: true, version: 1, lease: { holder: leaseHolder(lease.token) } });
    expect(held.lease.heldMs).toBeGreaterThanOrEqual(150);
    expect(held.lease.heldMs).toBeLessThan(5_000);
    expect(held.lease.expiresInMs).toBeGreaterThan(25_000);
    expect(held.lease.expiresInMs).toBeLessThanOrEqual(30_000 - 150);
    expect(Date.parse(held.lease.expiresAt) - Date.parse(held.lease.acquiredAt)).toBeGreaterThanOrEqual(30_000 - 5);
    expect(Date.parse(held.lease.expiresAt) - Date.parse(held.lease.acquiredAt)).toBeLessThanOrEqual(30_000 + 5);
    // A lease on a key with no record yet (a chat's first update) is shown as well.
    const first = await store.acquire('chat:8');
    expect(await (await get('api/session?key=chat%3A8')).json()).toMatchObject({ found: false, lease: { holder: leaseHolder(first.token) } });
    await first.release();
    await lease.commit({ step: 'paid' });
    expect(await (await get('api/session?key=chat%3A7')).json()).toMatchObject({ version: 2, lease: null });

    // A store that cannot inspect leases: the record is shown, the lease left out rather than called free.
    const plain = dashboardHandler({ queue, store: { get: (k) => store.get(k), set: (k, d, o) => store.set(k, d, o), delete: (k, o) => store.delete(k, o) }, authorize: () => true });
    const other = await store.acquire('chat:7');
    const body = await (await plain(new Request('http://x/api/session?key=chat%3A7'))).json();
    expect(body).toMatchObject({ found: true, version: 2 });
    expect('lease' in body).toBe(false);
    await other.release();
  });

  it('runs health checks with latency; a throw or a timeout is failing', async () => {
    const res = await (await get('api/health')).json();
    expect(res.ok).toBe(false);
    const by = Object.fromEntries(res.checks.map((c: { label: string }) => [c.label, c]));
    expect(by.memory).toMatchObject({ ok: true, latencyMs: 1, details: { backend: 'memory' } });
    expect(by.broken).toMatchObject({ ok: false, details: { error: 'Error: connection refused' } });
    expect(by.slow).toMatchObject({ ok: false, details: { error: 'Error: no answer within 200 ms' } });
    expect(by.slow.latencyMs).toBeGreaterThanOrEqual(150);
    expect(by.reporting).toEqual({ label: 'reporting', ok: false, latencyMs: 3, details: { backend: 'Redis', details: { connected: false }, error: 'unavailable' } });
  });

  it('streams bus events over SSE through node:http, and serves them to polling with ETag/304', async () => {
    const ac = new AbortController();
    const res = await fetch(`${origin}${BASE}/api/live?topics=orders.*`, { headers: auth(), signal: ac.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const text: string[] = [];
    const seen = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        text.push(new TextDecoder().decode(value));
        if (text.join('').includes('orders.paid')) return;
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await bus.publish('chat.ignored', 1);
    await bus.publish('orders.paid', { id: 7 });
    await seen;
    ac.abort();
    const frames = text.join('');
    expect(frames).toMatch(/event: bus\ndata: \{"seq":\d+,"topic":"orders.paid","data":\{"id":7\}/);
    expect(frames).not.toContain('chat.ignored');

    const polled = await get('api/events?topics=orders.**&after=0');
    const body = await polled.json();
    expect(body.events.map((e: { topic: string }) => e.topic)).toEqual(['orders.paid']);
    expect((await get('api/events?topics=orders.**&after=0', { ...auth(), 'if-none-match': polled.headers.get('etag')! })).status).toBe(304);
    const later = await (await get(`api/events?after=${body.last}`)).json();
    expect(later.events).toEqual([]);
  });

  it('sends running jobs’ progress over the stream (progress is no bus event)', async () => {
    let release!: () => void;
    gate = new Promise((r) => { release = r; });
    await queue.add('slow', null, { id: 'slow-1' });
    const { runDue } = await import('botwire/jobs');
    const ac = new AbortController();
    const res = await fetch(`${origin}${BASE}/api/live?topics=jobs.slow.*`, { headers: auth(), signal: ac.signal });
    const reader = res.body!.getReader();
    let frames = '';
    const tick = runDue(queue, queue.handlers!, { budgetMs: 40_000 });
    while (!frames.includes('event: progress')) frames += new TextDecoder().decode((await reader.read()).value);
    release();
    await tick;
    while (!frames.includes('jobs.slow.completed')) frames += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    expect(frames).toContain('event: progress\ndata: {"queue":"default","id":"slow-1","name":"slow","pct":30,"message":"halfway there"}\n\n');
    expect(frames.match(/event: progress/g)).toHaveLength(1);
    expect(frames).toMatch(/"topic":"jobs\.slow\.active"[\s\S]*"topic":"jobs\.slow\.completed"/);
  });

  describe('refusals', () => {
    const READS = ['api/overview', 'api/jobs', 'api/jobs/report-b', 'api/session?key=k', 'api/health', 'api/events', 'api/live'];
    const ACTIONS: Array<[string, unknown]> = [
      ['api/jobs/report-b/retry', {}], ['api/jobs/report-b/cancel', {}], ['api/jobs/report-b/run', {}], ['api/jobs/report-b/remove', {}],
      ['api/session/delete', { key: 'k' }], ['api/session/set', { key: 'k', data: 1, ifVersion: 0 }],
    ];

    it('answers every endpoint with 401 and the typed error without authorization', async () => {
      for (const path of READS) {
        const res = await get(path, {});
        expect(res.status, path).toBe(401);
        expect(await res.json(), path).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Sign in to see the dashboard.' }, loginUrl: '/login' });
      }
      for (const [path, body] of ACTIONS) {
        const res = await post(path, body, { 'content-type': 'application/json' });
        expect(res.status, path).toBe(401);
      }
      expect(await queue.get('report-b')).toMatchObject({ state: 'partial' });
    });

    it('asks authorize again for each action (a viewer may look, not act)', async () => {
      asked.length = 0;
      for (const [path, body] of ACTIONS) {
        const res = await post(path, body, { ...auth('viewer'), 'content-type': 'application/json' });
        expect(res.status, path).toBe(403);
        expect((await errorOf(res)).code, path).toMatch(/^(FORBIDDEN|SESSION_EDIT_OFF)$/);
      }
      expect(asked).toEqual(expect.arrayContaining([
        ['job.retry', 'job'], ['job.cancel', 'job'], ['job.run', 'job'], ['job.remove', 'job'], ['session.delete', 'session'], ['session.edit', 'session'],
      ]));
      expect((await get('api/session?key=k', auth('viewer'))).status).toBe(403);
      expect((await get('api/live', auth('viewer'))).status).toBe(403);
      expect((await get('api/overview', auth('viewer'))).status).toBe(200);
      expect(await queue.get('report-b')).toMatchObject({ state: 'partial' });
    });

    it('refuses cross-site form posts and foreign origins, even with credentials', async () => {
      for (const [path, body] of ACTIONS) {
        const form = await post(path, 'key=k', { ...auth(), 'content-type': 'application/x-www-form-urlencoded' });
        expect(form.status, path).toBe(415);
        expect((await errorOf(form)).code).toBe('UNSUPPORTED_MEDIA_TYPE');
        expect((await post(path, 'x', { ...auth(), 'content-type': 'text/plain' })).status, path).toBe(415);
        expect((await post(path, body, { ...auth() })).status, path).toBe(415);
        const foreign = await post(path, body, { ...auth(), 'content-type': 'application/json', origin: 'https://evil.example' });
        expect(foreign.status, path).toBe(403);
        expect((await errorOf(foreign)).code).toBe('CROSS_SITE');
        const fetchSite = await post(path, body, { ...auth(), 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' });
        expect(fetchSite.status, path).toBe(403);
      }
      expect(await queue.get('report-b')).toMatchObject({ state: 'partial' });
      expect((await post('api/jobs/report-b/retry', {}, { ...auth(), 'content-type': 'application/json', origin })).status).toBe(200);
    });

    it('answers bad input with typed error JSON', async () => {
      const cases: Array<[Promise<Response>, number, string]> = [
        [get('api/jobs?state=sleeping'), 400, 'BAD_QUERY'],
        [get('api/jobs?limit=0'), 400, 'BAD_QUERY'],
        [get('api/jobs?name=bad%20name'), 400, 'BAD_QUERY'],
        [get('api/jobs?queue=other'), 404, 'QUEUE_NOT_FOUND'],
        [get('api/jobs/nope'), 404, 'JOB_NOT_FOUND'],
        [get('api/events?topics=a..b'), 400, 'SYNC_TOPIC'],
        [get('api/events?after=-1'), 400, 'BAD_QUERY'],
        [get('api/session?key='), 400, 'SESSION_KEY'],
        [get('api/nothing'), 404, 'NOT_FOUND'],
        [post('api/overview'), 405, 'METHOD_NOT_ALLOWED'],
        [get('api/jobs/report-b/retry'), 405, 'METHOD_NOT_ALLOWED'],
        [get('api/jobs/report-b/remove'), 405, 'METHOD_NOT_ALLOWED'],
        [post('api/jobs/report-b/retry', '{not json'), 400, 'BAD_JSON'],
        [post('api/jobs/report-b/retry', '[1]'), 400, 'BAD_JSON'],
        [post('api/jobs/report-b/retry', JSON.stringify({ pad: 'x'.repeat(300_000) })), 413, 'BODY_TOO_LARGE'],
        [post('api/jobs/report-a/retry'), 409, 'JOB_STATE'],
        [post('api/jobs/report-a/remove', '[1]'), 400, 'BAD_JSON'],
        [post('api/session/delete', { key: 42 }), 400, 'BAD_KEY'],
        [post('api/session/delete', { key: 'k', ifVersion: -1 }), 400, 'BAD_VERSION'],
      ];
      for (const [i, [pending, status, code]] of cases.entries()) {
        const res = await pending;
        expect({ i, status: res.status, code: (await res.json())?.error?.code }).toEqual({ i, status, code });
        expect(res.headers.get('content-type')).toContain('application/json');
      }
    });
  });

  it('signs in with HTTP Basic through basicAuthorize and challenge', async () => {
    expect(() => basicAuthorize('admin', 'short')).toThrow(BotwireConfigError);
    expect(() => basicAuthorize('a:b', 'long-enough-password')).toThrow(BotwireConfigError);
    const basic = dashboardHandler({ queue, challenge: 'Basic realm="botwire"', authorize: basicAuthorize('admin', 'correct horse battery') });
    const url = 'https://bot.example/api/overview';
    const none = await basic(new Request(url));
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Basic realm="botwire"');
    const wrong = await basic(new Request(url, { headers: { authorization: `Basic ${btoa('admin:nope')}` } }));
    expect(wrong.status).toBe(401);
    const right = await basic(new Request(url, { headers: { authorization: `Basic ${btoa('admin:correct horse battery')}` } }));
    expect(right.status).toBe(200);
    const page = await basic(new Request('https://bot.example/'));
    expect(page.status).toBe(401);
    expect(page.headers.get('www-authenticate')).toBe('Basic realm="botwire"');
  });

  it('works behind a Next.js-style route handler (Request in, Response out)', async () => {
    // app/admin/jobs/[[...path]]/route.ts: export { handle as GET, handle as POST }
    const GET = (req: Request): Promise<Response> => handle(req);
    const POST = (req: Request): Promise<Response> => handle(req);
    const at = 'https://bot.example/admin/jobs';
    expect((await GET(new Request(`${at}/api/overview`))).status).toBe(401);
    const overview = await GET(new Request(`${at}/api/overview`, { headers: auth() }));
    expect((await overview.json()).queue).toBe('default');
    await queue.add('boom', null, { id: 'boom-next', delayMs: 60_000 });
    const run = await POST(new Request(`${at}/api/jobs/boom-next/run`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json', origin: 'https://bot.example' }, body: '{}' }));
    expect((await run.json()).state).toBe('waiting');
    const foreign = await POST(new Request(`${at}/api/jobs/boom-next/cancel`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json', origin: 'https://evil.example' }, body: '{}' }));
    expect(foreign.status).toBe(403);
    expect((await GET(new Request('https://bot.example/elsewhere', { headers: auth() }))).status).toBe(404);
  });
});
