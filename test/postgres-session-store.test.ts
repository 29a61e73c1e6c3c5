import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, postgresSessionStore, type PgQueryable } from '../adapters/postgres/index.js';
import {
  BackendForbiddenError, BackendSchemaError, BackendUnavailableError, BotwireConfigError, SessionLeaseLostError, SessionSerializationError,
} from '../src/errors.js';
import { leaseHolder } from '../src/session/lease-holder.js';
import { sessionStoreContract } from '../src/testing/index.js';
import { withPgSchema, type PgSchema } from './support/pg-schema.js';
import { DATABASE_URL, needs, uniqueName } from './support/services.js';

const run = await needs('postgres');
let db: PgSchema<pg.Pool>;
let pool: pg.Pool;
let schema: string;

/** Wraps a client and counts every query it sends, to prove one round trip per primitive. */
function counting(client: PgQueryable): PgQueryable & { count: number; texts: string[] } {
  const c = {
    count: 0,
    texts: [] as string[],
    query(text: string, params?: unknown[]) { c.count++; c.texts.push(text); return client.query(text, params); },
  };
  return c;
}

describe.runIf(run)('Postgres session store (pg)', () => {
  beforeAll(async () => {
    db = await withPgSchema('bw_sess', { max: 8 });
    ({ client: pool, schema } = db);
  });
  afterAll(() => db?.drop());

  sessionStoreContract('postgres (pg.Pool)', () => {
    const prefix = uniqueName('t') + ':';
    const store = postgresSessionStore({ client: pool, schema, prefix });
    return {
      store,
      teardown: async () => {
        await store.close();
        // cleanup() is schema-wide: leave no rows behind for the next test to count.
        await pool.query(`DELETE FROM "${schema}".sessions WHERE starts_with(key, $1)`, [prefix]);
      },
    };
  }, {
    needsCleanup: true,
    corruptionImpossibleBecause: 'the data column is jsonb, which Postgres validates on every write, so it cannot hold undecodable bytes',
  });

  describe('postgres specifics', () => {
    it('issues exactly one query per get, getMany, set, acquire, commit, release, extend, touch, inspect', async () => {
      const client = counting(pool);
      const store = postgresSessionStore({ client, schema, prefix: uniqueName('rt') + ':' });
      const steps: Array<[string, () => Promise<unknown>]> = [
        ['set', () => store.set('k', { a: 1 })],
        ['get', () => store.get('k')],
        ['getMany', () => store.getMany(['k', 'x', 'y'])],
        ['touch', () => store.touch('k', 10_000)],
        ['inspect', () => store.inspect('k')],
      ];
      for (const [name, step] of steps) {
        const before = client.count;
        await step();
        expect(client.count - before, name).toBe(1);
      }
      let before = client.count;
      const lease = await store.acquire('k');
      expect(client.count - before, 'acquire').toBe(1);
      before = client.count;
      await lease.extend();
      expect(client.count - before, 'extend').toBe(1);
      before = client.count;
      await lease.commit({ a: 2 }, { ttlMs: 60_000 });
      expect(client.count - before, 'commit').toBe(1);
      before = client.count;
      await (await store.acquire('k')).release();
      expect(client.count - before, 'acquire + release').toBe(2);
      // Reads are one plain SELECT on the table; every write is one call of its SQL function.
      expect(client.texts.every((t) => t.startsWith('SELECT ') && t.includes(`"${schema}".session`))).toBe(true);
      expect(client.texts.filter((t) => !t.includes(`"${schema}".sessions`)).every((t) => t.includes(`"${schema}".session_`))).toBe(true);
    });

    it('enables row level security on every botwire table', async () => {
      const { rows } = await pool.query(
        `SELECT c.relname, c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1`, [schema]);
      expect(rows.map((r) => r.relname)).toEqual(expect.arrayContaining(['migrations', 'sessions', 'session_leases']));
      expect(rows.every((r) => r.relrowsecurity === true)).toBe(true);
    });

    it('keeps leases in an UNLOGGED table of their own: an unchanged session neither rewrites nor locks its row', async () => {
      const { rows } = await pool.query(
        `SELECT c.relname, c.relpersistence FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname IN ('sessions', 'session_leases') ORDER BY 1`, [schema]);
      expect(rows).toEqual([{ relname: 'session_leases', relpersistence: 'u' }, { relname: 'sessions', relpersistence: 'p' }]);
      const store = postgresSessionStore({ client: pool, schema, prefix: uniqueName('ul') + ':' });
      // A lease on an absent key leaves no row in sessions: only its lease row exists.
      const absent = await store.acquire('absent');
      const key = `${store.prefix}absent`;
      expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".sessions WHERE key = $1`, [key])).rows[0].n).toBe(0);
      expect((await pool.query(`SELECT token FROM "${schema}".session_leases WHERE key = $1`, [key])).rows[0].token).toBe(absent.token);
      await absent.release();
      // Take, hand over and release a lease on an existing record without changing it: the
      // transactions write only the unlogged table and merely read the record's row (same version,
      // place and no locker), so none of them writes WAL or waits for a flush.
      await store.set('same', { n: 1 });
      const before = (await pool.query(`SELECT xmin::text AS x, xmax::text AS m, ctid::text AS c FROM "${schema}".sessions WHERE key = $1`, [`${store.prefix}same`])).rows[0];
      const lease = await store.acquire('same');
      const next = await lease.handOver(undefined);
      await next.commit(undefined);
      const after = (await pool.query(`SELECT xmin::text AS x, xmax::text AS m, ctid::text AS c FROM "${schema}".sessions WHERE key = $1`, [`${store.prefix}same`])).rows[0];
      expect(after).toEqual(before);
      expect((await store.get('same'))?.version).toBe(1);
    });

    it('reports a lease taken before migration 007 (acquired_at NULL) without an age, and keeps acquired_at through hand-over', async () => {
      const store = postgresSessionStore({ client: pool, schema, prefix: uniqueName('age') + ':' });
      const key = `${store.prefix}k`;
      const lease = await store.acquire('k', { leaseMs: 10_000 });
      const taken = (await pool.query(`SELECT acquired_at FROM "${schema}".session_leases WHERE key = $1`, [key])).rows[0].acquired_at;
      expect(taken).toBeInstanceOf(Date);
      const next = await lease.handOver({ n: 1 });
      expect((await pool.query(`SELECT acquired_at FROM "${schema}".session_leases WHERE key = $1`, [key])).rows[0].acquired_at).toEqual(taken);
      await pool.query(`UPDATE "${schema}".session_leases SET acquired_at = NULL WHERE key = $1`, [key]);
      expect((await store.inspect('k')).lease).toMatchObject({ holder: leaseHolder(next.token), acquiredAt: undefined });
      await next.release();
      expect((await store.inspect('k')).lease).toBeUndefined();
    });

    it('loses no update when the unlogged leases vanish (as after a crash or failover): a holder commits only at the version it read', async () => {
      const store = postgresSessionStore({ client: pool, schema, prefix: uniqueName('crash') + ':' });
      const leases = `"${schema}".session_leases`;
      await store.set('a', { n: 1 });
      await store.set('b', { n: 1 });
      const [a, b] = [await store.acquire('a'), await store.acquire('b')];
      // A crash empties every unlogged table; both holders are still mid-update.
      await pool.query(`DELETE FROM ${leases} WHERE key IN ($1, $2)`, [`${store.prefix}a`, `${store.prefix}b`]);
      // Somebody else takes 'a' at once and writes it; 'b' stays untouched.
      const other = await store.acquire('a', { waitMs: 0 });
      await other.commit({ n: 10 });
      await expect(a.commit({ n: 2 })).rejects.toBeInstanceOf(SessionLeaseLostError);
      expect(await b.commit({ n: 2 })).toBe(2);
      expect((await store.getMany(['a', 'b'])).map((r) => r?.data)).toEqual([{ n: 10 }, { n: 2 }]);
    });

    it('merges calls of one kind made while one is in flight into one statement, each answered with its own result', async () => {
      const client = counting(pool);
      const store = postgresSessionStore({ client, schema, prefix: uniqueName('mb') + ':' });
      const n = 10;
      const keys = Array.from({ length: n }, (_, i) => `k${i}`);
      const count = (f: (t: string) => boolean): number => client.texts.filter(f).length;
      // The first call of a kind leaves at once; the other nine queue behind it and leave together.
      expect(await Promise.all(keys.map((k, i) => store.set(k, { i })))).toEqual(keys.map(() => 1));
      expect(count((t) => t.includes('session_set('))).toBe(1);
      expect(count((t) => t.includes('session_set_many('))).toBe(1);
      expect((await Promise.all(keys.map((k) => store.get(k)))).map((r) => r?.data)).toEqual(keys.map((_, i) => ({ i })));
      expect(count((t) => t.includes('ANY ($1::text[])'))).toBe(1);
      const leases = await Promise.all(keys.map((k) => store.acquire(k)));
      expect(leases.map((l) => l.record?.data)).toEqual(keys.map((_, i) => ({ i })));
      expect(count((t) => t.includes('session_acquire_many('))).toBe(1);
      // Commits of all three kinds in one batch: set, delete and an unchanged one with a new TTL.
      const versions = await Promise.all(leases.map((l, i) => (i % 3 === 0 ? l.commit({ i: i + 100 }) : i % 3 === 1 ? l.commit(undefined, { delete: true }) : l.commit(undefined, { ttlMs: 60_000 }))));
      expect(versions).toEqual(keys.map((_, i) => (i % 3 === 0 ? 2 : i % 3 === 1 ? 0 : 1)));
      expect(count((t) => t.includes('session_commit_many('))).toBe(1);
      expect((await store.getMany(keys)).map((r) => r?.data)).toEqual(keys.map((_, i) => (i % 3 === 0 ? { i: i + 100 } : i % 3 === 1 ? undefined : { i })));
      // Every lease was released: all keys can be taken again at once.
      await Promise.all((await Promise.all(keys.map((k) => store.acquire(k, { waitMs: 0 })))).map((l) => l.release()));
    });

    it('a batch member that fails by itself fails alone; the same key twice in one batch is served in turn', async () => {
      const client = counting(pool);
      const store = postgresSessionStore({ client, schema, prefix: uniqueName('mbf') + ':' });
      // 'a' leaves alone; 'bad', 'c' and 'd' queue behind it and leave together. jsonb refuses
      // \u0000, so that statement fails and writes nothing, and each of the three is sent alone.
      const results = await Promise.allSettled(['a', 'bad', 'c', 'd'].map((k) => store.set(k, k === 'bad' ? { s: 'nul\u0000' } : { k })));
      expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).name))).toEqual([1, 'SessionSerializationError', 1, 1]);
      expect(client.texts.filter((t) => t.includes('session_set_many(')).length).toBe(1);
      expect(client.texts.filter((t) => t.includes('session_set(')).length).toBe(4);
      expect((await store.getMany(['a', 'bad', 'c', 'd'])).map((r) => r?.data)).toEqual([{ k: 'a' }, undefined, { k: 'c' }, { k: 'd' }]);
      // The same key twice in one acquire batch: 'w' leaves alone, the other four queue behind it and
      // leave together; the batch takes keys in sorted order, ties by position, so the first 'x' wins.
      const before = client.texts.filter((t) => t.includes('session_acquire_many(')).length;
      const taken = await Promise.allSettled([store.acquire('w'), store.acquire('x'), store.acquire('y'), store.acquire('x', { waitMs: 0 }), store.acquire('z')]);
      expect(taken.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect(((taken[3] as PromiseRejectedResult).reason as Error).name).toBe('SessionLockTimeoutError');
      expect(client.texts.filter((t) => t.includes('session_acquire_many(')).length - before).toBe(1);
      // Another store (another instance) with the same prefix finds 'x' taken too.
      const twin = postgresSessionStore({ client: pool, schema, prefix: store.prefix });
      await expect(twin.acquire('x', { waitMs: 0 })).rejects.toMatchObject({ name: 'SessionLockTimeoutError' });
      for (const r of taken) if (r.status === 'fulfilled') await r.value.release();
    });

    it('on a schema without the batch functions, merged calls fall back to single ones', async () => {
      const bare = await withPgSchema('bw_nobatch', { max: 4 });
      try {
        await bare.client.query(`DROP FUNCTION "${bare.schema}".session_acquire_many, "${bare.schema}".session_commit_many,
          "${bare.schema}".session_set_many`);
        const client = counting(bare.client);
        const store = postgresSessionStore({ client, schema: bare.schema });
        const burst = (): Promise<number[]> => Promise.all(['a', 'b', 'c', 'd'].map((k, i) => store.set(k, i)));
        expect(await burst()).toEqual([1, 1, 1, 1]);
        expect(await burst()).toEqual([2, 2, 2, 2]);
        const leases = await Promise.all(['a', 'b', 'c'].map((k) => store.acquire(k)));
        await Promise.all(leases.map((l) => l.commit(9)));
        // One failed try (undefined_function), then no more: every call went alone.
        expect(client.texts.filter((t) => t.includes('_many(')).length).toBe(1);
        expect((await store.getMany(['a', 'b', 'c', 'd'])).map((r) => r?.data)).toEqual([9, 9, 9, 3]);
      } finally {
        await bare.drop();
      }
    });

    it('refuses a role without grants (BackendForbiddenError), and RLS hides rows even from one with grants', async () => {
      const role = uniqueName('bw_nobody');
      const owner = postgresSessionStore({ client: pool, schema });
      const key = uniqueName('secret');
      await owner.set(key, { pin: 1234 });
      await pool.query(`CREATE ROLE ${role} NOLOGIN`);
      const conn = new pg.Client({ connectionString: DATABASE_URL });
      await conn.connect();
      try {
        await conn.query(`SET ROLE ${role}`);
        const intruder = postgresSessionStore({ client: conn, schema });
        await expect(intruder.get(key)).rejects.toBeInstanceOf(BackendForbiddenError);
        await expect(intruder.set(key, 'x')).rejects.toBeInstanceOf(BackendForbiddenError);
        // Even with every grant, RLS without policies shows nothing and refuses writes.
        await pool.query(`GRANT USAGE ON SCHEMA "${schema}" TO ${role};
          GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${schema}" TO ${role};
          GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA "${schema}" TO ${role}`);
        expect(await intruder.get(key)).toBeUndefined();
        await expect(intruder.set(uniqueName('k'), 'x')).rejects.toBeInstanceOf(BackendForbiddenError);
        expect((await owner.get(key))?.data).toEqual({ pin: 1234 });
      } finally {
        await conn.end();
        await pool.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
        await owner.delete(key);
      }
    });

    it('rejects bad schema names with BotwireConfigError before touching the database', async () => {
      for (const bad of ['Botwire', 'bot-wire', '1abc', 'a"; drop table x; --', '', 'x'.repeat(64)]) {
        expect(() => postgresSessionStore({ client: pool, schema: bad })).toThrow(BotwireConfigError);
        await expect(migrate(pool, { schema: bad })).rejects.toBeInstanceOf(BotwireConfigError);
      }
      expect(() => postgresSessionStore({ client: {} as PgQueryable })).toThrow(/query\(text, params\)/);
    });

    it('reports a schema that was never migrated as BackendSchemaError naming migrate', async () => {
      const store = postgresSessionStore({ client: pool, schema: uniqueName('bw_none') });
      const err = await store.get('k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendSchemaError);
      expect((err as Error).message).toMatch(/botwire migrate/);
      await expect(store.acquire('k', { waitMs: 0 })).rejects.toBeInstanceOf(BackendSchemaError);
    });

    it('turns JSON that jsonb refuses (\\u0000, lone surrogates) into SessionSerializationError', async () => {
      const store = postgresSessionStore({ client: pool, schema, prefix: uniqueName('js') + ':' });
      await expect(store.set('nul', { s: 'a\u0000b' })).rejects.toBeInstanceOf(SessionSerializationError);
      await expect(store.set('sur', '\ud800')).rejects.toBeInstanceOf(SessionSerializationError);
      const lease = await store.acquire('nul');
      await expect(lease.commit({ s: '\u0000' })).rejects.toBeInstanceOf(SessionSerializationError);
      expect(await store.get('nul')).toBeUndefined();
    });

    it('reads exactly what the session_get function (the Supabase rpc read) returns', async () => {
      const prefix = uniqueName('rd') + ':';
      const store = postgresSessionStore({ client: pool, schema, prefix });
      await store.set('live', { a: 1 }, { ttlMs: 60_000 });
      await store.set('forever', [1, 2]);
      await store.set('expired', 'x', { ttlMs: 50 });
      const lease = await store.acquire('lease-only'); // a data-less lease row
      await new Promise((r) => setTimeout(r, 120));
      const keys = ['live', 'forever', 'expired', 'lease-only', 'absent'];
      const viaStore = await store.getMany(keys);
      const { rows } = await pool.query(
        `SELECT key, data, version, expires_at_ms FROM "${schema}".session_get($1::text[])`, [keys.map((k) => prefix + k)],
      );
      const viaFunction = keys.map((k) => {
        const r = rows.find((x) => x.key === prefix + k);
        return r && { data: JSON.parse(r.data), version: Number(r.version), expiresAt: r.expires_at_ms == null ? undefined : Number(r.expires_at_ms) };
      });
      expect(viaStore).toEqual(viaFunction);
      expect(viaStore.map((r) => r?.data)).toEqual([{ a: 1 }, [1, 2], undefined, undefined, undefined]);
      await lease.release();
    });

    it('five concurrent migrate() calls on a fresh schema all succeed and apply each migration once', async () => {
      const fresh = uniqueName('bw_race');
      const racers = new pg.Pool({ connectionString: DATABASE_URL, max: 5 });
      try {
        const results = await Promise.all(Array.from({ length: 5 }, () => migrate(racers, { schema: fresh })));
        const applied = results.flatMap((r) => r.applied.map((m) => m.version));
        expect(applied).toContain(1);
        expect(applied.sort()).toEqual([...new Set(applied)].sort());
        expect(results.every((r) => r.version === results[0]!.version && r.version >= 1)).toBe(true);
        const { rows } = await racers.query(`SELECT version FROM "${fresh}".migrations ORDER BY version`);
        expect(rows.map((r) => r.version)).toEqual([...new Set(applied)].sort((a, b) => a - b));
        expect((await migrate(racers, { schema: fresh })).applied).toEqual([]);
      } finally {
        await racers.query(`DROP SCHEMA IF EXISTS "${fresh}" CASCADE`);
        await racers.end();
      }
    });

    it('cleanup deletes expired rows in batches, keeps live and leased ones, and returns the count', async () => {
      const prefix = uniqueName('gc') + ':';
      const store = postgresSessionStore({ client: pool, schema, prefix });
      await pool.query(`DELETE FROM "${schema}".sessions WHERE expires_at <= now()`);
      for (let i = 0; i < 25; i++) await store.set(`old${i}`, i, { ttlMs: 50 });
      await store.set('live', 1, { ttlMs: 60_000 });
      const held = await store.acquire('held-absent', { leaseMs: 60_000 });
      const counted = counting(pool);
      const viaCounter = postgresSessionStore({ client: counted, schema, prefix });
      await new Promise((r) => setTimeout(r, 120));
      expect(await viaCounter.cleanup({ batchSize: 10 })).toBe(25);
      expect(counted.count).toBe(3); // 10 + 10 + 5: a short batch ends the loop
      expect((await store.get('live'))?.data).toBe(1);
      await expect(store.acquire('held-absent', { waitMs: 0 })).rejects.toThrow(/Timed out/);
      await held.release();
      await store.delete('live');
    });

    it('wakes a waiter through LISTEN/NOTIFY on release instead of polling', async () => {
      const prefix = uniqueName('wake') + ':';
      // Counts acquire attempts but keeps the pool's shape, so the store still gets a listener.
      let attempts = 0;
      const counted = {
        query: (text: string, params?: unknown[]) => {
          if (text.includes('session_acquire')) attempts++;
          return pool.query(text, params);
        },
        connect: () => pool.connect(),
        get totalCount() { return pool.totalCount; },
        options: { max: 8 },
      };
      const holderStore = postgresSessionStore({ client: pool, schema, prefix, listen: false });
      const waiterStore = postgresSessionStore({ client: counted, schema, prefix });
      try {
        // Warm the listener so the measured wait is the notify path, not the LISTEN set-up.
        const warm = await holderStore.acquire('warm', { leaseMs: 30_000 });
        const warming = waiterStore.acquire('warm', { waitMs: 10_000 });
        await new Promise((r) => setTimeout(r, 200));
        await warm.release();
        await (await warming).release();

        const held = await holderStore.acquire('k', { leaseMs: 30_000 });
        attempts = 0;
        const started = Date.now();
        const waiting = waiterStore.acquire('k', { waitMs: 20_000 });
        await new Promise((r) => setTimeout(r, 1_000));
        await held.commit('from holder');
        const next = await waiting;
        expect(next.record?.data).toBe('from holder');
        // Without the listener the lease (30 s) or the wait (20 s) would run out first.
        expect(Date.now() - started).toBeLessThan(10_000);
        // One failed attempt, then silence until the notify, then the winning attempt. Polling
        // with the core's backoff (capped at 100 ms) would have tried 10+ times in that second.
        expect(attempts).toBeLessThanOrEqual(3);
        await next.release();
      } finally {
        await waiterStore.close();
      }
    });

    it('survives pg_terminate_backend of its own connections: a typed error, then recovery', async () => {
      const app = uniqueName('bw_victim');
      const own = new pg.Pool({ connectionString: DATABASE_URL, max: 4, application_name: app });
      own.on('error', () => undefined);
      const prefix = uniqueName('kill') + ':';
      const store = postgresSessionStore({ client: own, schema, prefix, operationTimeoutMs: 5_000 });
      const other = postgresSessionStore({ client: pool, schema, prefix, listen: false });
      const blocker = await pool.connect();
      try {
        await store.set('k', 1);
        // Open the store's listener connection so it gets killed too.
        const held = await other.acquire('k', { leaseMs: 60_000 });
        await store.acquire('k', { waitMs: 300 }).catch(() => undefined);
        await held.release();
        // The listener connects in the background: wait until it is there, so the kill below hits it.
        await expect.poll(async () => (await pool.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`, [app])).rows[0].n,
        { timeout: 10_000, interval: 50 }).toBe(1);
        // Make the store's next write wait on a row lock, then kill its connections under it.
        await blocker.query('BEGIN');
        await blocker.query(`SELECT 1 FROM "${schema}".sessions WHERE key = $1 FOR UPDATE`, [`${prefix}k`]);
        const inFlight = store.set('k', 2).catch((e: unknown) => e);
        await new Promise((r) => setTimeout(r, 200));
        const { rowCount } = await pool.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app]);
        expect(rowCount).toBeGreaterThanOrEqual(2);
        expect(await inFlight).toBeInstanceOf(BackendUnavailableError);
        await blocker.query('ROLLBACK');

        // The pool replaces dead connections; the store, including its listener, keeps working.
        expect((await store.get('k'))?.data).toBe(1);
        const lease = await other.acquire('k', { leaseMs: 60_000 });
        const waiting = store.acquire('k', { waitMs: 10_000 });
        await new Promise((r) => setTimeout(r, 300));
        await lease.commit(2);
        await (await waiting).commit(3);
        expect((await store.get('k'))?.data).toBe(3);
        const { rows } = await pool.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`, [app]);
        expect(rows[0].n).toBe(1);
      } finally {
        blocker.release();
        await store.close();
        await own.end();
      }
    });

    it('raises BackendUnavailableError within ~2.5 s when nothing listens on the port', async () => {
      const dead = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/test', connectionTimeoutMillis: 10_000 });
      dead.on('error', () => undefined);
      const store = postgresSessionStore({ client: dead, schema });
      const started = Date.now();
      const err = await store.get('k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect(Date.now() - started).toBeLessThan(2_500);
      await expect(migrate(dead, { schema })).rejects.toBeInstanceOf(BackendUnavailableError);
      await dead.end();
    });
  });
});
