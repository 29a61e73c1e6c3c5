import { BotwireConfigError } from '../../src/errors.js';
import type {
  AcquireAttempt, CasResult, CommitArgs, CommitResult, RawSessionRecord, SessionBackend,
} from '../../src/session/backend.js';
import { SessionStore, type SessionStoreOptions } from '../../src/session/session-store.js';

/** Options of {@link memorySessionStore}. */
export interface MemorySessionStoreOptions extends SessionStoreOptions {
  /**
   * Keep at most this many records; the least recently used one is dropped first.
   * @default Infinity
   */
  maxEntries?: number;
  /**
   * Clock in epoch milliseconds; inject one in tests to move time without waiting.
   * @default Date.now
   */
  now?: () => number;
}

interface Entry { data: string; version: number; expiresAt: number | undefined }
interface Lease { token: string; until: number }

/**
 * In-process backend: same semantics as the durable adapters (versions, TTL, leases that lapse),
 * but gone when the process exits. The zero-setup default for development and tests.
 */
class MemorySessionBackend implements SessionBackend {
  readonly name = 'memory';
  readonly nativeExpiry = true;
  readonly verbatim = true;
  readonly #records = new Map<string, Entry>();
  readonly #leases = new Map<string, Lease>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: MemorySessionStoreOptions) {
    this.#max = options.maxEntries ?? Infinity;
    if (!(this.#max >= 1)) throw new BotwireConfigError(`maxEntries must be >= 1, got ${String(options.maxEntries)}.`);
    this.#now = options.now ?? Date.now;
  }

  #read(key: string): Entry | undefined {
    const entry = this.#records.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.#now()) {
      this.#records.delete(key);
      return undefined;
    }
    // Map keeps insertion order: re-inserting marks the entry most recently used.
    this.#records.delete(key);
    this.#records.set(key, entry);
    return entry;
  }

  #write(key: string, data: string, ttlMs: number | undefined): number {
    const version = (this.#read(key)?.version ?? 0) + 1;
    this.#records.delete(key);
    this.#records.set(key, { data, version, expiresAt: ttlMs === undefined ? undefined : this.#now() + ttlMs });
    while (this.#records.size > this.#max) this.#records.delete(this.#records.keys().next().value!);
    return version;
  }

  #holder(key: string): Lease | undefined {
    const lease = this.#leases.get(key);
    if (lease && lease.until <= this.#now()) {
      this.#leases.delete(key);
      return undefined;
    }
    return lease;
  }

  #released(key: string): void {
    this.#leases.delete(key);
    const waiters = this.#waiters.get(key);
    if (!waiters) return;
    this.#waiters.delete(key);
    for (const wake of waiters) wake();
  }

  async get(keys: readonly string[]): Promise<Array<RawSessionRecord | undefined>> {
    return keys.map((k) => {
      const e = this.#read(k);
      return e && { data: e.data, version: e.version, expiresAt: e.expiresAt };
    });
  }

  async set(key: string, data: string, ttlMs: number | undefined, ifVersion: number | undefined): Promise<CasResult> {
    const actual = this.#read(key)?.version ?? 0;
    if (ifVersion !== undefined && ifVersion !== actual) return { ok: false, actual };
    return { ok: true, version: this.#write(key, data, ttlMs) };
  }

  async delete(key: string, ifVersion: number | undefined): Promise<CasResult> {
    const actual = this.#read(key)?.version ?? 0;
    if (ifVersion !== undefined && ifVersion !== actual) return { ok: false, actual };
    this.#records.delete(key);
    return { ok: true, version: actual };
  }

  async touch(key: string, ttlMs: number): Promise<boolean> {
    const e = this.#read(key);
    if (!e) return false;
    e.expiresAt = this.#now() + ttlMs;
    return true;
  }

  async acquire(key: string, token: string, leaseMs: number): Promise<AcquireAttempt> {
    const holder = this.#holder(key);
    if (holder && holder.token !== token) return { ok: false, retryInMs: holder.until - this.#now() };
    this.#leases.set(key, { token, until: this.#now() + leaseMs });
    const [record] = await this.get([key]);
    return { ok: true, record };
  }

  async commit({ key, token, version, write, keepLeaseMs }: CommitArgs): Promise<CommitResult> {
    const holder = this.#holder(key);
    const current = this.#read(key);
    // Fencing: ours, or lapsed with nobody else holding it and the record unchanged since acquire.
    if (holder ? holder.token !== token : (current?.version ?? 0) !== version) return { ok: false };
    let result = current?.version ?? 0;
    if (write.kind === 'set') result = this.#write(key, write.data, write.ttlMs);
    else if (write.kind === 'delete') { this.#records.delete(key); result = 0; }
    else if (write.ttlMs !== undefined && current) current.expiresAt = this.#now() + write.ttlMs;
    if (keepLeaseMs !== undefined) this.#leases.set(key, { token, until: this.#now() + keepLeaseMs });
    else this.#released(key);
    return { ok: true, version: result };
  }

  async extend(key: string, token: string, leaseMs: number): Promise<boolean> {
    const holder = this.#holder(key);
    if (holder?.token !== token) return false;
    holder.until = this.#now() + leaseMs;
    return true;
  }

  async release(key: string, token: string): Promise<boolean> {
    if (this.#holder(key)?.token !== token) return false;
    this.#released(key);
    return true;
  }

  async cleanup(): Promise<number> {
    let n = 0;
    const now = this.#now();
    for (const [k, e] of this.#records) {
      if (e.expiresAt !== undefined && e.expiresAt <= now) { this.#records.delete(k); n++; }
    }
    return n;
  }

  waitForRelease(key: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.#waiters.get(key);
      if (!set) this.#waiters.set(key, (set = new Set()));
      const wake = (): void => { clearTimeout(timer); set!.delete(wake); resolve(); };
      const timer = setTimeout(wake, timeoutMs);
      set.add(wake);
    });
  }

  async close(): Promise<void> {
    this.#records.clear();
    this.#leases.clear();
  }
}

/**
 * A {@link SessionStore} kept in this process's memory: TTL, LRU bound, versions and leases with the
 * same semantics as Redis and Postgres. The zero-setup default.
 *
 * @example
 * ```ts
 * import { memorySessionStore } from 'botwire/memory';
 * const store = memorySessionStore({ maxEntries: 10_000 });
 * ```
 */
export function memorySessionStore<T = unknown>(options: MemorySessionStoreOptions = {}): SessionStore<T> {
  return new SessionStore<T>(new MemorySessionBackend(options), options);
}
