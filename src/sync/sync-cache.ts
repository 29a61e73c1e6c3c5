/**
 * A per-instance read cache whose invalidations reach every instance through a {@link SyncBus}:
 * an admin edits a button, and every bot drops its cached keyboard at once.
 *
 * @module
 */
import { BotwireConfigError, SyncBusClosedError } from '../errors.js';
import { RESYNC_TOPIC, type SyncBus, type SyncEnvelope, type Unsubscribe } from './types.js';

/** The reserved bus topic carrying cache invalidations between instances. */
export const CACHE_INVALIDATE_TOPIC = '$cache.invalidate';

/** What to drop: one key, every key with a prefix, every key carrying a tag, or everything. */
export type CacheInvalidation = string | { key: string } | { prefix: string } | { tag: string } | { all: true };

/** Maps a bus pattern to what its events invalidate; a function can derive it from the event. */
export type InvalidationRule = CacheInvalidation | ((event: SyncEnvelope) => CacheInvalidation | readonly CacheInvalidation[] | undefined);

/** Options of {@link SyncCache.set} and {@link SyncCache.getOrLoad}. */
export interface CacheEntryOptions {
  /** Lifetime of this entry. @default the cache's `ttlMs` */
  ttlMs?: number;
  /** Tags to invalidate the entry by, e.g. `['buttons']`. */
  tags?: readonly string[];
}

/** Options of {@link SyncCache}. */
export interface SyncCacheOptions {
  /** The bus carrying invalidations (any adapter). */
  bus: SyncBus<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- any TopicMap
  /** Default lifetime of an entry in ms. @default 60_000 */
  ttlMs?: number;
  /**
   * Caches with different names on one bus do not invalidate each other.
   * @default 'default'
   */
  name?: string;
  /** Most entries kept; the oldest written is dropped first beyond it. @default 10_000 */
  maxEntries?: number;
  /**
   * When a loader fails, serve an expired (not invalidated) value up to this many ms past its expiry
   * instead of throwing. `0` disables it.
   * @default 0
   */
  staleWhileErrorMs?: number;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
  staleUntil: number;
  tags: readonly string[] | undefined;
  /** Created on the first async hit and reused, so repeated `getOrLoad` hits allocate nothing. */
  promise: Promise<V> | undefined;
}

interface Loading<V> {
  promise: Promise<V>;
  tags: readonly string[] | undefined;
  invalidated: boolean;
}

type Normalized = { key: string } | { prefix: string } | { tag: string } | { all: true };

function normalize(what: CacheInvalidation): Normalized {
  if (typeof what === 'string') return { key: what };
  if (what && typeof what === 'object') {
    if (typeof (what as { key?: unknown }).key === 'string') return { key: (what as { key: string }).key };
    if (typeof (what as { prefix?: unknown }).prefix === 'string') return { prefix: (what as { prefix: string }).prefix };
    if (typeof (what as { tag?: unknown }).tag === 'string') return { tag: (what as { tag: string }).tag };
    if ((what as { all?: unknown }).all === true) return { all: true };
  }
  throw new BotwireConfigError('invalidate() takes a key, { key }, { prefix }, { tag } or { all: true }.');
}

/**
 * A local cache with cluster-wide invalidation over a {@link SyncBus}.
 *
 * - `get`/`peek` are synchronous; `getOrLoad` runs concurrent misses through one loader call.
 * - `invalidate` drops matching entries here at once and on every other instance via the bus.
 * - `invalidateOn` maps bus topics (e.g. `buttons.*`) to invalidations, applied on each instance.
 * - `$resync` (reconnect or lost events) flushes everything: a missed invalidation must not leave stale data.
 *
 * @example
 * ```ts
 * const cache = new SyncCache({ bus, ttlMs: 60_000 });
 * cache.invalidateOn({ 'buttons.*': { tag: 'buttons' } });
 * const keyboard = await cache.getOrLoad('buttons:main', () => db.activeButtons(), { tags: ['buttons'] });
 * // in the admin API, after saving a button:
 * await bus.publish('buttons.updated', { id });
 * ```
 */
