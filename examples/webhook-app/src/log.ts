/**
 * The app's logger: pino, writing JSON lines to stderr (stdout stays free for the server's
 * "listening on" line). One logger for the app's own lines, botwire's session middleware, the job
 * queue and `updateLog()` — pino's `(fields, message)` call form is botwire's `Logger`, and its
 * `isLevelEnabled` lets botwire skip building lines the level drops.
 */
import pino from 'pino';
import type { LogLevel } from './config.js';

export type Logger = pino.Logger;

/**
 * A pino logger at `level` — the config's `logLevel` (`createApp()` passes it), which `readConfig()`
 * takes from `LOG_LEVEL`. Levels are written by name (`"level":"info"`), and the destination is
 * synchronous so the last lines of a shutdown are written before the process exits.
 */
export function createLogger(level: LogLevel, name = 'webhook-app'): Logger {
  return pino(
    { name, level, formatters: { level: (label) => ({ level: label }) } },
    pino.destination({ dest: 2, sync: true }),
  );
}
