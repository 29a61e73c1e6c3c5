import { callBackend } from '../../src/internal/backend-call.js';
import type { RedisArg, RedisLike } from './redis-like.js';
import { batchScript, runScript, type LuaScript } from './script.js';

interface Call {
  keys: readonly string[];
  args: readonly RedisArg[];
  /** Applied to the reply before the caller sees it (one promise less per call than a `then`). */
  map: ((reply: unknown) => unknown) | undefined;
  resolve: (reply: unknown) => void;
  reject: (err: unknown) => void;
}

/** Settle `c` with its mapped reply (a throwing map rejects it). */
function answer(c: Call, reply: unknown): void {
  if (!c.map) { c.resolve(reply); return; }
  try {
    c.resolve(c.map(reply));
  } catch (err) {
    c.reject(err);
  }
}

interface Batch {
  client: RedisLike;
  script: LuaScript;
  calls: Call[];
}

/**
 * The smallest batch that goes out at once instead of at the end of the loop turn. Waiting for
 * everything in flight made callers move in lockstep (client and server taking turns idling): 16
 * ops in flight on one store ran `set` at 0.52× grammY's storage-redis with batches of 16, 0.88×
 * with batches of 4.
 */
export const BATCH_FLUSH_AT = 4;

/** The largest batch: bounds one script run's time on the server. */
export const BATCH_FLUSH_MAX = 32;

/**
 * A batch goes out once it holds 1/this of the calls outstanding (sent and not yet answered, plus
 * its own): so about this many commands are in flight, enough for the server to work on one while
 * the client reads the other's reply, and no more (each command costs the client a socket write,
 * ~15 µs of CPU with ioredis on this machine's loopback, and the server a read, a parse and a
 * write). With 50 middleware updates in flight, paired runs measured per update: fixed batches of
 * 4: ~43 µs client CPU; 1/4 of those outstanding: ~36 µs client, ~20 µs Redis; 1/2: ~33 µs client,
 * ~18 µs Redis (grammY + storage-redis: ~40 / ~18 µs).
 */
const BATCHES_IN_FLIGHT = 2;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isNoScript(err: unknown): boolean {
  return message(err).includes('NOSCRIPT');
}

function isCrossSlot(err: unknown): boolean {
  return message(err).includes('CROSSSLOT');
}

/**
 * Runs the calls of one script requested in the same loop turn as ONE EVALSHA of its batch form (see
 * {@link batchScript}); a lone call stays a plain EVALSHA of the script itself. Each caller still
 * waits exactly one round trip, but with many updates in flight the client builds and writes, and
 * the server reads and dispatches, one command instead of dozens: the same idea as the `MGET` that
 * merges concurrent reads (`ReadBatcher`). Not used on Redis Cluster, where the keys of one batch
 * would span slots.
 */
export class ScriptBatcher {
  readonly #timeoutMs: number;
  readonly #batchForms = new Map<LuaScript, LuaScript>();
  readonly #pending = new Map<LuaScript, Batch>();
  /** False once the server refused a multi-key batch with CROSSSLOT (a cluster node behind a plain client). */
  #multi = true;
  /** Calls sent and not answered yet (what decides the batch size). */
  #outstanding = 0;

  /**
   * @param timeoutMs every command (one batch or a lone call) rejects with BackendUnavailableError
   *   when Redis has not answered within this long: one deadline per command, not per call
   */
  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** One command under the deadline. */
  #bounded<T>(name: string, run: () => Promise<T>): Promise<T> {
    return callBackend('Redis', name, this.#timeoutMs, run);
  }

  /** Send one (already counted) call as a plain EVALSHA. */
  #runOne(client: RedisLike, script: LuaScript, c: Call): void {
    this.#bounded(script.name, () => runScript(client, script, c.keys, c.args))
      .then((r) => { this.#outstanding--; answer(c, r); }, (err: unknown) => { this.#outstanding--; c.reject(err); });
  }

  /**
   * Run `script` with `keys`/`args` (a fixed argument count per script), batched with its
   * tick-mates; resolves with `map(reply)` when `map` is given.
   */
  run<R = unknown>(client: RedisLike, script: LuaScript, keys: readonly string[], args: readonly RedisArg[], map?: (reply: unknown) => R): Promise<R> {
    if (!this.#multi || client.isCluster === true) {
      const sent = this.#bounded(script.name, () => runScript(client, script, keys, args));
      return (map ? sent.then(map) : sent) as Promise<R>;
    }
    let batch = this.#pending.get(script);
    if (!batch || batch.client !== client) {
      const fresh: Batch = { client, script, calls: [] };
      this.#pending.set(script, (batch = fresh));
      // At the end of this loop turn, so that calls made from other I/O callbacks and timers of
      // the same turn join (a handler finishing after an awaited reply or setImmediate does).
      setImmediate(() => this.#flush(fresh));
    }
    const b = batch;
    return new Promise<R>((resolve, reject) => {
      b.calls.push({ keys, args, map, resolve: resolve as (reply: unknown) => void, reject });
      const n = b.calls.length;
      if (n >= BATCH_FLUSH_AT && (n >= BATCH_FLUSH_MAX || n * BATCHES_IN_FLIGHT >= this.#outstanding + n)) this.#flush(b);
    });
  }

  #flush(batch: Batch): void {
    if (batch.calls.length === 0) return;
    if (this.#pending.get(batch.script) === batch) this.#pending.delete(batch.script);
    const { client, script } = batch;
    const calls = batch.calls;
    batch.calls = [];
    this.#outstanding += calls.length;
    this.#send(client, script, calls);
  }

  #send(client: RedisLike, script: LuaScript, calls: Call[]): void {
    const perCall = calls[0]!.args.length;
    if (calls.length === 1 || calls.some((c) => c.args.length !== perCall || c.keys.length !== script.numKeys)) {
      for (const c of calls) this.#runOne(client, script, c);
      return;
    }
    let form = this.#batchForms.get(script);
    if (!form) this.#batchForms.set(script, (form = batchScript(script)));
    const keys: string[] = [];
    const args: RedisArg[] = [calls.length, perCall];
    for (const c of calls) {
      for (const k of c.keys) keys.push(k);
      for (const a of c.args) args.push(a);
    }
    const settle = (replies: unknown): void => {
      this.#outstanding -= calls.length;
      const list = replies as unknown[];
      for (let i = 0; i < calls.length; i++) {
        const r = list[i];
        if (r instanceof Error) calls[i]!.reject(r);
        else answer(calls[i]!, r);
      }
    };
    const fail = (err: unknown): void => {
      this.#outstanding -= calls.length;
      for (const c of calls) c.reject(err);
    };
    const source = form.source;
    const retry = (err: unknown): void => {
      // Refused before running anything: the keys span slots. Send each call on its own from now on.
      if (!isCrossSlot(err)) return fail(err);
      this.#multi = false;
      for (const c of calls) this.#runOne(client, script, c);
    };
    const sha = form.sha;
    this.#bounded(script.name, () => client.evalsha(sha, keys.length, ...keys, ...args).catch((err: unknown) => {
      // The server lost its script cache (restart, failover, SCRIPT FLUSH): EVAL caches it again.
      if (!isNoScript(err)) throw err;
      return client.eval(source, keys.length, ...keys, ...args);
    })).then(settle, retry);
  }
}
