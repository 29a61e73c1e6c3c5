import { createPGlite } from './support/pglite.js';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { memorySessionStore } from '../adapters/memory/index.js';
import { migrate, postgresSessionStore } from '../adapters/postgres/index.js';
import { redisSessionStore } from '../adapters/redis/index.js';
import type { SessionStore } from '../src/session/session-store.js';
import { telegrafSessionSuite } from './support/telegraf-session-suite.js';
import { DATABASE_URL, needs, REDIS_URL, uniqueName } from './support/services.js';

// Every test uses fresh chat ids, so one store per backend serves the whole file.
telegrafSessionSuite('memory', { make: () => memorySessionStore() });

describe.runIf(await needs('redis'))('on Redis', () => {
  const shared = redisSessionStore({ url: REDIS_URL, prefix: `${uniqueName('mw')}:` });
  afterAll(() => shared.close());
  telegrafSessionSuite('Redis', { make: () => shared });
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
  telegrafSessionSuite('Postgres', { make: () => store });
});

describe('on PGlite', () => {
  // One embedded Postgres for the whole file: starting PGlite takes seconds (and blocks the event
  // loop meanwhile, so it starts only once the other backends' tests are done).
  let db: PGlite;
  let store: SessionStore<unknown>;
  beforeAll(async () => {
    db = await createPGlite();
    await migrate(db);
    store = postgresSessionStore({ client: db });
  }, 60_000);
  afterAll(async () => { await store.close(); await db.close(); });
  telegrafSessionSuite('PGlite', { make: () => store });
});
