import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { postgresJobBackend, postgresJobQueue } from '../adapters/postgres/job-backend.js';
import { runDue } from '../src/jobs/run-due.js';
import { jobQueueContract } from '../src/testing/job-queue-contract.js';
import { claimAheadSuite } from './support/claim-ahead-suite.js';
import { withPgSchema } from './support/pg-schema.js';

// One embedded Postgres for the whole file: starting PGlite takes seconds.
const { client: db, schema, drop } = await withPgSchema('botwire', { pglite: true });
afterAll(drop);

// Tick mode, as behind a transaction pooler: no LISTEN, workers poll.
jobQueueContract('postgres (PGlite, no LISTEN)', () => {
  const backend = postgresJobBackend({ client: db, schema, listen: false });
  return { backend, teardown: async () => { await backend.close(); await db.query(`DELETE FROM ${schema}.jobs`); } };
});

describe('PGlite job specifics', () => {
  it('runs a tick with the in-process LISTEN enabled as well', async () => {
    const queue = postgresJobQueue({ client: db, schema, handlers: { a: () => 'ok' } });
    const job = await queue.add('a', {});
    expect(await runDue(queue)).toMatchObject({ claimed: 1, completed: 1, left: 0 });
    expect((await queue.get(job.id))?.result).toBe('ok');
    await queue.close();
    await db.query(`DELETE FROM ${schema}.jobs`);
  });
});

// With PGlite's in-process LISTEN a Worker subscribes, so completions claim ahead as on pg.
describe('PGlite claim-ahead', () => {
  afterEach(async () => { await db.query(`DELETE FROM ${schema}.jobs`); });
  claimAheadSuite({
    backend: () => postgresJobBackend({ client: db, schema }) as ReturnType<typeof postgresJobBackend> & { close(): Promise<void> },
    queue: (handlers) => {
      let n = 0;
      // The instance itself, with query counted (a wrapper object would hide PGlite's listen/transaction).
      const counted = Object.create(db) as typeof db;
      (counted as unknown as { query: unknown }).query = (...args: unknown[]) => { n++; return (db.query as (...a: unknown[]) => unknown).apply(db, args); };
      return { queue: postgresJobQueue({ client: counted, schema, defaultTimeoutMs: 5_000, handlers }), calls: () => n };
    },
  });
});
