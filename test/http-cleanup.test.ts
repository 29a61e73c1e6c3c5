import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryJobQueue, memoryRateLimitStore, memorySessionStore } from 'botwire/memory';
import { redisJobQueue, redisRateLimitStore, redisSessionStore } from '../adapters/redis/index.js';
import { postgresJobQueue, postgresRateLimitStore, postgresSessionStore } from '../adapters/postgres/index.js';
import { supabaseRateLimitStore, supabaseSessionStore } from '../adapters/supabase/index.js';
import { cleanupHandler, jobsHttpHandler, type CleanupSummary } from '../integrations/http/index.js';
import { runDue } from '../src/jobs/run-due.js';
import type { JobQueue } from '../src/jobs/job-queue.js';
import { SessionStore } from '../src/session/session-store.js';
import { withPgSchema, type PgSchema } from './support/pg-schema.js';
import { REDIS_URL, needs, uniqueName } from './support/services.js';
import { withSupabase, type SupabaseSetup } from './support/supabase.js';

const SECRET = 'cleanup-secret-0123456789abcdef';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const request = (path = '/cron/cleanup', init: RequestInit & { secret?: string | null } = {}) => {
  const { secret = SECRET, ...rest } = init;
  return new Request(`http://bot.test${path}`, { ...rest, headers: secret === null ? {} : { authorization: `Bearer ${secret}` } });
};

/** A queue whose two jobs finished (completed) and are past a 1 ms retention. */
async function finishedJobs(queue: JobQueue, n = 2): Promise<void> {
  // Short timeouts: a tick claims only jobs that can finish within its budget.
  for (let i = 0; i < n; i++) await queue.add('noop', { i }, { timeoutMs: 1_000 });
  const summary = await runDue(queue, undefined, { budgetMs: 5_000 });
  expect(summary.completed).toBe(n);
  await sleep(5);
}

describe('/cron/cleanup: auth and routing', () => {
  const handler = cleanupHandler({ cronSecret: SECRET, sessions: memorySessionStore() });

  it('requires the cron secret as a bearer token', async () => {
    expect((await handler(request('/cron/cleanup', { secret: null }))).status).toBe(401);
    const wrong = await handler(request('/cron/cleanup', { secret: `${SECRET}x` }));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer');
    expect((await handler(request('/cron/cleanup', { secret: SECRET.slice(0, -1) }))).status).toBe(401);
    expect((await handler(request())).status).toBe(200);
  });

  it('answers only GET/POST on its path, and refuses a weak secret at construction', async () => {
    expect((await handler(request('/cron/other'))).status).toBe(404);
    expect((await handler(request('/cron/cleanup', { method: 'DELETE' }))).status).toBe(405);
    expect((await handler(request('/cron/cleanup', { method: 'POST' }))).status).toBe(200);
    expect(() => cleanupHandler({ cronSecret: 'short' })).toThrow(/at least 16 characters/);
    const mounted = cleanupHandler({ cronSecret: SECRET, basePath: '/api' });
    expect((await mounted(request('/api/cron/cleanup'))).status).toBe(200);
  });

  it('jobsHttpHandler serves the route with its cronSecret, and 404 without one', async () => {
    const queue = memoryJobQueue({ handlers: { noop: async () => 'ok' }, retention: { completedMs: 1 } });
    await finishedJobs(queue);
    const withSecret = jobsHttpHandler({ queue, public: true, cronSecret: SECRET, cleanup: { rateLimits: memoryRateLimitStore() } });
    expect((await withSecret(request('/cron/cleanup', { secret: 'nope-nope-nope-nope' }))).status).toBe(401);
    const res = await withSecret(request());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sessions: 0, jobs: 2, rateLimits: 0, complete: true, errors: [] });
    const without = jobsHttpHandler({ queue, public: true });
    expect((await without(request())).status).toBe(404);
  });
});

