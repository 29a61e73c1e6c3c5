import type { Context } from 'grammy';
import { describe, expect, it } from 'vitest';
import { memorySessionBackend } from '../adapters/memory/index.js';
import { session, type SessionFlavor } from '../integrations/grammy/index.js';
import { SessionStore } from '../src/session/session-store.js';
import type { SessionConcurrency } from '../src/session/session-options.js';
import { otelHarness } from './support/otel.js';
import { recordingLogger } from './support/session-middleware-suite.js';
import { grammyBot, textUpdate } from './support/telegram.js';

type Counter = { n: number };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A bot of one "instance": its own SessionStore object over the shared backend (no local hand-over between instances). */
function instance(backend: ReturnType<typeof memorySessionBackend>, o: ReturnType<typeof otelHarness>, concurrency: SessionConcurrency, handler: (s: Counter) => Promise<void> | void) {
  const bot = grammyBot<Context & SessionFlavor<Counter>>();
  bot.use(session({ store: new SessionStore(backend), initial: () => ({ n: 0 }), concurrency, telemetry: o.telemetry, logger: recordingLogger() }));
  bot.on('message', (ctx) => handler(ctx.session));
  // Each update under a span of its own, as a framework instrumentation (or updateLog) makes: session spans are its children.
  return { handleUpdate: (u: Parameters<typeof bot.handleUpdate>[0]) => o.tracer.startActiveSpan('update', (span) => bot.handleUpdate(u).finally(() => span.end())) };
}

describe('session telemetry', () => {
  it('records the lease wait of a load that waited for another instance, on the span and in the counters', async () => {
    const o = otelHarness();
    const backend = memorySessionBackend();
    const a = instance(backend, o, 'serialize', async (s) => { s.n++; await sleep(60); });
    const b = instance(backend, o, 'serialize', (s) => { s.n++; });
    const chat = 5_001;
    const first = a.handleUpdate(textUpdate(chat, 'a'));
    await sleep(10);
    await Promise.all([first, b.handleUpdate(textUpdate(chat, 'b'))]);
    const waits = o.spans('botwire.session.load').map((s) => s.attributes['botwire.session.lease_wait_ms'] as number);
    expect(waits.sort((x, y) => x - y)[0]).toBe(0);
    expect(waits[1]).toBeGreaterThanOrEqual(30);
    expect(await o.sum('botwire.session.lease_waits', { 'botwire.session.outcome': 'acquired' })).toBe(1);
    const saves = o.spans('botwire.session.save');
    expect(saves.map((s) => s.attributes['botwire.session.version']).sort()).toEqual([1, 2]);
  });

  it('counts a conflict of an optimistic save and marks its span failed', async () => {
    const o = otelHarness();
    const backend = memorySessionBackend();
    const other = new SessionStore<Counter>(backend);
    const chat = 5_002;
    const bot = instance(backend, o, 'optimistic', async (s) => {
      s.n++;
      await other.set(String(chat), { n: 100 }); // another writer between load and save
    });
    await expect(bot.handleUpdate(textUpdate(chat, 'x'))).rejects.toBeDefined();
    expect(await o.sum('botwire.session.conflicts', { 'error.code': 'SESSION_CONFLICT' })).toBe(1);
    const [save] = o.spans('botwire.session.save');
    expect(save!.status.code).toBe(2);
    expect(save!.attributes['error.type']).toBe('SESSION_CONFLICT');
  });
});

describe('session telemetry without a traced update', () => {
  it('starts no session span when no recorded span is active (they are children only), and still counts', async () => {
    const o = otelHarness();
    const backend = memorySessionBackend();
    const bot = grammyBot<Context & SessionFlavor<Counter>>();
    bot.use(session({ store: new SessionStore(backend), initial: () => ({ n: 0 }), telemetry: o.telemetry }));
    bot.on('message', (ctx) => { ctx.session.n++; });
    await bot.handleUpdate(textUpdate(5_003, 'x'));
    expect(o.spans()).toEqual([]);
  });
});
