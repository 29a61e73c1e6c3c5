/**
 * The session middleware's behaviour that is the same in every bot framework, run through a small
 * framework driver (grammY, Telegraf) against one store kind (memory, Redis, Postgres, PGlite).
 * Every update goes through a real bot of the framework (`bot.handleUpdate`); nothing contacts
 * Telegram. Framework specifics (default keys, updates without a key, Telegraf's `property` and
 * `defaultSession`, grammY's storage adapter and `migrateChat`) live in the framework's own suite.
 */
import { expect, it } from 'vitest';
import {
  BackendUnavailableError, SessionConflictError, SessionLockTimeoutError,
} from '../../src/errors.js';
import type { SessionBackend } from '../../src/session/backend.js';
import type { MultiSessionOptions, SingleSessionOptions } from '../../src/session/session-options.js';
import type { LogFields, Logger } from '../../src/logger.js';
import { SessionStore } from '../../src/session/session-store.js';
import { countingStore } from './counting-backend.js';
import { callbackUpdate, textUpdate, type Sent } from './telegram.js';
import type { Update } from 'grammy/types';

/** What `getSessionKey` and `initial` may use of a context: what grammY's and Telegraf's have alike. */
export interface NeutralContext {
  chat?: { id: number } | undefined;
  from?: { id: number } | undefined;
}

/** Session middleware options as every framework takes them (the handler's view types the session). */
export type NeutralSessionOptions =
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  | SingleSessionOptions<any, NeutralContext>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  | MultiSessionOptions<any, NeutralContext>;

/** One update as a shared test's handler sees it, whatever the framework. */
export interface UpdateView<S> {
  /** The session property of the framework's context (a promise with `lazy: true`). */
  session: S;
  /** Text of a message update. */
  text: string | undefined;
  /** Data of a callback query (inline button press). */
  data: string | undefined;
  reply(text: string): Promise<unknown>;
  /** The framework's own context. */
  ctx: object;
}

/** A framework's bot with the session middleware installed. */
export interface DriverBot {
  /** Runs one update; rejects with the error the middleware or handler threw (unwrapped). */
  handle(update: Update): Promise<void>;
}

/** How the shared suite drives one framework. */
export interface SessionMiddlewareDriver {
  /** `grammY`, `Telegraf`: the name in test titles. */
  framework: string;
  /** A bot that runs the framework's `session(options)`, then `handler` for every update; replies land in `sent`. */
  bot<S>(options: NeutralSessionOptions, handler: (update: UpdateView<S>) => unknown, sent?: Sent[]): DriverBot;
  /** The key the default `getSessionKey` gives a message from `userId` in `chatId`. */
  defaultKey(chatId: number, userId?: number): string;
}

/** A suite's store: one per test, never colliding with other tests (fresh chat ids are used). */
export interface SuiteStore {
  make: () => SessionStore<unknown> | Promise<SessionStore<unknown>>;
}

type Counter = { n: number };

/** The view of one update of a grammY or Telegraf context, whose session sits on `property`. */
export function updateView<S>(ctx: object, property = 'session'): UpdateView<S> {
  const c = ctx as Record<string, unknown> & {
    message?: { text?: string }; callbackQuery?: { data?: string }; reply(text: string): Promise<unknown>;
  };
  return {
    get session() { return c[property] as S; },
    set session(value: S) { c[property] = value; },
    text: c.message?.text,
    data: c.callbackQuery?.data,
    reply: (text) => c.reply(text),
    ctx,
  };
}

/** A fresh chat id per test, so tests sharing one backend never see each other's sessions. */
export const chatId = (): number => 1 + Math.floor(Math.random() * 2_000_000_000);

/** The error a promise rejects with, or undefined. */
export async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => undefined, (e: unknown) => e);
}

