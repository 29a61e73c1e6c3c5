/**
 * The grammY session middleware's behaviour, run against one store kind (memory, Redis, Postgres,
 * PGlite). Every test drives a real grammY `Bot` with `bot.handleUpdate`; nothing contacts Telegram.
 */
import { describe, expect, it } from 'vitest';
import { BotError, Context, session as grammySession } from 'grammy';
import {
  grammyStorage, migrateChat, session, type LazySessionFlavor, type SessionFlavor, type SessionLogger,
} from '../../integrations/grammy/index.js';
import {
  BackendUnavailableError, SessionConflictError, SessionLockTimeoutError,
} from '../../src/errors.js';
import { SessionStore } from '../../src/session/session-store.js';
import type { SessionBackend } from '../../src/session/backend.js';
import { countingStore } from './counting-backend.js';
import { grammyBot, inlineQueryUpdate, textUpdate, callbackUpdate, type Sent } from './telegram.js';

type Counter = { n: number };
type CounterCtx = Context & SessionFlavor<Counter>;

/** A fresh chat id per test, so tests sharing one backend never see each other's sessions. */
export const chatId = (): number => 1 + Math.floor(Math.random() * 2_000_000_000);

/** Unwrap grammY's BotError to the error the middleware threw. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  return err instanceof BotError ? err.error : err;
}

function recordingLogger(): SessionLogger & { lines: Record<string, string[]> } {
  const lines: Record<string, string[]> = { debug: [], info: [], warn: [], error: [] };
  return {
    lines,
    debug: (m) => { lines.debug!.push(m); }, info: (m) => { lines.info!.push(m); },
    warn: (m) => { lines.warn!.push(m); }, error: (m) => { lines.error!.push(m); },
  };
}

/** A store whose backend fails every call as if the server were down. */
function unreachable(store: SessionStore<unknown>): SessionStore<unknown> {
  const down = new Proxy(store.backend, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== 'function' || prop === 'close') return v;
      // Reading an error is no call to the server.
      if (prop === 'classifyError') return (v as (err: unknown) => unknown).bind(target);
      return () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }));
    },
  }) as SessionBackend;
  return new SessionStore(down, { prefix: store.prefix });
}

