import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryJobQueue, memoryRateLimitStore, memorySessionStore, memorySyncBus, createMemorySyncHub } from 'botwire/memory';
import { redisJobQueue, redisRateLimitStore, redisSessionStore, redisSyncBus } from '../adapters/redis/index.js';
import { migrate, postgresJobQueue, postgresRateLimitStore, postgresSessionStore } from '../adapters/postgres/index.js';
import { EXPECTED_VERSION } from '../adapters/postgres/health.js';
import { createSyncGateway } from '../integrations/ws/gateway.js';
import { healthHandler } from '../integrations/http/health-handler.js';
import { boundedHealth, type HealthCheckable, type HealthReport } from '../src/health.js';
import { SessionStore } from '../src/session/session-store.js';
import { hasRedisServer, startPrivateRedis, type PrivateRedis } from './support/redis-server.js';
import { withPgSchema, type PgSchema } from './support/pg-schema.js';
import { DATABASE_URL, REDIS_URL, needs, uniqueName } from './support/services.js';

const privateServerTests = hasRedisServer || process.env.CI === 'true';
const get = (path = '/health') => new Request(`http://bot.test${path}`);

async function body(res: Response): Promise<{ ok: boolean; checks: Record<string, HealthReport> }> {
  return (await res.json()) as { ok: boolean; checks: Record<string, HealthReport> };
}

describe('health on memory', () => {
  it('stores, queues, buses and rate limits report ok with their backend and a latency', async () => {
    const store = memorySessionStore();
    const queue = memoryJobQueue();
    const bus = memorySyncBus({ hub: createMemorySyncHub() });
    await bus.ready();
    const limits = memoryRateLimitStore();
    for (const target of [store, queue, bus, limits] as HealthCheckable[]) {
      const r = await target.health();
      expect(r.ok).toBe(true);
      expect(r.backend).toBe('memory');
      expect(r.latencyMs).toBeGreaterThanOrEqual(0);
      expect(r.error).toBeUndefined();
    }
    expect((await bus.health()).details).toMatchObject({ state: 'up', published: 0 });
    await bus.close();
    const closed = await bus.health();
    expect(closed).toMatchObject({ ok: false, error: 'closed', details: { state: 'closed' } });
  });

  it('a store whose backend throws reports ok:false with a publishable reason, never the driver message', async () => {
    const backend = Object.create(memorySessionStore().backend) as SessionStore['backend'];
    backend.get = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED postgres://admin:hunter2@db:5432'), { code: 'ECONNREFUSED' }));
    const broken = new SessionStore(backend);
    const r = await broken.health();
    expect(r).toMatchObject({ ok: false, error: 'unavailable' });
    expect(JSON.stringify(r)).not.toContain('hunter2');
  });

  it('healthHandler answers 200 when every check is ok and 503 within timeoutMs when one hangs', async () => {
    const store = memorySessionStore();
    const hung: HealthCheckable = { health: () => new Promise(() => {}) };
    const ok = healthHandler({ checks: { sessions: store } });
    const res = await ok(get());
    expect(res.status).toBe(200);
    const b = await body(res);
    expect(b.ok).toBe(true);
    expect(b.checks.sessions).toMatchObject({ ok: true, backend: 'memory' });

    const handler = healthHandler({ checks: { sessions: store, hung }, timeoutMs: 150 });
    const started = performance.now();
    const bad = await handler(get());
    const took = performance.now() - started;
    expect(bad.status).toBe(503);
    expect(took).toBeLessThan(150 + 200);
    const bb = await body(bad);
    expect(bb.ok).toBe(false);
    expect(bb.checks.hung).toMatchObject({ ok: false, error: 'timed out' });
    expect(bb.checks.sessions?.ok).toBe(true);
  });

  it('healthHandler publishes no secrets from custom checks, and routes only GET/HEAD on its path', async () => {
    const leaky: HealthCheckable = {
      health: async () => ({
        ok: false, backend: 'custom', latencyMs: 1, error: 'cannot reach redis://default:s3cret@cache:6379',
        details: { password: 'p4ss', connectionString: 'postgres://u:pw@h/db', host: 'redis://user:topsecret@cache', n: 3 } as never,
      }),
    };
    const handler = healthHandler({ checks: { leaky } });
    const res = await handler(get());
    const text = await res.text();
    expect(res.status).toBe(503);
    for (const secret of ['s3cret', 'p4ss', 'pw@', 'topsecret']) expect(text).not.toContain(secret);
    expect(JSON.parse(text).checks.leaky.details).toEqual({ host: 'redis://***@cache', n: 3 });
    expect((await handler(get('/other'))).status).toBe(404);
    expect((await handler(new Request('http://bot.test/health', { method: 'POST' }))).status).toBe(405);
    const head = await handler(new Request('http://bot.test/health', { method: 'HEAD' }));
    expect(head.status).toBe(503);
    expect(await head.text()).toBe('');
    expect(() => healthHandler({ checks: { x: {} as HealthCheckable } })).toThrow(/no health\(\) method/);
  });

  it('boundedHealth turns a throwing check into ok:false "failed"', async () => {
    const r = await boundedHealth({ health: () => { throw new Error('boom'); } }, 100, 'thrower');
    expect(r).toMatchObject({ ok: false, backend: 'thrower', error: 'failed' });
  });

  it('the gateway reports its connection count, and not ok once intake stopped', async () => {
    const bus = memorySyncBus({ hub: createMemorySyncHub() });
    const gateway = await createSyncGateway({ bus, port: 0, host: '127.0.0.1', authorize: () => ({ allow: ['**'] }) });
    try {
      expect(await gateway.health()).toMatchObject({ ok: true, backend: 'sync gateway', details: { connections: 0, accepting: true } });
      gateway.stopIntake();
      expect(await gateway.health()).toMatchObject({ ok: false, error: 'shutting down', details: { accepting: false } });
    } finally {
      await gateway.close();
      await bus.close();
    }
  });
});

