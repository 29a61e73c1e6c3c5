/**
 * The grammY and Telegraf session middleware on botwire's Supabase store (supabase-js → PostgREST
 * double → Postgres): the shared middleware suites, the cost of an update in HTTP requests, and the
 * failure grammY's own Supabase storage gets wrong — a load that fails must never be followed by a
 * write (it would put `initial()` over the real session).
 */
import { BotError, type Context } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supabaseSessionStore } from '../adapters/supabase/index.js';
import { session, type SessionFlavor } from '../integrations/grammy/index.js';
import { BackendUnavailableError } from '../src/errors.js';
import type { SessionStore } from '../src/session/session-store.js';
import { grammySessionSuite } from './support/grammy-session-suite.js';
import { chatId } from './support/session-middleware-suite.js';
import { needs, uniqueName } from './support/services.js';
import { withSupabase, type SupabaseSetup } from './support/supabase.js';
import { telegrafSessionSuite } from './support/telegraf-session-suite.js';
import { grammyBot, textUpdate } from './support/telegram.js';

const run = await needs('postgres');

describe.runIf(run)('session middleware on the Supabase store', () => {
  let s: SupabaseSetup;
  let shared: SessionStore<unknown>;
  beforeAll(async () => {
    s = await withSupabase('bw_supa_mw');
    shared = supabaseSessionStore({ client: s.client, schema: s.schema });
  });
  afterAll(async () => { await shared?.close(); await s?.drop(); });

  grammySessionSuite('Supabase', { make: () => shared });
  telegrafSessionSuite('Supabase', { make: () => shared });

  type Ctx = Context & SessionFlavor<{ n: number }>;
  const counterBot = (store: SessionStore<unknown>, concurrency: 'serialize' | 'optimistic' | 'none') => {
    const bot = grammyBot<Ctx>();
    let handled = 0;
    bot.use(session({ store, concurrency, initial: () => ({ n: 0 }) }));
    bot.on('message', (ctx) => { handled++; ctx.session.n++; });
    return { bot, handled: () => handled };
  };

  it('a read-modify-write update costs 2 HTTP requests (acquire, commit); an unchanged one as well', async () => {
    const store = supabaseSessionStore({ client: s.client, schema: s.schema, prefix: uniqueName('rq') + ':' });
    const { bot } = counterBot(store, 'serialize');
    const c = chatId();
    await bot.handleUpdate(textUpdate(c, 'warm'));
    s.double.resetRequests();
    for (let i = 0; i < 5; i++) await bot.handleUpdate(textUpdate(c, `m${i}`));
    expect(Object.fromEntries(s.double.requests.byRoute)).toEqual({ 'POST /rpc/session_acquire': 5, 'POST /rpc/session_commit': 5 });
    expect((await store.get(String(c)))?.data).toEqual({ n: 6 });
  });

  describe.each(['serialize', 'optimistic', 'none'] as const)('concurrency %s: a load that fails is never followed by a write', (concurrency) => {
    const load = concurrency === 'serialize' ? 'POST /rpc/session_acquire' : 'POST /rpc/session_get';
    const faults = [
      ['the endpoint is down', () => { s.double.setDown(true); }],
      ['a proxy answers 502 with an HTML page', () => { s.double.failNext({ status: 502, body: '<html>502 Bad Gateway</html>', times: 3 }); }],
      ['an empty 404 comes back (supabase-js: success, status 204, no data)', () => { s.double.failNext({ status: 404, body: '', contentType: 'text/plain', times: 3 }); }],
    ] as const;

    it.each(faults)('%s', async (_what, fault) => {
      const store = supabaseSessionStore({ client: s.client, schema: s.schema, prefix: uniqueName('rf') + ':' });
      const { bot, handled } = counterBot(store, concurrency);
      const c = chatId();
      await bot.handleUpdate(textUpdate(c, 'first'));
      await bot.handleUpdate(textUpdate(c, 'second'));
      const key = `${store.prefix}${c}`;
      const before = (await s.pool.query(`SELECT data, version::int AS version FROM "${s.schema}".sessions WHERE key = $1`, [key])).rows;
      expect(before).toEqual([{ data: { n: 2 }, version: 2 }]);
      s.double.resetRequests();
      fault();
      let err: unknown;
      try {
        err = await bot.handleUpdate(textUpdate(c, 'during the fault')).then(() => undefined, (e: unknown) => e);
      } finally {
        s.double.setDown(false);
      }
      expect(err).toBeInstanceOf(BotError);
      expect((err as BotError).error).toBeInstanceOf(BackendUnavailableError);
      expect(handled()).toBe(2);
      // Only load attempts reached the API: no set, no commit, no release of a lease never held.
      expect([...s.double.requests.byRoute.keys()].filter((r) => r !== load)).toEqual([]);
      expect((await s.pool.query(`SELECT data, version::int AS version FROM "${s.schema}".sessions WHERE key = $1`, [key])).rows).toEqual(before);
      // Once the API answers again, the session carries on from where it was.
      await bot.handleUpdate(textUpdate(c, 'after'));
      expect((await store.get(String(c)))?.data).toEqual({ n: 3 });
    });
  });
});
