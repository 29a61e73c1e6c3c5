/**
 * The Telegraf session middleware on one store kind: the shared middleware cases through a Telegraf
 * driver, and what only Telegraf has — `${from.id}:${chat.id}` as default key, `undefined` for an
 * update without one, `property`, `defaultSession`, `telegrafStore`. Every test drives a real
 * Telegraf instance with `bot.handleUpdate`; API calls are answered locally.
 */
import { describe, expect, it } from 'vitest';
import { session as telegrafSession, type Context } from 'telegraf';
import type { Update } from 'telegraf/types';
import { session, telegrafStore, type SessionFlavor } from '../../integrations/telegraf/index.js';
import type { SessionStore } from '../../src/session/session-store.js';
import { countingStore } from './counting-backend.js';
import {
  chatId, sessionMiddlewareCases, updateView, type SessionMiddlewareDriver, type SuiteStore,
} from './session-middleware-suite.js';
import { inlineQueryUpdate, telegrafBot, textUpdate, type Sent } from './telegram.js';

type Counter = { n: number };
type CounterCtx = Context & SessionFlavor<Counter>;
/** The update builders make grammY's Update type; Telegraf's describes the same JSON. */
const up = (u: unknown): Update => u as Update;

/** Telegraf for the shared middleware cases: `session(options)`, then the case's handler on every update. */
export const telegrafDriver: SessionMiddlewareDriver = {
  framework: 'Telegraf',
  bot(options, handler, sent: Sent[] = []) {
    const bot = telegrafBot(sent);
    bot.use(session(options as never) as never);
    bot.use(async (ctx) => { await handler(updateView(ctx)); });
    // telegrafBot's catch rethrows: handleUpdate rejects with the error itself.
    return { handle: (update) => bot.handleUpdate(up(update)) };
  },
  defaultKey: (chat, user = chat) => `${user}:${chat}`,
};

export function telegrafSessionSuite(name: string, { make }: SuiteStore): void {
  describe(`Telegraf session() on ${name}`, () => {
    sessionMiddlewareCases(telegrafDriver, { make });

    it("keys sessions by Telegraf's default `${from.id}:${chat.id}`", async () => {
      const store = await make();
      const sent: Sent[] = [];
      const bot = telegrafBot<CounterCtx>(sent);
      bot.use(session({ store, initial: () => ({ n: 0 }) }));
      bot.on('message', async (ctx) => { ctx.session.n++; await ctx.reply(`n=${ctx.session.n}`); });
      const c = -chatId();
      await bot.handleUpdate(up(textUpdate(c, 'a', 1)));
      await bot.handleUpdate(up(textUpdate(c, 'b', 1)));
      await bot.handleUpdate(up(textUpdate(c, 'c', 2)));
      expect(sent.map((s) => s.text)).toEqual(['n=1', 'n=2', 'n=1']);
      expect((await store.get(`1:${c}`))?.data).toEqual({ n: 2 });
      expect((await store.get(`2:${c}`))?.data).toEqual({ n: 1 });
    });

    it('an update without a chat sees ctx.session === undefined and costs no round trip', async () => {
      const { store, counts } = countingStore(await make());
      const bot = telegrafBot<CounterCtx>();
      bot.use(session({ store, initial: () => ({ n: 0 }) }));
      const seen: unknown[] = [];
      bot.on('inline_query', (ctx) => { seen.push(ctx.session); });
      await bot.handleUpdate(up(inlineQueryUpdate(chatId())));
      expect(seen).toEqual([undefined]);
      expect(counts.total).toBe(0);
    });

    it('property puts the session on another context property; migrations apply to it', async () => {
      const store = await make();
      const bot = telegrafBot<Context & { state2: { total: number } }>();
      bot.use(session({ store, property: 'state2', migrations: { 1: (o: Counter) => ({ total: o.n }), 1.5: (o: { total: number }) => ({ total: o.total + 0.5 }) } }) as never);
      const sessions: unknown[] = [];
      bot.on('message', (ctx) => { sessions.push((ctx as unknown as { session?: unknown }).session); ctx.state2.total *= 2; });
      const c = chatId();
      await store.set(`${c}:${c}`, { $v: 1, $d: { total: 2 } });
      await bot.handleUpdate(up(textUpdate(c, 'x')));
      expect((await store.get(`${c}:${c}`))?.data).toEqual({ $v: 1.5, $d: { total: 5 } });
      expect(sessions).toEqual([undefined]);
    });

    it("defaultSession, Telegraf's name for initial, gives the value a new session starts from", async () => {
      const store = await make();
      const bot = telegrafBot<CounterCtx>();
      bot.use(session({ store, defaultSession: () => ({ n: 10 }) }));
      const both = telegrafBot<CounterCtx>();
      both.use(session({ store, initial: () => ({ n: 100 }), defaultSession: () => ({ n: 10 }) }));
      for (const b of [bot, both]) b.on('message', (ctx) => { ctx.session.n++; });
      const c = chatId();
      const d = chatId();
      await bot.handleUpdate(up(textUpdate(c, 'x')));
      await both.handleUpdate(up(textUpdate(d, 'x')));
      expect((await store.get(`${c}:${c}`))?.data).toEqual({ n: 11 });
      expect((await store.get(`${d}:${d}`))?.data).toEqual({ n: 101 }); // initial wins when both are given
    });

    it("telegrafStore plugs the store into Telegraf's own session()", async () => {
      const store = await make();
      const bot = telegrafBot<Context & { session?: Counter }>();
      bot.use(telegrafSession({ store: telegrafStore(store as SessionStore<Counter>), defaultSession: () => ({ n: 0 }) }));
      bot.on('message', (ctx) => { ctx.session!.n++; });
      const c = chatId();
      await bot.handleUpdate(up(textUpdate(c, 'x')));
      await bot.handleUpdate(up(textUpdate(c, 'x')));
      expect((await store.get(`${c}:${c}`))?.data).toEqual({ n: 2 });
    });
  });
}
