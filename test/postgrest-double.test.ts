/**
 * The PostgREST double (test/support/postgrest.ts) behaves like PostgREST where botwire's Supabase
 * adapters rely on it, driven by the real supabase-js 2.109 against botwire's real migrations. The
 * `{ data, error, status }` supabase-js returns in each case is asserted exactly: these are the
 * shapes the adapter maps to typed errors.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../adapters/postgres/index.js';
import { createPGlite } from './support/pglite.js';
import { statusForSqlState } from './support/postgrest/errors.js';
import { AUTHENTICATOR, signJwt, startPostgrest, supabaseClientFor, type PostgrestDouble } from './support/postgrest.js';
import { DATABASE_URL, needs, uniqueName } from './support/services.js';

const withPostgres = await needs('postgres');

/** What supabase-js answers for a request that never got an HTTP response (fetch threw). */
const networkFailure = (detail: RegExp) => ({
  success: false,
  data: null,
  count: null,
  status: 0,
  statusText: '',
  error: { message: 'TypeError: fetch failed', details: expect.stringMatching(detail), hint: '', code: '' },
});

describe('PostgREST status for a SQLSTATE (PostgREST 14 pgErrorStatus)', () => {
  it.each([
    ['42501', 'permission denied for schema x', false, 401],
    ['42501', 'permission denied for schema x', true, 403],
    ['23505', 'duplicate key', true, 409],
    ['23503', 'fk', true, 409],
    ['P0001', 'raised', true, 400],
    ['22023', 'bad value', true, 400],
    ['22023', 'role "nobody" does not exist', true, 401],
    ['22P02', 'invalid input syntax', true, 400],
    ['42883', 'function f() does not exist', true, 404],
    ['42P01', 'relation does not exist', true, 404],
    ['57014', 'canceling statement due to statement timeout', true, 500],
    ['57P01', 'terminating connection due to administrator command', true, 503],
    ['08006', 'connection failure', true, 503],
    ['53300', 'too many connections', true, 503],
    ['53400', 'config limit', true, 500],
    ['40001', 'could not serialize', true, 500],
    ['25006', 'read-only transaction', true, 405],
    ['PT418', 'teapot', true, 418],
    ['XX000', 'internal', true, 500],
    ['42703', 'column does not exist', true, 400],
  ])('%s (%s, authed %s) → %i', (code, message, authed, status) => {
    expect(statusForSqlState(code, message, authed)).toBe(status);
  });
});