/** The seed's multi-step edit flow: "✏️ Edit" button → `name:…` → `buyin:…` → `done`. */
type Draft = { editing: boolean; draft: { name?: string; buyin?: number }; saved?: { name?: string; buyin?: number } };
function tournamentBot(store: SessionStore<unknown>, sent: Sent[]) {
  const bot = grammyBot<Context & SessionFlavor<Draft>>(sent);
  bot.use(session({ store, initial: (): Draft => ({ editing: false, draft: {} }), ttlMs: 86_400_000 }));
  bot.callbackQuery('edit', async (ctx) => {
    ctx.session.editing = true;
    await ctx.reply('Введите name:значение, buyin:значение или done');
  });
  bot.on('message:text', async (ctx) => {
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

/** Options of {@link grammySessionSuite}. */
export interface SuiteStore {
  /** A store for one test; keys never collide with other tests (fresh chat ids are used). */
  make: () => SessionStore<unknown> | Promise<SessionStore<unknown>>;
}

export function grammySessionSuite(name: string, { make }: SuiteStore): void {
  describe(`grammY session() on ${name}`, () => {
    it('counts messages per chat and persists them in the store', async () => {
      const store = await make();
      const sent: Sent[] = [];
      const bot = grammyBot<CounterCtx>(sent);
      bot.use(session({ store, initial: () => ({ n: 0 }) }));
      bot.on('message', async (ctx) => { ctx.session.n++; await ctx.reply(`n=${ctx.session.n}`); });
      const a = chatId();
      const b = chatId();
      for (const c of [a, a, b]) await bot.handleUpdate(textUpdate(c, 'hi'));
      expect(sent.map((s) => s.text)).toEqual(['n=1', 'n=2', 'n=1']);
      expect((await store.get(String(a)))?.data).toEqual({ n: 2 });
    });

    it('a read-modify-write update costs 2 round trips; an unchanged session 0 writes', async () => {
      const { store, counts } = countingStore(await make());
      const bot = grammyBot<CounterCtx>();
      bot.use(session({ store, initial: () => ({ n: 0 }) }));
      bot.command('inc', (ctx) => { ctx.session.n++; });
      bot.command('peek', (ctx) => { void ctx.session.n; });
      const c = chatId();
      await bot.handleUpdate(textUpdate(c, '/inc'));
      expect(counts.total).toBe(2);
      expect(counts.writes).toBe(1);
      counts.reset();
      await bot.handleUpdate(textUpdate(c, '/peek'));
      await bot.handleUpdate(textUpdate(c, '/peek'));
      expect(counts.writes).toBe(0);
      expect((await store.get(String(c)))?.version).toBe(1);
    });

    it('never writes an initial() value nobody changed', async () => {
      for (const concurrency of ['serialize', 'optimistic', 'none'] as const) {
        const { store, counts } = countingStore(await make());
        const bot = grammyBot<CounterCtx>();
        bot.use(session({ store, initial: () => ({ n: 0 }), concurrency }));
        bot.on('message', (ctx) => { void ctx.session.n; });
        const c = chatId();
        await bot.handleUpdate(textUpdate(c, 'x'));
        expect(counts.writes, concurrency).toBe(0);
        expect(await store.get(String(c))).toBeUndefined();
      }
    });

    it('lazy: an update that never touches ctx.session costs zero round trips', async () => {
      const { store, counts } = countingStore(await make());
      const bot = grammyBot<Context & LazySessionFlavor<Counter>>();
      bot.use(session({ store, initial: () => ({ n: 0 }), lazy: true }));
      bot.command('inc', async (ctx) => { (await ctx.session).n++; });
      bot.on('message', () => {});
      const c = chatId();
      await bot.handleUpdate(textUpdate(c, 'no session here'));
      expect(counts.total).toBe(0);
      await bot.handleUpdate(textUpdate(c, '/inc'));
      await bot.handleUpdate(textUpdate(c, '/inc'));
      expect((await store.get(String(c)))?.data).toEqual({ n: 2 });
    });

    it('lazy: assigning without reading still saves under the lease', async () => {
      const store = await make();
      const bot = grammyBot<Context & LazySessionFlavor<Counter>>();
      bot.use(session({ store, lazy: true }));
      bot.on('message', (ctx) => { ctx.session = { n: 41 }; });
      const c = chatId();
      await bot.handleUpdate(textUpdate(c, 'set'));
      expect((await store.get(String(c)))?.data).toEqual({ n: 41 });
    });

    it('serialize: 60 concurrent updates for one chat through two instances lose nothing', async () => {
      const base = await make();
      // Two SessionStore objects over one backend behave like two processes: separate local queues.
      const one = countingStore(base);
      const two = countingStore(base);
      const bots = [one.store, two.store].map((store) => {
        const bot = grammyBot<CounterCtx>();
        bot.use(session({ store, initial: () => ({ n: 0 }), waitMs: 20_000 }));
        bot.on('message', async (ctx) => { const n = ctx.session.n; await new Promise((r) => setTimeout(r, 1)); ctx.session.n = n + 1; });
        return bot;
      });
      const c = chatId();
      await Promise.all(Array.from({ length: 60 }, (_, i) => bots[i % 2]!.handleUpdate(textUpdate(c, 'inc'))));
      expect((await base.get(String(c)))?.data).toEqual({ n: 60 });
      // Local queueing: far fewer acquires than updates, each update one commit (or hand-over).
      const acquires = (one.counts.calls.acquire ?? 0) + (two.counts.calls.acquire ?? 0);
      expect(acquires).toBeLessThan(60);
      expect((one.counts.calls.commit ?? 0) + (two.counts.calls.commit ?? 0)).toBe(60);
    });

    it('serialize: queued local updates get the lease handed on, released after 16 hand-overs for fairness', async () => {
      const { store, counts } = countingStore(await make());
      const bot = grammyBot<CounterCtx>();
      bot.use(session({ store, initial: () => ({ n: 0 }), waitMs: 20_000 }));
      bot.on('message', (ctx) => { ctx.session.n++; });
      const c = chatId();
      await Promise.all(Array.from({ length: 40 }, () => bot.handleUpdate(textUpdate(c, 'x'))));
      expect((await store.get(String(c)))?.data).toEqual({ n: 40 });
      // 1 acquire serves 17 updates (itself + 16 hand-overs): 40 updates need 3.
      expect(counts.calls.acquire).toBe(3);
      expect(counts.calls.commit).toBe(40);
    });

    it('serialize: an update queued locally behind a slow one times out after waitMs', async () => {
      const store = await make();
      const bot = grammyBot<CounterCtx>();
      bot.use(session({ store, initial: () => ({ n: 0 }), waitMs: 150 }));
      let release!: () => void;
      const gate = new Promise<void>((r) => { release = r; });
      bot.command('slow', async (ctx) => { ctx.session.n++; await gate; });
      bot.on('message', (ctx) => { ctx.session.n += 10; });
      const c = chatId();
      const slow = bot.handleUpdate(textUpdate(c, '/slow'));
      await new Promise((r) => setTimeout(r, 20));
      expect(await failure(bot.handleUpdate(textUpdate(c, 'queued')))).toBeInstanceOf(SessionLockTimeoutError);
      release();
      await slow;
      await bot.handleUpdate(textUpdate(c, 'after'));
      expect((await store.get(String(c)))?.data).toEqual({ n: 11 });
    });

    it('serialize: other chats are not blocked by a slow one', async () => {
      const store = await make();
      const bot = grammyBot<CounterCtx>();
      bot.use(session({ store, initial: () => ({ n: 0 }) }));
      let release!: () => void;
      const gate = new Promise<void>((r) => { release = r; });
      bot.command('slow', async (ctx) => { ctx.session.n++; await gate; });
      bot.on('message', (ctx) => { ctx.session.n++; });
      const slow = chatId();
      const fast = chatId();
      const pending = bot.handleUpdate(textUpdate(slow, '/slow'));
      await bot.handleUpdate(textUpdate(fast, 'hi'));
      expect((await store.get(String(fast)))?.data).toEqual({ n: 1 });
      release();
      await pending;
    });

    it('serialize: waiting longer than waitMs raises SessionLockTimeoutError', async () => {
      const store = await make();
      const c = chatId();
      const held = await store.acquire(String(c), { leaseMs: 10_000 });
      const bot = grammyBot<CounterCtx>();
      bot.use(session({ store, initial: () => ({ n: 0 }), waitMs: 150 }));
      bot.on('message', (ctx) => { ctx.session.n++; });
      const err = await failure(bot.handleUpdate(textUpdate(c, 'x')));
      expect(err).toBeInstanceOf(SessionLockTimeoutError);
      await held.release();
      await bot.handleUpdate(textUpdate(c, 'x'));
      expect((await store.get(String(c)))?.data).toEqual({ n: 1 });
    });

    it('serialize: the lease is extended while a long handler runs', async () => {
      const store = await make();
      const c = chatId();
      const bot = grammyBot<CounterCtx>();
      bot.use(session({ store, initial: () => ({ n: 0 }), leaseMs: 600 }));
      let intruder: unknown;
      bot.on('message', async (ctx) => {
        ctx.session.n++;
        await new Promise((r) => setTimeout(r, 1_500)); // well past leaseMs
        const other = new SessionStore(store.backend, { prefix: store.prefix });
        intruder = await other.acquire(String(c), { waitMs: 0 }).then((l) => l.release(), (e: unknown) => e);
      });
      await bot.handleUpdate(textUpdate(c, 'x'));
      expect(intruder).toBeInstanceOf(SessionLockTimeoutError);
      expect((await store.get(String(c)))?.data).toEqual({ n: 1 });
    });

    it('optimistic: concurrent updates either land or raise SessionConflictError, never overwrite', async () => {
      const base = await make();
      const bots = [0, 1, 2].map(() => {
        const bot = grammyBot<CounterCtx>();
        bot.use(session({ store: new SessionStore(base.backend, { prefix: base.prefix }), initial: () => ({ n: 0 }), concurrency: 'optimistic' }));
        bot.on('message', async (ctx) => { const n = ctx.session.n; await new Promise((r) => setTimeout(r, 5)); ctx.session.n = n + 1; });
        return bot;
      });
      const c = chatId();
      const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => bots[i % 3]!.handleUpdate(textUpdate(c, 'inc'))));
      const landed = results.filter((r) => r.status === 'fulfilled').length;
      const conflicts = results.filter((r) => r.status === 'rejected' && (r.reason as BotError).error instanceof SessionConflictError).length;
      expect(landed + conflicts).toBe(30);
      expect(conflicts).toBeGreaterThan(0);
      expect((await base.get(String(c)))?.data).toEqual({ n: landed });
    });

    it("'none' reads and writes plainly", async () => {
      const { store, counts } = countingStore(await make());
      const bot = grammyBot<CounterCtx>();
      bot.use(session({ store, initial: () => ({ n: 0 }), concurrency: 'none' }));
      bot.on('message', (ctx) => { ctx.session.n++; });
      const c = chatId();
      await bot.handleUpdate(textUpdate(c, 'x'));
      await bot.handleUpdate(textUpdate(c, 'x'));
      expect((await store.get(String(c)))?.data).toEqual({ n: 2 });
      expect(counts.calls).toMatchObject({ get: 3, set: 2 });
      expect(counts.calls.acquire).toBeUndefined();
    });

    it('ctx.session = null deletes the stored session', async () => {
      for (const concurrency of ['serialize', 'optimistic'] as const) {
        const store = await make();
        const bot = grammyBot<CounterCtx>();
        bot.use(session({ store, initial: () => ({ n: 0 }), concurrency }));
        bot.command('inc', (ctx) => { ctx.session.n++; });
        bot.command('reset', (ctx) => { (ctx as CounterCtx).session = null; });
        const c = chatId();
        await bot.handleUpdate(textUpdate(c, '/inc'));
        expect(await store.get(String(c))).toBeDefined();
        await bot.handleUpdate(textUpdate(c, '/reset'));
        expect(await store.get(String(c))).toBeUndefined();
      }
    });

    it('a throwing handler saves nothing by default, saves with saveOnError, and always releases', async () => {
      for (const saveOnError of [false, true]) {
        const store = await make();
        const bot = grammyBot<CounterCtx>();
        bot.use(session({ store, initial: () => ({ n: 0 }), saveOnError, waitMs: 200 }));
        bot.command('boom', (ctx) => { ctx.session.n = 100; throw new Error('handler failed'); });
        bot.command('inc', (ctx) => { ctx.session.n++; });
        const c = chatId();
        expect(await failure(bot.handleUpdate(textUpdate(c, '/boom')))).toMatchObject({ message: 'handler failed' });
        await bot.handleUpdate(textUpdate(c, '/inc')); // would time out if the lease were still held
        expect((await store.get(String(c)))?.data).toEqual({ n: saveOnError ? 101 : 1 });
      }
    });

    it('migrations run in numeric order (1 < 1.5 < 2), each once, and stamp the stored version', async () => {
      const store = await make();
      const ran: number[] = [];
      const migrations = {
        2: (old: { total: number; tags: string[] }) => { ran.push(2); return { ...old, total: old.total * 10 }; },
        1: (old: { count: number }) => { ran.push(1); return { total: old.count }; },
        1.5: (old: { total: number }) => { ran.push(1.5); return { ...old, tags: ['migrated'] }; },
      };
      const bot = grammyBot<Context & SessionFlavor<{ total: number; tags: string[] }>>();
      bot.use(session({ store, migrations }));
      bot.on('message', () => {});
      const c = chatId();
      // Stored by an older deployment at version 1: only 1.5 and 2 may run (parseInt would also re-run 1).
      await store.set(String(c), { $v: 1, $d: { total: 3 } });
      await bot.handleUpdate(textUpdate(c, 'x'));
      expect(ran).toEqual([1.5, 2]);
      expect((await store.get(String(c)))?.data).toEqual({ $v: 2, $d: { total: 30, tags: ['migrated'] } });
      await bot.handleUpdate(textUpdate(c, 'x'));
      expect(ran).toEqual([1.5, 2]); // nothing runs twice
      // Data stored before migrations existed (no version) gets all of them, in order.
      const legacy = chatId();
      await store.set(String(legacy), { count: 4 });
      ran.length = 0;
      await bot.handleUpdate(textUpdate(legacy, 'x'));
      expect(ran).toEqual([1, 1.5, 2]);
      expect((await store.get(String(legacy)))?.data).toEqual({ $v: 2, $d: { total: 40, tags: ['migrated'] } });
    });

    it("onBackendError 'fresh' runs the handler on initial(), never writes, and warns", async () => {
      const real = await make();
      const c = chatId();
      await real.set(String(c), { n: 7 });
      const logger = recordingLogger();
      const seen: number[] = [];
      const bot = grammyBot<CounterCtx>();
      bot.use(session({ store: unreachable(real), initial: () => ({ n: 0 }), onBackendError: 'fresh', logger }));
      bot.on('message', (ctx) => { seen.push(ctx.session.n); ctx.session.n = 999; });
      await bot.handleUpdate(textUpdate(c, 'x'));
      expect(seen).toEqual([0]);
      expect(logger.lines.warn).toHaveLength(1);
      expect(logger.lines.warn![0]).toContain(String(c));
      expect(await real.get(String(c))).toMatchObject({ data: { n: 7 }, version: 1 });
    });

    it("onBackendError 'fail' (default) fails the update with the typed error before the handler runs", async () => {
      const real = await make();
      const bot = grammyBot<CounterCtx>();
      let ran = false;
      bot.use(session({ store: unreachable(real), initial: () => ({ n: 0 }) }));
      bot.on('message', () => { ran = true; });
      expect(await failure(bot.handleUpdate(textUpdate(chatId(), 'x')))).toBeInstanceOf(BackendUnavailableError);
      expect(ran).toBe(false);
    });

    it('sliding TTL refreshes the expiry with a touch, not a rewrite', async () => {
      for (const concurrency of ['serialize', 'optimistic'] as const) {
        const { store, counts } = countingStore(await make());
        const bot = grammyBot<CounterCtx>();
        bot.use(session({ store, initial: () => ({ n: 0 }), ttlMs: 60_000, sliding: true, concurrency }));
        bot.command('inc', (ctx) => { ctx.session.n++; });
        bot.command('peek', (ctx) => { void ctx.session.n; });
        const c = chatId();
        await bot.handleUpdate(textUpdate(c, '/inc'));
        const first = (await store.get(String(c)))!;
        await new Promise((r) => setTimeout(r, 30));
        counts.reset();
        await bot.handleUpdate(textUpdate(c, '/peek'));
        expect(counts.writes, concurrency).toBe(0);
        expect(counts.touches, concurrency).toBe(1);
        const after = (await store.get(String(c)))!;
        expect(after.version).toBe(first.version);
        expect(after.expiresAt!).toBeGreaterThan(first.expiresAt!);
      }
    });

    it('multi-session: parts load in one getMany round trip, each with its own key', async () => {
      const { store, counts } = countingStore(await make());
      type Parts = { settings: { lang: string }; form: { step: number } };
      const bot = grammyBot<Context & SessionFlavor<Parts>>();
      bot.use(session<Parts>({
        type: 'multi',
        concurrency: 'optimistic',
        parts: {
          settings: { store, initial: () => ({ lang: 'ru' }), getSessionKey: (ctx) => `user:${ctx.from?.id}` },
          form: { store, initial: () => ({ step: 0 }) },
        },
      }));
      let shape: unknown;
      bot.on('message', (ctx) => {
        ctx.session.form.step++;
        // The view is one object per update whose parts are its own properties; the context shows
        // `session` and none of the middleware's bookkeeping.
        shape = {
          same: ctx.session === ctx.session,
          keys: Object.keys(ctx.session),
          json: JSON.parse(JSON.stringify(ctx.session)),
          ctx: Object.keys(ctx).includes('session'),
          symbols: Object.getOwnPropertySymbols(ctx).filter((s) => Object.getOwnPropertyDescriptor(ctx, s)!.enumerable),
        };
      });
      const c = chatId();
      await bot.handleUpdate(textUpdate(c, 'x', 77));
      expect(shape).toEqual({ same: true, keys: ['settings', 'form'], json: { settings: { lang: 'ru' }, form: { step: 1 } }, ctx: true, symbols: [] });
      expect(counts.calls).toEqual({ get: 1, set: 1 }); // settings untouched: not written
      expect((await store.get(String(c)))?.data).toEqual({ step: 1 });
      expect(await store.get('user:77')).toBeUndefined();
    });

    it('multi-session: lazy loads all parts on first use, and serialize parts take leases', async () => {
      const { store, counts } = countingStore(await make());
      type Parts = { a: Counter; b: Counter };
      const bot = grammyBot<Context & LazySessionFlavor<Parts>>();
      bot.use(session<Parts>({
        type: 'multi',
        lazy: true,
        parts: {
          a: { store, initial: () => ({ n: 0 }), getSessionKey: (ctx) => `a:${ctx.chat?.id}` },
          b: { store, initial: () => ({ n: 0 }), getSessionKey: (ctx) => `b:${ctx.chat?.id}` },
        },
      }));
      bot.command('both', async (ctx) => { const s = await ctx.session; s.a.n++; s.b.n += 2; });
      bot.on('message', () => {});
      const c = chatId();
      await bot.handleUpdate(textUpdate(c, 'untouched'));
      expect(counts.total).toBe(0);
      await Promise.all([0, 1, 2, 3].map(() => bot.handleUpdate(textUpdate(c, '/both'))));
      expect((await store.getMany([`a:${c}`, `b:${c}`])).map((r) => r?.data)).toEqual([{ n: 4 }, { n: 8 }]);
    });

    it('refuses two serialize parts that resolve to the same key instead of waiting for itself', async () => {
      const store = await make();
      const bot = grammyBot<Context & SessionFlavor<{ a: Counter; b: Counter }>>();
      bot.use(session<{ a: Counter; b: Counter }>({ type: 'multi', parts: { a: { store }, b: { store } } }));
      bot.on('message', () => {});
      expect(String(await failure(bot.handleUpdate(textUpdate(chatId(), 'x'))))).toMatch(/same key/);
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
      expect(String(await failure(touching.handleUpdate(inlineQueryUpdate(5))))).toMatch(/no session key/);
    });

    it('logs one debug line per load and per save with key, version and duration', async () => {
      const store = await make();
      const logger = recordingLogger();
      const bot = grammyBot<CounterCtx>();
      bot.use(session({ store, initial: () => ({ n: 0 }), logger }));
      bot.on('message', (ctx) => { ctx.session.n++; });
      const c = chatId();
      await bot.handleUpdate(textUpdate(c, 'x'));
      expect(logger.lines.debug).toHaveLength(2);
      expect(logger.lines.debug![0]).toMatch(new RegExp(`load key=${c} version=0 .*ms=\\d`));
      expect(logger.lines.debug![1]).toMatch(new RegExp(`save key=${c} version=1 write=set .*ms=\\d`));
    });

    it('seed flow: Edit → name:TestTournament123 → buyin:500 → done, a new Bot per update', async () => {
      const store = await make();
      const sent: Sent[] = [];
      const c = chatId();
      const steps = [callbackUpdate(c, 'edit'), textUpdate(c, 'name:TestTournament123'), textUpdate(c, 'buyin:500'), textUpdate(c, 'done')];
      // Each update on a cold start: a fresh Bot and a fresh SessionStore object, state only in the backend.
      for (const update of steps) await tournamentBot(new SessionStore(store.backend, { prefix: store.prefix }), sent).handleUpdate(update);
      expect(sent.map((s) => s.text)).toEqual([
        'Введите name:значение, buyin:значение или done', '✅ name обновлено', '✅ buyin обновлено', 'Сохранено: TestTournament123 / 500',
      ]);
      expect((await store.get(String(c)))?.data).toEqual({ editing: false, draft: {}, saved: { name: 'TestTournament123', buyin: 500 } });
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
