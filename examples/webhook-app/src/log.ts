/**
 * The app's logger: pino, writing JSON lines to stderr (stdout stays free for the server's
 * "listening on" line). One logger for the app's own lines, botwire's session middleware, the job
 * queue and `updateLog()` — pino's `(fields, message)` call form is botwire's `Logger`, and its
 * `isLevelEnabled` lets botwire skip building lines the level drops.
 */
import pino from 'pino';

export type Logger = pino.Logger;

/**
 * A pino logger at `level` (`LOG_LEVEL`: `debug`, `info` — the default —, `warn`, `error`, `silent`).
 * Levels are written by name (`"level":"info"`), and the destination is synchronous so the last
 * lines of a shutdown are written before the process exits.
 */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', name = 'webhook-app'): Logger {
  return pino(
    { name, level, formatters: { level: (label) => ({ level: label }) } },
    pino.destination({ dest: 2, sync: true }),
  );
}
