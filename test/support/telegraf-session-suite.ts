/**
 * The Telegraf session middleware's behaviour on one store kind. Every test drives a real Telegraf
 * instance with `bot.handleUpdate`; API calls are answered locally.
 */
import { describe, expect, it } from 'vitest';
import { session as telegrafSession, type Context } from 'telegraf';
import { session, telegrafStore, type LazySessionFlavor, type SessionFlavor } from '../../integrations/telegraf/index.js';
import { SessionConflictError } from '../../src/errors.js';
import { SessionStore } from '../../src/session/session-store.js';
import { countingStore } from './counting-backend.js';
import { chatId, type SuiteStore } from './grammy-session-suite.js';
import { callbackUpdate, inlineQueryUpdate, telegrafBot, textUpdate, type Sent } from './telegram.js';
import type { Update } from 'telegraf/types';

type Counter = { n: number };
type CounterCtx = Context & SessionFlavor<Counter>;
const up = (u: unknown): Update => u as Update;

type Draft = { editing: boolean; draft: { name?: string; buyin?: number }; saved?: { name?: string; buyin?: number } };
function tournamentBot(store: SessionStore<unknown>, sent: Sent[]) {
  const bot = telegrafBot<Context & SessionFlavor<Draft>>(sent);
  bot.use(session({ store, defaultSession: (): Draft => ({ editing: false, draft: {} }) }));
  bot.action('edit', async (ctx) => {
    ctx.session.editing = true;
    await ctx.reply('Введите name:значение, buyin:значение или done');
  });
  bot.on('text', async (ctx) => {
    const s = ctx.session;
    if (!s.editing) return void (await ctx.reply('Нажмите «Редактировать»'));
    const text = ctx.message.text;
    if (text === 'done') {
      s.saved = { ...s.draft };
      s.editing = false;
      s.draft = {};
      return void (await ctx.reply(`Сохранено: ${s.saved.name} / ${s.saved.buyin}`));
    }
    const m = /^(name|buyin):(.+)$/.exec(text);
    if (!m) return void (await ctx.reply('Неизвестная команда'));
    if (m[1] === 'name') s.draft.name = m[2]!;
    else s.draft.buyin = Number(m[2]);
    await ctx.reply(`✅ ${m[1]} обновлено`);
  });
  return bot;
}