describe.runIf(withPostgres)('PostgREST double over the real Postgres', () => {
  const schema = uniqueName('bw_pgrst');
  const extra = `${schema}_x`;
  let admin: pg.Client;
  let double: PostgrestDouble;
  let service: ReturnType<typeof supabaseClientFor>;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    double = await startPostgrest({ databaseUrl: DATABASE_URL, schemas: [schema, extra] });
    await migrate(admin, { schema });
    // Helpers outside botwire's schema: who runs a call, in which transaction mode; and the table
    // @grammyjs/storage-supabase uses (bench routes).
    await admin.query(`
      CREATE SCHEMA "${extra}";
      GRANT USAGE ON SCHEMA "${extra}" TO anon, authenticated, service_role;
      CREATE FUNCTION "${extra}".whoami(p_tag text DEFAULT NULL)
        RETURNS TABLE (current_role_name text, session_role_name text, claims jsonb, search_path text, tag text)
        LANGUAGE sql VOLATILE AS $$
          SELECT current_user::text, session_user::text, current_setting('request.jwt.claims', true)::jsonb,
                 current_setting('search_path'), p_tag $$;
      CREATE FUNCTION "${extra}".tx_read_only_stable() RETURNS text LANGUAGE sql STABLE
        AS $$ SELECT current_setting('transaction_read_only') $$;
      CREATE FUNCTION "${extra}".tx_read_only_volatile() RETURNS text LANGUAGE sql VOLATILE
        AS $$ SELECT current_setting('transaction_read_only') $$;
      CREATE FUNCTION "${extra}".echo_types(p_text text, p_big bigint, p_int integer, p_bool boolean, p_jsonb jsonb,
          p_json json, p_ts timestamptz, p_texts text[], p_bigs bigint[], p_jsonbs jsonb[], p_float double precision)
        RETURNS TABLE (t text, b bigint, i integer, o boolean, jb jsonb, j json, ts timestamptz, ta text[], ba bigint[], ja jsonb[], f double precision)
        LANGUAGE sql IMMUTABLE AS $$ SELECT p_text, p_big, p_int, p_bool, p_jsonb, p_json, p_ts, p_texts, p_bigs, p_jsonbs, p_float $$;
      CREATE FUNCTION "${extra}".raise_unique() RETURNS void LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'dup' USING ERRCODE = '23505', DETAIL = 'Key (id)=(1) already exists.', HINT = 'use another id'; END $$;
      CREATE FUNCTION "${extra}".overloaded(p_a text) RETURNS text LANGUAGE sql AS $$ SELECT 'text' $$;
      CREATE FUNCTION "${extra}".overloaded(p_a integer) RETURNS text LANGUAGE sql AS $$ SELECT 'integer' $$;
      CREATE FUNCTION "${extra}".overloaded(p_a integer, p_b integer) RETURNS text LANGUAGE sql AS $$ SELECT 'two' $$;
      CREATE TABLE "${extra}".grammy_sessions (id text PRIMARY KEY, session text);
      GRANT SELECT, INSERT, UPDATE, DELETE ON "${extra}".grammy_sessions TO service_role;
      GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA "${extra}" TO anon, authenticated, service_role;`);
    service = supabaseClientFor(double, double.serviceKey, { schema });
  });

  afterAll(async () => {
    await double?.close();
    if (!admin) return;
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${extra}" CASCADE`);
    await admin.end();
  });

  it('has the roles Supabase creates: anon/authenticated NOLOGIN NOINHERIT, service_role BYPASSRLS, authenticator LOGIN NOINHERIT member of all three', async () => {
    const { rows } = await admin.query(
      `SELECT rolname, rolcanlogin, rolinherit, rolbypassrls,
              pg_has_role($1, rolname, 'MEMBER') AS granted
         FROM pg_roles WHERE rolname = ANY ($2) ORDER BY rolname`,
      [AUTHENTICATOR, ['anon', 'authenticated', 'service_role', AUTHENTICATOR]],
    );
    expect(rows).toEqual([
      { rolname: 'anon', rolcanlogin: false, rolinherit: false, rolbypassrls: false, granted: true },
      { rolname: 'authenticated', rolcanlogin: false, rolinherit: false, rolbypassrls: false, granted: true },
      { rolname: AUTHENTICATOR, rolcanlogin: true, rolinherit: false, rolbypassrls: false, granted: true },
      { rolname: 'service_role', rolcanlogin: false, rolinherit: false, rolbypassrls: true, granted: true },
    ]);
  });

  it('logs in as authenticator and runs each request as the JWT role, with request.jwt.claims and the schema first on search_path', async () => {
    const x = (key: string) => supabaseClientFor(double, key, { schema: extra });
    const asService = await x(double.serviceKey).rpc('whoami', { p_tag: 'svc' });
    expect(asService.error).toBeNull();
    expect(asService.data).toEqual([{
      current_role_name: 'service_role', session_role_name: AUTHENTICATOR, tag: 'svc',
      claims: expect.objectContaining({ role: 'service_role', iss: 'supabase' }),
      search_path: `"${extra}", "public", "extensions"`,
    }]);
    const asUser = await x(double.authenticatedKey('user-1')).rpc('whoami');
    expect(asUser.data).toEqual([expect.objectContaining({
      current_role_name: 'authenticated', claims: expect.objectContaining({ sub: 'user-1', role: 'authenticated' }), tag: null,
    })]);
    // No token at all: the anonymous role (PostgREST's db-anon-role).
    const res = await fetch(`${double.url}/rest/v1/rpc/whoami`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Profile': extra }, body: '{}',
    });
    expect(res.status).toBe(200);
    expect((await res.json() as { current_role_name: string }[])[0]!.current_role_name).toBe('anon');
  });

  it('runs STABLE/IMMUTABLE functions in a read-only transaction and VOLATILE ones read-write', async () => {
    const x = supabaseClientFor(double, double.serviceKey, { schema: extra });
    expect((await x.rpc('tx_read_only_stable')).data).toBe('on');
    expect((await x.rpc('tx_read_only_volatile')).data).toBe('off');
  });

  it('converts JSON arguments to the parameters\' SQL types and answers in PostgREST\'s JSON', async () => {
    const x = supabaseClientFor(double, double.serviceKey, { schema: extra });
    const { data, error, status } = await x.rpc('echo_types', {
      p_text: 'a"b', p_big: '9007199254740993', p_int: 7, p_bool: true, p_jsonb: { k: [1, null] }, p_json: [1, 'x'],
      p_ts: '2024-05-01T10:00:00.123Z', p_texts: ['x', 'y,z', null], p_bigs: [1, 2], p_jsonbs: [{ a: 1 }, 'b'], p_float: 1.5,
    });
    expect(error).toBeNull();
    expect(status).toBe(200);
    expect(data).toEqual([{
      t: 'a"b', b: 9007199254740992 /* bigint is a JSON number: precision ends at 2^53 */, i: 7, o: true,
      jb: { k: [1, null] }, j: [1, 'x'], ts: '2024-05-01T10:00:00.123+00:00', ta: ['x', 'y,z', null], ba: [1, 2],
      ja: [{ a: 1 }, 'b'], f: 1.5,
    }]);
    const wrong = await x.rpc('echo_types', {
      p_text: 't', p_big: 1.5, p_int: 1, p_bool: true, p_jsonb: null, p_json: null, p_ts: null, p_texts: null, p_bigs: null, p_jsonbs: null, p_float: null,
    });
    // A JSON number beyond 2^53 reaches the bigint parameter exactly (the body is passed as sent).
    const res = await fetch(`${double.url}/rest/v1/rpc/echo_types`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${double.serviceKey}`, 'Content-Profile': extra, 'Content-Type': 'application/json' },
      body: '{"p_text":null,"p_big":9007199254740993,"p_int":null,"p_bool":null,"p_jsonb":null,"p_json":null,"p_ts":null,"p_texts":null,"p_bigs":null,"p_jsonbs":null,"p_float":null}',
    });
    expect(await res.text()).toContain('"b":9007199254740993');
    expect(wrong).toEqual({
      success: false, data: null, count: null, status: 400, statusText: 'Bad Request',
      error: { code: '22P02', details: null, hint: null, message: 'invalid input syntax for type bigint: "1.5"' },
    });
  });

  it('service_role calls botwire functions: composite → object, RETURNS TABLE → array, scalar → value, void → 204', async () => {
    expect(await service.rpc('session_set', { p_key: 'k1', p_data: '{"a":1}', p_ttl_ms: null, p_if_version: 0 })).toEqual({
      success: true, error: null, data: { ok: true, version: 1 }, count: null, status: 200, statusText: 'OK',
    });
    expect(await service.rpc('session_get', { p_keys: ['k1', 'missing'] })).toEqual({
      success: true, error: null, count: null, status: 200, statusText: 'OK',
      data: [{ key: 'k1', data: '{"a": 1}', version: 1, expires_at_ms: null }],
    });
    expect((await service.rpc('session_get', { p_keys: ['missing'] })).data).toEqual([]);
    const acquired = await service.rpc('session_acquire', { p_key: 'k1', p_token: 'tok', p_lease_ms: 5000 });
    expect(acquired.data).toEqual({ ok: true, retry_in_ms: null, data: '{"a": 1}', version: 1, expires_at_ms: null });
    expect(await service.rpc('session_extend', { p_key: 'k1', p_token: 'tok', p_lease_ms: 5000 })).toMatchObject({ data: true, status: 200 });
    // Optional parameters left out take their SQL defaults (p_data, p_ttl_ms, p_keep_lease_ms).
    expect((await service.rpc('session_commit', { p_key: 'k1', p_token: 'tok', p_version: 1, p_write: 'none' })).data)
      .toEqual({ ok: true, version: 1 });
    const now = Date.now();
    const added = await service.rpc('job_add', {
      p_id: 'j1', p_name: 'mail', p_payload: '{}', p_priority: 0, p_run_at: now, p_max_attempts: 1, p_backoff: '{}',
      p_timeout_ms: 1000, p_retry_until: null, p_now: now, p_notify: false,
    });
    expect(added.data).toEqual([{ created: true, replaced: false, job: expect.objectContaining({ id: 'j1', name: 'mail', state: 'waiting', seq: expect.any(Number) }) }]);
    expect((await service.rpc('job_get', { p_id: 'j1' })).data).toEqual([expect.objectContaining({ id: 'j1' })]);
    expect((await service.rpc('job_count_due', { p_names: ['mail'], p_now: now + 1 }, { count: 'exact' }))).toMatchObject({ data: 1, count: 1 });
    expect(await service.rpc('job_wake', { p_name: 'mail' })).toEqual({
      success: true, error: null, data: null, count: null, status: 204, statusText: 'No Content',
    });
  });

  it('sends apikey, Authorization: Bearer, Content-Profile and JSON on POST; Accept-Profile and query arguments on get: true', async () => {
    await service.rpc('session_get', { p_keys: ['k1'] });
    const post = double.requests.last!;
    expect(post).toMatchObject({ method: 'POST', url: '/rest/v1/rpc/session_get', body: '{"p_keys":["k1"]}' });
    expect(post.headers).toMatchObject({
      apikey: double.serviceKey, authorization: `Bearer ${double.serviceKey}`, 'content-profile': schema,
      'content-type': 'application/json', 'x-client-info': expect.stringMatching(/^supabase-js\//),
    });
    expect(post.headers.prefer).toBeUndefined();
    const viaGet = await service.rpc('session_get', { p_keys: ['k1'] }, { get: true });
    expect(viaGet.data).toEqual([expect.objectContaining({ key: 'k1' })]);
    expect(double.requests.last).toMatchObject({ method: 'GET', url: '/rest/v1/rpc/session_get?p_keys=%7Bk1%7D' });
    expect(double.requests.last!.headers['accept-profile']).toBe(schema);
    const head = await service.rpc('job_count_due', { p_names: ['mail'], p_now: Date.now() }, { head: true, count: 'exact' });
    expect(head).toMatchObject({ error: null, data: null, count: 1, status: 200 });
    expect(double.requests.last!.headers.prefer).toBe('count=exact');
    // client.schema(name) reaches another exposed schema through the same client.
    expect((await service.schema(extra).rpc('tx_read_only_volatile')).data).toBe('off');
  });

  // Trigger functions (the job counters') are no RPC endpoints: PostgREST does not list them.
  it('with the anon key every botwire function is refused: 42501 → 401; with a signed-in user → 403', async () => {
    const { rows } = await admin.query<{ name: string; args: string[] }>(
      `SELECT p.proname AS name, coalesce(array_agg(a.name ORDER BY a.idx) FILTER (WHERE a.name IS NOT NULL), '{}') AS args
         FROM pg_proc p LEFT JOIN LATERAL unnest(p.proargnames, coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[coalesce(cardinality(p.proargnames), 0)])))
              WITH ORDINALITY AS a(name, mode, idx) ON a.mode IN ('i', 'b', 'v')
        WHERE p.pronamespace = $1::regnamespace AND p.prorettype <> 'trigger'::regtype GROUP BY p.oid, p.proname ORDER BY 1`,
      [schema],
    );
    expect(rows.length).toBeGreaterThanOrEqual(33);
    const anon = supabaseClientFor(double, double.anonKey, { schema });
    const user = supabaseClientFor(double, double.authenticatedKey('user-1'), { schema });
    const refused = (status: number, statusText: string) => ({
      success: false, data: null, count: null, status, statusText,
      error: { code: '42501', details: null, hint: null, message: `permission denied for schema ${schema}` },
    });
    for (const { name, args } of rows) {
      const nulls = Object.fromEntries(args.map((a) => [a, null]));
      expect([name, await anon.rpc(name, nulls)]).toEqual([name, refused(401, 'Unauthorized')]);
      expect([name, await user.rpc(name, nulls)]).toEqual([name, refused(403, 'Forbidden')]);
    }
    // Direct table reads (bench routes) are refused the same way.
    expect(await anon.from('sessions').select('*')).toEqual(refused(401, 'Unauthorized'));
  });

  it('unknown function, unknown or missing argument → 404 PGRST202; schema not exposed → 406 PGRST106', async () => {
    expect(await service.rpc('no_such_function', { a: 1 })).toEqual({
      success: false, data: null, count: null, status: 404, statusText: 'Not Found',
      error: {
        code: 'PGRST202', hint: null,
        message: `Could not find the function ${schema}.no_such_function(a) in the schema cache`,
        details: `Searched for the function ${schema}.no_such_function with parameter a or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
      },
    });
    const missing = await service.rpc('session_set', { p_key: 'k' });
    expect(missing.status).toBe(404);
    expect(missing.error).toMatchObject({
      code: 'PGRST202',
      message: `Could not find the function ${schema}.session_set(p_key) in the schema cache`,
      hint: `Perhaps you meant to call the function ${schema}.session_set(p_data, p_if_version, p_key, p_ttl_ms)`,
    });
    // An argument left undefined is dropped by JSON.stringify: a required one then goes missing.
    expect((await service.rpc('session_get', { p_keys: undefined })).error?.code).toBe('PGRST202');
    const unexposed = supabaseClientFor(double, double.serviceKey); // db.schema defaults to 'public'
    expect(await unexposed.rpc('session_get', { p_keys: [] })).toEqual({
      success: false, data: null, count: null, status: 406, statusText: 'Not Acceptable',
      error: { code: 'PGRST106', details: null, message: 'Invalid schema: public', hint: `Only the following schemas are exposed: ${schema}, ${extra}` },
    });
  });

  it('overloads are chosen by argument names; two with the same names → 300 PGRST203', async () => {
    const x = supabaseClientFor(double, double.serviceKey, { schema: extra });
    expect((await x.rpc('overloaded', { p_a: 1, p_b: 2 })).data).toBe('two');
    expect(await x.rpc('overloaded', { p_a: 1 })).toEqual({
      success: false, data: null, count: null, status: 300, statusText: 'Multiple Choices',
      error: {
        code: 'PGRST203', details: null,
        message: `Could not choose the best candidate function between: ${extra}.overloaded(p_a => text), ${extra}.overloaded(p_a => integer)`,
        hint: 'Try renaming the parameters or the function itself in the database so function overloading can be resolved',
      },
    });
  });

  it('a function created after the first call is found (the cache reloads on a miss, like Supabase\'s DDL trigger)', async () => {
    expect((await service.rpc('late_fn')).error?.code).toBe('PGRST202');
    await admin.query(`CREATE FUNCTION "${schema}".late_fn() RETURNS int LANGUAGE sql AS 'SELECT 42'; GRANT EXECUTE ON FUNCTION "${schema}".late_fn() TO service_role`);
    expect((await service.rpc('late_fn')).data).toBe(42);
    await admin.query(`DROP FUNCTION "${schema}".late_fn()`);
  });

  it('bad, expired and unsigned JWTs → 401 PGRST301/PGRST303 before any SQL runs', async () => {
    const call = (key: string) => supabaseClientFor(double, key, { schema }).rpc('session_get', { p_keys: [] });
    const wrongSecret = signJwt({ role: 'service_role' }, 'another-secret');
    expect(await call(wrongSecret)).toEqual({
      success: false, data: null, count: null, status: 401, statusText: 'Unauthorized',
      error: { code: 'PGRST301', message: 'No suitable key or wrong key type', details: 'None of the keys was able to decode the JWT', hint: null },
    });
    expect((await call(double.sign({ role: 'service_role', exp: Math.floor(Date.now() / 1000) - 60 }))).error)
      .toEqual({ code: 'PGRST303', message: 'JWT expired', details: null, hint: null });
    expect((await call('not-a-jwt')).error).toEqual({ code: 'PGRST301', message: 'Expected 3 parts in JWT; got 1', details: null, hint: null });
    // A role that does not exist fails at SET ROLE: 22023 mapped to 401, as PostgREST does.
    expect(await call(double.sign({ role: 'no_such_role' }))).toMatchObject({
      status: 401, error: { code: '22023', message: 'role "no_such_role" does not exist' },
    });
    const res = await fetch(`${double.url}/rest/v1/rpc/session_get`, {
      method: 'POST', headers: { Authorization: 'Bearer not-a-jwt', 'Content-Profile': schema, 'Content-Type': 'application/json' }, body: '{"p_keys":[]}',
    });
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", error_description="Expected 3 parts in JWT; got 1"');
    expect(res.headers.get('proxy-status')).toBe('PostgREST; error=PGRST301');
  });

  it('a SQL error keeps its code, detail and hint and gets PostgREST\'s status', async () => {
    const x = supabaseClientFor(double, double.serviceKey, { schema: extra });
    expect(await x.rpc('raise_unique')).toEqual({
      success: false, data: null, count: null, status: 409, statusText: 'Conflict',
      error: { code: '23505', details: 'Key (id)=(1) already exists.', hint: 'use another id', message: 'dup' },
    });
    expect(await service.rpc('session_commit', { p_key: 'k1', p_token: 't', p_version: 1, p_write: 'bogus' })).toMatchObject({
      status: 400, error: { code: '22023', message: 'session_commit: p_write must be none, set or delete, got bogus' },
    });
  });

  it('serves concurrent calls from its pool (each its own transaction)', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      service.rpc('session_set', { p_key: `c${i}`, p_data: String(i), p_ttl_ms: null, p_if_version: null })));
    expect(results.map((r) => r.data)).toEqual(Array.from({ length: 30 }, () => ({ ok: true, version: 1 })));
  });

  describe('outages, as supabase-js reports them', () => {
    it('a proxy\'s non-JSON 502 page → { error: { message: <the page> }, status: 502 } (no code, details or hint)', async () => {
      double.failNext({ status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' });
      expect(await service.rpc('session_get', { p_keys: ['k1'] })).toEqual({
        success: false, data: null, count: null, status: 502, statusText: 'Bad Gateway',
        error: { message: '<html><body><h1>502 Bad Gateway</h1></body></html>' },
      });
    });

    it('a JSON 5xx with PostgREST\'s body keeps it; POST is never retried by supabase-js, a GET on 503/520 is', async () => {
      double.resetRequests();
      double.failNext({ status: 503, contentType: 'application/json', body: '{"code":"PGRST000","details":null,"hint":null,"message":"Database connection error. Retrying the connection."}' });
      expect(await service.rpc('session_get', { p_keys: ['k1'] })).toMatchObject({
        status: 503, error: { code: 'PGRST000', message: 'Database connection error. Retrying the connection.' },
      });
      expect(double.requests.total).toBe(1);
      double.failNext({ status: 520, body: '' });
      const viaGet = await service.rpc('session_get', { p_keys: ['k1'] }, { get: true });
      expect(viaGet).toMatchObject({ error: null, status: 200 });
      expect(double.requests.byRoute.get('GET /rpc/session_get')).toBe(2);
      expect(double.requests.last!.headers['x-retry-count']).toBe('1');
    });

    it('traps: a 404 with an empty body reads as success (status 204), a non-JSON 200 as an error with status 200', async () => {
      double.failNext({ status: 404, body: '', contentType: 'text/plain' });
      expect(await service.rpc('session_get', { p_keys: ['k1'] })).toEqual({
        success: true, error: null, data: null, count: null, status: 204, statusText: 'No Content',
      });
      double.failNext({ status: 200, body: 'upstream says hi', contentType: 'text/plain' });
      expect(await service.rpc('session_get', { p_keys: ['k1'] })).toEqual({
        success: false, error: { message: 'upstream says hi' }, data: null, count: null, status: 200, statusText: 'OK',
      });
    });

    it('a connection dropped before the answer → status 0, message "TypeError: fetch failed", code ""', async () => {
      double.failNext({ reset: 'before' });
      expect(await service.rpc('session_get', { p_keys: ['k1'] })).toEqual(networkFailure(/^TypeError: fetch failed\n\nCaused by: SocketError: other side closed \(UND_ERR_SOCKET\)/));
    });

    it('a write whose answer is lost still happened: status 0 tells the caller nothing about the outcome', async () => {
      double.failNext({ reset: 'after' });
      const lost = await service.rpc('session_set', { p_key: 'lost', p_data: '"x"', p_ttl_ms: null, p_if_version: 0 });
      expect(lost).toEqual(networkFailure(/other side closed/));
      const { rows } = await admin.query(`SELECT data::text FROM "${schema}".sessions WHERE key = 'lost'`);
      expect(rows).toEqual([{ data: '"x"' }]);
    });

    it('an answer that never comes, with createClient({ db: { timeout } }) → AbortError, status 0, a hint', async () => {
      double.failNext({ hang: true });
      const impatient = supabaseClientFor(double, double.serviceKey, { schema, timeoutMs: 150 });
      expect(await impatient.rpc('session_get', { p_keys: ['k1'] })).toEqual({
        success: false, data: null, count: null, status: 0, statusText: '',
        error: {
          message: 'AbortError: This operation was aborted', details: expect.stringMatching(/^AbortError: This operation was aborted/),
          hint: 'Request was aborted (timeout or manual cancellation)', code: '',
        },
      });
      double.closeSockets();
    });

    it('an endpoint that drops every connection → status 0; once it is back, stale pooled connections may fail first', async () => {
      double.setDown(true);
      expect(await service.rpc('session_get', { p_keys: ['k1'] })).toEqual(networkFailure(/^TypeError: fetch failed\n\nCaused by: (SocketError: other side closed|Error: (read|write) ECONNRESET)/));
      double.setDown(false);
      // fetch's keep-alive pool may still hold connections the server closed: a request sent on one
      // fails like the outage itself (status 0), so a read right after an outage should be retried.
      const statuses: number[] = [];
      for (let i = 0; i < 40 && statuses.at(-1) !== 200; i++) statuses.push((await service.rpc('session_get', { p_keys: ['k1'] })).status);
      expect(statuses.at(-1)).toBe(200);
      expect(statuses.slice(0, -1).every((s) => s === 0)).toBe(true);
    });
    it('a double that is gone (closed) → status 0; once stale pooled connections are used up, ECONNREFUSED', async () => {
      const gone = await startPostgrest({ databaseUrl: DATABASE_URL, schemas: [schema] });
      const client = supabaseClientFor(gone, gone.serviceKey, { schema });
      expect((await client.rpc('session_get', { p_keys: ['k1'] })).status).toBe(200);
      await gone.close();
      const results = [];
      for (let i = 0; i < 5 && !/ECONNREFUSED/.test(results.at(-1)?.error?.details ?? ''); i++) {
        results.push(await client.rpc('session_get', { p_keys: ['k1'] }));
      }
      expect(results.at(-1)).toEqual(networkFailure(/^TypeError: fetch failed\n\nCaused by: Error: connect ECONNREFUSED 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/));
      for (const r of results) expect(r).toEqual(networkFailure(/^TypeError: fetch failed/));
    });

    it('a database the double cannot reach → 503 PGRST000 (PostgREST answers 503 while it reconnects)', async () => {
      const orphan = await startPostgrest({ databaseUrl: 'postgres://postgres@127.0.0.1:1/test', schemas: [schema], createRoles: false });
      try {
        const res = await supabaseClientFor(orphan, orphan.serviceKey, { schema }).rpc('session_get', { p_keys: ['k1'] });
        expect(res).toEqual({
          success: false, data: null, count: null, status: 503, statusText: 'Service Unavailable',
          error: { code: 'PGRST000', message: 'Database connection error. Retrying the connection.', details: expect.stringMatching(/ECONNREFUSED/), hint: null },
        });
      } finally {
        await orphan.close();
      }
    });
  });

  describe('table routes (for the bench: @grammyjs/storage-supabase\'s read, write and delete)', () => {
    const table = () => supabaseClientFor(double, double.serviceKey, { schema: extra }).from('grammy_sessions');

    it('select by id with .single() → PGRST116 406 for no row, the object for one; upsert merges; delete removes', async () => {
      double.resetRequests();
      expect(await table().select('session').eq('id', '42').single()).toEqual({
        success: false, data: null, count: null, status: 406, statusText: 'Not Acceptable',
        error: { code: 'PGRST116', details: 'The result contains 0 rows', hint: null, message: 'Cannot coerce the result to a single JSON object' },
      });
      expect(await table().upsert({ id: '42', session: '{"n":1}' })).toEqual({
        success: true, error: null, data: null, count: null, status: 201, statusText: 'Created',
      });
      expect(double.requests.last!.headers.prefer).toBe('resolution=merge-duplicates');
      await table().upsert({ id: '42', session: '{"n":2}' });
      expect(await table().select('session').eq('id', '42').single()).toMatchObject({ error: null, data: { session: '{"n":2}' }, status: 200 });
      expect((await table().select('*')).data).toEqual([{ id: '42', session: '{"n":2}' }]);
      expect(await table().delete().match({ id: '42' })).toMatchObject({ error: null, data: null, status: 204 });
      expect((await table().select('session').eq('id', '42')).data).toEqual([]);
      expect(Object.fromEntries(double.requests.byRoute)).toEqual({ 'GET /grammy_sessions': 4, 'POST /grammy_sessions': 2, 'DELETE /grammy_sessions': 1 });
    });

    it('refuses what it does not implement with 400 PGRST100 instead of answering wrongly', async () => {
      expect((await table().select('session').gt('id', '1')).error).toMatchObject({ code: 'PGRST100' });
    });
  });
});

describe('PostgREST double over PGlite', () => {
  it('serves botwire functions from a PGlite database, as service_role, and refuses anon', async () => {
    const db = await createPGlite();
    const double = await startPostgrest({ pglite: db, schemas: ['botwire'] });
    try {
      await migrate(db, { schema: 'botwire' });
      const service = supabaseClientFor(double, double.serviceKey, { schema: 'botwire' });
      expect((await service.rpc('session_set', { p_key: 'k', p_data: '1', p_ttl_ms: null, p_if_version: 0 })).data).toEqual({ ok: true, version: 1 });
      expect((await service.rpc('session_get', { p_keys: ['k'] })).data).toEqual([expect.objectContaining({ key: 'k', data: '1', version: 1 })]);
      const anon = supabaseClientFor(double, double.anonKey, { schema: 'botwire' });
      expect(await anon.rpc('session_get', { p_keys: ['k'] })).toMatchObject({ status: 401, error: { code: '42501' } });
    } finally {
      await double.close();
      await db.close();
    }
  });
});
