/**
 * Values never change silently: what JSON would turn into something else (`Map`/`Set` → `{}`,
 * `undefined` in arrays → null, `NaN` → null, functions dropped) and oversized sessions are refused
 * with a typed error naming the path, before the adapter sees anything — on every session backend,
 * through the store and through the grammY middleware; and in job payloads/results and sync events.
 */
import { BotError, type Context } from 'grammy';
import { describe, expect, it } from 'vitest';
import { memoryJobQueue, memorySyncBus } from '../../adapters/memory/index.js';
import { session, type SessionFlavor } from '../../integrations/grammy/index.js';
import { JobSerializationError, SessionSerializationError, SessionValueTooLargeError, SyncSerializationError } from '../../src/errors.js';
import { runDue } from '../../src/jobs/run-due.js';
import { countingStore } from '../support/counting-backend.js';
import { onEverySessionBackend } from '../support/session-backends.js';
import { grammyBot, textUpdate } from '../support/telegram.js';

const key = (): string => `values:${Math.random().toString(36).slice(2)}`;

/** Each complaint: a value plain JSON would store differently, and the path the error must name. */
const changed: Array<[complaint: string, value: unknown, path: string]> = [
  ['a Map was stored as {}', { cart: new Map([['apple', 2]]) }, 'data.cart'],
  ['a Set was stored as {}', { seen: new Set([1, 2]) }, 'data.seen'],
  ['undefined in an array was stored as null', { steps: ['name', undefined, 'done'] }, 'data.steps[1]'],
  ['NaN was stored as null', { form: { price: Number.NaN } }, 'data.form.price'],
  ['a function inside an object vanished', { name: 'Ann', greet() { return 'hi'; } }, 'data.greet'],
];

/** 50 MB of session: the store used to send it to the backend as is. */
const huge = { blob: 'x'.repeat(50 * 1024 * 1024) };

await onEverySessionBackend((backend, { make }) => {
  describe(`session values on ${backend}`, () => {
    it.each(changed)('refuses what JSON would change (%s), naming the path; the adapter sees nothing', async (_complaint, value, path) => {
      const { store, counts } = countingStore(make());
      const k = key();
      for (const write of [
        () => store.set(k, value),
        async () => { const lease = await store.acquire(k); try { return await lease.commit(value); } finally { await lease.release(); } },
        async () => { const lease = await store.acquire(k); try { return await lease.handOver(value); } finally { await lease.release(); } },
      ]) {
        const err = await write().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SessionSerializationError);
        expect(err).toMatchObject({ code: 'SESSION_SERIALIZATION', path, subject: k });
      }
      expect(counts.writes).toBe(0);
      expect(await store.get(k)).toBeUndefined();
    });

    it('refuses a 50 MB session with SessionValueTooLargeError; the adapter sees nothing', async () => {
      const { store, counts } = countingStore(make());
      const k = key();
      const err = await store.set(k, huge).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SessionValueTooLargeError);
      expect(err).toMatchObject({ limit: 1_048_576 });
      expect((err as SessionValueTooLargeError).bytes).toBeGreaterThan(50 * 1024 * 1024);
      const lease = await store.acquire(k);
      await expect(lease.commit(huge)).rejects.toBeInstanceOf(SessionValueTooLargeError);
      await lease.release();
      expect(counts.writes).toBe(0);
    });

    it('the middleware refuses a Map and a 50 MB session, writes nothing and frees the lease at once', async () => {
      const { store, counts } = countingStore(make());
      type S = { n: number; extra?: unknown };
      const bot = grammyBot<Context & SessionFlavor<S>>();
      bot.use(session({ store, initial: (): S => ({ n: 0 }), leaseMs: 60_000, waitMs: 2_000 }));
      bot.on('message:text', (ctx) => {
        ctx.session.n++;
        if (ctx.message.text === 'map') ctx.session.extra = { byId: new Map([[1, 'a']]) };
        if (ctx.message.text === 'huge') ctx.session.extra = huge;
      });
      const chat = 1 + Math.floor(Math.random() * 2_000_000_000);
      await bot.handleUpdate(textUpdate(chat, 'ok'));
      counts.reset();
      for (const [text, type, path] of [['map', SessionSerializationError, 'data.extra.byId'], ['huge', SessionValueTooLargeError, undefined]] as const) {
        const err = await bot.handleUpdate(textUpdate(chat, text)).then(() => undefined, (e: unknown) => (e instanceof BotError ? e.error : e));
        expect(err).toBeInstanceOf(type);
        if (path) expect(err).toMatchObject({ path });
      }
      expect(counts.writes).toBe(0);
      // The refused updates gave their lease back: the next one runs now, not after leaseMs.
      const started = Date.now();
      await bot.handleUpdate(textUpdate(chat, 'ok'));
      expect(Date.now() - started).toBeLessThan(1_000);
      expect((await store.get(String(chat)))?.data).toEqual({ n: 2 });
    });
  });
});

describe('job values', () => {
  it('refuses payloads JSON would change, naming the path; nothing is stored', async () => {
    const queue = memoryJobQueue({ handlers: { report: async () => 'ok' } });
    for (const [payload, path] of [
      [{ chats: new Set([1]) }, 'payload.chats'], [{ rows: [1, undefined] }, 'payload.rows[1]'],
      [{ ratio: Number.NaN }, 'payload.ratio'], [{ format: () => 'pdf' }, 'payload.format'],
    ] as const) {
      const err = await queue.add('report', payload).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JobSerializationError);
      expect(err).toMatchObject({ path });
    }
    expect((await queue.list()).jobs).toEqual([]);
  });

  it('a handler result JSON would change fails the attempt with the path instead of storing {}', async () => {
    const queue = memoryJobQueue({ handlers: { totals: async () => ({ byChat: new Map([[1, 5]]) }) } });
    const job = await queue.add('totals', {}, { attempts: 1, timeoutMs: 1_000 });
    await runDue(queue, undefined, { budgetMs: 10_000 });
    const done = await queue.get(job.id);
    expect(done).toMatchObject({ state: 'failed', result: undefined });
    expect(done?.error?.message).toContain('result.byChat');
  });
});

describe('sync values', () => {
  it('refuses event data JSON would change, naming the path; nothing is delivered or sent', async () => {
    const bus = memorySyncBus();
    const got: unknown[] = [];
    bus.subscribe('cart.**', (e) => { got.push(e.data); });
    for (const [data, path] of [
      [{ items: [1, 2, new Map()] }, 'data.items[2]'], [{ ids: [undefined] }, 'data.ids[0]'],
      [{ total: Infinity }, 'data.total'], [{ id: 1, onClick: () => 1 }, 'data.onClick'],
    ] as const) {
      const err = await bus.publish('cart.updated', data).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SyncSerializationError);
      expect(err).toMatchObject({ path });
    }
    expect(got).toEqual([]);
    expect(bus.stats().published).toBe(0);
    await bus.close();
  });
});
