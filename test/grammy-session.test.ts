import { createPGlite } from './support/pglite.js';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from 'grammy';
import { session, type SessionFlavor } from '../integrations/grammy/index.js';
import { BackendUnavailableError } from '../src/errors.js';
import { SessionStore as Store } from '../src/session/session-store.js';
import type { CommitArgs, SessionBackend } from '../src/session/backend.js';
import { grammyBot, textUpdate } from './support/telegram.js';
import { memorySessionStore } from '../adapters/memory/index.js';
import { migrate, postgresSessionStore } from '../adapters/postgres/index.js';
import { redisSessionStore } from '../adapters/redis/index.js';
import type { SessionStore } from '../src/session/session-store.js';
import { grammySessionSuite } from './support/grammy-session-suite.js';
import { DATABASE_URL, needs, REDIS_URL, uniqueName } from './support/services.js';

// Every test uses fresh chat ids, so one store per backend serves the whole file.
grammySessionSuite('memory', { make: () => memorySessionStore() });

describe.runIf(await needs('redis'))('on Redis', () => {
  const shared = redisSessionStore({ url: REDIS_URL, prefix: `${uniqueName('mw')}:` });
  afterAll(() => shared.close());
  grammySessionSuite('Redis', { make: () => shared });
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
  grammySessionSuite('Postgres', { make: () => store });
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
  grammySessionSuite('PGlite', { make: () => store });
});

describe('hand-over failures (memory)', () => {
  it('a hand-over that fails after landing frees the key: the next update is not blocked for leaseMs', async () => {
    const real = memorySessionStore();
    const flaky = new Proxy(real.backend, {
      get(target, prop) {
        const v = Reflect.get(target, prop) as unknown;
        if (prop !== 'commit') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        return async (args: CommitArgs) => {
          const result = await target.commit(args);
          // The write landed and the lease was kept, but the reply never arrives.
          if (args.keepLeaseMs !== undefined) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
          return result;
        };
      },
    }) as SessionBackend;
    const store = new Store(flaky);
    const bot = grammyBot<Context & SessionFlavor<{ n: number }>>();
    bot.use(session({ store, initial: () => ({ n: 0 }), leaseMs: 30_000, waitMs: 2_000 }));
    bot.on('message', (ctx) => { ctx.session.n++; });
    const results = await Promise.allSettled([1, 2].map(() => bot.handleUpdate(textUpdate(99, 'x'))));
    expect((results[0] as PromiseRejectedResult).reason.error).toBeInstanceOf(BackendUnavailableError);
    expect(results[1]!.status).toBe('fulfilled');
    expect((await store.get('99'))?.data).toEqual({ n: 2 });
  });
});