describe('/cron/cleanup on memory', () => {
  it('counts finished jobs and stops at the budget', async () => {
    const queue = memoryJobQueue({ handlers: { noop: async () => 'ok' }, retention: { completedMs: 1 } });
    await finishedJobs(queue, 3);
    const res = await cleanupHandler({ cronSecret: SECRET, sessions: memorySessionStore(), queues: [queue], rateLimits: memoryRateLimitStore() })(request());
    const body = (await res.json()) as CleanupSummary;
    expect(body).toMatchObject({ sessions: 0, jobs: 3, rateLimits: 0, complete: true, errors: [] });
    expect(body.durationMs).toBeGreaterThanOrEqual(0);

    // A session backend whose every cleanup batch is full and slow: the budget ends the run.
    const backend = Object.create(memorySessionStore().backend) as SessionStore['backend'];
    let batches = 0;
    backend.cleanup = async (limit) => { batches++; await sleep(40); return limit; };
    const slow = new SessionStore(backend);
    const queue2 = memoryJobQueue({ handlers: { noop: async () => 'ok' }, retention: { completedMs: 1 } });
    await finishedJobs(queue2, 1);
    const started = performance.now();
    const out = (await (await cleanupHandler({ cronSecret: SECRET, sessions: slow, queues: queue2, budgetMs: 100 })(request())).json()) as CleanupSummary;
    expect(performance.now() - started).toBeLessThan(100 + 200);
    expect(out.complete).toBe(false);
    expect(out.sessions).toBe(batches * 1_000);
    expect(out.jobs).toBe(0); // the budget was gone before the queue's turn
  });

  it('reports a failing part with a short reason and 503, and still runs the others', async () => {
    const backend = Object.create(memorySessionStore().backend) as SessionStore['backend'];
    backend.cleanup = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED redis://u:secret@h'), { code: 'ECONNREFUSED' }));
    const queue = memoryJobQueue({ handlers: { noop: async () => 'ok' }, retention: { completedMs: 1 } });
    await finishedJobs(queue, 1);
    const seen: unknown[] = [];
    const res = await cleanupHandler({ cronSecret: SECRET, sessions: new SessionStore(backend), queues: queue, onError: (e) => seen.push(e) })(request());
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).not.toContain('secret@');
    expect(JSON.parse(text)).toMatchObject({ jobs: 1, complete: false, errors: [{ part: 'sessions', reason: 'unavailable' }] });
    expect(seen).toHaveLength(1);
  });
});

