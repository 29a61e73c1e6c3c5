/**
 * botwire/supabase sessions: supabase-js 2.109 against the PostgREST double, over the real Postgres
 * with botwire's real migrations. The double counts HTTP requests, so "one request per operation"
 * and the merging into `session_*_many` are measured, not assumed.
 */
import { createClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ws from 'ws';
import { postgresSessionStore } from '../adapters/postgres/index.js';
import { supabaseSessionBackend, supabaseSessionStore } from '../adapters/supabase/index.js';
import { SessionConflictError, SessionLeaseLostError, SessionLockTimeoutError, SessionSerializationError } from '../src/errors.js';
import { SessionStore } from '../src/session/session-store.js';
import { sessionStoreContract } from '../src/testing/index.js';
import { needs, uniqueName } from './support/services.js';
import { withSupabase, type SupabaseSetup } from './support/supabase.js';

const run = await needs('postgres');

describe.runIf(run)('Supabase session store (supabase-js → PostgREST double → Postgres)', () => {
  let s: SupabaseSetup;
  beforeAll(async () => { s = await withSupabase('bw_supa_sess'); });
  afterAll(() => s?.drop());

  const routes = (): Record<string, number> => Object.fromEntries(s.double.requests.byRoute);

  sessionStoreContract('supabase (rpc through the PostgREST double)', () => {
    const prefix = uniqueName('t') + ':';
    const store = supabaseSessionStore({ client: s.client, schema: s.schema, prefix });
    return {
      store,
      teardown: async () => {
        await store.close();
        // cleanup() is schema-wide: leave no rows behind for the next test to count.
        await s.pool.query(`DELETE FROM "${s.schema}".sessions WHERE starts_with(key, $1)`, [prefix]);
      },
    };
  }, {
    needsCleanup: true,
    corruptionImpossibleBecause: 'the data column is jsonb, which Postgres validates on every write, so it cannot hold undecodable bytes',
  });

  it('sends exactly one HTTP request per get, getMany, set, delete, touch, inspect, acquire, extend, commit, release and cleanup, all rpc()', async () => {
    const store = supabaseSessionStore({ client: s.client, schema: s.schema, prefix: uniqueName('rt') + ':' });
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['set', () => store.set('k', { a: 1 })],
      ['get', () => store.get('k')],
      ['getMany', () => store.getMany(['k', 'x', 'y'])],
      ['touch', () => store.touch('k', 10_000)],
      ['inspect', () => store.inspect('k')],
      ['delete', () => store.delete('k')],
      ['cleanup', () => store.cleanup()],
    ];
    for (const [name, step] of steps) {
      s.double.resetRequests();
      await step();
      expect(s.double.requests.total, name).toBe(1);
    }
    s.double.resetRequests();
    const lease = await store.acquire('k');
    await lease.extend();
    await lease.commit({ a: 2 }, { ttlMs: 60_000 });
    await (await store.acquire('k')).release();
    expect(routes()).toEqual({
      'POST /rpc/session_acquire': 2, 'POST /rpc/session_extend': 1, 'POST /rpc/session_commit': 1, 'POST /rpc/session_release': 1,
    });
  });

  it('merges calls of one kind made while one is in flight into one rpc of session_*_many, each answered with its own result', async () => {
    const store = supabaseSessionStore({ client: s.client, schema: s.schema, prefix: uniqueName('mb') + ':' });
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    s.double.resetRequests();
    expect(await Promise.all(keys.map((k, i) => store.set(k, { i })))).toEqual(keys.map(() => 1));
    expect((await Promise.all(keys.map((k) => store.get(k)))).map((r) => r?.data)).toEqual(keys.map((_, i) => ({ i })));
    const leases = await Promise.all(keys.map((k) => store.acquire(k)));
    expect(leases.map((l) => l.record?.data)).toEqual(keys.map((_, i) => ({ i })));
    const versions = await Promise.all(leases.map((l, i) => (i % 2 === 0 ? l.commit({ i: i + 100 }) : l.commit(undefined, { delete: true }))));
    expect(versions).toEqual(keys.map((_, i) => (i % 2 === 0 ? 2 : 0)));
    // The first call of each kind leaves at once; the nine that queued behind it leave together.
    expect(routes()).toEqual({
      'POST /rpc/session_set': 1, 'POST /rpc/session_set_many': 1, 'POST /rpc/session_get': 2,
      'POST /rpc/session_acquire': 1, 'POST /rpc/session_acquire_many': 1, 'POST /rpc/session_commit': 1, 'POST /rpc/session_commit_many': 1,
    });
    expect((await store.getMany(keys)).map((r) => r?.data)).toEqual(keys.map((_, i) => (i % 2 === 0 ? { i: i + 100 } : undefined)));
  });

  it('a batch member that jsonb refuses fails alone with SessionSerializationError; the others are written', async () => {
    const store = supabaseSessionStore({ client: s.client, schema: s.schema, prefix: uniqueName('mbf') + ':' });
    s.double.resetRequests();
    const results = await Promise.allSettled(['a', 'bad', 'c', 'd'].map((k) => store.set(k, k === 'bad' ? { s: 'nul\u0000' } : { k })));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).name))).toEqual([1, 'SessionSerializationError', 1, 1]);
    expect(routes()).toEqual({ 'POST /rpc/session_set': 4, 'POST /rpc/session_set_many': 1 });
    expect((await store.getMany(['a', 'bad', 'c', 'd'])).map((r) => r?.data)).toEqual([{ k: 'a' }, undefined, { k: 'c' }, { k: 'd' }]);
    await expect(store.set('alone', { s: '\u0000' })).rejects.toBeInstanceOf(SessionSerializationError);
  });

  it('raises the Postgres adapter\'s conflict and lease errors from the SQL functions\' own answers', async () => {
    const prefix = uniqueName('cf') + ':';
    const store = supabaseSessionStore({ client: s.client, schema: s.schema, prefix });
    await store.set('k', { n: 1 });
    await expect(store.set('k', { n: 2 }, { ifVersion: 7 })).rejects.toBeInstanceOf(SessionConflictError);
    const slow = await store.acquire('k', { leaseMs: 100 });
    await new Promise((r) => setTimeout(r, 150));
    // The lease lapsed, another instance took the key and wrote: the slow holder's commit is fenced.
    const twin = supabaseSessionStore({ client: s.client, schema: s.schema, prefix });
    await (await twin.acquire('k', { waitMs: 0 })).commit({ n: 3 });
    await expect(slow.commit({ n: 2 })).rejects.toBeInstanceOf(SessionLeaseLostError);
    const held = await twin.acquire('k');
    await expect(store.acquire('k', { waitMs: 50 })).rejects.toBeInstanceOf(SessionLockTimeoutError);
    await held.release();
    expect((await store.get('k'))?.data).toEqual({ n: 3 });
  });

  it('a waiter on another instance gets the key soon after its release by polling with backoff (no LISTEN over HTTP)', async () => {
    const prefix = uniqueName('wait') + ':';
    const [a, b] = [0, 1].map(() => supabaseSessionStore<number>({ client: s.client, schema: s.schema, prefix }));
    expect(supabaseSessionBackend({ client: s.client, schema: s.schema }).waitForRelease).toBeUndefined();
    const held = await a!.acquire('k', { leaseMs: 30_000 });
    const started = performance.now();
    const waiting = b!.acquire('k', { waitMs: 5_000 });
    setTimeout(() => void held.commit(1), 200);
    const lease = await waiting;
    const waited = performance.now() - started;
    expect(lease.record?.data).toBe(1);
    // Released at 200 ms; the backoff steps are capped at 100 ms, so the waiter follows within ~1 step.
    expect(waited).toBeGreaterThanOrEqual(190);
    expect(waited).toBeLessThan(600);
    await lease.release();
  });

  it('shares records with postgresSessionStore on the same schema (the same SQL, two ways in)', async () => {
    const prefix = uniqueName('both') + ':';
    const viaHttp = supabaseSessionStore({ client: s.client, schema: s.schema, prefix });
    const direct = postgresSessionStore({ client: s.pool, schema: s.schema, prefix, listen: false });
    await viaHttp.set('a', { from: 'supabase' }, { ttlMs: 60_000 });
    expect(await direct.get('a')).toMatchObject({ data: { from: 'supabase' }, version: 1 });
    const lease = await direct.acquire('a');
    await expect(viaHttp.acquire('a', { waitMs: 0 })).rejects.toBeInstanceOf(SessionLockTimeoutError);
    await lease.commit({ from: 'postgres' });
    expect(await viaHttp.get('a')).toMatchObject({ data: { from: 'postgres' }, version: 2 });
    await direct.close();
  });

  it('takes a supabase-js client typed with generated Database types (whose schemas do not list botwire\'s)', async () => {
    type Database = { public: { Tables: {}; Views: {}; Functions: { hello: { Args: { a: string }; Returns: string } }; Enums: {}; CompositeTypes: {} } };
    const typed = createClient<Database>(s.double.url, s.double.serviceKey, { auth: { persistSession: false }, realtime: { transport: ws as never } });
    const store = supabaseSessionStore({ client: typed, schema: s.schema, prefix: uniqueName('typed') + ':' });
    expect(await store.set('k', 1)).toBe(1);
  });

  it('uses the store given by SessionStore composition as well', async () => {
    const store = new SessionStore(supabaseSessionBackend({ client: s.client, schema: s.schema }), { prefix: uniqueName('c') + ':' });
    expect(await store.set('k', 'v')).toBe(1);
    expect((await store.get('k'))?.data).toBe('v');
  });
});
