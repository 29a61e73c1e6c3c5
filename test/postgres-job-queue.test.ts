import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postgresJobBackend, postgresJobQueue } from '../adapters/postgres/job-backend.js';
import { preparedQuery, type PgQueryable } from '../adapters/postgres/client.js';
import { BackendSchemaError } from '../src/errors.js';
import { runDue } from '../src/jobs/run-due.js';
import { Worker } from '../src/jobs/worker.js';
import { jobQueueContract } from '../src/testing/job-queue-contract.js';
import { claimAheadSuite } from './support/claim-ahead-suite.js';
import { withPgSchema, type PgSchema } from './support/pg-schema.js';
import { DATABASE_URL, needs, uniqueName } from './support/services.js';

const run = await needs('postgres');
let db: PgSchema<pg.Pool>;
let pool: pg.Pool;
let schema: string;

/** Wraps a client and counts every query it sends, to prove the round trips per job. */
function counting(client: PgQueryable): PgQueryable & { count: number } {
  const c = { count: 0, query(text: string, params?: unknown[]) { c.count++; return client.query(text, params); } };
  return c;
}

/**
 * The pool itself (so the queue still sees a pg.Pool: LISTEN connection, prepared statements) with
 * `query` counted; queries on connections it hands out (the listener) are not counted.
 */
function countingPool(p: pg.Pool): { pool: pg.Pool; calls: () => number } {
  let n = 0;
  const wrapped = new Proxy(p, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop === 'query') return (...args: unknown[]) => { n++; return (value as (...a: unknown[]) => unknown).apply(target, args); };
      // Everything else acts on the real pool (its connections are checked out and back in there).
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { pool: wrapped, calls: () => n };
}

