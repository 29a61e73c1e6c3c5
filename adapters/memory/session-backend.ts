import type {
  AcquireAttempt, CasResult, CommitArgs, CommitResult, RawSessionInspection, RawSessionRecord, SessionBackend,
  SessionStoreOptions,
} from 'botwire';
import { intInRange, positiveMs, SessionStore } from 'botwire/adapter-kit';

/** Options of {@link memorySessionBackend}. */
export interface MemorySessionBackendOptions {
  /**
   * Keep at most this many records; when full, expired records go first, then the least recently
   * used one. `Infinity` lifts the bound (memory then grows with the number of live keys).
   * @default 10_000
   */
  maxEntries?: number;
  /**
   * How often expired records and lapsed leases are swept out in the background (an unref'd timer
   * that never keeps the process alive; `close()` stops it), so memory returns to its baseline
   * once TTLs lapse. Reads never return expired records either way.
   * @default 30_000
   */
  sweepIntervalMs?: number;
  /**
   * Clock in epoch milliseconds; inject one in tests to move time without waiting.
   * @default Date.now
   */
  now?: () => number;
}

/** Options of {@link memorySessionStore}: the backend's bounds plus every {@link SessionStoreOptions} option. */
export interface MemorySessionStoreOptions extends SessionStoreOptions, MemorySessionBackendOptions {}

interface Entry { data: string; version: number; expiresAt: number | undefined }
/** `since`: when `token` took the lease (kept through re-acquire, extend and hand-over). */
interface Lease { token: string; until: number; since: number }

/** What a memory session backend holds: records and leases, expired ones not swept yet included. */
export interface MemorySessionStats { records: number; leases: number }

/**
 * The backend of {@link memorySessionStore} (`store.backend`), with two extras for tests and
 * monitoring.
 */
export interface MemorySessionBackend extends SessionBackend {
  /** Remove expired records and lapsed leases now; returns how many were removed. */
  sweep(): number;
  /** How many records and leases are held right now. */
  stats(): MemorySessionStats;
}

const DEFAULT_MAX_ENTRIES = 10_000;
/** When full, a write sweeps before evicting a live record, but at most this often (by the clock). */
const FULL_SWEEP_EVERY_MS = 1_000;

/**
 * In-process backend: same semantics as the durable adapters (versions, TTL, leases that lapse),
 * but gone when the process exits. The zero-setup default for development and tests.
 */
class MemoryBackend implements MemorySessionBackend {
  readonly name = 'memory';
  readonly nativeExpiry = true;
  readonly verbatim = true;
  readonly #records = new Map<string, Entry>();
  readonly #leases = new Map<string, Lease>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #max: number;
  readonly #now: () => number;
  readonly #timer: ReturnType<typeof setInterval>;
  #lastFullSweep = -Infinity;

  constructor(options: MemorySessionBackendOptions) {
    const max = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#max = max === Infinity ? Infinity : intInRange('maxEntries', max, 1);
    this.#now = options.now ?? Date.now;
    const every = positiveMs('sweepIntervalMs', options.sweepIntervalMs ?? 30_000);
    // The timer holds the backend only weakly: a store dropped without close() is still collected.
    const ref = new WeakRef(this);
    const timer = this.#timer = setInterval(() => { if (ref.deref()?.sweep() === undefined) clearInterval(timer); }, every);
    (timer as { unref?: () => void }).unref?.();
  }

  sweep(): number {
    const now = this.#now();
    let n = this.#sweepRecords(now, Infinity);
    for (const [k, l] of this.#leases) {
      if (l.until <= now) { this.#leases.delete(k); n++; }
    }
    return n;
  }

  #sweepRecords(now: number, limit: number): number {
    let n = 0;
    for (const [k, e] of this.#records) {
      if (n >= limit) break;
      if (e.expiresAt !== undefined && e.expiresAt <= now) { this.#records.delete(k); n++; }
    }
    return n;
  }

  stats(): MemorySessionStats {
    return { records: this.#records.size, leases: this.#leases.size };
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
    if (this.#records.size > this.#max) this.#makeRoom();
    return version;
  }

  /** Over `maxEntries`: drop expired records (now and then), then the least recently used ones. */
  #makeRoom(): void {
    const now = this.#now();
    if (now - this.#lastFullSweep >= FULL_SWEEP_EVERY_MS) {
      this.#lastFullSweep = now;
      this.sweep();
    }
    while (this.#records.size > this.#max) this.#records.delete(this.#records.keys().next().value!);
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
    const now = this.#now();
    this.#leases.set(key, { token, until: now + leaseMs, since: holder?.since ?? now });
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
    if (keepLeaseMs !== undefined) this.#leases.set(key, { token, until: this.#now() + keepLeaseMs, since: holder?.since ?? this.#now() });
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

  async inspect(key: string): Promise<RawSessionInspection> {
    const [record] = await this.get([key]);
    const l = this.#holder(key);
    const now = this.#now();
    return { record, lease: l && { token: l.token, heldMs: now - l.since, expiresInMs: l.until - now } };
  }

  async cleanup(limit: number): Promise<number> {
    return this.#sweepRecords(this.#now(), limit);
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
    clearInterval(this.#timer);
    this.#records.clear();
    this.#leases.clear();
  }
}

/**
 * A {@link SessionStore} kept in this process's memory: TTL, versions and leases with the same
 * semantics as Redis and Postgres. The zero-setup default. Bounded: at most `maxEntries` records
 * (default 10,000; the least recently used go first), and expired records and lapsed leases are
 * swept out every `sweepIntervalMs`. `store.backend` is a {@link MemorySessionBackend}.
 *
 * @example
 * ```ts
 * import { memorySessionStore } from 'botwire/memory';
 * const store = memorySessionStore({ maxEntries: 50_000 });
 * ```
 */
export function memorySessionStore<T = unknown>(options: MemorySessionStoreOptions = {}): SessionStore<T> {
  return new SessionStore<T>(new MemoryBackend(options), options);
}

/**
 * The memory {@link SessionBackend} itself, for composing your own {@link SessionStore}.
 *
 * @example
 * ```ts
 * import { SessionStore } from 'botwire';
 * import { memorySessionBackend } from 'botwire/memory';
 * const store = new SessionStore(memorySessionBackend({ maxEntries: 1_000 }), { prefix: 'test:' });
 * ```
 */
export function memorySessionBackend(options: MemorySessionBackendOptions = {}): MemorySessionBackend {
  return new MemoryBackend(options);
}
