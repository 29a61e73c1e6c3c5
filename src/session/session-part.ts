import { BotwireConfigError, BotwireError, SessionLockTimeoutError, SessionSerializationError } from '../errors.js';
import { errorFields, logs, type Logger } from '../logger.js';
import type { Telemetry } from '../telemetry.js';
import { assertFits, encode } from './codec.js';
import { dropLease, giveLease, takeLease } from './local-lease-queue.js';
import { keepAlive, letGo } from './lease-keeper.js';
import { applyMigrations, planMigrations, wrapForStorage, type MigrationPlan } from './session-migrations.js';
import { countRoundTrip } from './round-trips.js';
import type { SessionConcurrency, SessionPartOptions } from './session-options.js';
import type { SessionStore } from './session-store.js';
import type { HeldLease, SessionRecord } from './types.js';

/**
 * One session part during one update: load (with migrations and `initial()`), the value the handler
 * sees, and the save decision by snapshot comparison. Framework-free.
 *
 * @module
 */

const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_WAIT_MS = 10_000;
const MODES: readonly SessionConcurrency[] = ['serialize', 'optimistic', 'none'];

/** A part's options, validated once when the middleware is created. */
export interface ResolvedPart<C> {
  name: string | undefined;
  store: SessionStore<unknown>;
  initial: ((ctx: C) => unknown) | undefined;
  getKey: (ctx: C) => string | undefined | Promise<string | undefined>;
  ttlMs: number | undefined;
  sliding: boolean;
  mode: SessionConcurrency;
  saveOnError: boolean;
  plan: MigrationPlan | undefined;
  fresh: boolean;
  logger: Logger | undefined;
  telemetry: Telemetry | undefined;
  /** False when nobody listens (no logger, no telemetry): loads and saves report nothing. */
  observed: boolean;
  leaseMs: number;
  waitMs: number;
}

function positive(name: string, value: number | undefined, min = 1): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= min)) {
    throw new BotwireConfigError(`session ${name} must be a number of milliseconds >= ${min}, got ${String(value)}.`);
  }
}

/** Check a part's options and fill in defaults. */
export function resolvePart<C>(
  name: string | undefined,
  options: SessionPartOptions<unknown, C>,
  defaults: {
    getKey: (ctx: C) => string | undefined; concurrency?: SessionConcurrency | undefined; logger?: Logger | undefined;
    telemetry?: Telemetry | undefined;
  },
): ResolvedPart<C> {
  const where = name === undefined ? 'session()' : `session part "${name}"`;
  const store = options?.store as SessionStore<unknown> | undefined;
  if (!store || typeof store.acquire !== 'function' || typeof store.getMany !== 'function') {
    throw new BotwireConfigError(`${where} needs \`store\`: a SessionStore such as memorySessionStore() from botwire/memory.`);
  }
  const mode = options.concurrency ?? defaults.concurrency ?? 'serialize';
  if (!MODES.includes(mode)) {
    throw new BotwireConfigError(`${where}: concurrency must be 'serialize', 'optimistic' or 'none', got ${String(mode)}.`);
  }
  const onError = options.onBackendError ?? 'fail';
  if (onError !== 'fail' && onError !== 'fresh') {
    throw new BotwireConfigError(`${where}: onBackendError must be 'fail' or 'fresh', got ${String(onError)}.`);
  }
  positive('ttlMs', options.ttlMs);
  positive('leaseMs', options.leaseMs, 10);
  positive('waitMs', options.waitMs, 0);
  if (options.sliding && options.ttlMs === undefined) {
    throw new BotwireConfigError(`${where}: sliding needs ttlMs (the expiry to slide).`);
  }
  const logger = options.logger ?? defaults.logger;
  const telemetry = options.telemetry ?? defaults.telemetry;
  return {
    name,
    store,
    initial: options.initial,
    getKey: options.getSessionKey ?? defaults.getKey,
    ttlMs: options.ttlMs,
    sliding: options.sliding ?? false,
    mode,
    saveOnError: options.saveOnError ?? false,
    plan: planMigrations(options.migrations),
    fresh: onError === 'fresh',
    logger,
    telemetry,
    observed: logger !== undefined || telemetry !== undefined,
    leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
    waitMs: options.waitMs ?? DEFAULT_WAIT_MS,
  };
}

/** An already settled promise, returned where there is nothing to wait for (no allocation per update). */
export const RESOLVED: Promise<void> = Promise.resolve();

/** Milliseconds since `since` (a `performance.now()`), to 0.1 ms. */
function ms(since: number): number {
  return Math.round((performance.now() - since) * 10) / 10;
}

/** Attributes of the lease-wait metrics (made once: a wait is recorded per waiting update). */
const ACQUIRED = { 'botwire.session.outcome': 'acquired' };
const TIMED_OUT = { 'botwire.session.outcome': 'timeout' };

/** Errors of a save that mean another writer got there first. */
const CONFLICTS = new Set(['SESSION_CONFLICT', 'SESSION_LEASE_LOST']);

