/**
 * The grammY session middleware on one store kind (memory, Redis, Postgres, PGlite): the shared
 * middleware cases through a grammY driver, and what only grammY has — the chat id as default key,
 * an error for a session touched on an update without a chat, `migrateChat`, `grammyStorage`.
 * Every test drives a real grammY `Bot` with `bot.handleUpdate`; nothing contacts Telegram.
 */
import { describe, expect, it } from 'vitest';
import { BotError, Context, session as grammySession } from 'grammy';
import { grammyStorage, migrateChat, session, type SessionFlavor } from '../../integrations/grammy/index.js';
import { SessionConflictError } from '../../src/errors.js';
import type { SessionStore } from '../../src/session/session-store.js';
import {
  chatId, failure, sessionMiddlewareCases, updateView, type SessionMiddlewareDriver, type SuiteStore,
} from './session-middleware-suite.js';
import { grammyBot, inlineQueryUpdate, textUpdate, type Sent } from './telegram.js';

type Counter = { n: number };
type CounterCtx = Context & SessionFlavor<Counter>;

/** grammY for the shared middleware cases: `session(options)`, then the case's handler on every update. */
export const grammyDriver: SessionMiddlewareDriver = {
  framework: 'grammY',
  bot(options, handler, sent: Sent[] = []) {
    const bot = grammyBot(sent);
    bot.use(session(options as never) as never);
    bot.use(async (ctx) => { await handler(updateView(ctx)); });
    // grammY wraps what a middleware throws in a BotError.
    return { handle: (update) => bot.handleUpdate(update).catch((e: unknown) => { throw e instanceof BotError ? e.error : e; }) };
  },
  defaultKey: (chat) => String(chat),
};

export function grammySessionSuite(name: string, { make }: SuiteStore): void {
  describe(`grammY session() on ${name}`, () => {
    sessionMiddlewareCases(grammyDriver, { make });

    it("keys sessions by chat id, as grammY's session() does: every member of a group shares one", async () => {
      const store = await make();
      const sent: Sent[] = [];
      const bot = grammyBot<CounterCtx>(sent);
      bot.use(session({ store, initial: () => ({ n: 0 }) }));
      bot.on('message', async (ctx) => { ctx.session.n++; await ctx.reply(`n=${ctx.session.n}`); });
      const group = -chatId();
      await bot.handleUpdate(textUpdate(group, 'a', 1));
      await bot.handleUpdate(textUpdate(group, 'b', 2));
      expect(sent.map((s) => s.text)).toEqual(['n=1', 'n=2']);
      expect((await store.get(String(group)))?.data).toEqual({ n: 2 });
    });

    it('an update without a chat has no session: untouched it passes, touched it throws clearly', async () => {
      const store = await make();
      const bot = grammyBot<CounterCtx>();
      bot.use(session({ store, initial: () => ({ n: 0 }) }));
      bot.on('inline_query', () => {});
      await bot.handleUpdate(inlineQueryUpdate(5));
      const touching = grammyBot<CounterCtx>();
      touching.use(session({ store, initial: () => ({ n: 0 }) }));
      touching.on('inline_query', (ctx) => { ctx.session.n++; });
      const err = await failure(touching.handleUpdate(inlineQueryUpdate(5)));
      expect(String(err instanceof BotError ? err.error : err)).toMatch(/no session key/);
    });

    it('migrateChat moves a group session to its supergroup id and refuses to overwrite', async () => {
      const store = await make();
      const group = -chatId();
      const supergroup = -chatId();
      await store.set(String(group), { n: 3 });
      expect(await migrateChat(store, group, supergroup)).toBe(true);
      expect(await store.get(String(group))).toBeUndefined();
      expect((await store.get(String(supergroup)))?.data).toEqual({ n: 3 });
      expect(await migrateChat(store, group, supergroup)).toBe(false);
      await store.set(String(group), { n: 1 });
      await expect(migrateChat(store, group, supergroup)).rejects.toBeInstanceOf(SessionConflictError);
      expect((await store.get(String(group)))?.data).toEqual({ n: 1 });
    });

    it("grammyStorage plugs the store into grammY's own session()", async () => {
      const store = await make();
      const bot = grammyBot<CounterCtx>();
      bot.use(grammySession({ initial: () => ({ n: 0 }), storage: grammyStorage(store as SessionStore<Counter>) }));
      bot.on('message', (ctx) => { ctx.session.n++; });
      const c = chatId();
      await bot.handleUpdate(textUpdate(c, 'x'));
      await bot.handleUpdate(textUpdate(c, 'x'));
      expect((await store.get(String(c)))?.data).toEqual({ n: 2 });
    });
  });
}
