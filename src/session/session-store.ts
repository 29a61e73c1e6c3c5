import { BotwireConfigError, SessionConflictError, SessionLeaseLostError, SessionLockTimeoutError } from '../errors.js';
import { callBackend, sleep } from '../internal/backend-call.js';
import type { CommitWrite, RawSessionRecord, SessionBackend } from './backend.js';
import { assertKey, decode, encode } from './codec.js';

/** A decoded session record. */
export interface SessionRecord<T> {
  /** The stored value. */
  data: T;
  /** Starts at 1 for a new record and grows by one with every write. */
  version: number;
  /** Epoch milliseconds when the record expires, if it has a TTL. */
  expiresAt?: number | undefined;
}

/** Options of {@link SessionStore.set}. */
export interface SetOptions {
  /** Expire the record this many milliseconds after the write. Omitted: never expires. */
  ttlMs?: number;
  /** Compare-and-set: write only if the stored version equals this (`0` = only if no record exists). */
  ifVersion?: number;
}

/** Options of {@link SessionStore.acquire}. */
export interface AcquireOptions {
  /**
   * How long the lease lasts unless extended or released. It always lapses on its own, so a
   * crashed process never leaves a key locked for longer than this.
   * @default 30_000
   */
  leaseMs?: number;
  /**
   * How long to wait for a busy lease before throwing {@link SessionLockTimeoutError}.
   * @default 10_000
   */
  waitMs?: number;
}

/** Options of {@link SessionLease.commit}. */
export interface CommitOptions {
  /** TTL for the written record; with no data, refreshes the expiry without rewriting (sliding TTL). */
  ttlMs?: number;
  /** Delete the record instead of writing it. */
  delete?: boolean;
}

/**
 * Exclusive, self-expiring right to change one key, with the record as it was when taken.
 * Commit or release it exactly once.
 */
export interface SessionLease<T> {
  /** The session key. */
  readonly key: string;
  /** Opaque fencing token. */
  readonly token: string;
  /** The record at acquire time (undefined when there was none). */
  readonly record: SessionRecord<T> | undefined;
  /**
   * Write `data` (if given) and release, in one round trip. Returns the stored version.
   * Throws {@link SessionLeaseLostError} and writes nothing if the lease lapsed and the record moved on.
   */
  commit(data?: T, options?: CommitOptions): Promise<number>;
  /** Release without writing. Safe to call after a lapse. */
  release(): Promise<void>;
  /** Push the lease's expiry to now + `leaseMs` (default: the acquire's). Throws if it was lost. */
  extend(leaseMs?: number): Promise<void>;
  /**
   * Write `data` (if given) like {@link SessionLease.commit} but keep holding the lease for
   * `keepLeaseMs`, in the same single round trip, and return a fresh lease (same token) whose
   * `record` is the committed one. Lets the next update for this key in this process continue
   * without a release/acquire round trip. Throws {@link SessionLeaseLostError} like `commit`.
   */
  handOver(data?: T, options?: HandOverOptions): Promise<SessionLease<T>>;
}

/** Options of {@link SessionLease.handOver}. */
export interface HandOverOptions extends CommitOptions {
  /**
   * How long the kept lease lasts before it lapses on its own.
   * @default the lease's current `leaseMs`
   */
  keepLeaseMs?: number;
}

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
}

const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_WAIT_MS = 10_000;
const CLEANUP_BATCH = 1_000;