describe.runIf(run)('Postgres job queue (pg)', () => {
  beforeAll(async () => {
    db = await withPgSchema('bw_jobs', { max: 8 });
    ({ client: pool, schema } = db);
  });
  afterAll(() => db?.drop());

  // Tests count jobs schema-wide (left, retention), so each starts from an empty table.
  jobQueueContract('postgres (pg.Pool, LISTEN/NOTIFY)', () => {
    const backend = postgresJobBackend({ client: pool, schema });
    return { backend, teardown: async () => { await backend.close(); await pool.query(`DELETE FROM "${schema}".jobs`); } };
  });

  describe('claim-ahead', () => {
    const fresh = async (): Promise<void> => { await pool.query(`DELETE FROM "${schema}".jobs`); };
    beforeAll(fresh);
    afterEach(fresh);
    claimAheadSuite({
      backend: () => postgresJobBackend({ client: pool, schema }) as ReturnType<typeof postgresJobBackend> & { close(): Promise<void> },
      queue: (handlers) => {
        // Count every statement any connection of this pool sends (LISTEN included, notifications not).
        const counted = countingPool(pool);
        return { queue: postgresJobQueue({ client: counted.pool, schema, defaultTimeoutMs: 5_000, handlers }), calls: counted.calls };
      },
    });
  });

  describe('postgres specifics', () => {
    it('spends 3 queries per job in a tick: add, a share of one claim, complete', async () => {
      const client = counting(pool);
      const queue = postgresJobQueue({ client, schema, handlers: { n: () => null }, listen: false });
      for (let i = 0; i < 20; i++) await queue.add('n', { i });
      const before = client.count;
      const summary = await runDue(queue, undefined, { concurrency: 20, retention: false });
      expect(summary.completed).toBe(20);
      // maintenance (reclaim, schedules: none) + 1 claim + 20 completes + countDue, + the empty claim
      expect(client.count - before).toBeLessThanOrEqual(20 + 5);
      expect(before).toBe(20);
      await pool.query(`DELETE FROM "${schema}".jobs`);
    });

    it('keeps the claim on the partial index of runnable jobs as finished jobs pile up', async () => {
      await pool.query(
        `INSERT INTO "${schema}".jobs (id, name, state, payload, run_at, max_attempts, backoff, timeout_ms, created_at, updated_at, finished_at)
         SELECT 'done-' || g, 'n', 'completed', '{}', 0, 3, '{}', 1000, g, g, g FROM generate_series(1, 20000) g`,
      );
      await pool.query(`ANALYZE "${schema}".jobs`);
      const { rows } = await pool.query(
        `EXPLAIN SELECT d.id FROM "${schema}".jobs AS d WHERE d.state IN ('waiting','delayed','partial') AND d.run_at <= 1e15
           AND d.name = ANY ('{n}') AND d.timeout_ms <= 1e9 ORDER BY d.priority DESC, d.run_at, d.seq LIMIT 10 FOR UPDATE SKIP LOCKED`,
      );
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('jobs_runnable_idx');
      await pool.query(`DELETE FROM "${schema}".jobs`);
    });

    it('wakes a worker through NOTIFY, long before its poll interval', async () => {
      const queue = postgresJobQueue({ client: pool, schema });
      let done!: () => void;
      const ran = new Promise<void>((r) => { done = r; });
      const worker = new Worker(queue, { ping: () => { done(); } }, { pollIntervalMs: 60_000, maintenanceIntervalMs: 60_000 });
      await worker.start();
      await new Promise((r) => setTimeout(r, 100)); // the first (empty) claim has run
      const t0 = Date.now();
      await queue.add('ping', {});
      await ran;
      expect(Date.now() - t0).toBeLessThan(10_000);
      await worker.stop();
      await queue.close();
      await pool.query(`DELETE FROM "${schema}".jobs`);
    });

    it('sends its statements as named prepared statements on pg, and plain ones with preparedStatements: false', async () => {
      for (const prepared of [true, false]) {
        const client = new pg.Client({ connectionString: DATABASE_URL });
        await client.connect();
        try {
          const queue = postgresJobQueue({ client, schema, listen: false, preparedStatements: prepared, handlers: { n: () => null } });
          await queue.add('n', { i: 1 });
          await queue.add('n', { i: 2 });
          expect((await runDue(queue, undefined, { concurrency: 1, retention: false })).completed).toBe(2);
          const { rows } = await client.query<{ name: string; calls: string }>("SELECT name FROM pg_prepared_statements WHERE name LIKE 'botwire_%'");
          if (prepared) expect(rows.length).toBeGreaterThanOrEqual(3); // add, claim, complete (+ maintenance)
          else expect(rows).toEqual([]);
        } finally {
          await client.end();
          await pool.query(`DELETE FROM "${schema}".jobs`);
        }
      }
    });

    it('prepares its statements again when a migration changed a row type under them (0A000)', async () => {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      try {
        await client.query(`CREATE TABLE "${schema}".plan_probe (a int); INSERT INTO "${schema}".plan_probe VALUES (1)`);
        const query = preparedQuery(client, true);
        const sql = `SELECT * FROM "${schema}".plan_probe`;
        expect((await query(sql, [])).rows).toEqual([{ a: 1 }]);
        await client.query(`ALTER TABLE "${schema}".plan_probe ADD COLUMN b int`);
        // pg itself refuses the statement prepared before the change; the adapter's query recovers.
        await expect(client.query({ name: 'probe_raw', text: sql, values: [] }).then(() =>
          client.query(`ALTER TABLE "${schema}".plan_probe ADD COLUMN c int`)).then(() =>
          client.query({ name: 'probe_raw', text: sql, values: [] }))).rejects.toMatchObject({ code: '0A000' });
        expect((await query(sql, [])).rows).toEqual([{ a: 1, b: null, c: null }]);
      } finally {
        await client.query(`DROP TABLE IF EXISTS "${schema}".plan_probe`);
        await client.end();
      }
    });

    it('says to run migrate() when the schema has no job functions', async () => {
      const queue = postgresJobQueue({ client: pool, schema: uniqueName('missing'), listen: false });
      await expect(queue.add('x', {})).rejects.toBeInstanceOf(BackendSchemaError);
    });
  });
});
