/**
 * How botwire/supabase reads every failure supabase-js reports (shapes recorded in
 * test/postgrest-double.test.ts): each becomes the typed error the Postgres adapter raises, a read
 * never comes back as "no session", and a write's outcome is stated, never guessed.
 */
import { BotError, type Context } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supabaseSessionStore, type SupabaseClientLike } from '../adapters/supabase/index.js';
import { session, type SessionFlavor } from '../integrations/grammy/index.js';
import { BackendForbiddenError, BackendSchemaError, BackendUnavailableError } from '../src/errors.js';
import { startPostgrest, supabaseClientFor, type PostgrestFault } from './support/postgrest.js';
import { DATABASE_URL, needs, uniqueName } from './support/services.js';
import { chatId } from './support/session-middleware-suite.js';
import { withSupabase, type SupabaseSetup } from './support/supabase.js';
import { grammyBot, textUpdate } from './support/telegram.js';

const run = await needs('postgres');

/** The client with every rpc() call counted (requests that never reach the double count too). */
function counted(client: SupabaseClientLike): SupabaseClientLike & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    schema: (name) => {
      const db = client.schema(name);
      return { rpc: (fn, args) => { calls.push(fn); return db.rpc(fn, args); } };
    },
  };
}

/** Refusals by a gateway in front of PostgREST (an API gateway's "Invalid API key", a proxy's empty 403): no PostgREST `code`. */
const GATEWAY_REFUSALS: Array<[string, PostgrestFault, string]> = [
  ['401 with its own JSON', {
    status: 401, contentType: 'application/json',
    body: '{"message":"Invalid API key","hint":"Double check your Supabase `anon` or `service_role` API key."}',
  }, '(HTTP 401: Invalid API key)'],
  ['403 with an empty body', { status: 403, contentType: 'text/plain', body: '' }, '(HTTP 403)'],
];

const HTML_502 = '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>';