export function telegrafSessionSuite(name: string, { make }: SuiteStore): void {
  describe(`Telegraf session() on ${name}`, () => {
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

    it('unchanged sessions cause zero writes; a read-modify-write costs 2 round trips', async () => {
      const { store, counts } = countingStore(await make());
      const bot = telegrafBot<CounterCtx>();
      bot.use(session({ store, initial: () => ({ n: 0 }) }));
      bot.hears('inc', (ctx) => { ctx.session.n++; });
      bot.hears('peek', (ctx) => { void ctx.session.n; });
      const c = chatId();
      await bot.handleUpdate(up(textUpdate(c, 'peek')));
      expect(counts.writes).toBe(0);
      counts.reset();
      await bot.handleUpdate(up(textUpdate(c, 'inc')));
      expect(counts.total).toBe(2);
      counts.reset();
      await bot.handleUpdate(up(textUpdate(c, 'peek')));
      expect(counts.writes).toBe(0);
    });

    it('lazy: untouched updates cost zero round trips', async () => {
      const { store, counts } = countingStore(await make());
      const bot = telegrafBot<Context & LazySessionFlavor<Counter>>();
      bot.use(session({ store, initial: () => ({ n: 0 }), lazy: true }));
      bot.hears('inc', async (ctx) => { (await ctx.session).n++; });
      bot.on('message', () => {});
      const c = chatId();
      await bot.handleUpdate(up(textUpdate(c, 'hello')));
      expect(counts.total).toBe(0);
      await bot.handleUpdate(up(textUpdate(c, 'inc')));
      expect((await store.get(`${c}:${c}`))?.data).toEqual({ n: 1 });
    });

    it('serialize: 40 concurrent updates through two instances lose nothing', async () => {
      const base = await make();
      const bots = [0, 1].map(() => {
        const bot = telegrafBot<CounterCtx>();
        bot.use(session({ store: new SessionStore(base.backend, { prefix: base.prefix }), initial: () => ({ n: 0 }), waitMs: 20_000 }));
        bot.on('message', async (ctx) => { const n = ctx.session.n; await new Promise((r) => setTimeout(r, 1)); ctx.session.n = n + 1; });
        return bot;
      });
      const c = chatId();
      await Promise.all(Array.from({ length: 40 }, (_, i) => bots[i % 2]!.handleUpdate(up(textUpdate(c, 'x')))));
      expect((await base.get(`${c}:${c}`))?.data).toEqual({ n: 40 });
    });

    it('optimistic: a concurrent change raises SessionConflictError instead of overwriting', async () => {
      const base = await make();
      const bots = [0, 1].map(() => {
        const bot = telegrafBot<CounterCtx>();
        bot.use(session({ store: new SessionStore(base.backend, { prefix: base.prefix }), initial: () => ({ n: 0 }), concurrency: 'optimistic' }));
        bot.on('message', async (ctx) => { const n = ctx.session.n; await new Promise((r) => setTimeout(r, 5)); ctx.session.n = n + 1; });
        return bot;
      });
      const c = chatId();
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => bots[i % 2]!.handleUpdate(up(textUpdate(c, 'x')))));
      const landed = results.filter((r) => r.status === 'fulfilled').length;
      const conflicts = results.filter((r) => r.status === 'rejected' && r.reason instanceof SessionConflictError).length;
      expect(landed + conflicts).toBe(20);
      expect((await base.get(`${c}:${c}`))?.data).toEqual({ n: landed });
    });

    it('ctx.session = null deletes; an update without a chat sees undefined', async () => {
      const store = await make();
      const bot = telegrafBot<CounterCtx>();
      bot.use(session({ store, initial: () => ({ n: 0 }) }));
      const seen: unknown[] = [];
      bot.hears('inc', (ctx) => { ctx.session.n++; });
      bot.hears('reset', (ctx) => { (ctx as CounterCtx).session = null; });
      bot.on('inline_query', (ctx) => { seen.push(ctx.session); });
      const c = chatId();
      await bot.handleUpdate(up(textUpdate(c, 'inc')));
      expect(await store.get(`${c}:${c}`)).toBeDefined();
      await bot.handleUpdate(up(textUpdate(c, 'reset')));
      expect(await store.get(`${c}:${c}`)).toBeUndefined();
      await bot.handleUpdate(up(inlineQueryUpdate(c)));
      expect(seen).toEqual([undefined]);
    });

    it('migrations and a custom property work as for grammY', async () => {
      const store = await make();
      const bot = telegrafBot<Context & { state2: { total: number } }>();
      bot.use(session({ store, property: 'state2', migrations: { 1: (o: Counter) => ({ total: o.n }), 1.5: (o: { total: number }) => ({ total: o.total + 0.5 }) } }) as never);
      bot.on('message', (ctx) => { ctx.state2.total *= 2; });
      const c = chatId();
      await store.set(`${c}:${c}`, { $v: 1, $d: { total: 2 } });
      await bot.handleUpdate(up(textUpdate(c, 'x')));
      expect((await store.get(`${c}:${c}`))?.data).toEqual({ $v: 1.5, $d: { total: 5 } });
    });

    it('seed flow: Edit → name:TestTournament123 → buyin:500 → done, a new Telegraf per update', async () => {
      const store = await make();
      const sent: Sent[] = [];
      const c = chatId();
      const steps = [callbackUpdate(c, 'edit'), textUpdate(c, 'name:TestTournament123'), textUpdate(c, 'buyin:500'), textUpdate(c, 'done')];
      for (const update of steps) await tournamentBot(new SessionStore(store.backend, { prefix: store.prefix }), sent).handleUpdate(up(update));
      expect(sent.map((s) => s.text)).toEqual([
        'Введите name:значение, buyin:значение или done', '✅ name обновлено', '✅ buyin обновлено', 'Сохранено: TestTournament123 / 500',
      ]);
      expect((await store.get(`${c}:${c}`))?.data).toMatchObject({ editing: false, saved: { name: 'TestTournament123', buyin: 500 } });
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
