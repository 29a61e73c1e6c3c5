import { importPeer, type BackendHealth } from 'botwire/adapter-kit';
import type { RedisLike } from './redis-like.js';

/**
 * Hands out the Redis client for each operation. A client the user passed in is used as is; with a
 * `url`, ioredis is imported on first use and configured to fail fast, because its defaults queue
 * commands offline for ~10 s and replay unanswered ones after a reconnect (a timed-out write could
 * then still land later).
 */
export class RedisConnection {
  /** True when botwire opened the connection and must close it. */
  readonly owned: boolean;
  readonly #url: string | undefined;
  readonly #timeoutMs: number;
  #client: RedisLike | undefined;
  #opening: Promise<RedisLike> | undefined;
  #connecting: Promise<unknown> | undefined;
  #closed = false;

  constructor(client: RedisLike | undefined, url: string | undefined, timeoutMs: number) {
    this.#client = client;
    this.#url = url;
    this.#timeoutMs = timeoutMs;
    this.owned = client === undefined;
  }

  /**
   * The client when it can take a command right now (the hot path, no await), else undefined and
   * the caller goes through {@link get}.
   */
  ready(): RedisLike | undefined {
    const client = this.#client;
    if (!client || this.#closed || this.#connecting) return undefined;
    if (this.owned && (client.status === 'wait' || client.status === 'end')) return undefined;
    return client;
  }

  /** The client, connected as far as botwire controls it. */
  async get(): Promise<RedisLike> {
    if (this.#closed) throw new Error('Connection is closed.');
    const client = this.#client ?? (await (this.#opening ??= this.#open()));
    if (this.owned && (client.status === 'wait' || client.status === 'end') && client.connect) {
      // Without an offline queue, commands sent before `ready` fail; wait for the first connect
      // (or a reconnect after `end`) but let reconnects in progress fail fast.
      this.#connecting ??= client.connect().finally(() => { this.#connecting = undefined; });
    }
    if (this.#connecting) await this.#connecting;
    return client;
  }

  async #open(): Promise<RedisLike> {
    const mod = (await importPeer('ioredis', 'botwire/redis (connecting by `url`; or pass a ready `client`)', () => import('ioredis'))) as Record<string, unknown>;
    const fallback = mod.default as Record<string, unknown> | undefined;
    const Redis = (mod.Redis ?? fallback?.Redis ?? fallback) as new (url: string, options: object) => RedisLike & {
      on(event: 'error', listener: (err: Error) => void): unknown;
    };
    const client = new Redis(this.#url!, {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 1,
      connectTimeout: Math.min(this.#timeoutMs, 10_000),
      retryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
    });
    // Connection errors surface as rejected operations (BackendUnavailableError); without a
    // listener ioredis would print every reconnect failure as an unhandled error event.
    client.on('error', () => {});
    if (this.#closed) client.disconnect?.();
    this.#client = client;
    return client;
  }

  /** One `PING` (health checks): resolves when Redis answered. */
  async ping(): Promise<BackendHealth> {
    const client = await this.get();
    if (client.ping) await client.ping();
    else await client.eval('return 1', 0);
    return { details: client.status === undefined ? {} : { status: client.status } };
  }

  /** Quit the connection if botwire opened it; a user's client stays open. */
  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    if (!this.owned || !client) return;
    try {
      await client.quit();
    } catch {
      client.disconnect?.();
    }
  }
}