/** The state of one part during one update. */
export class PartRun<C> {
  loaded = false;
  /** The handler could not get the stored data; it works on `initial()` that is never saved. */
  fresh = false;
  value: unknown = undefined;
  #pending: { value: unknown } | undefined;
  #existed = false;
  #snapshot: string | undefined;
  #version = 0;
  #dataVersion: number | undefined;
  #lease: HeldLease<unknown> | undefined;

  constructor(readonly cfg: ResolvedPart<C>, readonly ctx: C, readonly key: string | undefined) {}

  /** Sort key for taking several leases in one global order (no deadlocks between multi-sessions). */
  get fullKey(): string {
    return this.cfg.store.prefix + (this.key ?? '');
  }

  /** A handler assigned the session; before load it is remembered and applied after loading. */
  assign(value: unknown): void {
    if (this.loaded) this.value = value;
    else this.#pending = { value };
  }

  get hasPendingAssign(): boolean {
    return this.#pending !== undefined;
  }

  /** Take in the record as loaded: migrations, `initial()`, snapshot for change tracking. */
  accept(record: SessionRecord<unknown> | undefined, raw?: string): void {
    this.#existed = record !== undefined;
    this.#version = record?.version ?? 0;
    if (record) {
      // The stored text is what "unchanged" compares against; re-encoding the decoded record gives
      // the same text for anything botwire wrote (and at worst one needless write for other text).
      this.#snapshot = raw ?? encode(this.cfg.store.codec, this.key!, record.data);
      const migrated = applyMigrations(this.cfg.plan, record.data);
      this.value = migrated.data;
      this.#dataVersion = migrated.version;
    } else {
      this.value = this.cfg.initial?.(this.ctx);
      this.#dataVersion = this.cfg.plan?.latest;
      this.#snapshot = this.value === undefined ? undefined : this.#encode(wrapForStorage(this.cfg.plan, this.value, this.#dataVersion));
    }
    this.loaded = true;
    if (this.#pending) {
      this.value = this.#pending.value;
      this.#pending = undefined;
    }
  }

