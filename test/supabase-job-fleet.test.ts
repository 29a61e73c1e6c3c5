/**
 * The fleet contract and the semaphore contract on botwire/supabase: supabase-js → the PostgREST
 * double → the real Postgres and 005_job_fleet's functions.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { supabaseJobBackend, supabaseSemaphoreBackend } from '../adapters/supabase/index.js';
import { jobFleetContract } from '../src/testing/job-fleet-contract.js';
import { semaphoreContract } from '../src/testing/semaphore-contract.js';
import { resetFleet } from './support/pg-fleet.js';
import { needs } from './support/services.js';
import { withSupabase, type SupabaseSetup } from './support/supabase.js';

const run = await needs('postgres');

describe.runIf(run)('Supabase fleet (supabase-js → PostgREST double → Postgres)', () => {
  let s: SupabaseSetup;
  beforeAll(async () => { s = await withSupabase('bw_supa_fleet'); });
  afterAll(() => s?.drop());

  jobFleetContract('supabase (rpc through the PostgREST double)', () => {
    const backend = supabaseJobBackend({ client: s.client, schema: s.schema });
    return { backend, teardown: async () => { await backend.close(); await resetFleet(s.pool, s.schema); } };
  }, { timeScale: 2 });
  semaphoreContract('supabase (rpc through the PostgREST double)', () => {
    const backend = supabaseSemaphoreBackend({ client: s.client, schema: s.schema });
    return { backend, teardown: async () => { await backend.close(); await resetFleet(s.pool, s.schema); } };
  }, { timeScale: 2 });
});
