import { callBackend } from 'botwire/adapter-kit';
import { isCrossSlot, REDIS } from './errors.js';
import { sessionGet } from './lua/session-get-1.js';
import type { RedisLike } from './redis-like.js';
import { runScript } from './script.js';
import { InFlight } from './script-batcher.js';

type Settle = [resolve: (value: string | null) => void, reject: (err: unknown) => void];

interface Batch {
  client: RedisLike;
  keys: string[];
  settle: Settle[];
}

/**
 * Reads record strings, merging the reads requested in one tick into `MGET`s (a lone read stays a
 * plain `GET`). Each read still costs its caller exactly one round trip, but the server runs one
 * command instead of N and the client builds and parses one. A batch leaves at the end of the tick,
 * or earlier once it holds half of the calls in flight on the connection, reads and scripts alike
 * (`InFlight`, the rule of `ScriptBatcher`): one MGET of
 * everything made client and server take turns idling (16 gets in flight: 0.80–1.04× of
 * storage-redis's plain GETs; leaving early: 1.12×). On Redis Cluster (a `Cluster` client, or a
 * server that refused a multi-slot `MGET` with `CROSSSLOT` once) every read is its own `GET`, all
 * sent back to back. Clients without `get` read through a one-line script.
 *
 * `MGET` answers nil for a key holding a non-string value where `GET` would fail with `WRONGTYPE`;
 * such a key is not botwire's layout, and the next write to it still fails loudly, never overwrites.
 */
export class ReadBatcher {
  #multi = true;
  #pending: Batch | undefined;
  /** Calls sent and not answered yet on this connection (what decides when a batch leaves). */
  readonly #inFlight: InFlight;
  readonly #timeoutMs: number;

  /**
   * @param timeoutMs every command rejects with BackendUnavailableError unanswered after this long
   * @param inFlight shared with the other batchers writing to the same connection
   */
  constructor(timeoutMs: number, inFlight = new InFlight()) {
    this.#timeoutMs = timeoutMs;
    this.#inFlight = inFlight;
  }

  #bounded<T>(run: () => Promise<T>): Promise<T> {
    return callBackend(REDIS, 'get', this.#timeoutMs, run);
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
    const b = batch;
    return new Promise((resolve, reject) => {
      b.keys.push(key);
      b.settle.push([resolve, reject]);
      // Leave early once the batch holds half of what is in flight (see ScriptBatcher): waiting
      // for the whole turn's reads made client and server take turns idling.
      if (this.#inFlight.full(b.keys.length)) this.#flush(b);
    });
  }

  #flush(batch: Batch): void {
    if (this.#pending === batch) this.#pending = undefined;
    const { client, keys, settle } = batch;
    if (keys.length === 0) return;
    batch.keys = [];
    batch.settle = [];
    const n = keys.length;
    this.#inFlight.calls += n;
    const done = (): void => { this.#inFlight.calls -= n; };
    if (n === 1) {
      this.#bounded(() => client.get!(keys[0]!)).then((v) => { done(); settle[0]![0](v); }, (err: unknown) => { done(); settle[0]![1](err); });
      return;
    }
    this.#bounded(() => client.mget!(...keys)).then(
      (values) => {
        done();
        for (let i = 0; i < settle.length; i++) settle[i]![0](values[i] ?? null);
      },
      (err: unknown) => {
        done();
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
