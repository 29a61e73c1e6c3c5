/**
 * The fleet contract (limits, groups, addMany, counts, debounce) and the semaphore contract on
 * Postgres through a pg.Pool (LISTEN/NOTIFY wake-ups, claim-ahead) and on PGlite.
 */
import type pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe } from 'vitest';
import { postgresJobBackend } from '../adapters/postgres/job-backend.js';
import { postgresSemaphoreBackend } from '../adapters/postgres/semaphore.js';
import { jobFleetContract } from '../src/testing/job-fleet-contract.js';
import { semaphoreContract } from '../src/testing/semaphore-contract.js';
import { resetFleet } from './support/pg-fleet.js';
import { withPgSchema, type PgSchema } from './support/pg-schema.js';
import { needs } from './support/services.js';

const run = await needs('postgres');

describe.runIf(run)('Postgres (pg.Pool)', () => {
  let db: PgSchema<pg.Pool>;
  beforeAll(async () => { db = await withPgSchema('bw_fleet', { max: 8 }); });
  afterAll(() => db?.drop());

  jobFleetContract('postgres (pg.Pool, LISTEN/NOTIFY)', () => {
    const backend = postgresJobBackend({ client: db.client, schema: db.schema });
    return { backend, teardown: async () => { await backend.close(); await resetFleet(db.client, db.schema); } };
  });
  semaphoreContract('postgres (pg.Pool, LISTEN/NOTIFY)', () => {
    const backend = postgresSemaphoreBackend({ client: db.client, schema: db.schema });
    return { backend, teardown: async () => { await backend.close(); await resetFleet(db.client, db.schema); } };
  });
});

describe('PGlite', () => {
  let db: PgSchema<PGlite>;
  beforeAll(async () => { db = await withPgSchema('botwire', { pglite: true }); });
  afterAll(() => db?.drop());

  jobFleetContract('postgres (PGlite)', () => {
    const backend = postgresJobBackend({ client: db.client, schema: db.schema });
    return { backend, teardown: async () => { await backend.close(); await resetFleet(db.client, db.schema); } };
  }, { timeScale: 2 });
  semaphoreContract('postgres (PGlite)', () => {
    const backend = postgresSemaphoreBackend({ client: db.client, schema: db.schema });
    return { backend, teardown: async () => { await backend.close(); await resetFleet(db.client, db.schema); } };
  }, { timeScale: 2 });
});
