import { BackendUnavailableError, BotwireConfigError, SessionConflictError, SessionLeaseLostError, SessionLockTimeoutError } from '../errors.js';
import { callBackend, classifyBackendError, outcomeOf, sleep } from '../adapter-kit/backend-call.js';
import { newToken } from '../internal/token.js';
import { batchSize, intInRange, nonNegativeMs, positiveMs, version } from '../internal/validate.js';
import type { RawSessionInspection, RawSessionRecord, SessionBackend } from './backend.js';
import { jsonCodec, type ValueCodec } from '../codec/value-codec.js';
import { assertFits, assertKey, decode, encode } from './codec.js';
import { StoreLease, type LeaseHost } from './session-lease.js';
import { probeHealth, type HealthReport } from '../health.js';
import { leaseHolder } from './lease-holder.js';
import type { AcquireOptions, HeldLease, SessionInspection, SessionLease, SessionRecord, SetOptions } from './types.js';

/** Options of {@link SessionStore}. */
export interface SessionStoreOptions {
  /**
   * Upper bound for any single backend call. An unreachable backend raises
   * `BackendUnavailableError` after at most this long.
   * @default 2_000
   */
  operationTimeoutMs?: number;
  /**
   * Prepended to every key, so that several stores can share one backend.
   * @default ''
   */
  prefix?: string;
  /**
   * How values become stored text and back, here and in the session middleware's change tracking.
   * The default is JSON that refuses, with a `SessionSerializationError` naming the path (e.g.
   * `data.cart.items[3]`), anything JSON would silently change: `Map`, `Set`, class instances,
   * functions, `undefined` in arrays, `NaN`/`±Infinity`, BigInt, cycles. A `Date` is stored as
   * its ISO string, and object properties whose value is `undefined` are not stored. Pass
   * `richJsonCodec` to keep Date, Map, Set, BigInt, undefined and non-finite numbers instead.
   * @default jsonCodec
   * @example
   * ```ts
   * import { richJsonCodec } from 'botwire/codec';
   * const store = redisSessionStore({ url, codec: richJsonCodec });
   * ```
   */
  codec?: ValueCodec;
  /**
   * Largest encoded value accepted by every write (`set`, `commit`, `handOver`, the middleware),
   * in UTF-8 bytes; larger ones raise `SessionValueTooLargeError` before anything is sent. Reading
   * a larger record stored earlier still works.
   * @default 1_048_576 (1 MiB)
   */
  maxValueBytes?: number;
}

const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_WAIT_MS = 10_000;
const CLEANUP_BATCH = 1_000;
const DEFAULT_MAX_VALUE_BYTES = 1_048_576;

let acquireHeldOf: <T>(store: SessionStore<T>, key: string, options: AcquireOptions) => Promise<HeldLease<T>>;

/**
 * {@link SessionStore.acquire} as the session middleware needs it: the lease with what saves it
 * without encoding twice ({@link HeldLease}). Not exported from the package.
 * @internal
 */
export function acquireHeld<T>(store: SessionStore<T>, key: string, options: AcquireOptions): Promise<HeldLease<T>> {
  return acquireHeldOf(store, key, options);
}

/**
 * Session state that survives between webhook requests and instances: TTL, compare-and-set versions
 * and self-expiring leases, on any {@link SessionBackend}.
 *
 * @example
 * ```ts
 * import { memorySessionStore } from 'botwire/memory';
 * const store = memorySessionStore();
 * const lease = await store.acquire('chat:42');
 * const count = (lease.record?.data as number | undefined) ?? 0;
 * await lease.commit(count + 1, { ttlMs: 86_400_000 });
 * ```
 */
export class SessionStore<T = unknown> {
  /** The adapter doing the storage. */
  readonly backend: SessionBackend;
  /** Prepended to every key before it reaches the backend. */
  readonly prefix: string;
  /** How values become stored text and back (see {@link SessionStoreOptions.codec}). */
  readonly codec: ValueCodec;
  /** Largest encoded value a write accepts, in UTF-8 bytes. */
  readonly maxValueBytes: number;
  readonly #timeoutMs: number;
  readonly #host: LeaseHost;