  /**
   * Encode the value to store with the store's codec. With migrations the value is wrapped as
   * `{ $v, $d }`; an error's path is given as the handler sees the session (`data.cart`, not
   * `data.$d.cart`).
   */
  #encode(stored: unknown): string {
    try {
      return encode(this.cfg.store.codec, this.key!, stored);
    } catch (err) {
      const path = (err as SessionSerializationError).path;
      if (!this.cfg.plan || !(err instanceof SessionSerializationError) || !path?.startsWith('data.$d')) throw err;
      throw new SessionSerializationError(this.key!, err.cause, `data${path.slice('data.$d'.length)}`);
    }
  }

  /** Load failed: with `onBackendError: 'fresh'` continue on `initial()` (never saved), else rethrow. */
  failed(err: unknown, since: number): void {
    if (this.cfg.observed) this.reportLoad(since, undefined, err);
    if (!this.cfg.fresh || err instanceof SessionLockTimeoutError) throw err;
    this.fresh = true;
    this.accept(undefined);
  }

  /**
   * Report a load (only called when someone listens): the debug line or the warning, the span
   * (made after the fact, from `since`: nothing runs inside it), and the lease-wait counters.
   */
  reportLoad(since: number, waitedMs: number | undefined, err?: unknown): void {
    const { logger, telemetry, mode } = this.cfg;
    const durationMs = ms(since);
    const wait = waitedMs ?? 0;
    if (err === undefined ? logs(logger, 'debug') : logs(logger, 'warn')) {
      const fields = { key: this.key, version: this.#version, mode, durationMs, leaseWaitMs: wait, error: err === undefined ? undefined : errorFields(err) };
      if (err === undefined) logger!.debug(fields, 'botwire session load');
      else if (this.cfg.fresh && !(err instanceof SessionLockTimeoutError)) {
        logger!.warn(fields, "botwire session: could not load; the handler gets a fresh initial() session that will not be saved over the stored data (onBackendError: 'fresh')");
      } else logger!.warn(fields, 'botwire session: could not load');
    }
    if (!telemetry) return;
    const span = telemetry.startSpan('botwire.session.load', 'internal', undefined, since);
    if (span) {
      span.setAttribute('botwire.session.key', this.key!);
      span.setAttribute('botwire.session.mode', mode);
      span.setAttribute('botwire.session.version', this.#version);
      span.setAttribute('botwire.session.lease_wait_ms', wait);
      span.end(err);
    }
    if (wait > 0 || err instanceof SessionLockTimeoutError) {
      const timeout = err instanceof SessionLockTimeoutError;
      const attributes = timeout ? TIMED_OUT : ACQUIRED;
      telemetry.count('botwire.session.lease_waits', attributes);
      telemetry.count('botwire.session.lease_wait_time', attributes, timeout ? durationMs : wait);
    }
  }

  /** `'serialize'`: take the lease (from a local predecessor or the backend) and read the record. */
  loadLeased(): Promise<void> {
    // A promise chain, not an async function: this runs once per update (fewer promises, less GC).
    const since = performance.now();
    return takeLease(this.cfg.store, this.key!, this.cfg).then(
      (lease) => this.#took(lease, since),
      (err: unknown) => this.failed(err, since),
    );
  }

  #took(lease: HeldLease<unknown>, since: number): Promise<void> | undefined {
    if (lease.handedOver !== true) countRoundTrip(this.ctx);
    try {
      this.accept(lease.record, lease.raw);
    } catch (err) {
      return dropLease(this.cfg.store, lease).catch(() => undefined).then(() => { throw err; });
    }
    this.#lease = lease;
    keepAlive(lease, this.cfg.leaseMs);
    if (this.cfg.observed) this.reportLoad(since, lease.waitedMs);
    return undefined;
  }

  #stopKeepAlive(): void {
    if (this.#lease) letGo(this.#lease, this.cfg.leaseMs);
  }

  /** Give back a lease without writing (the update is abandoned before its handler ran). */
  async abandon(): Promise<void> {
    this.#stopKeepAlive();
    const lease = this.#lease;
    this.#lease = undefined;
    this.loaded = false;
    if (lease) await dropLease(this.cfg.store, lease);
  }

  /**
   * Save if changed (or delete, or slide the TTL), release the lease. `ok` = the handler succeeded.
   * Resolves with nothing of use (the save's own promise is returned as is: no extra `then`).
   */
  finish(ok: boolean): Promise<unknown> {
    this.#stopKeepAlive();
    if (!this.loaded || this.fresh) return RESOLVED;
    const { store, mode, ttlMs } = this.cfg;
    const key = this.key!;
    const save = ok || this.cfg.saveOnError;
    let write: 'set' | 'delete' | 'none' = 'none';
    let data: unknown;
    let text: string | undefined;
    const lease = this.#lease;
    this.#lease = undefined;
    try {
      if (save && (this.value === undefined || this.value === null)) {
        if (this.#existed) write = 'delete';
      } else if (save) {
        data = wrapForStorage(this.cfg.plan, this.value, this.#dataVersion);
        text = this.#encode(data);
        if (text !== this.#snapshot) {
          // Checked here, where a refusal still gives the lease back (commit would keep it).
          assertFits(key, text, store.maxValueBytes);
          write = 'set';
        }
      }
    } catch (err) {
      if (lease) return dropLease(store, lease).catch(() => undefined).then(() => { throw err; });
      return Promise.reject(err);
    }
    const slideMs = save && this.cfg.sliding && this.#existed && write === 'none' ? ttlMs : undefined;
    if (!lease && write === 'none' && slideMs === undefined) return RESOLVED; // nothing to tell the backend
    const since = performance.now();
    let saved: Promise<number>;
    try {
      if (lease) {
        saved = giveLease(store, lease, write === 'set' ? text : undefined, { ttlMs: write === 'set' ? ttlMs : slideMs, delete: write === 'delete' });
      } else {
        const ifVersion = mode === 'optimistic' ? this.#version : undefined;
        if (write === 'set') saved = store.set(key, data, { ttlMs, ifVersion });
        else if (write === 'delete') saved = store.delete(key, { ifVersion }).then(() => 0);
        else saved = store.touch(key, slideMs!).then(() => this.#version);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    countRoundTrip(this.ctx);
    if (!this.cfg.observed) return saved;
    const op = write === 'none' && slideMs !== undefined ? 'touch' : write;
    return saved.then(
      (version) => this.#saved(since, op, version),
      (err: unknown) => { this.#saved(since, op, undefined, err); throw err; },
    );
  }

  /** Report a save (only called when someone listens): debug line or warning, span, conflict counter. */
  #saved(since: number, write: string, version: number | undefined, err?: unknown): void {
    const { logger, telemetry, mode } = this.cfg;
    const durationMs = ms(since);
    if (err === undefined ? logs(logger, 'debug') : logs(logger, 'warn')) {
      const fields = { key: this.key, version, write, mode, durationMs, error: err === undefined ? undefined : errorFields(err) };
      if (err === undefined) logger!.debug(fields, 'botwire session save');
      else logger!.warn(fields, 'botwire session: save failed; nothing was written');
    }
    if (!telemetry) return;
    const span = telemetry.startSpan('botwire.session.save', 'internal', undefined, since);
    if (span) {
      span.setAttribute('botwire.session.key', this.key!);
      span.setAttribute('botwire.session.mode', mode);
      span.setAttribute('botwire.session.write', write);
      if (version !== undefined) span.setAttribute('botwire.session.version', version);
      span.end(err);
    }
    const code = err instanceof BotwireError ? err.code : undefined;
    if (code !== undefined && CONFLICTS.has(code)) telemetry.count('botwire.session.conflicts', { 'error.code': code });
  }
}
