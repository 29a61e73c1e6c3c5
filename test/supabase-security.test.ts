/**
 * botwire on Supabase is locked down: only the service role reaches its functions and tables.
 * Checked three ways: through the adapters with an anon and a signed-in user's key (the first call
 * fails with BackendForbiddenError saying to use the service-role key), at the SQL level by
 * connecting with `pg` as PostgREST does and switching to those roles, and in the catalog (what
 * Supabase's security advisor reads).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  supabaseJobQueue, supabaseRateLimitStore, supabaseSessionStore, supabaseSyncBus,
} from '../adapters/supabase/index.js';
import { BackendForbiddenError } from '../src/errors.js';
import { AUTHENTICATOR, supabaseClientFor } from './support/postgrest.js';
import { DATABASE_URL, needs } from './support/services.js';
import { withSupabase, type SupabaseSetup } from './support/supabase.js';

const run = await needs('postgres');

describe.runIf(run)('botwire/supabase with a key that is not the service role\'s', () => {
  let s: SupabaseSetup;
  beforeAll(async () => { s = await withSupabase('bw_supa_sec'); });
  afterAll(() => s?.drop());

  const keys = (): Array<[string, string]> => [['anon', s.double.anonKey], ['authenticated', s.double.authenticatedKey('user-1')]];

  it.each(['anon', 'authenticated'])('with the %s key, the first call of every adapter fails with BackendForbiddenError naming the service-role key', async (role) => {
    const key = keys().find(([r]) => r === role)![1];
    const client = supabaseClientFor(s.double, key, { schema: s.schema });
    const sessions = supabaseSessionStore({ client, schema: s.schema });
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['session get', () => sessions.get('k')],
      ['session set', () => sessions.set('k', { a: 1 })],
      ['session acquire', () => sessions.acquire('k')],
      ['job add', () => supabaseJobQueue({ client, schema: s.schema }).add('x', {})],
      ['rate limit hit', () => supabaseRateLimitStore({ client, schema: s.schema }).hit('u', { limit: 1, windowMs: 1_000 })],
    ];
    for (const [what, call] of calls) {
      s.double.resetRequests();
      const err = await call().catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(BackendForbiddenError);
      expect((err as Error).message, what).toMatch(/service-role key, never the anon key/);
      expect((err as Error).message, what).toContain(role === 'anon' ? 'HTTP 401 42501' : 'HTTP 403 42501');
      // Refused at once: no retry, no second request.
      expect(s.double.requests.total, what).toBe(1);
    }
    const errors: unknown[] = [];
    const bus = supabaseSyncBus({ client, schema: s.schema, onError: (e) => { errors.push(e); } });
    await bus.publish('a.b', 1);
    await expect.poll(() => errors.length).toBe(1);
    // The bus reports every failed send as BackendUnavailableError (publish never rejects for the
    // broker); the refusal is its cause, and its advice is in the message.
    expect((errors[0] as Error).cause).toBeInstanceOf(BackendForbiddenError);
    expect((errors[0] as Error).message).toMatch(/service-role key/);
    expect(bus.stats().dropped).toBe(1);
    await bus.close();
    // Nothing was written by any of them.
    const { rows } = await s.pool.query(`SELECT (SELECT count(*) FROM "${s.schema}".sessions)::int AS s, (SELECT count(*) FROM "${s.schema}".jobs)::int AS j,
      (SELECT count(*) FROM "${s.schema}".rate_limits)::int AS r`);
    expect(rows[0]).toEqual({ s: 0, j: 0, r: 0 });
  });

  it('a key signed with another secret or expired is refused the same way (PGRST301/PGRST303)', async () => {
    for (const key of ['not-a-jwt', s.double.sign({ role: 'service_role', exp: Math.floor(Date.now() / 1000) - 60 })]) {
      const store = supabaseSessionStore({ client: supabaseClientFor(s.double, key, { schema: s.schema }), schema: s.schema });
      await expect(store.get('k')).rejects.toBeInstanceOf(BackendForbiddenError);
    }
  });

  describe('at the SQL level (pg, logged in as PostgREST\'s authenticator, SET ROLE as PostgREST does)', () => {
    let conn: pg.Client;
    beforeAll(async () => {
      const url = new URL(DATABASE_URL);
      url.username = AUTHENTICATOR;
      url.password = '';
      conn = new pg.Client({ connectionString: url.toString() });
      await conn.connect();
    });
    afterAll(() => conn?.end());

    const asRole = async <T>(role: string, sql: string): Promise<T | { code: string }> => {
      await conn.query('BEGIN');
      try {
        await conn.query(`SET LOCAL ROLE ${role}`);
        return (await conn.query(sql)).rows as T;
      } catch (err) {
        return { code: (err as { code: string }).code };
      } finally {
        await conn.query('ROLLBACK');
      }
    };

    it('anon and authenticated can neither read any botwire table nor call any botwire function', async () => {
      const tables = (await s.pool.query<{ t: string }>(
        `SELECT c.relname AS t FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r' ORDER BY 1`, [s.schema])).rows.map((r) => r.t);
      expect(tables).toEqual(['job_ahead_returns', 'job_counts', 'job_debounce', 'job_lanes', 'job_limits', 'job_starts', 'job_waiters', 'jobs',
        'migrations', 'rate_limits', 'semaphore_holders', 'session_leases', 'sessions', 'sync_spill']);
      const functions = (await s.pool.query<{ call: string }>(
        `SELECT format('SELECT %s(%s)', p.oid::regproc, (SELECT string_agg('NULL', ', ') FROM generate_series(1, p.pronargs - p.pronargdefaults))) AS call
           FROM pg_proc p WHERE p.pronamespace = $1::regnamespace ORDER BY 1`, [s.schema])).rows.map((r) => r.call);
      expect(functions.length).toBeGreaterThanOrEqual(35);
      for (const role of ['anon', 'authenticated']) {
        for (const t of tables) expect([role, t, await asRole(role, `SELECT * FROM "${s.schema}".${t} LIMIT 1`)]).toEqual([role, t, { code: '42501' }]);
        for (const f of functions) expect([role, f, await asRole(role, f)]).toEqual([role, f, { code: '42501' }]);
      }
      // The service role passes the same checks (it is what the adapters use).
      expect(await asRole('service_role', `SELECT count(*)::int AS n FROM "${s.schema}".sessions`)).toEqual([{ n: 0 }]);
      expect(await asRole('service_role', `SELECT * FROM "${s.schema}".session_get('{}')`)).toEqual([]);
    });

    it('even with USAGE on the schema, anon could not call the functions nor see rows (EXECUTE revoked, RLS without policies)', async () => {
      await s.pool.query(`INSERT INTO "${s.schema}".sessions (key, data, version) VALUES ('visible?', '1', 1)`);
      await s.pool.query(`GRANT USAGE ON SCHEMA "${s.schema}" TO anon`);
      try {
        expect(await asRole('anon', `SELECT * FROM "${s.schema}".session_get(ARRAY['visible?'])`)).toEqual({ code: '42501' });
        expect(await asRole('anon', `SELECT * FROM "${s.schema}".sessions`)).toEqual({ code: '42501' });
        // Grant the table too: row level security still hides every row.
        await s.pool.query(`GRANT SELECT ON "${s.schema}".sessions TO anon`);
        expect(await asRole('anon', `SELECT * FROM "${s.schema}".sessions`)).toEqual([]);
      } finally {
        await s.pool.query(`REVOKE ALL ON "${s.schema}".sessions FROM anon; REVOKE USAGE ON SCHEMA "${s.schema}" FROM anon;
          DELETE FROM "${s.schema}".sessions WHERE key = 'visible?'`);
      }
    });
  });

  it('has nothing for the advisor\'s security-definer and exposure lints: every function SECURITY INVOKER, EXECUTE only for service_role and the owner, RLS on every table', async () => {
    const { rows: fns } = await s.pool.query<{ name: string; definer: boolean; public: boolean; anon: boolean; authed: boolean; service: boolean }>(
      `SELECT p.oid::regprocedure::text AS name, p.prosecdef AS definer,
              has_function_privilege('public', p.oid, 'EXECUTE') AS public,
              has_function_privilege('anon', p.oid, 'EXECUTE') AS anon,
              has_function_privilege('authenticated', p.oid, 'EXECUTE') AS authed,
              has_function_privilege('service_role', p.oid, 'EXECUTE') AS service
         FROM pg_proc p WHERE p.pronamespace = $1::regnamespace`, [s.schema]);
    expect(fns.filter((f) => f.definer || f.public || f.anon || f.authed || !f.service)).toEqual([]);
    const { rows: tables } = await s.pool.query(
      `SELECT c.relname, c.relrowsecurity, (SELECT count(*)::int FROM pg_policy WHERE polrelid = c.oid) AS policies,
              has_table_privilege('anon', c.oid, 'SELECT') AS anon, has_table_privilege('authenticated', c.oid, 'SELECT') AS authed
         FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r'`, [s.schema]);
    expect(tables.filter((t) => !t.relrowsecurity || t.policies !== 0 || t.anon || t.authed)).toEqual([]);
  });
});
