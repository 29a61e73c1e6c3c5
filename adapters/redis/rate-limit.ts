import type { RateLimitBackend, RateLimitHit, RateLimitStoreOptions } from 'botwire';
import { BotwireConfigError, RateLimitStore } from 'botwire/adapter-kit';
import type { BackendErrorKind, BackendHealth } from 'botwire/adapter-kit';
import { RedisConnection } from './connection.js';
import { classifyRedisError } from './errors.js';
import { RATE_LIMIT_1 } from './lua/rate-limit-1.js';
import { isRedisLike, type RedisLike } from './redis-like.js';
import { luaScript, runScript } from './script.js';

/** Options of {@link redisRateLimitStore}. Pass exactly one of `client` and `url`. */
export interface RedisRateLimitStoreOptions extends Omit<RateLimitStoreOptions, 'prefix'> {
  /** A ready ioredis client (stays open on close). */
  client?: RedisLike;
  /** `redis://…` URL: botwire opens (and closes) its own connection, importing ioredis lazily. */
  url?: string;
  /**
   * Key prefix; botwire adds a `{…}` hash tag around the rest.
   * @default 'botwire:rl:'
   */
  prefix?: string;
}

const SCRIPT = luaScript('rate-limit-1', 1, RATE_LIMIT_1);

class RedisRateLimitBackend implements RateLimitBackend {
  readonly name = 'Redis';
  readonly #prefix: string;
  readonly #connection: RedisConnection;

  constructor(options: RedisRateLimitStoreOptions) {
    if ((options?.client === undefined) === (options?.url === undefined)) {
      throw new BotwireConfigError('redisRateLimitStore needs exactly one of `client` (an ioredis instance) or `url` (redis://…).');
    }
    if (options.client !== undefined && !isRedisLike(options.client)) {
      throw new BotwireConfigError('redisRateLimitStore `client` must be an ioredis client (with evalsha, eval and quit).');
    }
    const prefix = options.prefix ?? 'botwire:rl:';
    if (/[{}]/.test(prefix)) throw new BotwireConfigError(`Redis prefix "${prefix}" must not contain "{" or "}".`);
    this.#prefix = prefix;
    this.#connection = new RedisConnection(options.client, options.url, options.operationTimeoutMs ?? 2_000);
  }

  classifyError(err: unknown): BackendErrorKind | undefined {
    return classifyRedisError(err);
  }

  /** One `PING`. */
  health(): Promise<BackendHealth> {
    return this.#connection.ping();
  }

  async hit(key: string, limit: number, windowMs: number, sliding: boolean): Promise<RateLimitHit> {
    const client = await this.#connection.get();
    const [allowed, count, resetMs] = (await runScript(client, SCRIPT, [`${this.#prefix}{${key}}`], [limit, windowMs, sliding ? '1' : '0'])) as number[];
    return { allowed: allowed === 1, count: Number(count), resetMs: Number(resetMs) };
  }

  close(): Promise<void> {
    return this.#connection.close();
  }
}

/**
 * Rate-limit counters in Redis, shared by every instance: one Lua script (one round trip) per hit,
 * windows on the Redis server's clock, counters expire on their own after two windows.
 *
 * @example
 * ```ts
 * bot.use(rateLimit({ store: redisRateLimitStore({ url: process.env.REDIS_URL! }), limit: 10, windowMs: 60_000 }));
 * ```
 */
export function redisRateLimitStore(options: RedisRateLimitStoreOptions): RateLimitStore {
  // The Redis prefix lives in the backend (it must sit outside the hash tag); the store adds none.
  return new RateLimitStore(new RedisRateLimitBackend(options), { operationTimeoutMs: options.operationTimeoutMs, prefix: '' });
}
