import { callBackend } from 'botwire/adapter-kit';
import { isCrossSlot, isNoScript, REDIS } from './errors.js';
import type { RedisArg, RedisLike } from './redis-like.js';
import { BATCH_SEP, batchScripts, runScript, scriptArgCount, type LuaScript } from './script.js';

interface Call {
  script: LuaScript;
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

/** True when no argument holds the batch form's separator (numbers never do). */
function packable(args: readonly RedisArg[]): boolean {
  for (const a of args) if (typeof a === 'string' && a.includes(BATCH_SEP)) return false;
  return true;
}

/**
 * Calls sent on one connection and not answered yet, shared by the batchers writing to it (a
 * store's reads and scripts): what decides when a batch leaves is everything in flight, not just
 * the batcher's own. Counted separately, the reads of a middleware whose writes were in flight
 * left in batches of 4 (0.28 instead of 0.15 commands and ~9 µs more client CPU per update).
 */
export class InFlight {
  calls = 0;

  /** True when a batch of `n` should leave now rather than at the end of the loop turn. */
  full(n: number): boolean {
    return n >= BATCH_FLUSH_AT && (n >= BATCH_FLUSH_MAX || n * BATCHES_IN_FLIGHT >= this.calls + n);
  }
}

/**
 * Runs the calls of a family of scripts requested in the same loop turn as ONE EVALSHA of the
 * family's batch form (see {@link batchScripts}), whichever of the scripts they call; a lone call
 * stays a plain EVALSHA of its script. Each caller still waits exactly one round trip, but with
 * many updates in flight the client builds and writes, and the server reads and dispatches, one
 * command instead of dozens: the same idea as the `MGET` that merges concurrent reads
 * (`ReadBatcher`). Not used on Redis Cluster, where the keys of one batch would span slots.
 */
export class ScriptBatcher {
  readonly #timeoutMs: number;
  /** Script → its index in the family (1-based, as the batch form numbers them) and argument count. */
  readonly #ops = new Map<LuaScript, { op: number; args: number }>();
  readonly #form: LuaScript;
  #pending: Batch | undefined;
  /** False once the server refused a multi-key batch with CROSSSLOT (a cluster node behind a plain client). */
  #multi = true;
  /** Calls sent and not answered yet on this connection (what decides the batch size). */
  readonly #inFlight: InFlight;

  /**
   * @param timeoutMs every command (one batch or a lone call) rejects with BackendUnavailableError
   *   when Redis has not answered within this long: one deadline per command, not per call
   * @param family the scripts whose calls may share a batch (others always run alone)
   * @param name the batch form's name in errors and logs
   * @param inFlight shared with the other batchers writing to the same connection
   */
  constructor(timeoutMs: number, family: readonly LuaScript[], name = 'batch', inFlight = new InFlight()) {
    this.#timeoutMs = timeoutMs;
    this.#inFlight = inFlight;
    family.forEach((script, i) => this.#ops.set(script, { op: i + 1, args: scriptArgCount(script) }));
    this.#form = batchScripts(name, family);
  }

  /** One command under the deadline. */
  #bounded<T>(name: string, run: () => Promise<T>): Promise<T> {
    return callBackend(REDIS, name, this.#timeoutMs, run);
  }

  /** Send one (already counted) call as a plain EVALSHA. */
  #runOne(client: RedisLike, c: Call): void {
    this.#bounded(c.script.name, () => runScript(client, c.script, c.keys, c.args))
      .then((r) => { this.#inFlight.calls--; answer(c, r); }, (err: unknown) => { this.#inFlight.calls--; c.reject(err); });
  }

  /**
   * Run `script` with `keys`/`args` (a fixed argument count per script), batched with its
   * tick-mates; resolves with `map(reply)` when `map` is given.
   */
  run<R = unknown>(client: RedisLike, script: LuaScript, keys: readonly string[], args: readonly RedisArg[], map?: (reply: unknown) => R): Promise<R> {
    if (!this.#multi || client.isCluster === true || !this.#ops.has(script)) {
      const sent = this.#bounded(script.name, () => runScript(client, script, keys, args));
      return (map ? sent.then(map) : sent) as Promise<R>;
    }
    let batch = this.#pending;
    if (!batch || batch.client !== client) {
      const fresh: Batch = { client, calls: [] };
      this.#pending = batch = fresh;
      // At the end of this loop turn, so that calls made from other I/O callbacks and timers of
      // the same turn join (a handler finishing after an awaited reply or setImmediate does).
      setImmediate(() => this.#flush(fresh));
    }
    const b = batch;
    return new Promise<R>((resolve, reject) => {
      b.calls.push({ script, keys, args, map, resolve: resolve as (reply: unknown) => void, reject });
      if (this.#inFlight.full(b.calls.length)) this.#flush(b);
    });
  }

  #flush(batch: Batch): void {
    if (batch.calls.length === 0) return;
    if (this.#pending === batch) this.#pending = undefined;
    const calls = batch.calls;
    batch.calls = [];
    this.#inFlight.calls += calls.length;
    this.#send(batch.client, calls);
  }

  #send(client: RedisLike, calls: Call[]): void {
    if (calls.length === 1) {
      this.#runOne(client, calls[0]!);
      return;
    }
    const keys: string[] = [];
    let packed = '';
    let batched = calls;
    for (let i = 0; i < calls.length; i++) {
      const c = calls[i]!;
      const shape = this.#ops.get(c.script)!;
      if (c.args.length !== shape.args || c.keys.length !== c.script.numKeys || !packable(c.args)) {
        // Not what the batch form can carry (never the case for botwire's own callers, whose
        // arguments are JSON, tokens and numbers): this call on its own, the others still together.
        this.#runOne(client, c);
        if (batched === calls) batched = calls.slice(0, i);
        continue;
      }
      if (batched !== calls) batched.push(c);
      packed += shape.op + BATCH_SEP;
      for (const k of c.keys) keys.push(k);
      for (const x of c.args) packed += x + BATCH_SEP;
    }
    if (batched.length < 2) {
      for (const c of batched) this.#runOne(client, c);
      return;
    }
    this.#sendBatch(client, batched, keys, `${batched.length}${BATCH_SEP}${packed}`);
  }

  #sendBatch(client: RedisLike, calls: Call[], keys: string[], packed: string): void {
    const settle = (replies: unknown): void => {
      this.#inFlight.calls -= calls.length;
      const list = replies as unknown[];
      for (let i = 0; i < calls.length; i++) {
        const r = list[i];
        if (r instanceof Error) calls[i]!.reject(r);
        else answer(calls[i]!, r);
      }
    };
    const fail = (err: unknown): void => {
      this.#inFlight.calls -= calls.length;
      for (const c of calls) c.reject(err);
    };
    const { source, sha, name } = this.#form;
    const retry = (err: unknown): void => {
      // Refused before running anything: the keys span slots. Send each call on its own from now on.
      if (!isCrossSlot(err)) return fail(err);
      this.#multi = false;
      for (const c of calls) this.#runOne(client, c);
    };
    this.#bounded(name, () => client.evalsha(sha, keys.length, ...keys, packed).catch((err: unknown) => {
      // The server lost its script cache (restart, failover, SCRIPT FLUSH): EVAL caches it again.
      if (!isNoScript(err)) throw err;
      return client.eval(source, keys.length, ...keys, packed);
    })).then(settle, retry);
  }
}
