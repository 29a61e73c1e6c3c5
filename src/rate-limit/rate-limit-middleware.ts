import { BotwireConfigError } from '../errors.js';
import { errorFields, type Logger } from '../logger.js';
import type { RateLimitBackend, RateLimitHit } from './rate-limit-backend.js';
import { RateLimitStore } from './rate-limit-store.js';

/** Options of `rateLimit()` in `botwire/grammy` and `botwire/telegraf`. */
export interface RateLimitOptions<C> {
  /** Where counters live: `memoryRateLimitStore()`, `redisRateLimitStore(…)`, `postgresRateLimitStore(…)`. */
  store?: RateLimitStore;
  /** A raw backend instead of a store (wrapped with the default store options). */
  backend?: RateLimitBackend;
  /** Updates allowed per window and key. */
  limit: number;
  /** Window length in milliseconds, e.g. `60_000` for "per minute". */
  windowMs: number;
  /**
   * `'fixed'` counts per calendar window; `'sliding'` smooths the edges (two-counter estimate).
   * @default 'fixed'
   */
  window?: 'fixed' | 'sliding';
  /**
   * Whom to count; `undefined` lets the update through uncounted.
   * @default the sender's user id
   */
  key?: (ctx: C) => string | undefined | Promise<string | undefined>;
  /** Called instead of the rest of the middleware chain when the limit is reached. @default drop silently */
  onLimited?: (ctx: C, hit: RateLimitHit) => unknown;
  /**
   * When the backend cannot be reached: `'allow'` lets the update through (and logs a warning),
   * `'fail'` fails the update with the typed error.
   * @default 'allow'
   */
  onBackendError?: 'allow' | 'fail';
  /** Receives a warning (`key`, `error`) when the backend fails. */
  logger?: Pick<Logger, 'warn'>;
}

/** Framework-neutral rate-limit middleware; the framework files only pass the default key. */
export function createRateLimitMiddleware<C>(
  options: RateLimitOptions<C>,
  defaultKey: (ctx: C) => string | undefined,
): (ctx: C, next: () => Promise<void>) => Promise<void> {
  const store = options.store ?? (options.backend ? new RateLimitStore(options.backend) : undefined);
  if (!store) throw new BotwireConfigError('rateLimit() needs `store` (e.g. memoryRateLimitStore() from botwire/memory) or `backend`.');
  const { limit, windowMs } = options;
  if (!(Number.isInteger(limit) && limit >= 1)) throw new BotwireConfigError(`rateLimit limit must be an integer >= 1, got ${String(limit)}.`);
  if (!(Number.isInteger(windowMs) && windowMs >= 1)) throw new BotwireConfigError(`rateLimit windowMs must be an integer >= 1, got ${String(windowMs)}.`);
  const sliding = options.window === 'sliding';
  const getKey = options.key ?? defaultKey;
  const failOpen = (options.onBackendError ?? 'allow') === 'allow';
  return async function botwireRateLimit(ctx: C, next: () => Promise<void>): Promise<void> {
    const key = await getKey(ctx);
    if (key === undefined) return next();
    let hit: RateLimitHit;
    try {
      hit = await store.hit(key, { limit, windowMs, sliding });
    } catch (err) {
      if (!failOpen) throw err;
      options.logger?.warn({ key, error: errorFields(err) }, 'botwire rateLimit: backend failed; letting the update through');
      return next();
    }
    if (hit.allowed) return next();
    await options.onLimited?.(ctx, hit);
  };
}
