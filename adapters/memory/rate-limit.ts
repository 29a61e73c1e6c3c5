import type { RateLimitBackend, RateLimitHit, RateLimitStoreOptions } from 'botwire';
import { decideHit, RateLimitStore, type WindowCounter } from 'botwire/adapter-kit';

/** Options of {@link memoryRateLimitStore}. */
export interface MemoryRateLimitStoreOptions extends RateLimitStoreOptions {
  /** Clock in epoch milliseconds; inject one in tests. @default Date.now */
  now?: () => number;
}

class MemoryRateLimitBackend implements RateLimitBackend {
  readonly name = 'memory';
  readonly #counters = new Map<string, WindowCounter & { windowMs: number }>();
  readonly #now: () => number;
  #hits = 0;

  constructor(now: () => number) {
    this.#now = now;
  }

  async hit(key: string, limit: number, windowMs: number, sliding: boolean): Promise<RateLimitHit> {
    const now = this.#now();
    const { next, hit } = decideHit(this.#counters.get(key), now, limit, windowMs, sliding);
    this.#counters.set(key, { ...next, windowMs });
    // Counters older than two windows say nothing any more: sweep now and then so memory stays bounded.
    if (++this.#hits % 1_000 === 0) {
      for (const [k, c] of this.#counters) if (c.window < Math.floor(now / c.windowMs) - 1) this.#counters.delete(k);
    }
    return hit;
  }
}

/**
 * Rate-limit counters in this process's memory: for one instance and for tests. Use the Redis or
 * Postgres store when several instances must share the limit.
 *
 * @example
 * ```ts
 * bot.use(rateLimit({ store: memoryRateLimitStore(), limit: 10, windowMs: 60_000 }));
 * ```
 */
export function memoryRateLimitStore(options: MemoryRateLimitStoreOptions = {}): RateLimitStore {
  return new RateLimitStore(new MemoryRateLimitBackend(options.now ?? Date.now), options);
}
