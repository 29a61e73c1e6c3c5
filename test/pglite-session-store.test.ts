import type { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, migrationSql, postgresSessionStore } from '../adapters/postgres/index.js';
import { BackendSchemaError } from '../src/errors.js';
import { sessionStoreContract } from '../src/testing/index.js';
import { withPgSchema } from './support/pg-schema.js';
import { uniqueName } from './support/services.js';

// One embedded Postgres for the whole file: starting PGlite takes seconds.
const { client: db, schema, drop } = await withPgSchema('botwire', { pglite: true });
afterAll(drop);

sessionStoreContract('postgres (PGlite)', () => {
  const prefix = uniqueName('t') + ':';
  const store = postgresSessionStore({ client: db, schema, prefix });
  return {
    store,
    teardown: async () => {
      await store.close();
      // cleanup() is schema-wide: leave no rows behind for the next test to count.
      await db.query(`DELETE FROM ${schema}.sessions WHERE starts_with(key, $1)`, [prefix]);
    },
  };
}, {
  needsCleanup: true,
  corruptionImpossibleBecause: 'the data column is jsonb, which Postgres validates on every write, so it cannot hold undecodable bytes',
});

describe('PGlite specifics', () => {
  it('merges concurrent sets, acquires, commits and gets into one statement each (array parameters on PGlite)', async () => {
    const texts: string[] = [];
    const client = { query: (t: string, p?: unknown[]) => { texts.push(t); return db.query(t, p); } };
    const store = postgresSessionStore<{ i: number }>({ client, schema, prefix: uniqueName('mb') + ':' });
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    expect(await Promise.all(keys.map((k, i) => store.set(k, { i })))).toEqual(keys.map(() => 1));
    const leases = await Promise.all(keys.map((k) => store.acquire(k)));
    expect(await Promise.all(leases.map((l, i) => l.commit({ i: i * 10 })))).toEqual(keys.map(() => 2));
    expect((await Promise.all(keys.map((k) => store.get(k)))).map((r) => r?.data.i)).toEqual(keys.map((_, i) => i * 10));
    for (const fn of ['session_set_many(', 'session_acquire_many(', 'session_commit_many(', 'ANY ($1::text[])']) {
      expect(texts.filter((t) => t.includes(fn)), fn).toHaveLength(1);
    }
  });

  it('migrate() is idempotent and records each migration once', async () => {
    expect((await migrate(db, { schema })).applied).toEqual([]);
    const { rows } = await db.query<{ version: number; name: string }>(`SELECT version, name FROM ${schema}.migrations`);
    expect(rows).toContainEqual({ version: 1, name: 'sessions' });
  });

  it('the printed SQL (for SQL editors) builds the same schema from scratch and can be run twice', async () => {
    const other = uniqueName('bw_print');
    const sql = migrationSql({ schema: other });
    await db.exec(sql);
    await db.exec(sql);
    const store = postgresSessionStore({ client: db, schema: other });
    await store.set('k', { via: 'sql editor' });
    expect((await store.get('k'))?.data).toEqual({ via: 'sql editor' });
    // migrate() sees what the script recorded and has nothing left to do.
    expect((await migrate(db, { schema: other })).applied).toEqual([]);
    await db.exec(`DROP SCHEMA "${other}" CASCADE`);
  });

  it('wakes a waiter through PGlite\'s in-process LISTEN instead of polling', async () => {
    const prefix = uniqueName('wake') + ':';
    let attempts = 0;
    const counted = Object.assign(Object.create(db) as PGlite, {
      query: (text: string, params?: unknown[]) => {
        if (text.includes('session_acquire')) attempts++;
        return db.query(text, params);
      },
      listen: db.listen.bind(db),
      transaction: db.transaction.bind(db),
      exec: db.exec.bind(db),
    });
    const holder = postgresSessionStore({ client: db, schema, prefix, listen: false });
    const waiter = postgresSessionStore({ client: counted, schema, prefix });
    try {
      const warm = await holder.acquire('warm', { leaseMs: 30_000 });
      const warming = waiter.acquire('warm', { waitMs: 10_000 });
      await new Promise((r) => setTimeout(r, 200));
      await warm.release();
      await (await warming).release();

      const held = await holder.acquire('k', { leaseMs: 30_000 });
      attempts = 0;
      const waiting = waiter.acquire('k', { waitMs: 20_000 });
      await new Promise((r) => setTimeout(r, 1_000));
      await held.commit('from holder');
      expect((await waiting).record?.data).toBe('from holder');
      expect(attempts).toBeLessThanOrEqual(3);
    } finally {
      await waiter.close();
    }
  });

  it('reports a schema that was never migrated as BackendSchemaError', async () => {
    const store = postgresSessionStore({ client: db, schema: 'never_migrated' });
    await expect(store.get('k')).rejects.toBeInstanceOf(BackendSchemaError);
  });
});
