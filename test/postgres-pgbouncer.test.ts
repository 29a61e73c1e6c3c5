/**
 * botwire through a real transaction pooler: a private PgBouncer (`pool_mode = transaction`) in front
 * of the shared Postgres. Stores, queues and rate limits pass their suites through it; LISTEN (the
 * sync bus, job wake-ups) refuses it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, postgresJobBackend, postgresJobQueue, postgresRateLimitStore, postgresSemaphoreBackend, postgresSessionStore } from '../adapters/postgres/index.js';
import { runDue } from '../src/jobs/run-due.js';
import { semaphore } from '../src/jobs/semaphore.js';
import { Worker } from '../src/jobs/worker.js';
import { jobQueueContract, semaphoreContract, sessionStoreContract } from '../src/testing/index.js';
import { startPgBouncer, type PrivatePgBouncer } from './support/pgbouncer.js';
import { rateLimitSuite } from './support/rate-limit-suite.js';
import { BotwireConfigError, SemaphoreTimeoutError } from '../src/errors.js';
import { postgresSyncBus } from '../adapters/postgres/index.js';
import { DATABASE_URL, needs, uniqueName } from './support/services.js';

const run = await needs('postgres');

describe.runIf(run)('Postgres through PgBouncer (transaction mode)', () => {
  let bouncer: PrivatePgBouncer;
  let direct: pg.Pool;
  let pooled: pg.Pool;
  let prepared: boolean;
  const schema = uniqueName('bw_pgb');

  beforeAll(async () => {
    bouncer = await startPgBouncer();
    prepared = bouncer.preparedStatements;
    direct = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    direct.on('error', () => undefined);
    // Migrations take advisory locks across statements: run them on a direct connection.
    await migrate(direct, { schema });
    pooled = new pg.Pool({ connectionString: bouncer.url, max: 8 });
    pooled.on('error', () => undefined);
  }, 30_000);

  afterAll(async () => {
    await pooled?.end();
    await direct?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await direct?.end();
    await bouncer?.stop();
  });

  it('really goes through a transaction pooler: consecutive statements may run on different backends', async () => {
    // Two transactions held open at once by two clients need two server connections; a third
    // client's statement runs on whichever is free: the backend pid is not a client's own.
    const a = await pooled.connect();
    const b = await pooled.connect();
    try {
      await a.query('BEGIN');
      const pidA = (await a.query('SELECT pg_backend_pid() AS p')).rows[0].p as number;
      const pidB1 = (await b.query('SELECT pg_backend_pid() AS p')).rows[0].p as number;
      expect(pidB1).not.toBe(pidA);
      await a.query('COMMIT');
      // PgBouncer answers the client with its own cancel key, not a backend's pid.
      expect((b as unknown as { processID: number }).processID).not.toBe(pidB1);
    } finally {
      a.release();
      b.release();
    }
  });

  // `listen` left on: the store sees the pooler on its first wait and polls instead of listening.
  sessionStoreContract('postgres through PgBouncer', () => {
    const prefix = uniqueName('t') + ':';
    const store = postgresSessionStore({ client: pooled, schema, prefix, preparedStatements: prepared });
    return {
      store,
      teardown: async () => {
        await store.close();
        await direct.query(`DELETE FROM "${schema}".sessions WHERE starts_with(key, $1)`, [prefix]);
      },
    };
  }, {
    needsCleanup: true,
    corruptionImpossibleBecause: 'the data column is jsonb, which Postgres validates on every write, so it cannot hold undecodable bytes',
  });

  jobQueueContract('postgres through PgBouncer (listen: false)', () => {
    const backend = postgresJobBackend({ client: pooled, schema, listen: false, preparedStatements: prepared });
    return { backend, teardown: async () => { await backend.close(); await direct.query(`DELETE FROM "${schema}".jobs`); } };
  });

  rateLimitSuite('Postgres through PgBouncer', () => postgresRateLimitStore({ client: pooled, schema }));

  it('a polling worker and runDue ticks drain a queue through the pooler', async () => {
    const done: number[] = [];
    const queue = postgresJobQueue({
      client: pooled, schema, listen: false, preparedStatements: prepared, onError: () => undefined,
      handlers: { tick: async ({ job }) => { done.push((job.payload as { i: number }).i); } },
    });
    await queue.addMany(Array.from({ length: 10 }, (_, i) => ({ name: 'tick', payload: { i }, options: { timeoutMs: 2_000 } })));
    // Serverless ticks first, then a long-running polling worker.
    expect(await runDue(queue, undefined, { budgetMs: 5_000, concurrency: 4 })).toMatchObject({ claimed: 10, completed: 10, left: 0 });
    await queue.addMany(Array.from({ length: 20 }, (_, i) => ({ name: 'tick', payload: { i: 10 + i } })));
    const worker = new Worker(queue, undefined, { concurrency: 4, pollIntervalMs: 50 });
    await worker.start();
    for (let i = 0; i < 200 && done.length < 30; i++) await new Promise((r) => setTimeout(r, 25));
    await worker.stop();
    expect([...done].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    await direct.query(`DELETE FROM "${schema}".jobs`);
  });

  it('100 serverless instances (a pg.Pool of max 1 each, listen: false) share 5 server connections', async () => {
    const small = await startPgBouncer({ poolSize: 5 });
    const instances = Array.from({ length: 100 }, () => {
      const pool = new pg.Pool({ connectionString: small.url, max: 1 });
      pool.on('error', () => undefined);
      return { pool, store: postgresSessionStore<number>({ client: pool, schema, prefix: 'fleet:', listen: false, preparedStatements: prepared }) };
    });
    try {
      // Every instance updates the same 10 counters at once: 100 client connections, 5 on Postgres.
      await Promise.all(instances.map(async ({ store }, i) => {
        const lease = await store.acquire(`c${i % 10}`, { leaseMs: 10_000, waitMs: 20_000 });
        await lease.commit((lease.record?.data ?? 0) + 1);
      }));
      const servers = await small.serverConnections();
      expect(servers).toBeGreaterThan(0);
      expect(servers).toBeLessThanOrEqual(5);
      const records = await instances[0]!.store.getMany(Array.from({ length: 10 }, (_, i) => `c${i}`));
      expect(records.reduce((sum, r) => sum + (r?.data ?? 0), 0)).toBe(100);
    } finally {
      await Promise.all(instances.map(({ pool }) => pool.end()));
      await small.stop();
    }
  });

  // `listen` left on: the backend sees the pooler on its first wait and backs off instead of listening.
  semaphoreContract('postgres through PgBouncer', () => {
    const backend = postgresSemaphoreBackend({ client: pooled, schema, preparedStatements: prepared });
    return {
      backend,
      teardown: async () => { await backend.close(); await direct.query(`DELETE FROM "${schema}".semaphore_holders`); },
    };
  });

  describe('LISTEN refuses the pooler', () => {
    it('the sync bus (connectionString or pool) rejects ready() with a BotwireConfigError asking for a direct connection', async () => {
      for (const source of [{ connectionString: bouncer.url }, { client: pooled }]) {
        const errors: unknown[] = [];
        const bus = postgresSyncBus({ ...source, schema, onError: (e) => errors.push(e) });
        const err = await bus.ready(5_000).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BotwireConfigError);
        expect((err as Error).message).toMatch(/postgresSyncBus needs LISTEN.*pooler.*Pass a direct connection for LISTEN/);
        expect(errors).toContain(err);
        // Refused for good: no reconnect loop, and later calls answer at once.
        await expect(bus.ready(5_000)).rejects.toBe(err);
        await bus.close();
      }
    });

    it('sessionPooler: true skips the check (for session-mode poolers, where LISTEN works)', async () => {
      const bus = postgresSyncBus({ connectionString: bouncer.url, schema, sessionPooler: true, onError: () => undefined });
      await bus.ready(5_000);
      await bus.close();
      const queue = postgresJobQueue({ client: pooled, schema, sessionPooler: true, preparedStatements: prepared, handlers: { w: () => undefined } });
      const worker = new Worker(queue, undefined, { autostart: false });
      await worker.start();
      await worker.stop();
      await queue.close();
    });

    it('semaphore waiters: a pooled connection is seen at the first wait and they back off instead; sessionPooler: true listens', async () => {
      const name = uniqueName('sem');
      for (const sessionPooler of [false, true]) {
        const backend = postgresSemaphoreBackend({ client: pooled, schema, preparedStatements: prepared, sessionPooler });
        const sem = semaphore(backend, `${name}-${sessionPooler}`, { limit: 1, onError: () => undefined });
        const held = await sem.acquire();
        const err = await sem.acquire({ waitMs: 100 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SemaphoreTimeoutError);
        // Without sessionPooler the pooler was detected: the backend gave up its release wake-ups.
        expect(backend.waitForRelease === undefined).toBe(!sessionPooler);
        await held.release();
        await backend.close();
      }
    });

    it('a direct connection passes the same check (the bus comes up)', async () => {
      const bus = postgresSyncBus({ connectionString: DATABASE_URL, schema, onError: () => undefined });
      await bus.ready(5_000);
      await bus.close();
    });

    it('job wake-ups: the worker refuses to start; listen: false polls (above); a direct pool listens', async () => {
      const errors: unknown[] = [];
      const queue = postgresJobQueue({ client: pooled, schema, preparedStatements: prepared, onError: (e) => errors.push(e), handlers: { w: () => undefined } });
      const worker = new Worker(queue, undefined, { autostart: false });
      const err = await worker.start().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BotwireConfigError);
      expect((err as Error).message).toMatch(/postgresJobQueue wake-ups needs LISTEN.*`listen: false`/);
      await worker.stop();
      // Autostart reports the refusal to onError.
      const auto = new Worker(queue);
      await expect(auto.start()).rejects.toBe(err);
      await auto.stop();
      expect(errors).toContain(err);
      await queue.close();

      const directQueue = postgresJobQueue({ client: direct, schema, handlers: { w: () => undefined } });
      const ok = new Worker(directQueue, undefined, { autostart: false });
      await ok.start();
      await ok.stop();
      await directQueue.close();
    });
  });
});
