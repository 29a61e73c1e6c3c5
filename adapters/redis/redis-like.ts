/**
 * The few ioredis methods botwire/redis calls, described structurally so that the published
 * `.d.ts` never imports `ioredis` and any client with the same shape (ioredis 5/6, a wrapper,
 * a counting proxy in tests) is accepted.
 *
 * @module
 */

/** Arguments after `numKeys` in EVAL/EVALSHA: the keys, then the script arguments. */
export type RedisArg = string | number;

/** A connection used only for SUBSCRIBE (what `duplicate()` returns). */
export interface RedisSubscriberLike {
  /** Subscribe to one channel; resolves once Redis confirmed it. */
  subscribe(channel: string): Promise<unknown>;
  /** `message` carries published text; `error` and `ready` are connection events. */
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  /** `pmessage` carries text published on a channel matching a PSUBSCRIBE pattern (botwire/redis sync). */
  on(event: 'pmessage', listener: (pattern: string, channel: string, message: string) => void): unknown;
  /** `close`: the socket closed (the client reconnects on its own). */
  on(event: 'close', listener: () => void): unknown;
  /** Subscribe to a channel pattern; resolves once Redis confirmed it (used by the sync bus). */
  psubscribe?(pattern: string): Promise<unknown>;
  /** Liveness check; allowed in subscriber mode (used by the sync bus's probe). */
  ping?(): Promise<unknown>;
  /** Close the connection at once, dropping anything in flight; `reconnect` = open it again right away. */
  disconnect(reconnect?: boolean): void;
}

/** A command pipeline (what ioredis's `pipeline()` returns): queued commands leave together on `exec()`. */
export interface RedisPipelineLike {
  /** Queue an EVALSHA. */
  evalsha(sha: string, numKeys: number, ...keysAndArgs: RedisArg[]): unknown;
  /** Queue an EVAL. */
  eval(script: string, numKeys: number, ...keysAndArgs: RedisArg[]): unknown;
  /** Queue any command, e.g. `WAIT`. */
  call(command: string, ...args: RedisArg[]): unknown;
  /** Send the queued commands; resolves with one `[error, reply]` per command. */
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

/**
 * A Redis client as botwire/redis uses it: an `ioredis` `Redis` instance fits.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisSessionStore } from 'botwire/redis';
 * const store = redisSessionStore({ client: new Redis(process.env.REDIS_URL!) });
 * ```
 */
export interface RedisLike {
  /** Run a cached script by SHA1; rejects with a `NOSCRIPT` error when the server does not know it. */
  evalsha(sha: string, numKeys: number, ...keysAndArgs: RedisArg[]): Promise<unknown>;
  /** Run a script from source (and cache it on the server). */
  eval(script: string, numKeys: number, ...keysAndArgs: RedisArg[]): Promise<unknown>;
  /**
   * Plain `GET` (sessions read with it when present: far cheaper on the server than a script).
   * Without it, reads fall back to a one-line script.
   */
  get?(key: string): Promise<string | null>;
  /** Plain `MGET` (session `getMany` on a non-Cluster server). */
  mget?(...keys: string[]): Promise<Array<string | null>>;
  /** Set by ioredis's `Cluster` client: multi-key commands across slots are not possible there. */
  readonly isCluster?: boolean;
  /**
   * A `Cluster` client's connections to its nodes (ioredis `nodes('all')`); the sync bus opens its
   * subscriber as a `duplicate()` of one of them, so that a dropped subscription is noticed.
   */
  nodes?(role?: 'all' | 'master' | 'slave'): RedisLike[];
  /** Send a pub/sub message; resolves with the number of receivers (used by the sync bus). */
  publish?(channel: string, message: string): Promise<unknown>;
  /**
   * A new connection with the same settings, for subscribers. ioredis's `Redis` takes option
   * overrides; its `Cluster` takes startup nodes first and options second.
   */
  duplicate?(override?: Record<string, unknown> | readonly unknown[], clusterOverride?: Record<string, unknown>): RedisSubscriberLike;
  /** A pipeline; used only by the `durability` option, to send `WAIT` in the same round trip as each write. */
  pipeline?(): RedisPipelineLike;
  /**
   * Re-read the slot map (ioredis's `Cluster`); the `durability` option calls it when a node
   * refused a pipelined write with `MOVED`/`CLUSTERDOWN` during a failover.
   */
  refreshSlotsCache?(callback?: (err?: Error | null) => void): void;
  /** `PING` (health checks); without it a one-line script is run instead. */
  ping?(): Promise<unknown>;
  /** Connection state (`wait`, `connecting`, `ready`, `reconnecting`, `end` …). */
  readonly status?: string;
  /** Open a connection created with `lazyConnect`. */
  connect?(): Promise<unknown>;
  /** Close gracefully after pending replies. */
  quit(): Promise<unknown>;
  /** Close at once. */
  disconnect?(): void;
}

/** True when `value` has the methods botwire/redis needs (detected by shape, never `instanceof`). */
export function isRedisLike(value: unknown): value is RedisLike {
  const v = value as Partial<RedisLike> | null;
  return typeof v === 'object' && v !== null && typeof v.evalsha === 'function' && typeof v.eval === 'function' &&
    typeof v.quit === 'function';
}

/**
 * A subscriber connection of `client` with `options` (ioredis `Redis` options). A `Cluster`
 * client's `duplicate` takes startup nodes first and per-node settings under `redisOptions`; its
 * own reconnect policy (`clusterRetryStrategy`) replaces `retryStrategy`.
 */
export function duplicateFor(client: RedisLike, options: Record<string, unknown>): RedisSubscriberLike {
  if (client.isCluster !== true) return client.duplicate!(options);
  const { enableOfflineQueue, lazyConnect, retryStrategy: _unused, ...node } = options;
  return client.duplicate!([], { enableOfflineQueue, lazyConnect, redisOptions: node });
}