export class SyncCache<V = unknown> {
  private readonly bus: SyncBus;
  private readonly ttlMs: number;
  private readonly name: string;
  private readonly maxEntries: number;
  private readonly staleMs: number;
  private readonly entries = new Map<string, Entry<V>>();
  private readonly tagIndex = new Map<string, Set<string>>();
  private readonly loading = new Map<string, Loading<V>>();
  private readonly offs: Unsubscribe[] = [];
  private closed = false;

  constructor(options: SyncCacheOptions) {
    if (!options?.bus || typeof options.bus.subscribe !== 'function') throw new BotwireConfigError('SyncCache needs a `bus` (a SyncBus from any adapter).');
    this.bus = options.bus as SyncBus;
    this.ttlMs = options.ttlMs ?? 60_000;
    this.name = options.name ?? 'default';
    this.maxEntries = options.maxEntries ?? 10_000;
    this.staleMs = options.staleWhileErrorMs ?? 0;
    if (!(this.ttlMs > 0)) throw new BotwireConfigError('SyncCache `ttlMs` must be a positive number of milliseconds.');
    this.offs.push(
      this.bus.subscribe(CACHE_INVALIDATE_TOPIC, (e) => {
        const d = e.data as { name?: unknown; what?: Normalized } | undefined;
        if (d && d.name === this.name && d.what) { try { this.apply(normalize(d.what as CacheInvalidation)); } catch { /* foreign shape: ignore */ } }
      }),
      this.bus.subscribe(RESYNC_TOPIC, () => this.clear()),
    );
  }

  /** Number of entries held (expired ones included until touched or evicted). */
  get size(): number {
    return this.entries.size;
  }

  /** The fresh value for `key`, or `undefined`. Synchronous, allocation-free. */
  get(key: string): V | undefined {
    const e = this.entries.get(key);
    return e !== undefined && e.expiresAt > Date.now() ? e.value : undefined;
  }

  /** Alias of {@link SyncCache.get}, for code that reads better as "peek without loading". */
  peek(key: string): V | undefined {
    return this.get(key);
  }