describe.runIf(await needs('redis'))('/cron/cleanup on Redis', () => {
  it('removes finished jobs; sessions and counters expire natively (0)', async () => {
    const client = new Redis(REDIS_URL);
    const prefix = uniqueName('bw:clean:');
    const queue = redisJobQueue({ client, prefix: `${prefix}j:`, handlers: { noop: async () => 'ok' }, retention: { completedMs: 1 } });
    try {
      await finishedJobs(queue, 2);
      const handler = cleanupHandler({
        cronSecret: SECRET, queues: queue,
        sessions: redisSessionStore({ client, prefix: `${prefix}s:` }), rateLimits: redisRateLimitStore({ client, prefix: `${prefix}rl:` }),
      });
      expect(await (await handler(request())).json()).toMatchObject({ sessions: 0, jobs: 2, rateLimits: 0, complete: true });
      expect(await (await handler(request())).json()).toMatchObject({ jobs: 0 });
    } finally {
      const keys = await client.keys(`*${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
      client.disconnect();
    }
  });
});

describe.runIf(await needs('postgres'))('/cron/cleanup on Postgres', () => {
  let db: PgSchema<pg.Pool>;
  beforeAll(async () => { db = await withPgSchema('bw_cleanup', { max: 4 }); });
  afterAll(() => db?.drop());

  it('deletes expired sessions, finished jobs and rate-limit counters of past windows, and counts them', async () => {
    const { client, schema } = db;
    const store = postgresSessionStore({ client, schema, listen: false });
    const queue = postgresJobQueue({ client, schema, listen: false, handlers: { noop: async () => 'ok' }, retention: { completedMs: 1 } });
    const limits = postgresRateLimitStore({ client, schema });
    await store.set('old:1', { a: 1 }, { ttlMs: 1 });
    await store.set('old:2', { a: 2 }, { ttlMs: 1 });
    await store.set('live', { a: 3 }, { ttlMs: 60_000 });
    for (const key of ['a', 'b', 'c']) await limits.hit(key, { limit: 5, windowMs: 1 });
    await limits.hit('live', { limit: 5, windowMs: 60_000 });
    await finishedJobs(queue, 2);
    await sleep(20);
    const handler = cleanupHandler({ cronSecret: SECRET, sessions: store, queues: queue, rateLimits: limits });
    const res = await handler(request());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sessions: 2, jobs: 2, rateLimits: 3, complete: true, errors: [] });
    expect(await (await handler(request())).json()).toMatchObject({ sessions: 0, jobs: 0, rateLimits: 0 });
    expect(await store.get('live')).toBeDefined();
    const { rows } = await client.query(`SELECT key FROM "${schema}".rate_limits`);
    expect(rows.map((r: { key: string }) => r.key)).toEqual(['rl:live']);
  });

  it('RateLimitStore.cleanup stops between batches once the budget is used', async () => {
    const { client, schema } = db;
    const limits = postgresRateLimitStore({ client, schema });
    await limits.cleanup();
    for (let i = 0; i < 40; i++) await limits.hit(`b${i}`, { limit: 5, windowMs: 1 });
    await sleep(10);
    // 20 batches of 2 take far longer than 1 ms; how many fit before the budget is used depends on
    // the machine, but the call stops between whole batches and leaves the rest.
    const first = await limits.cleanup({ batchSize: 2, budgetMs: 1 });
    expect(first % 2).toBe(0);
    expect(first).toBeGreaterThanOrEqual(2);
    expect(first).toBeLessThan(40);
    expect(await limits.cleanup({ batchSize: 2 })).toBe(40 - first);
  });
});

describe.runIf(await needs('postgres'))('/cron/cleanup on Supabase (supabase-js → PostgREST double → Postgres)', () => {
  let s: SupabaseSetup;
  beforeAll(async () => { s = await withSupabase('bw_supa_cleanup'); });
  afterAll(() => s?.drop());

  it('deletes expired sessions and past rate-limit windows through rpc, keeps live ones, and counts them', async () => {
    const store = supabaseSessionStore<{ a: number }>({ client: s.client, schema: s.schema });
    const limits = supabaseRateLimitStore({ client: s.client, schema: s.schema });
    await store.set('old:1', { a: 1 }, { ttlMs: 1 });
    await store.set('old:2', { a: 2 }, { ttlMs: 1 });
    await store.set('live', { a: 3 }, { ttlMs: 60_000 });
    await store.set('forever', { a: 4 });
    for (const key of ['a', 'b']) await limits.hit(key, { limit: 5, windowMs: 1 });
    await limits.hit('live', { limit: 5, windowMs: 60_000 });
    await sleep(20);
    const handler = cleanupHandler({ cronSecret: SECRET, sessions: store, rateLimits: limits });
    s.double.resetRequests();
    const res = await handler(request());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sessions: 2, jobs: 0, rateLimits: 2, complete: true, errors: [] });
    // One rpc per store: each batch came back short of the batch size.
    expect(Object.fromEntries(s.double.requests.byRoute)).toEqual({ 'POST /rpc/session_cleanup': 1, 'POST /rpc/rate_limit_cleanup': 1 });
    expect(await (await handler(request())).json()).toMatchObject({ sessions: 0, rateLimits: 0, complete: true });
    const sessions = await s.pool.query(`SELECT key FROM "${s.schema}".sessions ORDER BY key`);
    expect(sessions.rows.map((r: { key: string }) => r.key)).toEqual(['forever', 'live']);
    expect((await store.get('live'))?.data).toEqual({ a: 3 });
    const counters = await s.pool.query(`SELECT key FROM "${s.schema}".rate_limits`);
    expect(counters.rows.map((r: { key: string }) => r.key)).toEqual(['rl:live']);
  });
});
