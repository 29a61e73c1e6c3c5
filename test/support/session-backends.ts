/**
 * Runs a middleware suite once per session backend (memory, Redis, Postgres, PGlite), each with one
 * store for the whole file: every test uses fresh chat ids, so they never collide.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { memorySessionStore } from '../../adapters/memory/index.js';
import { postgresSessionStore } from '../../adapters/postgres/index.js';
import { redisSessionStore } from '../../adapters/redis/index.js';
import type { SessionStore } from '../../src/session/session-store.js';
import { withPgSchema, type PgSchema } from './pg-schema.js';
import { needs, REDIS_URL, uniqueName } from './services.js';

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
    let db: PgSchema<unknown> | undefined;
    let store: SessionStore<unknown>;
    beforeAll(async () => {
      const pg = await withPgSchema('bw_mw', { max: 10 });
      db = pg;
      store = postgresSessionStore({ client: pg.client, schema: pg.schema });
    });
    afterAll(async () => {
      await store?.close();
      await db?.drop();
    });
    suite('Postgres', { make: () => store });
  });

  describe('on PGlite', () => {
    // One embedded Postgres for the whole file, started from the run's base dump.
    let db: PgSchema<unknown> | undefined;
    let store: SessionStore<unknown>;
    beforeAll(async () => {
      const lite = await withPgSchema('botwire', { pglite: true });
      db = lite;
      store = postgresSessionStore({ client: lite.client });
    }, 60_000);
    afterAll(async () => { await store?.close(); await db?.drop(); });
    suite('PGlite', { make: () => store });
  });
}
