import { BackendForbiddenError, BackendSchemaError, WriteBatcher } from 'botwire/adapter-kit';
import { SupabaseRpcError } from './errors.js';
import type { Rpc, RpcShape } from './rpc.js';

/**
 * Acquires, commits and sets that arrive while one of their kind is in flight go together in the
 * next request, as one `rpc()` of the `session_*_many` function (the same batching as
 * `botwire/postgres`' statements, over the kit's `WriteBatcher`): the first call goes at once, so an
 * idle store adds no latency; under load one HTTP request, one transaction and one WAL flush serve
 * many calls, and each caller still waits one round trip.
 *
 * The batch function answers a row per call tagged `i` (1-based). When it fails with a SQL error it
 * wrote nothing (PostgREST runs it in one transaction), so each call is sent on its own instead and
 * only a call that fails by itself (say JSON that jsonb refuses) fails. Outages, missing functions and
 * refused keys fail the whole batch at once: alone, every call would fail the same way.
 *
 * @module
 */

/** Most calls in one batch request: bounds how long one transaction holds the rows it locked. */
const MAX_BATCH = 64;

/** Whether the schema has the batch functions; shared by a store's batchers. */
export interface BatchSupport {
  on: boolean;
}

/** One kind of batched call: its single and batch functions and their named arguments. */
export interface BatchedKind<C> {
  /** The single-key function, answering OUT parameters (one object). */
  one: string;
  /** The batch function: the same arguments, each an array over the calls; answers rows tagged `i`. */
  many: string;
  /** A call's named arguments for `one`; `many` gets each as an array (same names, pluralized by `manyName`). */
  args(call: C): Record<string, unknown>;
  /** The batch function's name for each argument of `one`. */
  manyName: Record<string, string>;
  /** Turns a single call's error into botwire's (rethrows). */
  fail?(call: C, err: unknown): never;
  /** Calls of this kind may run twice (retried on outages; see `Rpc.call`). */
  idempotent?: boolean;
}

/** Runs calls of one kind, alone or batched. */
export class RpcBatcher<C, R> {
  readonly #batcher: WriteBatcher<C, R | Error>;

  constructor(
    private readonly support: BatchSupport,
    private readonly rpc: Rpc,
    private readonly kind: BatchedKind<C>,
  ) {
    this.#batcher = new WriteBatcher<C, R | Error>(MAX_BATCH, (calls) => this.#send(calls));
  }

  /** Run `call`, alone or with the calls of its kind that queued meanwhile. */
  async run(call: C): Promise<R> {
    const r = await this.#batcher.push(call);
    if (r instanceof Error) throw r;
    return r;
  }

  #one(call: C): Promise<R> {
    const sent = this.rpc.call<R>(this.kind.one, this.kind.args(call), 'row' satisfies RpcShape, this.kind.idempotent);
    const fail = this.kind.fail;
    return fail ? sent.catch((err: unknown) => fail(call, err)) : sent;
  }

  #many(calls: C[]): Promise<Array<R & { i: number }>> {
    const args: Record<string, unknown[]> = {};
    for (const name of Object.values(this.kind.manyName)) args[name] = [];
    for (const c of calls) {
      for (const [name, value] of Object.entries(this.kind.args(c))) args[this.kind.manyName[name]!]!.push(value ?? null);
    }
    return this.rpc.call(this.kind.many, args, 'rows', this.kind.idempotent);
  }

  async #send(calls: C[]): Promise<Array<R | Error>> {
    if (calls.length === 1) return [await this.#one(calls[0]!)];
    if (!this.support.on) return this.#alone(calls);
    let rows: Array<R & { i: number }>;
    try {
      rows = await this.#many(calls);
    } catch (err) {
      if (err instanceof BackendForbiddenError) throw err;
      if (err instanceof SupabaseRpcError && err.kind !== undefined) throw err;
      // The schema lacks the batch functions (the single-key ones may still be there): stop trying
      // until the store is made again; alone, each call reports a schema that lacks them too.
      if (err instanceof BackendSchemaError) this.support.on = false;
      return this.#alone(calls);
    }
    const out = new Array<R | Error>(calls.length);
    for (const r of rows) out[Number(r.i) - 1] = r;
    for (let i = 0; i < out.length; i++) out[i] ??= new Error(`${this.kind.many} answered no row for call ${i + 1}`);
    return out;
  }

  #alone(calls: C[]): Promise<Array<R | Error>> {
    return Promise.all(calls.map((c) => this.#one(c).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))));
  }
}
