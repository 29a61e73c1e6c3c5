import type { SemaphoreAttempt, SemaphoreBackend } from 'botwire/jobs';
import { BotwireConfigError, type BackendErrorKind } from 'botwire/adapter-kit';
import { RedisConnection } from './connection.js';
import { classifyRedisError } from './errors.js';
import { semaphoreAcquire, semaphoreExtend, semaphoreRelease } from './lua/semaphore-1.js';
import { isRedisLike, type RedisLike } from './redis-like.js';
import { ReleaseNotifier } from './release-notifier.js';
import { runScript } from './script.js';

/** Options of {@link redisSemaphoreBackend}. Pass exactly one of `client` and `url`. */
export interface RedisSemaphoreBackendOptions {
  /** A ready client (an ioredis `Redis` fits). Stays yours: `close()` never quits it. */
  client?: RedisLike;
  /** Connect to this URL instead (botwire loads `ioredis` lazily and closes it on `close()`). */
  url?: string;
  /**
   * Start of every key; botwire adds a `{<name>}` hash tag per semaphore, so each one is
   * cluster-safe. Use one prefix per app and environment.
   * @default 'botwire:sem:'
   */
  prefix?: string;
  /**
   * Time allowed for connecting when botwire opens the connection from `url`.
   * @default 5_000
   */
  connectTimeoutMs?: number;
}

/**
 * Semaphore holders in Redis: one zset per name (token → lease end), each step one Lua script
 * (adapters/redis/lua/semaphore-1.ts). Waiters hear releases over pub/sub: a failed acquire marks
 * the name, releases publish while the mark lives, and one lazily opened subscriber connection
 * wakes this process's waiters.
 */
class RedisSemaphoreBackend implements SemaphoreBackend {
  readonly name = 'Redis';
  readonly #prefix: string;
  readonly #conn: RedisConnection;
  readonly #notifier: ReleaseNotifier;

  constructor(options: RedisSemaphoreBackendOptions) {
    if (options === null || typeof options !== 'object' || (options.client === undefined) === (options.url === undefined)) {
      throw new BotwireConfigError('redisSemaphoreBackend needs exactly one of `client` (an ioredis `Redis`) or `url` (redis://…).');
    }
    if (options.client !== undefined && !isRedisLike(options.client)) {
      throw new BotwireConfigError('redisSemaphoreBackend: `client` must be a Redis client with evalsha/eval/quit (e.g. an ioredis `Redis`).');
    }
    const prefix = options.prefix ?? 'botwire:sem:';
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
      throw new BotwireConfigError(`redisSemaphoreBackend: prefix must be a string without "{" or "}", got ${JSON.stringify(prefix)}.`);
    }
    this.#prefix = prefix;
    this.#conn = new RedisConnection(options.client, options.url, options.connectTimeoutMs ?? 5_000);
    this.#notifier = new ReleaseNotifier(`${prefix}released`, () => this.#conn.get());
  }

  #key(name: string): string {
    return `${this.#prefix}{${name}}`;
  }

  classifyError(err: unknown): BackendErrorKind | undefined {
    return classifyRedisError(err);
  }

  async tryAcquire(name: string, token: string, limit: number, leaseMs: number, now: number): Promise<SemaphoreAttempt> {
    const key = this.#key(name);
    const sentAt = performance.now();
    const wait = Number(await runScript(await this.#conn.get(), semaphoreAcquire, [key], [token, limit, leaseMs, now]));
    if (wait === 0) return { ok: true };
    this.#notifier.failed(key, sentAt);
    return { ok: false, retryInMs: wait };
  }

  async extend(name: string, token: string, leaseMs: number, now: number): Promise<boolean> {
    return (await runScript(await this.#conn.get(), semaphoreExtend, [this.#key(name)], [token, leaseMs, now])) === 1;
  }

  async release(name: string, token: string): Promise<boolean> {
    return (await runScript(await this.#conn.get(), semaphoreRelease, [this.#key(name)], [token])) === 1;
  }

  waitForRelease(name: string, timeoutMs: number): Promise<void> {
    return this.#notifier.wait(this.#key(name), timeoutMs);
  }

  async close(): Promise<void> {
    this.#notifier.close();
    await this.#conn.close();
  }
}

/**
 * A {@link SemaphoreBackend} on Redis, for `semaphore()` from `botwire/jobs`: at most `limit`
 * holders of a name across every process on the same Redis; a crashed holder's permit frees when
 * its lease lapses, and waiters are woken by releases over pub/sub.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { semaphore } from 'botwire/jobs';
 * import { redisSemaphoreBackend } from 'botwire/redis';
 * const ai = semaphore(redisSemaphoreBackend({ client: new Redis(process.env.REDIS_URL!) }), 'openai', { limit: 3 });
 * await using permit = await ai.acquire();
 * ```
 */
export function redisSemaphoreBackend(options: RedisSemaphoreBackendOptions): SemaphoreBackend {
  return new RedisSemaphoreBackend(options);
}