describe.runIf(await needs('redis'))('health on the shared Redis', () => {
  it('store, queue, rate limit and bus answer one PING', async () => {
    const client = new Redis(REDIS_URL);
    const prefix = uniqueName('hl');
    const store = redisSessionStore({ client, prefix: `${prefix}:s:` });
    const queue = redisJobQueue({ client, prefix: `${prefix}:j:` });
    const limits = redisRateLimitStore({ client, prefix: `${prefix}:rl:` });
    const bus = redisSyncBus({ url: REDIS_URL, channelPrefix: `${prefix}:sync:` });
    try {
      await bus.ready();
      for (const target of [store, queue, limits, bus] as HealthCheckable[]) {
        const r = await target.health();
        expect(r, JSON.stringify(r)).toMatchObject({ ok: true, backend: 'Redis' });
      }
      expect((await store.health()).details).toMatchObject({ status: 'ready' });
    } finally {
      await bus.close();
      client.disconnect();
    }
  });
});

describe.runIf(privateServerTests)('health when a private Redis hangs (SIGSTOP)', () => {
  let server: PrivateRedis;
  beforeAll(async () => { server = await startPrivateRedis(); });
  afterAll(async () => { server?.resume(); await server?.dispose(); });

  it('answers 503 within timeoutMs while the server is stopped, and 200 again after SIGCONT', async () => {
    const store = redisSessionStore({ url: server.url, operationTimeoutMs: 5_000 });
    const queue = redisJobQueue({ url: server.url });
    const handler = healthHandler({ checks: { sessions: store, jobs: queue }, timeoutMs: 400 });
    try {
      expect((await handler(get())).status).toBe(200);
      server.pause();
      const started = performance.now();
      const res = await handler(get());
      const took = performance.now() - started;
      console.log(`/health answered ${res.status} ${Math.round(took)} ms into a SIGSTOP (timeoutMs 400)`);
      expect(res.status).toBe(503);
      expect(took).toBeLessThan(400 + 300);
      const b = await body(res);
      expect(b.checks.sessions).toMatchObject({ ok: false, error: 'timed out' });
      expect(b.checks.jobs).toMatchObject({ ok: false, error: 'timed out' });
      expect(JSON.stringify(b)).not.toContain(String(server.port));
      server.resume();
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = (await handler(get())).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
    } finally {
      server.resume();
      await store.close();
      await queue.close();
    }
  });
});

describe('health on PGlite', () => {
  it('reports the schema version of a migrated schema and "migrations missing" for another', async () => {
    const lite = await withPgSchema('bw_health_lite', { pglite: true });
    try {
      const migrated = await postgresSessionStore({ client: lite.client, schema: lite.schema }).health();
      expect(migrated).toMatchObject({ ok: true, backend: 'Postgres', details: { schemaVersion: EXPECTED_VERSION } });
      const other = await postgresJobQueue({ client: lite.client, schema: 'bw_never_migrated' }).health();
      expect(other).toMatchObject({ ok: false, error: 'migrations missing' });
    } finally {
      await lite.drop();
    }
  });
});

describe.runIf(await needs('postgres'))('health on Postgres', () => {
  let db: PgSchema<pg.Pool>;
  beforeAll(async () => { db = await withPgSchema('bw_health'); });
  afterAll(() => db?.drop());

  it('reports the schema version when migrated', async () => {
    for (const target of [
      postgresSessionStore({ client: db.client, schema: db.schema }),
      postgresJobQueue({ client: db.client, schema: db.schema }),
      postgresRateLimitStore({ client: db.client, schema: db.schema }),
    ] as HealthCheckable[]) {
      const r = await target.health();
      expect(r).toMatchObject({ ok: true, backend: 'Postgres', details: { schemaVersion: EXPECTED_VERSION, expectedVersion: EXPECTED_VERSION } });
    }
  });

  it('reports "migrations missing" on a fresh schema and "migrations behind" on an old one', async () => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    const fresh = uniqueName('bw_health_fresh');
    try {
      const store = postgresSessionStore({ client: pool, schema: fresh, listen: false });
      const missing = await store.health();
      expect(missing).toMatchObject({ ok: false, error: 'migrations missing', details: { schemaVersion: 0, expectedVersion: EXPECTED_VERSION } });
      const handler = healthHandler({ checks: { sessions: store } });
      const res = await handler(get());
      expect(res.status).toBe(503);
      expect(await res.text()).not.toContain(DATABASE_URL);

      await migrate(pool, { schema: fresh });
      expect((await store.health()).ok).toBe(true);
      await pool.query(`DELETE FROM "${fresh}".migrations WHERE version = $1`, [EXPECTED_VERSION]);
      const behind = await store.health();
      expect(behind).toMatchObject({ ok: false, error: 'migrations behind', details: { schemaVersion: EXPECTED_VERSION - 1 } });
      await store.close();
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${fresh}" CASCADE`);
      await pool.end();
    }
  });
});
