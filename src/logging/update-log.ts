import { errorFields, logs, type Logger } from '../logger.js';
import { ROUND_TRIPS } from '../session/round-trips.js';
import type { Telemetry } from '../telemetry.js';

/**
 * `updateLog()`, shared by `botwire/grammy` and `botwire/telegraf`: one log line per update with
 * what an operator looks for (update id and type, chat, user, command, handler time, outcome, the
 * session middleware's round trips), read from the raw Telegram update both frameworks keep on
 * `ctx.update`. Framework-free and edge-safe.
 *
 * @module
 */

/** Options of `updateLog()`. */
export interface UpdateLogOptions {
  /** Where the lines go: pino, `console`, … */
  logger: Logger;
  /**
   * What the line says about the text the user sent (message text or caption, callback data,
   * inline query): `'redact'` logs only `textLength`; `'full'` logs it as `text`; a function gets
   * the text and returns what to log as `text` (e.g. the first word), or undefined for nothing.
   * Commands are logged either way (`command`, without their arguments).
   * @default 'redact' (messages are personal data; most logs should not keep them)
   */
  text?: 'redact' | 'full' | ((text: string) => string | undefined);
  /** Level of the line of an update that succeeded. @default 'info' */
  level?: 'debug' | 'info';
  /** Log updates whose handling took longer than this at `warn` (with `slow: true`). @default no threshold */
  slowMs?: number;
  /**
   * Run each update under a `botwire.update` span (the session middleware's spans and the job adds
   * inside the handler become its children): pass `otelTelemetry()` from `botwire/otel`.
   * @default none
   */
  telemetry?: Telemetry;
}

/** The parts of a framework context `updateLog()` reads. */
interface UpdateContext {
  update: object;
  [ROUND_TRIPS]?: number;
}

type Payload = {
  text?: unknown; caption?: unknown; data?: unknown; query?: unknown; chat?: { id?: unknown }; from?: { id?: unknown };
  message?: { chat?: { id?: unknown } };
};

/** The first key of the update besides `update_id`: `message`, `callback_query`, … */
function updateType(update: Record<string, unknown>): string {
  for (const key in update) if (key !== 'update_id') return key;
  return 'unknown';
}

/** The text the user sent with this update, if any. */
function userText(p: Payload | undefined): string | undefined {
  const t = p?.text ?? p?.caption ?? p?.data ?? p?.query;
  return typeof t === 'string' ? t : undefined;
}

/** Build the framework-neutral middleware. */
export function createUpdateLog<C extends object>(options: UpdateLogOptions): (ctx: C, next: () => Promise<void>) => Promise<void> {
  const { logger, telemetry } = options;
  const textMode = options.text ?? 'redact';
  const okLevel = options.level ?? 'info';
  const slowMs = options.slowMs ?? Infinity;
  return async function botwireUpdateLog(ctx: C, next: () => Promise<void>): Promise<void> {
    const c = ctx as C & UpdateContext;
    const since = performance.now();
    c[ROUND_TRIPS] = 0;
    const update = c.update as Record<string, unknown>;
    const type = updateType(update);
    const payload = update[type] as Payload | undefined;
    const span = telemetry?.startSpan('botwire.update', 'consumer');
    let failure: { error: unknown } | undefined;
    try {
      await (span ? telemetry!.withSpan(span, next) : next());
    } catch (error) {
      failure = { error };
    }
    const durationMs = Math.round((performance.now() - since) * 10) / 10;
    const text = userText(payload);
    const command = text?.startsWith('/') && type.endsWith('message') ? /^\/[\w]+/.exec(text)?.[0] : undefined;
    const chatId = payload?.chat?.id ?? payload?.message?.chat?.id;
    const userId = payload?.from?.id;
    if (span) {
      span.setAttribute('botwire.update.id', Number(update.update_id));
      span.setAttribute('botwire.update.type', type);
      if (typeof chatId === 'number') span.setAttribute('botwire.update.chat_id', chatId);
      if (command) span.setAttribute('botwire.update.command', command);
      span.end(failure?.error);
    }
    const level = failure ? 'error' : durationMs > slowMs ? 'warn' : okLevel;
    if (logs(logger, level)) {
      const fields: Record<string, unknown> = {
        updateId: update.update_id, type, chatId, userId, command, durationMs, outcome: failure ? 'error' : 'ok',
        sessionRoundTrips: c[ROUND_TRIPS],
      };
      if (text !== undefined) {
        if (textMode === 'full') fields.text = text;
        else if (typeof textMode === 'function') fields.text = textMode(text);
        else fields.textLength = text.length;
      }
      if (level === 'warn') fields.slow = true;
      if (failure) fields.error = errorFields(failure.error);
      logger[level](fields, failure ? 'botwire update failed' : 'botwire update');
    }
    if (failure) throw failure.error;
  };
}