  static {
    acquireHeldOf = (store, key, options) => store.#acquire(key, options);
  }

  constructor(backend: SessionBackend, options: SessionStoreOptions = {}) {
    if (!backend || typeof backend.acquire !== 'function') throw new BotwireConfigError('SessionStore needs a SessionBackend (from an adapter, or your own).');
    this.backend = backend;
    this.#timeoutMs = positiveMs('operationTimeoutMs', options.operationTimeoutMs ?? 2_000);
    const prefix = options.prefix ?? '';
    if (typeof prefix !== 'string') throw new BotwireConfigError(`prefix must be a string, got ${typeof prefix}.`);
    this.prefix = prefix;
    const codec = options.codec ?? jsonCodec;
    if (typeof codec?.encode !== 'function' || typeof codec.decode !== 'function') {
      throw new BotwireConfigError('codec must have encode(value, path) and decode(text) functions (e.g. richJsonCodec from botwire/codec).');
    }
    this.codec = codec;
    this.maxValueBytes = intInRange('maxValueBytes', options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES, 1);
    this.#host = {
      backend, codec, maxValueBytes: this.maxValueBytes, call: (operation, key, run, map) => this.#call(operation, key, run, map),
    };
  }

  #call<R, M = R>(operation: string, key: string | undefined, run: () => Promise<R>, map?: (value: R) => M): Promise<M> {
    if (!this.backend.boundsTime) return callBackend(this.backend, operation, this.#timeoutMs, run, key, map);
    // The backend keeps its own deadline (see SessionBackend.boundsTime): only name the error here.
    let work: Promise<R>;
    try {
      work = run();
    } catch (err) {
      return Promise.reject(this.#failure(operation, key, err));
    }
    return work.then(map as (value: R) => M, (err: unknown) => { throw this.#failure(operation, key, err); });
  }

  #failure(operation: string, key: string | undefined, err: unknown): unknown {
    if (err instanceof BackendUnavailableError) {
      // Named after the store's operation (the backend may have sent it inside a merged command).
      const outcome = err.outcome === 'unknown' ? outcomeOf(operation, 'unavailable') : 'not-applied';
      return new BackendUnavailableError(this.backend.name, operation, err.cause, key, outcome);
    }
    return classifyBackendError(this.backend, operation, err, key);
  }

  #full(key: string): string {
    assertKey(key);
    return this.prefix + key;
  }

  #decode(key: string, raw: RawSessionRecord | undefined): SessionRecord<T> | undefined {
    if (!raw) return undefined;
    return { data: decode<T>(this.codec, key, raw.data), version: raw.version, expiresAt: raw.expiresAt };
  }

  /** Read one record; `undefined` when absent or expired. One round trip. */
  get(key: string): Promise<SessionRecord<T> | undefined> {
    // Not `async`: the hot path saves an await layer, so input errors must become rejections by hand.
    let full: string;
    try {
      full = this.#full(key);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#call('get', key, () => this.backend.get([full]), (raws) => this.#decode(key, raws[0]));
  }

  /** Read several records in one round trip, in the order given. */
  async getMany(keys: readonly string[]): Promise<Array<SessionRecord<T> | undefined>> {
    if (keys.length === 0) return [];
    const full = keys.map((k) => this.#full(k));
    const raws = await this.#call('getMany', keys[0], () => this.backend.get(full));
    return raws.map((raw, i) => this.#decode(keys[i]!, raw));
  }

  /**
   * Write a record; returns its new version. With `ifVersion` it is a compare-and-set that throws
   * {@link SessionConflictError} on mismatch and writes nothing. Values the codec refuses raise
   * `SessionSerializationError`, values over `maxValueBytes` `SessionValueTooLargeError`; nothing is
   * sent then.
   */
  set(key: string, data: T, options: SetOptions = {}): Promise<number> {
    let full: string;
    let text: string;
    let ttlMs: number | undefined;
    let ifVersion: number | undefined;
    try {
      full = this.#full(key);
      ttlMs = options.ttlMs === undefined ? undefined : positiveMs('ttlMs', options.ttlMs);
      ifVersion = options.ifVersion === undefined ? undefined : version('ifVersion', options.ifVersion);
      text = encode(this.codec, key, data);
      assertFits(key, text, this.maxValueBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#call('set', key, () => this.backend.set(full, text, ttlMs, ifVersion), (result) => {
      if (!result.ok) throw new SessionConflictError(key, ifVersion ?? 0, result.actual);
      return result.version;
    });
  }

  /** Delete a record; false when there was none. With `ifVersion`, a conflict throws and deletes nothing. */
  async delete(key: string, options: { ifVersion?: number } = {}): Promise<boolean> {
    const full = this.#full(key);
    const ifVersion = options.ifVersion === undefined ? undefined : version('ifVersion', options.ifVersion);
    const result = await this.#call('delete', key, () => this.backend.delete(full, ifVersion));
    if (!result.ok) throw new SessionConflictError(key, ifVersion ?? 0, result.actual);
    return result.version > 0;
  }

  /** Set the record's expiry to now + `ttlMs` without rewriting its data. False when absent. */
  async touch(key: string, ttlMs: number): Promise<boolean> {
    const full = this.#full(key);
    const ms = positiveMs('ttlMs', ttlMs);
    return this.#call('touch', key, () => this.backend.touch(full, ms));
  }

  /**
   * Take the fleet-wide lease on `key` and read its record in one round trip, waiting up to
   * `waitMs` while another holder has it.
   */
  acquire(key: string, options: AcquireOptions = {}): Promise<SessionLease<T>> {
    return this.#acquire(key, options);
  }

  #acquire(key: string, options: AcquireOptions): Promise<HeldLease<T>> {
    // Not `async`: one lease per update in the middleware, so the uncontended path is one backend
    // call and one `then`; input errors become rejections by hand.
    let full: string;
    let leaseMs: number;
    let waitMs: number;
    try {
      full = this.#full(key);
      leaseMs = options.leaseMs === undefined ? DEFAULT_LEASE_MS : positiveMs('leaseMs', options.leaseMs);
      waitMs = options.waitMs === undefined ? DEFAULT_WAIT_MS : nonNegativeMs('waitMs', options.waitMs);
    } catch (err) {
      return Promise.reject(err);
    }
    const token = newToken();
    const started = Date.now();
    // The lease is made in the call's own `then` (the contended path returns a promise, adopted).
    return this.#call('acquire', key, () => this.backend.acquire(full, token, leaseMs), (attempt) =>
      attempt.ok ? this.#lease(key, full, token, leaseMs, attempt.record) : this.#acquireWaiting(key, full, token, leaseMs, waitMs, started, attempt.retryInMs),
    ) as Promise<HeldLease<T>>;
  }

  /** The contended path of {@link acquire}: wait for a release (or the lapse) and try again. */
  async #acquireWaiting(key: string, full: string, token: string, leaseMs: number, waitMs: number, started: number, retryInMs: number): Promise<HeldLease<T>> {
    // Backoff grows from 2 ms so a lease released a moment ago is picked up quickly, but a long
    // holder is not hammered; jitter keeps many waiters from retrying in lockstep.
    let backoff = 2;
    for (;;) {
      const left = started + waitMs - Date.now();
      if (left <= 0) throw new SessionLockTimeoutError(key, Date.now() - started);
      const pause = Math.max(1, Math.min(left, retryInMs, backoff * (0.5 + Math.random())));
      if (this.backend.waitForRelease) await this.backend.waitForRelease(full, Math.min(left, retryInMs));
      else await sleep(pause);
      backoff = Math.min(backoff * 2, 100);
      const attempt = await this.#call('acquire', key, () => this.backend.acquire(full, token, leaseMs));
      if (attempt.ok) {
        const lease = this.#lease(key, full, token, leaseMs, attempt.record);
        lease.waitedMs = Date.now() - started;
        return lease;
      }
      retryInMs = attempt.retryInMs;
    }
  }

  #lease(key: string, full: string, token: string, leaseMs: number, raw: RawSessionRecord | undefined): StoreLease<T> {
    return new StoreLease<T>(this.#host, key, full, token, leaseMs, this.#decode(key, raw), this.backend.verbatim === true ? raw?.data : undefined);
  }

  /**
   * Look at a key without touching it: its record (as {@link get} reads it) and who holds its lease,
   * since when and until when, in one round trip. Takes, extends and waits for nothing, so it is
   * safe while a handler holds the lease (the dashboard's session view uses it). The holder is a
   * fingerprint of its token ({@link leaseHolder}), never the token. Throws `BotwireConfigError`
   * when the backend has no `inspect` (an adapter of your own that predates it).
   *
   * @example
   * ```ts
   * const { record, lease } = await store.inspect('chat:42');
   * if (lease) console.log(`held ${Date.now() - (lease.acquiredAt ?? Date.now())} ms by ${lease.holder}`);
   * ```
   */
  inspect(key: string): Promise<SessionInspection<T>> {
    let full: string;
    try {
      full = this.#full(key);
      if (typeof this.backend.inspect !== 'function') {
        throw new BotwireConfigError(`The ${this.backend.name} session backend cannot inspect keys: it implements no SessionBackend.inspect().`);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const asked = Date.now();
    return this.#call('inspect', key, () => this.backend.inspect!(full), (raw) => this.#inspection(key, raw, asked));
  }

  #inspection(key: string, raw: RawSessionInspection, asked: number): SessionInspection<T> {
    const record = this.#decode(key, raw.record);
    const l = raw.lease;
    if (!l) return { record, lease: undefined };
    // The backend measured on its own clock; anchor on ours at the middle of the round trip (it
    // looked somewhere in between), so neither the age nor the expiry is off by more than half of it.
    const at = (asked + Date.now()) / 2;
    return {
      record,
      lease: { holder: leaseHolder(l.token), acquiredAt: l.heldMs === undefined ? undefined : Math.round(at - l.heldMs), expiresAt: Math.round(at + l.expiresInMs) },
    };
  }

  /**
   * Delete expired records in batches until none are left; returns how many were removed.
   * A no-op (0) on backends that expire records natively (memory, Redis). With `budgetMs`, no
   * batch starts after that much time has passed (a cron route's time limit).
   */
  async cleanup(options: { batchSize?: number; budgetMs?: number } = {}): Promise<number> {
    const batch = batchSize(options.batchSize, CLEANUP_BATCH);
    const until = options.budgetMs === undefined ? Infinity : Date.now() + positiveMs('budgetMs', options.budgetMs);
    let total = 0;
    for (;;) {
      const n = await this.#call('cleanup', undefined, () => this.backend.cleanup(batch));
      total += n;
      if (n < batch || Date.now() >= until) return total;
    }
  }

  /**
   * One round trip to the backend, bounded by `operationTimeoutMs`: the adapter's own check (Redis
   * `PING`, the Postgres schema version) or, for adapters without one, a read of a probe key. Never
   * rejects; a failure is `ok: false` with a publishable `error`.
   */
  health(): Promise<HealthReport> {
    const { backend } = this;
    return probeHealth(backend, this.#timeoutMs, backend.health
      ? () => backend.health!()
      : async () => { await backend.get([`${this.prefix}$botwire:health`]); });
  }

  /** Stage in which `shutdown()` closes it: after workers, gateways and buses. */
  readonly shutdownStage = 'store';

  /** Close connections the adapter opened itself. A client you passed in stays open. */
  close(): Promise<void> {
    return this.backend.close();
  }
}
