/**
 * The one logger shape every botwire object accepts (`logger` option of the session middleware,
 * `JobQueue` and so its `Worker` and `runDue`, `SyncBus`, the gateway, the HTTP handlers and
 * `updateLog()`): pino's `(fields, message)` call form. pino, `console` (which prints both
 * arguments) and anything with the four methods work. Edge-safe, and only types and two small
 * helpers, so objects without a logger pay nothing.
 *
 * @module
 */

/** Severity of a log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Structured fields of a botwire log line. Every line names what it concerns with the same field
 * names across objects, so one query finds a job's or a chat's whole story.
 */
export interface LogFields {
  /** Session key (without the store's prefix). */
  key?: string;
  /** Job id. */
  jobId?: string;
  /** Job name (or the name of the object that logs, e.g. a gateway route). */
  name?: string;
  /** Sync topic. */
  topic?: string;
  /** How long the operation took, in milliseconds. */
  durationMs?: number;
  /** The job's attempt this line is about (1 = first run). */
  attempt?: number;
  /** What went wrong: `code` is a botwire error code (`SESSION_CONFLICT`, …) or the error's class name. */
  error?: { code: string; message: string };
  /** Anything else the line carries (`chatId`, `updateId`, `outcome`, …). */
  [field: string]: unknown;
}

/**
 * Anything with `debug/info/warn/error(fields, message)`: pino (pass the logger or a child),
 * `console`, or an adapter of your own. `isLevelEnabled`, when present (pino has it), lets botwire
 * skip building lines the logger would drop: with pino at its default level `info`, the per-update
 * and per-job debug lines cost one call to it and nothing else.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * import { memoryJobQueue } from 'botwire/memory';
 * const queue = memoryJobQueue({ logger: pino().child({ component: 'jobs' }) });
 * ```
 */
export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  isLevelEnabled?(level: LogLevel): boolean;
}

/** True when `logger` exists and would print `level`: build the line only then. @internal */
export function logs(logger: Logger | undefined, level: LogLevel): logger is Logger {
  return logger !== undefined && (logger.isLevelEnabled === undefined || logger.isLevelEnabled(level));
}

/** The `error` field of a log line: a botwire `code` (else the class name) and the message. @internal */
export function errorFields(err: unknown): { code: string; message: string } {
  const e = Object(err) as { code?: unknown; name?: unknown; message?: unknown };
  return { code: String(e.code ?? e.name ?? 'Error'), message: String(e.message ?? err) };
}
