/**
 * Runs a middleware suite once per session backend (memory, Redis, Postgres, PGlite), each with one
 * store for the whole file: every test uses fresh chat ids, so they never collide.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { memorySessionStore } from '../../adapters/memory/index.js';
import { migrate, postgresSessionStore } from '../../adapters/postgres/index.js';
import { redisSessionStore } from '../../adapters/redis/index.js';
import type { SessionStore } from '../../src/session/session-store.js';
import { createPGlite } from './pglite.js';
import { DATABASE_URL, needs, REDIS_URL, uniqueName } from './services.js';

/** A suite that registers its tests for one backend; `make` is called inside tests, after setup. */
export type BackendSuite = (backend: string, options: { make: () => SessionStore<unknown> }) => void;

/** Register `suite` on every session backend (Redis/Postgres gated by `needs`). */
export async function onEverySessionBackend(suite: BackendSuite): Promise<void> {
  suite('memory', { make: () => memorySessionStore() });

  describe.runIf(await needs('redis'))('on Redis', () => {
    const shared = redisSessionStore({ url: REDIS_URL, prefix: `${uniqueName('mw')}:` });
    afterAll(() => shared.close());
    suite('Redis', { make: () => shared });
  });

  describe.runIf(await needs('postgres'))('on Postgres', () => {
    const schema = uniqueName('bw_mw');
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 });
    pool.on('error', () => undefined);
    let store: SessionStore<unknown>;
    beforeAll(async () => {
      await migrate(pool, { schema });
      store = postgresSessionStore({ client: pool, schema });
    });
    afterAll(async () => {
      await store.close();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    });
    suite('Postgres', { make: () => store });
  });

  describe('on PGlite', () => {
    // One embedded Postgres for the whole file, started from the run's base dump.
    let db: Awaited<ReturnType<typeof createPGlite>>;
    let store: SessionStore<unknown>;
    beforeAll(async () => {
      db = await createPGlite();
      await migrate(db);
      store = postgresSessionStore({ client: db });
    }, 60_000);
    afterAll(async () => { await store.close(); await db.close(); });
    suite('PGlite', { make: () => store });
  });
}
