import { Writable } from 'node:stream';
import type { Context } from 'grammy';
import type { Update } from 'grammy/types';
import pino from 'pino';
import type { Context as TelegrafContext } from 'telegraf';
import { describe, expect, it } from 'vitest';
import { memorySessionStore } from '../adapters/memory/index.js';
import { session as grammySession, updateLog as grammyUpdateLog, type SessionFlavor } from '../integrations/grammy/index.js';
import { session as telegrafSession, updateLog as telegrafUpdateLog } from '../integrations/telegraf/index.js';
import type { Logger } from '../src/logger.js';
import type { UpdateLogOptions } from '../src/logging/update-log.js';
import { otelHarness, parentOf } from './support/otel.js';
import { recordingLogger } from './support/session-middleware-suite.js';
import { callbackUpdate, grammyBot, telegrafBot, textUpdate } from './support/telegram.js';

type Counter = { n: number };
/** What the same test needs from either framework: a bot with updateLog → session → handler. */
interface Driver {
  name: string;
  /** The default session key of a private chat's update. */
  key(chat: number): string;
  bot(log: UpdateLogOptions, handler: (session: Counter, text: string | undefined) => void | Promise<void>, telemetry?: ReturnType<typeof otelHarness>['telemetry']): (u: Update) => Promise<void>;
}

const store = memorySessionStore<Counter>();
const drivers: Driver[] = [
  {
    name: 'grammY',
    key: String,
    bot(log, handler, telemetry) {
      const bot = grammyBot<Context & SessionFlavor<Counter>>();
      bot.use(grammyUpdateLog(log));
      bot.use(grammySession({ store, initial: () => ({ n: 0 }), telemetry }));
      bot.on(['message', 'callback_query'], (ctx) => handler(ctx.session, ctx.message?.text));
      return (u) => bot.handleUpdate(u);
    },
  },
  {
    name: 'Telegraf',
    key: (c) => `${c}:${c}`,
    bot(log, handler, telemetry) {
      const bot = telegrafBot<TelegrafContext & { session: Counter }>();
      bot.use(telegrafUpdateLog(log));
      bot.use(telegrafSession({ store, initial: () => ({ n: 0 }), telemetry }));
      bot.on(['message', 'callback_query'], (ctx) => handler(ctx.session, (ctx.message as { text?: string } | undefined)?.text));
      return (u) => bot.handleUpdate(u as never);
    },
  },
];

const chat = (): number => 1 + Math.floor(Math.random() * 2_000_000_000);

for (const driver of drivers) {
  describe(`updateLog() for ${driver.name}`, () => {
    it('logs one info line per update: id, type, chat, user, command, duration, outcome, session round trips; text redacted', async () => {
      const logger = recordingLogger();
      const handle = driver.bot({ logger }, (s) => { s.n++; });
      const c = chat();
      const update = textUpdate(c, '/start secret-payload', c + 1);
      await handle(update);
      expect(logger.lines.info).toHaveLength(1);
      const { fields, message } = logger.lines.info![0]!;
      expect(message).toBe('botwire update');
      expect(fields).toMatchObject({
        updateId: update.update_id, type: 'message', chatId: c, userId: c + 1, command: '/start', outcome: 'ok',
        durationMs: expect.any(Number), sessionRoundTrips: 2, textLength: '/start secret-payload'.length,
      });
      expect(JSON.stringify(fields)).not.toContain('secret-payload');
    });

    it("logs the text with text: 'full' or what a function makes of it, and callback data like text", async () => {
      const logger = recordingLogger();
      const c = chat();
      await driver.bot({ logger, text: 'full' }, () => {})(textUpdate(c, 'hello there'));
      await driver.bot({ logger, text: (t) => t.split(' ')[0] }, () => {})(textUpdate(c, 'hello there'));
      await driver.bot({ logger }, () => {})(callbackUpdate(c, 'buy:42'));
      expect(logger.lines.info!.map((l) => [l.fields.text, l.fields.textLength, l.fields.type])).toEqual([
        ['hello there', undefined, 'message'], ['hello', undefined, 'message'], [undefined, 6, 'callback_query'],
      ]);
    });

    it('logs a failed update at error with the error code and rethrows; a slow one at warn', async () => {
      const logger = recordingLogger();
      const boom = Object.assign(new Error('db down'), { code: 'E_DB' });
      const failing = driver.bot({ logger }, () => { throw boom; });
      await expect(failing(textUpdate(chat(), 'x'))).rejects.toBeDefined();
      expect(logger.lines.error![0]!.fields).toMatchObject({ outcome: 'error', error: { code: 'E_DB', message: 'db down' } });
      const slow = driver.bot({ logger, slowMs: 5 }, () => new Promise((r) => setTimeout(r, 20)));
      await slow(textUpdate(chat(), 'x'));
      expect(logger.lines.warn![0]!.fields).toMatchObject({ outcome: 'ok', slow: true });
    });

    it('counts no load round trip for an update handed the lease by the one before it in this process', async () => {
      const logger = recordingLogger();
      const c = chat();
      const handle = driver.bot({ logger }, async (s) => { s.n++; await new Promise((r) => setTimeout(r, 5)); });
      await Promise.all([handle(textUpdate(c, 'a')), handle(textUpdate(c, 'b'))]);
      expect(logger.lines.info!.map((l) => l.fields.sessionRoundTrips).sort()).toEqual([1, 2]);
    });

    it('runs the update under a botwire.update span with the session load and save inside it', async () => {
      const o = otelHarness();
      const c = chat();
      await driver.bot({ logger: recordingLogger(), telemetry: o.telemetry }, (s) => { s.n++; }, o.telemetry)(textUpdate(c, '/go now'));
      const [update] = o.spans('botwire.update');
      expect(update!.attributes).toMatchObject({ 'botwire.update.type': 'message', 'botwire.update.chat_id': c, 'botwire.update.command': '/go' });
      for (const name of ['botwire.session.load', 'botwire.session.save']) {
        const [span] = o.spans(name);
        expect(parentOf(span!), name).toBe(update!.spanContext().spanId);
        expect(span!.attributes['botwire.session.key']).toBe(driver.key(c));
      }
      expect(o.spans('botwire.session.load')[0]!.attributes['botwire.session.lease_wait_ms']).toBe(0);
    });
  });
}

describe('the Logger shape', () => {
  it('takes pino as it is: structured JSON lines with botwire fields, debug skipped at level info', async () => {
    const lines: string[] = [];
    const stream = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const logger = pino({ level: 'info' }, stream);
    const handle = drivers[0]!.bot({ logger }, (s) => { s.n++; });
    await handle(textUpdate(chat(), '/help'));
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toHaveLength(1);
    expect(parsed[0]).toMatchObject({ level: 30, msg: 'botwire update', command: '/help', outcome: 'ok' });
  });

  it("gives pino the session's debug lines only when its level lets them through (isLevelEnabled)", async () => {
    for (const level of ['info', 'debug'] as const) {
      const lines: string[] = [];
      const logger = pino({ level }, new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
      const bot = grammyBot<Context & SessionFlavor<Counter>>();
      bot.use(grammySession({ store, initial: () => ({ n: 0 }), logger }));
      bot.on('message', (ctx) => { ctx.session.n++; });
      await bot.handleUpdate(textUpdate(chat(), 'x'));
      const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(messages).toEqual(level === 'info' ? [] : ['botwire session load', 'botwire session save']);
    }
  });

  it('takes console (both arguments printed)', () => {
    const logger: Logger = console;
    expect(typeof logger.info).toBe('function');
  });
});