  /** Store a value locally (other instances are not told: they load their own). */
  set(key: string, value: V, options: CacheEntryOptions = {}): void {
    if (this.closed) throw new SyncBusClosedError(`cache:${this.name}`);
    const now = Date.now();
    const ttl = options.ttlMs ?? this.ttlMs;
    const old = this.entries.get(key);
    if (old) this.remove(key, old);
    else if (this.entries.size >= this.maxEntries) this.evictOldest();
    const tags = options.tags?.length ? options.tags : undefined;
    this.entries.set(key, { value, expiresAt: now + ttl, staleUntil: now + ttl + this.staleMs, tags, promise: undefined });
    if (tags) {
      for (const tag of tags) {
        let keys = this.tagIndex.get(tag);
        if (!keys) this.tagIndex.set(tag, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  /**
   * The cached value, or the loader's result (stored with `options`). Concurrent calls for a missing
   * key share one loader call. A result loaded while an invalidation hit its key is returned to the
   * waiting callers but not stored. On loader failure, an expired value within `staleWhileErrorMs`
   * is served instead.
   */
  getOrLoad(key: string, loader: () => V | Promise<V>, options?: CacheEntryOptions): Promise<V> {
    const e = this.entries.get(key);
    if (e !== undefined && e.expiresAt > Date.now()) return e.promise ?? (e.promise = Promise.resolve(e.value));
    const inflight = this.loading.get(key);
    if (inflight) return inflight.promise;
    return this.load(key, loader, options);
  }

  /**
   * Drop matching entries here now, and on every other instance through the bus. Resolves when the
   * bus took the message (it never rejects because the broker is down: other instances then resync).
   */
  invalidate(what: CacheInvalidation): Promise<void> {
    const normalized = normalize(what);
    this.apply(normalized);
    if (this.closed) return Promise.resolve();
    return this.bus.publish(CACHE_INVALIDATE_TOPIC, { name: this.name, what: normalized });
  }

  /**
   * Invalidate (on this instance) whenever an event matching a pattern arrives. Every instance
   * receives the event itself, so nothing is re-broadcast. Returns a function removing the rules.
   *
   * @example
   * ```ts
   * cache.invalidateOn({
   *   'buttons.*': { tag: 'buttons' },
   *   'scenarios.*': (e) => ({ key: `scenario:${(e.data as { id: number }).id}` }),
   *   'settings.updated': { all: true },
   * });
   * ```
   */
  invalidateOn(rules: Record<string, InvalidationRule>): Unsubscribe {
    const offs = Object.entries(rules).map(([pattern, rule]) => {
      const fixed = typeof rule === 'function' ? undefined : normalize(rule);
      return this.bus.subscribe(pattern, (event) => {
        if (fixed) { this.apply(fixed); return; }
        const out = (rule as (e: SyncEnvelope) => CacheInvalidation | readonly CacheInvalidation[] | undefined)(event);
        if (out === undefined) return;
        for (const one of (Array.isArray(out) ? out : [out]) as CacheInvalidation[]) this.apply(normalize(one));
      });
    });
    this.offs.push(...offs);
    return () => { for (const off of offs) off(); };
  }

  /** Drop every local entry (and mark running loads as not to be stored). Not broadcast. */
  clear(): void {
    this.apply({ all: true });
  }

  /** Unsubscribe from the bus and drop everything. The bus itself stays open. */
  close(): void {
    this.closed = true;
    for (const off of this.offs.splice(0)) off();
    this.clear();
  }

  private load(key: string, loader: () => V | Promise<V>, options: CacheEntryOptions | undefined): Promise<V> {
    const tags = options?.tags;
    const slot: Loading<V> = { promise: undefined as unknown as Promise<V>, tags, invalidated: false };
    slot.promise = (async () => {
      try {
        const value = await loader();
        if (!slot.invalidated && !this.closed) this.set(key, value, options);
        return value;
      } catch (err) {
        const old = this.entries.get(key);
        if (old !== undefined && old.staleUntil > Date.now()) return old.value;
        throw err;
      } finally {
        if (this.loading.get(key) === slot) this.loading.delete(key);
      }
    })();
    this.loading.set(key, slot);
    return slot.promise;
  }

  private apply(what: Normalized): void {
    if ('all' in what) {
      this.entries.clear();
      this.tagIndex.clear();
      for (const slot of this.loading.values()) slot.invalidated = true;
      this.loading.clear();
      return;
    }
    if ('key' in what) {
      const e = this.entries.get(what.key);
      if (e) this.remove(what.key, e);
      this.dropLoading((key) => key === what.key);
    } else if ('prefix' in what) {
      for (const [key, e] of this.entries) if (key.startsWith(what.prefix)) this.remove(key, e);
      this.dropLoading((key) => key.startsWith(what.prefix));
    } else {
      const keys = this.tagIndex.get(what.tag);
      if (keys) for (const key of [...keys]) { const e = this.entries.get(key); if (e) this.remove(key, e); }
      this.dropLoading((_, slot) => slot.tags?.includes(what.tag) === true);
    }
  }

  private dropLoading(match: (key: string, slot: Loading<V>) => boolean): void {
    for (const [key, slot] of this.loading) {
      if (match(key, slot)) { slot.invalidated = true; this.loading.delete(key); }
    }
  }

  private remove(key: string, e: Entry<V>): void {
    this.entries.delete(key);
    if (e.tags) {
      for (const tag of e.tags) {
        const keys = this.tagIndex.get(tag);
        if (keys) { keys.delete(key); if (keys.size === 0) this.tagIndex.delete(tag); }
      }
    }
  }

  private evictOldest(): void {
    const first = this.entries.entries().next();
    if (!first.done) this.remove(first.value[0], first.value[1]);
  }
}
