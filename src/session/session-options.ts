import type { Logger } from '../logger.js';
import type { Telemetry } from '../telemetry.js';
import type { SessionMigrations } from './session-migrations.js';
import type { SessionStore } from './session-store.js';

/**
 * How concurrent updates for one session key are kept from losing each other's changes.
 * - `'serialize'`: one update per key at a time across every process (lease; 1 round trip to load, 1 to save).
 * - `'optimistic'`: compare-and-set on save; a concurrent change raises `SessionConflictError`.
 * - `'none'`: plain read and write, last write wins — for read-mostly bots.
 */
export type SessionConcurrency = 'serialize' | 'optimistic' | 'none';

/** Options of one session (or of one part of a multi-session). `C` is the framework's context. */
export interface SessionPartOptions<S, C> {
  /** Where sessions live: `memorySessionStore()`, `redisSessionStore(…)`, `postgresSessionStore(…)`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  store: SessionStore<any>;
  /**
   * The value a handler sees when nothing is stored. It is only written if the handler changes it.
   * @default none: `ctx.session` is `undefined` until assigned
   */
  initial?: (ctx: C) => S;
  /**
   * The session key of an update; `undefined` means "this update has no session".
   * @default grammY: the chat id; Telegraf: `${from.id}:${chat.id}`
   */
  getSessionKey?: (ctx: C) => string | undefined | Promise<string | undefined>;
  /**
   * Expire a session this long after it was last written (or read, with `sliding`).
   * @default no expiry
   */
  ttlMs?: number;
  /**
   * Refresh the expiry on every update that reads the session, with a touch (no rewrite).
   * @default false
   */
  sliding?: boolean;
  /**
   * How concurrent updates for one key are kept from losing changes; see {@link SessionConcurrency}.
   * @default 'serialize'
   */
  concurrency?: SessionConcurrency;
  /**
   * Save the changes of a handler that throws. The lease is released either way.
   * @default false
   */
  saveOnError?: boolean;
  /** Data migrations by version, applied in numeric order, each at most once per record. */
  migrations?: SessionMigrations;
  /**
   * What to do when the store cannot be read: `'fail'` fails the update with the typed error;
   * `'fresh'` runs the handler with `initial()` — never written over the stored data — and logs a warning.
   * @default 'fail'
   */
  onBackendError?: 'fail' | 'fresh';
  /**
   * Receives one debug line per load and save (`key`, `version`, `durationMs`, `leaseWaitMs`), a
   * warning per conflict, lost lease, lock timeout and `'fresh'` fallback, and errors while
   * releasing after a failed handler.
   * @default silent
   */
  logger?: Logger;
  /**
   * Spans `botwire.session.load` (with the lease wait) and `botwire.session.save`, and the counters
   * `botwire.session.conflicts` and `botwire.session.lease_waits`: pass `otelTelemetry()` from
   * `botwire/otel`.
   * @default none
   */
  telemetry?: Telemetry;
  /**
   * `'serialize'`: how long a lease lasts without renewal; renewed in the background while a handler runs.
   * @default 30_000
   */
  leaseMs?: number;
  /**
   * `'serialize'`: how long an update waits for the lease before `SessionLockTimeoutError`.
   * @default 10_000
   */
  waitMs?: number;
}

/** Options of a single session on `ctx.session`. */
export interface SingleSessionOptions<S, C> extends SessionPartOptions<S, C> {
  type?: 'single';
  /**
   * Load nothing until the handler reads `ctx.session` (then `await ctx.session`): updates that never
   * touch it cost zero round trips.
   * @default false
   */
  lazy?: boolean;
}

/** Options of a multi-session: `ctx.session.<part>` each with its own key, store and policy. */
export interface MultiSessionOptions<P extends Record<string, unknown>, C> {
  type: 'multi';
  /** One entry per part. Parts that are not `'serialize'` and share a store load in one `getMany`. */
  parts: { [K in keyof P]: SessionPartOptions<P[K], C> };
  /**
   * As for a single session: `await ctx.session` loads every part at once on first use.
   * @default false
   */
  lazy?: boolean;
  /** Default `concurrency` for parts that set none. @default 'serialize' */
  concurrency?: SessionConcurrency;
  /** Default logger for parts that set none. */
  logger?: Logger;
  /** Default telemetry for parts that set none. */
  telemetry?: Telemetry;
}

/** Framework specifics the thin integrations pass to the engine. */
export interface FrameworkBinding<C> {
  /** Name used in messages, e.g. `"grammY"`. */
  name: string;
  /** Default key when the options give no `getSessionKey`. */
  defaultKey: (ctx: C) => string | undefined;
  /** Property on the context. @default 'session' */
  property?: string;
  /** What reading the property does when the update has no key: throw (grammY) or give `undefined` (Telegraf). */
  missingKey: 'throw' | 'undefined';
}