describe.runIf(run)('Supabase error mapping', () => {
  let s: SupabaseSetup;
  beforeAll(async () => { s = await withSupabase('bw_supa_err'); });
  afterAll(() => s?.drop());

  const store = (client: SupabaseClientLike = s.client, options: { operationTimeoutMs?: number } = {}) =>
    supabaseSessionStore<unknown>({ client, schema: s.schema, prefix: uniqueName('e') + ':', ...options });
  const rejection = async (p: Promise<unknown>): Promise<BackendUnavailableError> => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    return err as BackendUnavailableError;
  };
  const rows = async (prefix: string): Promise<number> =>
    (await s.pool.query(`SELECT count(*)::int AS n FROM "${s.schema}".sessions WHERE starts_with(key, $1)`, [prefix])).rows[0].n;

  it('endpoint down: a read is retried twice, then BackendUnavailableError (not-applied); a write is sent once (outcome unknown)', async () => {
    const client = counted(s.client);
    const st = store(client);
    s.double.setDown(true);
    try {
      const read = await rejection(st.get('k'));
      expect(read.outcome).toBe('not-applied');
      expect(read.message).toMatch(/Supabase is unavailable during get \(rpc session_get: no HTTP answer: TypeError: fetch failed\)/);
      expect(client.calls).toEqual(['session_get', 'session_get', 'session_get']);
      client.calls.length = 0;
      const write = await rejection(st.set('k', 1));
      expect(write.outcome).toBe('unknown');
      expect(write.message).toMatch(/may or may not have been applied/);
      expect(client.calls).toEqual(['session_set']);
    } finally {
      s.double.setDown(false);
    }
    // Back up: fetch's pool may still hold sockets the outage closed; the read's retries absorb them.
    expect(await st.get('k')).toBeUndefined();
  });

  it('endpoint gone (connection refused): even a write is known not applied', async () => {
    const gone = await startPostgrest({ databaseUrl: DATABASE_URL, schemas: [s.schema], createRoles: false });
    const st = store(supabaseClientFor(gone, gone.serviceKey, { schema: s.schema }));
    await gone.close();
    let err: BackendUnavailableError | undefined;
    // Sockets kept alive from before may fail first with "other side closed"; then the refusal shows.
    for (let i = 0; i < 5 && err?.outcome !== 'not-applied'; i++) err = await rejection(st.set('k', 1));
    expect(err!.outcome).toBe('not-applied');
    expect(err!.message).toContain('Nothing was applied');
  });

  it('a proxy\'s HTML 502: a read retries past it; a write fails with outcome unknown and is not retried', async () => {
    const client = counted(s.client);
    const st = store(client);
    s.double.failNext({ status: 502, body: HTML_502 });
    expect(await st.get('k')).toBeUndefined();
    expect(client.calls).toEqual(['session_get', 'session_get']);
    client.calls.length = 0;
    s.double.failNext({ status: 502, body: HTML_502 });
    const err = await rejection(st.set('k', 1));
    expect(err.outcome).toBe('unknown');
    expect(err.message).toContain('rpc session_set: HTTP 502: <html><head><title>502 Bad Gateway</title>');
    expect(client.calls).toEqual(['session_set']);
    expect(await rows(st.prefix)).toBe(0);
  });

  it('an acquire whose answer was lost after it took the lease is resent with its token and gets the lease it holds', async () => {
    const st = store();
    await st.set('k', { n: 1 });
    s.double.failNext({ reset: 'after' });
    const lease = await st.acquire('k', { waitMs: 0 });
    expect(lease.record?.data).toEqual({ n: 1 });
    expect(await lease.commit({ n: 2 })).toBe(2);
    expect((await st.acquire('k', { waitMs: 0 })).record?.data).toEqual({ n: 2 });
  });

  it('PostgREST\'s 503 PGRST000 (no database connection): the write never ran, so outcome not-applied', async () => {
    s.double.failNext({ status: 503, contentType: 'application/json', body: '{"code":"PGRST000","details":null,"hint":null,"message":"Database connection error. Retrying the connection."}' });
    const err = await rejection(store().set('k', 1));
    expect(err.outcome).toBe('not-applied');
  });

  it('a 500 whose body is not JSON, and a 200 whose JSON is cut off: BackendUnavailableError, never a value', async () => {
    const st = store();
    await st.set('k', { n: 1 });
    s.double.failNext({ status: 500, body: 'Internal Server Error', contentType: 'text/plain', times: 3 });
    expect((await rejection(st.get('k'))).message).toContain('HTTP 500: Internal Server Error');
    s.double.failNext({ status: 200, body: '[{"key":"k","data":"{\\"n\\": 1}","vers', contentType: 'application/json', times: 3 });
    await rejection(st.get('k'));
    // An acquire is resent too (with its token, taking a lease already its own changes nothing).
    s.double.failNext({ status: 200, body: '{"ok": tr', contentType: 'application/json', times: 3 });
    expect((await rejection(st.acquire('k'))).outcome).toBe('unknown');
    expect((await st.get('k'))?.data).toEqual({ n: 1 });
  });

  it('the empty-404 trap (supabase-js answers success, status 204, data null) is an outage, never "no session" and never "acquired"', async () => {
    const st = store();
    await st.set('k', { n: 1 });
    s.double.failNext({ status: 404, body: '', contentType: 'text/plain', times: 3 });
    const read = await rejection(st.get('k'));
    expect(read.message).toMatch(/expected a JSON array but got no body: this answer did not come from PostgREST/);
    s.double.failNext({ status: 404, body: '', contentType: 'text/plain', times: 3 });
    expect((await rejection(st.acquire('k', { waitMs: 0 }))).message).toMatch(/expected a JSON object but got no body/);
    // A JSON answer of the wrong shape is refused the same way.
    s.double.failNext({ status: 200, body: '[]', contentType: 'application/json' });
    await rejection(st.touch('k', 1_000));
  });

  it('an answer that never comes: BackendUnavailableError within operationTimeoutMs', async () => {
    const st = store(s.client, { operationTimeoutMs: 300 });
    s.double.failNext({ hang: true });
    const t0 = performance.now();
    const err = await rejection(st.set('k', 1));
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(err.outcome).toBe('unknown');
    s.double.closeSockets();
  });

  it('a schema that is not exposed: BackendSchemaError that says to add it to the exposed schemas', async () => {
    const other = supabaseSessionStore({ client: s.client, schema: 'botwire_not_exposed' });
    const err = await other.get('k').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendSchemaError);
    expect((err as Error).message).toContain('schema "botwire_not_exposed" is not exposed by the Data API');
    expect((err as Error).message).toContain('Exposed schemas');
  });

  it.each(GATEWAY_REFUSALS)('a gateway\'s %s: BackendForbiddenError naming the service-role key, not retried, and a failed load writes nothing', async (_what, fault, shown) => {
    const client = counted(s.client);
    const st = store(client);
    const c = chatId();
    await st.set(String(c), { n: 1 });
    const row = async (): Promise<unknown[]> =>
      (await s.pool.query(`SELECT data, version::int AS version FROM "${s.schema}".sessions WHERE key = $1`, [`${st.prefix}${c}`])).rows;
    const refused = (err: unknown): void => {
      expect(err).toBeInstanceOf(BackendForbiddenError);
      expect((err as Error).message).toMatch(/service-role key, never the anon key/);
      expect((err as Error).message).toContain(shown);
    };
    client.calls.length = 0;
    s.double.failNext(fault);
    refused(await st.get(String(c)).catch((e: unknown) => e));
    s.double.failNext(fault);
    refused(await st.acquire(String(c), { waitMs: 0 }).catch((e: unknown) => e));
    // Refused at once: a read is not resent as after an outage.
    expect(client.calls).toEqual(['session_get', 'session_acquire']);

    // The session middleware whose load is refused: the handler does not run and nothing is written.
    for (const concurrency of ['serialize', 'optimistic', 'none'] as const) {
      const bot = grammyBot<Context & SessionFlavor<{ n: number }>>();
      let handled = 0;
      bot.use(session({ store: st, concurrency, initial: () => ({ n: 0 }) }));
      bot.on('message', (ctx) => { handled++; ctx.session.n++; });
      client.calls.length = 0;
      s.double.failNext(fault);
      const err = await bot.handleUpdate(textUpdate(c, 'refused')).then(() => undefined, (e: unknown) => e);
      expect(err, concurrency).toBeInstanceOf(BotError);
      refused((err as BotError).error);
      expect(handled, concurrency).toBe(0);
      expect(client.calls, concurrency).toEqual([concurrency === 'serialize' ? 'session_acquire' : 'session_get']);
    }
    expect(await row()).toEqual([{ data: { n: 1 }, version: 1 }]);
  });

  it('a SQL error of no known kind reaches the caller as SupabaseRpcError with its code, not as an outage', async () => {
    s.double.failNext({ status: 500, contentType: 'application/json', body: '{"code":"XX000","details":null,"hint":null,"message":"internal error"}' });
    const err = await store().delete('k').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'SupabaseRpcError', code: 'XX000', status: 500 });
    expect(err).not.toBeInstanceOf(BackendUnavailableError);
  });

  it('on a schema without the batch functions, merged calls fall back to single ones after one try', async () => {
    const bare = await withSupabase('bw_supa_nobatch');
    try {
      await bare.pool.query(`DROP FUNCTION "${bare.schema}".session_acquire_many, "${bare.schema}".session_commit_many, "${bare.schema}".session_set_many`);
      const client = counted(bare.client);
      const st = supabaseSessionStore({ client, schema: bare.schema });
      const burst = (): Promise<number[]> => Promise.all(['a', 'b', 'c', 'd'].map((k, i) => st.set(k, i)));
      expect(await burst()).toEqual([1, 1, 1, 1]);
      expect(await burst()).toEqual([2, 2, 2, 2]);
      expect(client.calls.filter((c) => c.endsWith('_many'))).toEqual(['session_set_many']);
    } finally {
      await bare.drop();
    }
  });
});
