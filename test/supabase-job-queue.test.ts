/**
 * botwire/supabase jobs: the job contract through supabase-js and the PostgREST double, over the
 * real Postgres and botwire's real job functions; requests per job counted at the double.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresJobQueue } from '../adapters/postgres/index.js';
import { supabaseJobBackend, supabaseJobQueue } from '../adapters/supabase/index.js';
import { BackendSchemaError } from '../src/errors.js';
import { runDue } from '../src/jobs/run-due.js';
import { Worker } from '../src/jobs/worker.js';
import { jobQueueContract } from '../src/testing/job-queue-contract.js';
import { supabaseClientFor } from './support/postgrest.js';
import { needs } from './support/services.js';
import { withSupabase, type SupabaseSetup } from './support/supabase.js';

const run = await needs('postgres');

describe.runIf(run)('Supabase job queue (supabase-js → PostgREST double → Postgres)', () => {
  let s: SupabaseSetup;
  beforeAll(async () => { s = await withSupabase('bw_supa_jobs'); });
  afterAll(() => s?.drop());
  const empty = async (): Promise<void> => { await s.pool.query(`DELETE FROM "${s.schema}".jobs`); };

  // Tests count jobs schema-wide (left, retention), so each starts from an empty table.
  jobQueueContract('supabase (rpc through the PostgREST double)', () => {
    const backend = supabaseJobBackend({ client: s.client, schema: s.schema });
    return { backend, teardown: async () => { await backend.close(); await empty(); } };
  });

  describe('supabase specifics', () => {
    it('spends about 2 requests per job in a serverless tick: add, then its share of one claim and one merged completion', async () => {
      await empty();
      const queue = supabaseJobQueue({ client: s.client, schema: s.schema, handlers: { n: () => null } });
      s.double.resetRequests();
      for (let i = 0; i < 20; i++) await queue.add('n', { i });
      expect(s.double.requests.total).toBe(20);
      s.double.resetRequests();
      const summary = await runDue(queue, undefined, { concurrency: 20, retention: false });
      expect(summary.completed).toBe(20);
      const routes = Object.fromEntries(s.double.requests.byRoute);
      // Completions made while one is in flight go together (withClaimAhead's batching, as on Postgres).
      expect(routes['POST /rpc/job_complete_many']).toBeLessThan(20);
      expect(s.double.requests.total).toBeLessThanOrEqual(2 + 20 + 3);
      expect(Object.keys(routes).every((r) => r.startsWith('POST /rpc/job_'))).toBe(true);
      await empty();
    });

    it('a job enqueued through Supabase wakes an idle postgresJobQueue worker LISTENing on the direct connection', async () => {
      await empty();
      const direct = postgresJobQueue({ client: s.pool, schema: s.schema });
      let done!: () => void;
      const ran = new Promise<void>((r) => { done = r; });
      const worker = new Worker(direct, { ping: () => { done(); } }, { pollIntervalMs: 60_000, maintenanceIntervalMs: 60_000 });
      await worker.start();
      await new Promise((r) => setTimeout(r, 200)); // the worker's first (empty) claim registered it as idle
      const viaHttp = supabaseJobQueue({ client: s.client, schema: s.schema });
      const t0 = Date.now();
      await viaHttp.add('ping', {});
      await ran;
      // Far below the 60 s poll: only the NOTIFY sent by job_add can have woken it.
      expect(Date.now() - t0).toBeLessThan(10_000);
      await worker.stop();
      await direct.close();
      await empty();
    });

    it('names the missing functions and both causes when the exposed schema was never migrated', async () => {
      const bare = `${s.schema}_bare`;
      await s.pool.query(`CREATE SCHEMA "${bare}"; GRANT USAGE ON SCHEMA "${bare}" TO service_role`);
      const { startPostgrest } = await import('./support/postgrest.js');
      const { DATABASE_URL } = await import('./support/services.js');
      const double = await startPostgrest({ databaseUrl: DATABASE_URL, schemas: [bare], createRoles: false });
      try {
        const queue = supabaseJobQueue({ client: supabaseClientFor(double, double.serviceKey, { schema: bare }), schema: bare });
        const err = await queue.add('x', {}).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BackendSchemaError);
        expect((err as Error).message).toMatch(new RegExp(`function ${bare}\\.job_add was not found in the Data API's schema cache`));
        expect((err as Error).message).toContain('npx botwire migrate --print');
        expect((err as Error).message).toContain('exposed schemas');
      } finally {
        await double.close();
        await s.pool.query(`DROP SCHEMA "${bare}" CASCADE`);
      }
    });
  });
});
