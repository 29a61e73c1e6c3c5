import type { Context, MiddlewareFn } from 'grammy';
import { createUpdateLog, type UpdateLogOptions } from '../../src/logging/update-log.js';

/**
 * One log line per update for grammY: `updateId`, `type`, `chatId`, `userId`, `command`,
 * `durationMs`, `outcome` (`ok`/`error`, with `error: { code, message }`), `sessionRoundTrips` and,
 * by default, only the length of the user's text (`text: 'redact'`). Install it before `session()`
 * so that it times the whole update and sees the session's round trips. Errors are logged and
 * rethrown.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * import { session, updateLog } from 'botwire/grammy';
 * bot.use(updateLog({ logger: pino() }));
 * bot.use(session({ store, initial: () => ({ count: 0 }) }));
 * ```
 */
export function updateLog<C extends Context = Context>(options: UpdateLogOptions): MiddlewareFn<C> {
  return createUpdateLog<C>(options);
}