/** A logger that keeps its lines (fields and message) by level. */
export function recordingLogger(): Logger & { lines: Record<string, Array<{ fields: LogFields; message: string }>> } {
  const lines: Record<string, Array<{ fields: LogFields; message: string }>> = { debug: [], info: [], warn: [], error: [] };
  const at = (level: string) => (fields: LogFields, message: string): void => { lines[level]!.push({ fields, message }); };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
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

/** Another process's view of the same backend: a store object of its own, with its own local queues. */
const otherInstance = (store: SessionStore<unknown>): SessionStore<unknown> => new SessionStore(store.backend, { prefix: store.prefix });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A multi-step edit flow: "✏️ Edit" button → `name:…` → `buyin:…` → `done`. */
type Draft = { editing: boolean; draft: { name?: string; buyin?: number }; saved?: { name?: string; buyin?: number } };
function tournamentBot(driver: SessionMiddlewareDriver, store: SessionStore<unknown>, sent: Sent[]): DriverBot {
  return driver.bot<Draft>({ store, initial: (): Draft => ({ editing: false, draft: {} }), ttlMs: 86_400_000 }, async (u) => {
    const s = u.session;
    if (u.data === 'edit') {
      s.editing = true;
      return void (await u.reply('Введите name:значение, buyin:значение или done'));
    }
    if (u.text === undefined) return;
    if (!s.editing) return void (await u.reply('Нажмите «Редактировать»'));
    if (u.text === 'done') {
      s.saved = { ...s.draft };
      s.editing = false;
      s.draft = {};
      return void (await u.reply(`Сохранено: ${s.saved.name} / ${s.saved.buyin}`));
    }
    const m = /^(name|buyin):(.+)$/.exec(u.text);
    if (!m) return void (await u.reply('Неизвестная команда'));
    if (m[1] === 'name') s.draft.name = m[2]!;
    else s.draft.buyin = Number(m[2]);
    await u.reply(`✅ ${m[1]} обновлено`);
  }, sent);
}

/** Registers the shared cases in the current `describe`. */
export function sessionMiddlewareCases(driver: SessionMiddlewareDriver, { make }: SuiteStore): void {
  const key = driver.defaultKey;

  it('counts messages per chat and persists them in the store', async () => {
    const store = await make();
    const sent: Sent[] = [];
    const bot = driver.bot<Counter>({ store, initial: () => ({ n: 0 }) }, async (u) => { u.session.n++; await u.reply(`n=${u.session.n}`); }, sent);
    const a = chatId();
    const b = chatId();
    for (const c of [a, a, b]) await bot.handle(textUpdate(c, 'hi'));
    expect(sent.map((s) => s.text)).toEqual(['n=1', 'n=2', 'n=1']);
    expect((await store.get(key(a)))?.data).toEqual({ n: 2 });
    expect((await store.get(key(b)))?.data).toEqual({ n: 1 });
  });

  it('a read-modify-write update costs 2 round trips; an unchanged session 0 writes', async () => {
    const { store, counts } = countingStore(await make());
    const bot = driver.bot<Counter>({ store, initial: () => ({ n: 0 }) }, (u) => {
      if (u.text === 'inc') u.session.n++;
      else void u.session.n;
    });
    const c = chatId();
    await bot.handle(textUpdate(c, 'peek'));
    expect(counts.writes).toBe(0);
    counts.reset();
    await bot.handle(textUpdate(c, 'inc'));
    expect(counts.total).toBe(2);
    expect(counts.writes).toBe(1);
    counts.reset();
    await bot.handle(textUpdate(c, 'peek'));
    await bot.handle(textUpdate(c, 'peek'));
    expect(counts.writes).toBe(0);
    expect((await store.get(key(c)))?.version).toBe(1);
  });

  it('never writes an initial() value nobody changed', async () => {
    for (const concurrency of ['serialize', 'optimistic', 'none'] as const) {
      const { store, counts } = countingStore(await make());
      const bot = driver.bot<Counter>({ store, initial: () => ({ n: 0 }), concurrency }, (u) => { void u.session.n; });
      const c = chatId();
      await bot.handle(textUpdate(c, 'x'));
      expect(counts.writes, concurrency).toBe(0);
      expect(await store.get(key(c))).toBeUndefined();
    }
  });

  it('lazy: an update that never touches the session costs zero round trips', async () => {
    const { store, counts } = countingStore(await make());
    const bot = driver.bot<Promise<Counter>>({ store, initial: () => ({ n: 0 }), lazy: true }, async (u) => {
      if (u.text === 'inc') (await u.session).n++;
    });
    const c = chatId();
    await bot.handle(textUpdate(c, 'no session here'));
    expect(counts.total).toBe(0);
    await bot.handle(textUpdate(c, 'inc'));
    await bot.handle(textUpdate(c, 'inc'));
    expect((await store.get(key(c)))?.data).toEqual({ n: 2 });
  });

  it('lazy: assigning without reading still saves under the lease', async () => {
    const store = await make();
    const bot = driver.bot<Counter>({ store, lazy: true }, (u) => { u.session = { n: 41 }; });
    const c = chatId();
    await bot.handle(textUpdate(c, 'set'));
    expect((await store.get(key(c)))?.data).toEqual({ n: 41 });
  });

  it('serialize: 60 concurrent updates for one chat through two instances lose nothing', async () => {
    const base = await make();
    // Two SessionStore objects over one backend behave like two processes: separate local queues.
    const one = countingStore(base);
    const two = countingStore(base);
    const bots = [one.store, two.store].map((store) => driver.bot<Counter>(
      { store, initial: () => ({ n: 0 }), waitMs: 20_000 },
      async (u) => { const n = u.session.n; await sleep(1); u.session.n = n + 1; },
    ));
    const c = chatId();
    await Promise.all(Array.from({ length: 60 }, (_, i) => bots[i % 2]!.handle(textUpdate(c, 'inc'))));
    expect((await base.get(key(c)))?.data).toEqual({ n: 60 });
    // Local queueing: far fewer acquires than updates, each update one commit (or hand-over).
    const acquires = (one.counts.calls.acquire ?? 0) + (two.counts.calls.acquire ?? 0);
    expect(acquires).toBeLessThan(60);
    expect((one.counts.calls.commit ?? 0) + (two.counts.calls.commit ?? 0)).toBe(60);
  });

  it('serialize: queued local updates get the lease handed on, released after 16 hand-overs for fairness', async () => {
    const { store, counts } = countingStore(await make());
    const bot = driver.bot<Counter>({ store, initial: () => ({ n: 0 }), waitMs: 20_000 }, (u) => { u.session.n++; });
    const c = chatId();
    await Promise.all(Array.from({ length: 40 }, () => bot.handle(textUpdate(c, 'x'))));
    expect((await store.get(key(c)))?.data).toEqual({ n: 40 });
    // 1 acquire serves 17 updates (itself + 16 hand-overs): 40 updates need 3.
    expect(counts.calls.acquire).toBe(3);
    expect(counts.calls.commit).toBe(40);
  });

  it('serialize: an update queued locally behind a slow one times out after waitMs', async () => {
    const store = await make();
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const bot = driver.bot<Counter>({ store, initial: () => ({ n: 0 }), waitMs: 150 }, async (u) => {
      if (u.text === 'slow') { u.session.n++; await gate; } else u.session.n += 10;
    });
    const c = chatId();
    const slow = bot.handle(textUpdate(c, 'slow'));
    await sleep(20);
    expect(await failure(bot.handle(textUpdate(c, 'queued')))).toBeInstanceOf(SessionLockTimeoutError);
    release();
    await slow;
    await bot.handle(textUpdate(c, 'after'));
    expect((await store.get(key(c)))?.data).toEqual({ n: 11 });
  });

  it('serialize: other chats are not blocked by a slow one', async () => {
    const store = await make();
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const bot = driver.bot<Counter>({ store, initial: () => ({ n: 0 }) }, async (u) => {
      u.session.n++;
      if (u.text === 'slow') await gate;
    });
    const slow = chatId();
    const fast = chatId();
    const pending = bot.handle(textUpdate(slow, 'slow'));
    await bot.handle(textUpdate(fast, 'hi'));
    expect((await store.get(key(fast)))?.data).toEqual({ n: 1 });
    release();
    await pending;
  });

  it('serialize: waiting longer than waitMs raises SessionLockTimeoutError', async () => {
    const store = await make();
    const c = chatId();
    const held = await store.acquire(key(c), { leaseMs: 10_000 });
    const bot = driver.bot<Counter>({ store, initial: () => ({ n: 0 }), waitMs: 150 }, (u) => { u.session.n++; });
    expect(await failure(bot.handle(textUpdate(c, 'x')))).toBeInstanceOf(SessionLockTimeoutError);
    await held.release();
    await bot.handle(textUpdate(c, 'x'));
    expect((await store.get(key(c)))?.data).toEqual({ n: 1 });
  });

  it('serialize: the lease is extended while a long handler runs', async () => {
    const store = await make();
    const c = chatId();
    let intruder: unknown;
    const bot = driver.bot<Counter>({ store, initial: () => ({ n: 0 }), leaseMs: 600 }, async (u) => {
      u.session.n++;
      await sleep(1_500); // well past leaseMs
      intruder = await otherInstance(store).acquire(key(c), { waitMs: 0 }).then((l) => l.release(), (e: unknown) => e);
    });
    await bot.handle(textUpdate(c, 'x'));
    expect(intruder).toBeInstanceOf(SessionLockTimeoutError);
    expect((await store.get(key(c)))?.data).toEqual({ n: 1 });
  });

  it('optimistic: concurrent updates either land or raise SessionConflictError, never overwrite', async () => {
    const base = await make();
    const bots = [0, 1, 2].map(() => driver.bot<Counter>(
      { store: otherInstance(base), initial: () => ({ n: 0 }), concurrency: 'optimistic' },
      async (u) => { const n = u.session.n; await sleep(5); u.session.n = n + 1; },
    ));
    const c = chatId();
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => bots[i % 3]!.handle(textUpdate(c, 'inc'))));
    const landed = results.filter((r) => r.status === 'fulfilled').length;
    const conflicts = results.filter((r) => r.status === 'rejected' && r.reason instanceof SessionConflictError).length;
    expect(landed + conflicts).toBe(30);
    expect(conflicts).toBeGreaterThan(0);
    expect((await base.get(key(c)))?.data).toEqual({ n: landed });
  });

  it("'none' reads and writes plainly", async () => {
    const { store, counts } = countingStore(await make());
    const bot = driver.bot<Counter>({ store, initial: () => ({ n: 0 }), concurrency: 'none' }, (u) => { u.session.n++; });
    const c = chatId();
    await bot.handle(textUpdate(c, 'x'));
    await bot.handle(textUpdate(c, 'x'));
    expect((await store.get(key(c)))?.data).toEqual({ n: 2 });
    expect(counts.calls).toMatchObject({ get: 3, set: 2 });
    expect(counts.calls.acquire).toBeUndefined();
  });

  it('assigning null to the session deletes the stored session', async () => {
    for (const concurrency of ['serialize', 'optimistic'] as const) {
      const store = await make();
      const bot = driver.bot<Counter | null>({ store, initial: () => ({ n: 0 }), concurrency }, (u) => {
        if (u.text === 'reset') u.session = null;
        else u.session!.n++;
      });
      const c = chatId();
      await bot.handle(textUpdate(c, 'inc'));
      expect(await store.get(key(c)), concurrency).toBeDefined();
      await bot.handle(textUpdate(c, 'reset'));
      expect(await store.get(key(c)), concurrency).toBeUndefined();
    }
  });

  it('a throwing handler saves nothing by default, saves with saveOnError, and always releases', async () => {
    for (const saveOnError of [false, true]) {
      const store = await make();
      const bot = driver.bot<Counter>({ store, initial: () => ({ n: 0 }), saveOnError, waitMs: 200 }, (u) => {
        if (u.text === 'boom') { u.session.n = 100; throw new Error('handler failed'); }
        u.session.n++;
      });
      const c = chatId();
      expect(await failure(bot.handle(textUpdate(c, 'boom')))).toMatchObject({ message: 'handler failed' });
      await bot.handle(textUpdate(c, 'inc')); // would time out if the lease were still held
      expect((await store.get(key(c)))?.data).toEqual({ n: saveOnError ? 101 : 1 });
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
    const bot = driver.bot({ store, migrations }, () => {});
    const c = chatId();
    // Stored by an older deployment at version 1: only 1.5 and 2 may run (parseInt would also re-run 1).
    await store.set(key(c), { $v: 1, $d: { total: 3 } });
    await bot.handle(textUpdate(c, 'x'));
    expect(ran).toEqual([1.5, 2]);
    expect((await store.get(key(c)))?.data).toEqual({ $v: 2, $d: { total: 30, tags: ['migrated'] } });
    await bot.handle(textUpdate(c, 'x'));
    expect(ran).toEqual([1.5, 2]); // nothing runs twice
    // Data stored before migrations existed (no version) gets all of them, in order.
    const legacy = chatId();
    await store.set(key(legacy), { count: 4 });
    ran.length = 0;
    await bot.handle(textUpdate(legacy, 'x'));
    expect(ran).toEqual([1, 1.5, 2]);
    expect((await store.get(key(legacy)))?.data).toEqual({ $v: 2, $d: { total: 40, tags: ['migrated'] } });
  });

  it("onBackendError 'fresh' runs the handler on initial(), never writes, and warns", async () => {
    const real = await make();
    const c = chatId();
    await real.set(key(c), { n: 7 });
    const logger = recordingLogger();
    const seen: number[] = [];
    const bot = driver.bot<Counter>({ store: unreachable(real), initial: () => ({ n: 0 }), onBackendError: 'fresh', logger }, (u) => {
      seen.push(u.session.n);
      u.session.n = 999;
    });
    await bot.handle(textUpdate(c, 'x'));
    expect(seen).toEqual([0]);
    expect(logger.lines.warn).toHaveLength(1);
    expect(logger.lines.warn![0]!.fields).toMatchObject({ key: key(c), error: { code: 'BACKEND_UNAVAILABLE' } });
    expect(logger.lines.warn![0]!.message).toMatch(/fresh initial\(\)/);
    expect(await real.get(key(c))).toMatchObject({ data: { n: 7 }, version: 1 });
  });

  it("onBackendError 'fail' (default) fails the update with the typed error before the handler runs", async () => {
    const real = await make();
    let ran = false;
    const bot = driver.bot<Counter>({ store: unreachable(real), initial: () => ({ n: 0 }) }, () => { ran = true; });
    expect(await failure(bot.handle(textUpdate(chatId(), 'x')))).toBeInstanceOf(BackendUnavailableError);
    expect(ran).toBe(false);
  });

  it('sliding TTL refreshes the expiry with a touch, not a rewrite', async () => {
    for (const concurrency of ['serialize', 'optimistic'] as const) {
      const { store, counts } = countingStore(await make());
      const bot = driver.bot<Counter>({ store, initial: () => ({ n: 0 }), ttlMs: 60_000, sliding: true, concurrency }, (u) => {
        if (u.text === 'inc') u.session.n++;
        else void u.session.n;
      });
      const c = chatId();
      await bot.handle(textUpdate(c, 'inc'));
      const first = (await store.get(key(c)))!;
      await sleep(30);
      counts.reset();
      await bot.handle(textUpdate(c, 'peek'));
      expect(counts.writes, concurrency).toBe(0);
      expect(counts.touches, concurrency).toBe(1);
      const after = (await store.get(key(c)))!;
      expect(after.version).toBe(first.version);
      expect(after.expiresAt!).toBeGreaterThan(first.expiresAt!);
    }
  });

  it('multi-session: parts load in one getMany round trip, each with its own key', async () => {
    const { store, counts } = countingStore(await make());
    type Parts = { settings: { lang: string }; form: { step: number } };
    let shape: unknown;
    const bot = driver.bot<Parts>({
      type: 'multi',
      concurrency: 'optimistic',
      parts: {
        settings: { store, initial: () => ({ lang: 'ru' }), getSessionKey: (ctx) => `user:${ctx.from?.id}` },
        form: { store, initial: () => ({ step: 0 }) },
      },
    }, (u) => {
      u.session.form.step++;
      const ctx = u.ctx;
      // The view is one object per update whose parts are its own properties; the context shows
      // `session` and none of the middleware's bookkeeping.
      shape = {
        same: u.session === u.session,
        keys: Object.keys(u.session),
        json: JSON.parse(JSON.stringify(u.session)),
        ctx: Object.keys(ctx).includes('session'),
        symbols: Object.getOwnPropertySymbols(ctx).filter((s) => Object.getOwnPropertyDescriptor(ctx, s)!.enumerable),
      };
    });
    const c = chatId();
    await bot.handle(textUpdate(c, 'x', 77));
    expect(shape).toEqual({ same: true, keys: ['settings', 'form'], json: { settings: { lang: 'ru' }, form: { step: 1 } }, ctx: true, symbols: [] });
    expect(counts.calls).toEqual({ get: 1, set: 1 }); // settings untouched: not written
    expect((await store.get(key(c, 77)))?.data).toEqual({ step: 1 });
    expect(await store.get('user:77')).toBeUndefined();
  });

  it('multi-session: lazy loads all parts on first use, and serialize parts take leases', async () => {
    const { store, counts } = countingStore(await make());
    type Parts = { a: Counter; b: Counter };
    const bot = driver.bot<Promise<Parts>>({
      type: 'multi',
      lazy: true,
      parts: {
        a: { store, initial: () => ({ n: 0 }), getSessionKey: (ctx) => `a:${ctx.chat?.id}` },
        b: { store, initial: () => ({ n: 0 }), getSessionKey: (ctx) => `b:${ctx.chat?.id}` },
      },
    }, async (u) => {
      if (u.text !== 'both') return;
      const s = await u.session;
      s.a.n++;
      s.b.n += 2;
    });
    const c = chatId();
    await bot.handle(textUpdate(c, 'untouched'));
    expect(counts.total).toBe(0);
    await Promise.all([0, 1, 2, 3].map(() => bot.handle(textUpdate(c, 'both'))));
    expect((await store.getMany([`a:${c}`, `b:${c}`])).map((r) => r?.data)).toEqual([{ n: 4 }, { n: 8 }]);
  });

  it('refuses two serialize parts that resolve to the same key instead of waiting for itself', async () => {
    const store = await make();
    const bot = driver.bot<{ a: Counter; b: Counter }>({ type: 'multi', parts: { a: { store }, b: { store } } }, () => {});
    expect(String(await failure(bot.handle(textUpdate(chatId(), 'x'))))).toMatch(/same key/);
  });

  it('logs one debug line per load and per save with key, version and duration', async () => {
    const store = await make();
    const logger = recordingLogger();
    const bot = driver.bot<Counter>({ store, initial: () => ({ n: 0 }), logger }, (u) => { u.session.n++; });
    const c = chatId();
    await bot.handle(textUpdate(c, 'x'));
    expect(logger.lines.debug).toHaveLength(2);
    expect(logger.lines.debug![0]).toMatchObject({
      message: 'botwire session load', fields: { key: key(c), version: 0, mode: 'serialize', durationMs: expect.any(Number), leaseWaitMs: 0 },
    });
    expect(logger.lines.debug![1]).toMatchObject({
      message: 'botwire session save', fields: { key: key(c), version: 1, write: 'set', durationMs: expect.any(Number) },
    });
  });

  it('skips every line a logger says it drops (isLevelEnabled), and warns on a conflict', async () => {
    const store = await make();
    const logger = { ...recordingLogger(), isLevelEnabled: (level: string) => level !== 'debug' };
    const c = chatId();
    let bump = true;
    const bot = driver.bot<Counter>({ store, initial: () => ({ n: 0 }), concurrency: 'optimistic', logger }, async (u) => {
      u.session.n++;
      // Another writer changes the record between this update's load and its save.
      if (bump) { bump = false; await store.set(key(c), { n: 100 }); }
    });
    expect(await failure(bot.handle(textUpdate(c, 'x')))).toBeDefined();
    expect(logger.lines.debug).toHaveLength(0);
    expect(logger.lines.warn).toHaveLength(1);
    expect(logger.lines.warn![0]!.fields).toMatchObject({ key: key(c), write: 'set', error: { code: 'SESSION_CONFLICT' } });
  });

  it('a multi-step edit flow: Edit → name:TestTournament123 → buyin:500 → done, a new bot per update', async () => {
    const store = await make();
    const sent: Sent[] = [];
    const c = chatId();
    const steps = [callbackUpdate(c, 'edit'), textUpdate(c, 'name:TestTournament123'), textUpdate(c, 'buyin:500'), textUpdate(c, 'done')];
    // Each update on a cold start: a fresh bot and a fresh SessionStore object, state only in the backend.
    for (const update of steps) await tournamentBot(driver, otherInstance(store), sent).handle(update);
    expect(sent.map((s) => s.text)).toEqual([
      'Введите name:значение, buyin:значение или done', '✅ name обновлено', '✅ buyin обновлено', 'Сохранено: TestTournament123 / 500',
    ]);
    expect((await store.get(key(c)))?.data).toEqual({ editing: false, draft: {}, saved: { name: 'TestTournament123', buyin: 500 } });
  });
}
