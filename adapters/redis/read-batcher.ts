import { callBackend } from '../../src/internal/backend-call.js';
import { sessionGet } from './lua/session-get-1.js';
import type { RedisLike } from './redis-like.js';
import { runScript } from './script.js';

type Settle = [resolve: (value: string | null) => void, reject: (err: unknown) => void];

interface Batch {
  client: RedisLike;
  keys: string[];
  settle: Settle[];
}

function isCrossSlot(err: unknown): boolean {
  return String((err as Error | null)?.message ?? err).includes('CROSSSLOT');
}

/**
 * Reads record strings, merging the reads requested in one tick into ONE `MGET` (a lone read stays a
 * plain `GET`). Each read still costs its caller exactly one round trip, but the server runs one
 * command instead of N and the client builds and parses one. On Redis Cluster (a `Cluster` client,
 * or a server that refused a multi-slot `MGET` with `CROSSSLOT` once) every read is its own `GET`,
 * all sent back to back. Clients without `get` read through a one-line script.
 *
 * `MGET` answers nil for a key holding a non-string value where `GET` would fail with `WRONGTYPE`;
 * such a key is not botwire's layout, and the next write to it still fails loudly, never overwrites.
 */
export class ReadBatcher {
  #multi = true;
  #pending: Batch | undefined;
  readonly #timeoutMs: number;

  /** @param timeoutMs every command rejects with BackendUnavailableError unanswered after this long */
  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  #bounded<T>(run: () => Promise<T>): Promise<T> {
    return callBackend('Redis', 'get', this.#timeoutMs, run);
  }

  /** The stored string at `key`, or null. */
  read(client: RedisLike, key: string): Promise<string | null> {
    if (!client.get) return this.#bounded(() => runScript(client, sessionGet, [key], []) as Promise<string | null>);
    if (!this.#multi || !client.mget || client.isCluster === true) return this.#bounded(() => client.get!(key));
    let batch = this.#pending;
    if (!batch || batch.client !== client) {
      const fresh: Batch = { client, keys: [], settle: [] };
      this.#pending = batch = fresh;
      // After the microtasks now running (which may ask for more reads) and before any I/O.
      process.nextTick(() => this.#flush(fresh));
    }
    const { keys, settle } = batch;
    return new Promise((resolve, reject) => {
      keys.push(key);
      settle.push([resolve, reject]);
    });
  }

  #flush(batch: Batch): void {
    if (this.#pending === batch) this.#pending = undefined;
    const { client, keys, settle } = batch;
    if (keys.length === 1) {
      this.#bounded(() => client.get!(keys[0]!)).then(settle[0]![0], settle[0]![1]);
      return;
    }
    this.#bounded(() => client.mget!(...keys)).then(
      (values) => {
        for (let i = 0; i < settle.length; i++) settle[i]![0](values[i] ?? null);
      },
      (err: unknown) => {
        if (!isCrossSlot(err)) {
          for (const [, reject] of settle) reject(err);
          return;
        }
        this.#multi = false;
        keys.forEach((k, i) => this.#bounded(() => client.get!(k)).then(settle[i]![0], settle[i]![1]));
      },
    );
  }
}
