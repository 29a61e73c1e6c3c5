import { BotwireConfigError } from '../errors.js';
import { callBackend } from '../adapter-kit/backend-call.js';
import { batchSize, positiveMs } from '../internal/validate.js';
import { probeHealth, type HealthReport } from '../health.js';
import type { RateLimitBackend, RateLimitHit } from './rate-limit-backend.js';

/** Options of {@link RateLimitStore}. */
export interface RateLimitStoreOptions {
  /**
   * Upper bound for one backend call; an unreachable backend raises `BackendUnavailableError`.
   * @default 2_000
   */
  operationTimeoutMs?: number;
  /**
   * Prepended to every key so that several limiters can share one backend.
   * @default 'rl:'
   */
  prefix?: string;
}

/**
 * Atomic per-window counters shared by every instance of a bot: the storage behind `rateLimit()`.
 * Made by `memoryRateLimitStore()`, `redisRateLimitStore(…)` or `postgresRateLimitStore(…)`.
 *
 * @example
 * ```ts
 * const limits = memoryRateLimitStore();
 * const { allowed } = await limits.hit('user:42', { limit: 10, windowMs: 60_000 });
 * ```
 */
export class RateLimitStore {
  /** The adapter doing the counting. */
  readonly backend: RateLimitBackend;
  /** Prepended to every key before it reaches the backend. */
  readonly prefix: string;
  readonly #timeoutMs: number;

  constructor(backend: RateLimitBackend, options: RateLimitStoreOptions = {}) {
    this.backend = backend;
    this.prefix = options.prefix ?? 'rl:';
    this.#timeoutMs = positiveMs('operationTimeoutMs', options.operationTimeoutMs ?? 2_000);
  }

  /** Count one hit for `key`; one round trip. Denied hits are not counted. */
  hit(key: string, options: { limit: number; windowMs: number; sliding?: boolean }): Promise<RateLimitHit> {
    if (typeof key !== 'string' || key.length === 0 || key.length > 512) throw new BotwireConfigError('A rate-limit key must be a string of 1–512 characters.');
    const { limit, windowMs } = options;
    if (!(Number.isInteger(limit) && limit >= 1)) throw new BotwireConfigError(`rate limit must be an integer >= 1, got ${String(limit)}.`);
    if (!(Number.isInteger(windowMs) && windowMs >= 1)) {
      throw new BotwireConfigError(`rate limit windowMs must be an integer number of milliseconds >= 1, got ${String(windowMs)}.`);
    }
    return callBackend(this.backend, 'rateLimit', this.#timeoutMs,
      () => this.backend.hit(this.prefix + key, limit, windowMs, options.sliding ?? false), key);
  }

  /**
   * Delete counters whose windows are over, in batches of `batchSize`, until none are left or
   * `budgetMs` has passed; returns how many were removed. 0 on backends whose counters expire on
   * their own (memory, Redis).
   */
  async cleanup(options: { batchSize?: number; budgetMs?: number } = {}): Promise<number> {
    const { backend } = this;
    if (!backend.cleanup) return 0;
    const batch = batchSize(options.batchSize, 1_000);
    const until = options.budgetMs === undefined ? Infinity : Date.now() + positiveMs('budgetMs', options.budgetMs);
    let total = 0;
    for (;;) {
      const n = await callBackend(backend, 'rateLimitCleanup', this.#timeoutMs, () => backend.cleanup!(batch));
      total += n;
      if (n < batch || Date.now() >= until) return total;
    }
  }

  /**
   * One bounded round trip to the backend when the adapter has a check; otherwise `ok` with
   * `details.probe: 'none'` (a hit would count). Never rejects.
   */
  health(): Promise<HealthReport> {
    const { backend } = this;
    return probeHealth(backend, this.#timeoutMs, backend.health ? () => backend.health!() : async () => ({ details: { probe: 'none' } }));
  }

  /** Stage in which `shutdown()` closes it: after workers, gateways and buses. */
  readonly shutdownStage = 'store';

  /** Close connections the adapter opened itself. */
  async close(): Promise<void> {
    await this.backend.close?.();
  }
}
