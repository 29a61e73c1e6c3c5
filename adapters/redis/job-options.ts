import type { JobQueueOptions } from 'botwire/jobs';
import { BotwireConfigError } from 'botwire/adapter-kit';
import type { RedisDurability } from './durability.js';
import { isRedisLike, type RedisLike } from './redis-like.js';

/** Connection options of the Redis job backend. */
export interface RedisJobBackendOptions {
  /** A ready client (an ioredis `Redis` fits). Stays yours: `close()` never quits it. */
  client?: RedisLike;
  /** Connect to this URL instead (botwire loads `ioredis` lazily and closes it on `close()`). */
  url?: string;
  /**
   * Start of every key. It becomes a Redis Cluster hash tag `{<prefix>}`, so all keys of one queue
   * live in one slot and every script is cluster-safe. Use one prefix per queue (app, environment).
   * @default 'botwire:j:'
   */
  prefix?: string;
  /**
   * Time allowed for connecting when botwire opens the connection from `url`.
   * @default 5_000
   */
  connectTimeoutMs?: number;
  /**
   * Opt in to replica acknowledgement: every state change (add, claim, complete, fail …; not the
   * reads) is followed by `WAIT replicas timeoutMs` in the same round trip and rejects with
   * `BackendDurabilityError` when fewer replicas confirmed it, so an added job or a completion
   * survives the failover of its primary.
   * @default undefined (asynchronous replication)
   */
  durability?: RedisDurability;
}

/** Options of `redisJobQueue`: where the jobs live plus every {@link JobQueueOptions} option. */
export interface RedisJobQueueOptions extends JobQueueOptions, RedisJobBackendOptions {}

/** Infinity and huge values as a number Lua reads exactly. */
export function finiteMax(ms: number): number {
  return Number.isFinite(ms) ? Math.min(ms, Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;
}

/** The key base `{<prefix>}` of a queue, after checking the connection options. */
export function keyBase(options: RedisJobBackendOptions): string {
  const { client, url } = options ?? {};
  if (client !== undefined && !isRedisLike(client)) {
    throw new BotwireConfigError('redisJobQueue: `client` must be a Redis client with evalsha/eval/quit (e.g. an ioredis `Redis`).');
  }
  if (!client && !url) throw new BotwireConfigError('redisJobQueue needs a `client` (an ioredis `Redis`) or a `url` such as redis://localhost:6379.');
  const prefix = options.prefix ?? 'botwire:j:';
  if (typeof prefix !== 'string' || prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new BotwireConfigError(`redisJobQueue: prefix must be a non-empty string without "{" or "}", got ${JSON.stringify(prefix)}.`);
  }
  return `{${prefix}}`;
}