function assertMs(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new TypeError(`${name} must be a positive number of milliseconds, got ${String(value)}.`);
  }
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
  readonly #timeoutMs: number;

  constructor(backend: SessionBackend, options: SessionStoreOptions = {}) {
    const timeout = options.operationTimeoutMs ?? 2_000;
    if (!(Number.isFinite(timeout) && timeout > 0)) {
      throw new BotwireConfigError(`operationTimeoutMs must be a positive number, got ${String(timeout)}.`);
    }
    this.backend = backend;
    this.#timeoutMs = timeout;
    this.prefix = options.prefix ?? '';
  }

  #call<R, M = R>(operation: string, key: string | undefined, run: () => Promise<R>, map?: (value: R) => M): Promise<M> {
    return callBackend(this.backend.name, operation, this.#timeoutMs, run, key, map);
  }

  #full(key: string): string {
    assertKey(key);
    return this.prefix + key;
  }

  #decode(key: string, raw: RawSessionRecord | undefined): SessionRecord<T> | undefined {
    if (!raw) return undefined;
    return { data: decode<T>(key, raw.data), version: raw.version, expiresAt: raw.expiresAt };
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
   * {@link SessionConflictError} on mismatch and writes nothing.
   */
  set(key: string, data: T, options: SetOptions = {}): Promise<number> {
    let full: string;
    let text: string;
    try {
      full = this.#full(key);
      assertMs('ttlMs', options.ttlMs);
      text = encode(key, data);
    } catch (err) {
      return Promise.reject(err);
    }
    const { ttlMs, ifVersion } = options;
    return this.#call('set', key, () => this.backend.set(full, text, ttlMs, ifVersion), (result) => {
      if (!result.ok) throw new SessionConflictError(key, ifVersion ?? 0, result.actual);
      return result.version;
    });
  }

  /** Delete a record; false when there was none. With `ifVersion`, a conflict throws and deletes nothing. */
  async delete(key: string, options: { ifVersion?: number } = {}): Promise<boolean> {
    const full = this.#full(key);
    const result = await this.#call('delete', key, () => this.backend.delete(full, options.ifVersion));
    if (!result.ok) throw new SessionConflictError(key, options.ifVersion ?? 0, result.actual);
    return result.version > 0;
  }

  /** Set the record's expiry to now + `ttlMs` without rewriting its data. False when absent. */
  async touch(key: string, ttlMs: number): Promise<boolean> {
    const full = this.#full(key);
    assertMs('ttlMs', ttlMs);
    return this.#call('touch', key, () => this.backend.touch(full, ttlMs));
  }

  /**
   * Take the fleet-wide lease on `key` and read its record in one round trip, waiting up to
   * `waitMs` while another holder has it.
   */
  async acquire(key: string, options: AcquireOptions = {}): Promise<SessionLease<T>> {
    const full = this.#full(key);
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
    assertMs('leaseMs', leaseMs);
    if (!(waitMs >= 0)) throw new TypeError(`waitMs must be >= 0, got ${String(waitMs)}.`);
    const token = crypto.randomUUID();
    const started = Date.now();
    // Backoff grows from 2 ms so a lease released a moment ago is picked up quickly, but a long
    // holder is not hammered; jitter keeps many waiters from retrying in lockstep.
    let backoff = 2;
    for (;;) {
      const attempt = await this.#call('acquire', key, () => this.backend.acquire(full, token, leaseMs));
      if (attempt.ok) return this.#lease(key, full, token, leaseMs, this.#decode(key, attempt.record));
      const left = started + waitMs - Date.now();
      if (left <= 0) throw new SessionLockTimeoutError(key, Date.now() - started);
      const pause = Math.max(1, Math.min(left, attempt.retryInMs, backoff * (0.5 + Math.random())));
      if (this.backend.waitForRelease) await this.backend.waitForRelease(full, Math.min(left, attempt.retryInMs));
      else await sleep(pause);
      backoff = Math.min(backoff * 2, 100);
    }
  }

  #commitWrite(key: string, data: T | undefined, options: CommitOptions): { write: CommitWrite } {
    assertMs('ttlMs', options.ttlMs);
    if (options.delete) return { write: { kind: 'delete' } };
    if (data !== undefined) return { write: { kind: 'set', data: encode(key, data), ttlMs: options.ttlMs } };
    return { write: { kind: 'none', ttlMs: options.ttlMs } };
  }

  #lease(key: string, full: string, token: string, leaseMs: number, record: SessionRecord<T> | undefined): SessionLease<T> {
    let done = false;
    const finish = (what: string): void => {
      if (done) throw new Error(`Session lease for "${key}" was already committed or released; ${what} needs a new acquire().`);
      done = true;
    };
    return {
      key,
      token,
      record,
      commit: async (data?: T, options: CommitOptions = {}) => {
        const { write } = this.#commitWrite(key, data, options);
        finish('commit');
        const result = await this.#call('commit', key, () =>
          this.backend.commit({ key: full, token, version: record?.version ?? 0, write }),
        );
        if (!result.ok) throw new SessionLeaseLostError(key);
        return result.version;
      },
      handOver: async (data?: T, options: HandOverOptions = {}) => {
        const keepLeaseMs = options.keepLeaseMs ?? leaseMs;
        assertMs('keepLeaseMs', keepLeaseMs);
        const { write } = this.#commitWrite(key, data, options);
        finish('handOver');
        const started = Date.now();
        let result;
        try {
          result = await this.#call('commit', key, () =>
            this.backend.commit({ key: full, token, version: record?.version ?? 0, write, keepLeaseMs }),
          );
        } catch (err) {
          // The write may have landed with the lease kept; nobody will use it now, so free the key
          // instead of letting it block others for keepLeaseMs.
          void this.#call('release', key, () => this.backend.release(full, token)).catch(() => undefined);
          throw err;
        }
        if (!result.ok) throw new SessionLeaseLostError(key);
        let next: SessionRecord<T> | undefined;
        if (write.kind === 'delete') next = undefined;
        else if (write.kind === 'set') {
          // Decode our own text so the next holder never shares objects with the previous handler.
          next = {
            data: decode<T>(key, write.data),
            version: result.version,
            expiresAt: write.ttlMs === undefined ? undefined : started + write.ttlMs,
          };
        } else {
          next = record && {
            ...record,
            data: decode<T>(key, encode(key, record.data)),
            expiresAt: write.ttlMs === undefined ? record.expiresAt : started + write.ttlMs,
          };
        }
        return this.#lease(key, full, token, keepLeaseMs, next);
      },
      release: async () => {
        if (done) return;
        done = true;
        await this.#call('release', key, () => this.backend.release(full, token));
      },
      extend: async (ms?: number) => {
        assertMs('leaseMs', ms);
        if (done) throw new SessionLeaseLostError(key);
        const ok = await this.#call('extend', key, () => this.backend.extend(full, token, ms ?? leaseMs));
        if (!ok) throw new SessionLeaseLostError(key);
      },
    };
  }

  /**
   * Delete expired records in batches until none are left; returns how many were removed.
   * A no-op (0) on backends that expire records natively (memory, Redis).
   */
  async cleanup(options: { batchSize?: number } = {}): Promise<number> {
    const batch = options.batchSize ?? CLEANUP_BATCH;
    let total = 0;
    for (;;) {
      const n = await this.#call('cleanup', undefined, () => this.backend.cleanup(batch));
      total += n;
      if (n < batch) return total;
    }
  }

  /** Close connections the adapter opened itself. A client you passed in stays open. */
  close(): Promise<void> {
    return this.backend.close();
  }
}
