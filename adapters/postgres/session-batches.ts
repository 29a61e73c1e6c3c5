import { errorKind, WriteBatcher } from 'botwire/adapter-kit';
import { POSTGRES } from './errors.js';

/**
 * Most calls in one `session_*_many` statement: bounds how long one statement holds the rows it
 * has already locked.
 */
const MAX_BATCH = 64;

/** Whether the schema has the batch functions (`session_*_many`); shared by a store's batchers. */
export interface BatchSupport {
  on: boolean;
}

/**
 * Calls of one kind (acquire, commit, set) that arrive while one of their kind is in flight go
 * together in the next statement — `WriteBatcher`: the first goes at once, so an idle store adds no
 * latency — one round trip, one transaction and one WAL flush for the lot. On this machine a
 * statement's round trip costs client and server ~125 µs of CPU whatever it does, more than the SQL
 * of one session call.
 *
 * The batch statement answers a row per call tagged `i` (1-based). When it fails for any reason but an
 * unreachable server, it wrote nothing (one transaction), so each call is sent on its own instead:
 * only a call that fails by itself (say JSON that jsonb refuses) fails, with its own error.
 */
/** One kind of batched call: its single and batch statements and its parameters. */
export interface BatchedKind<C> {
  /** The single-key function's statement (`$1…$n`). */
  one: string;
  /** The batch function's statement: the same parameters, each an array over the calls; answers rows tagged `i`. */
  many: string;
  /** A call's parameters for `one`; `many` gets them column by column. */
  params(call: C): unknown[];
  /** Turns a single call's driver error into botwire's (rethrows). */
  fail?(call: C, err: unknown): never;
}

export class PgBatcher<C, R> {
  readonly #batcher: WriteBatcher<C, R | Error>;

  constructor(
    private readonly support: BatchSupport,
    private readonly query: (text: string, params: unknown[]) => Promise<{ rows: any[] }>,
    private readonly kind: BatchedKind<C>,
  ) {
    this.#batcher = new WriteBatcher<C, R | Error>(MAX_BATCH, (calls) => this.#send(calls));
  }

  #one(call: C): Promise<R> {
    const sent = this.query(this.kind.one, this.kind.params(call)).then((r) => r.rows[0] as R);
    const fail = this.kind.fail;
    return fail ? sent.catch((err: unknown) => fail(call, err)) : sent;
  }

  /** The parameters transposed: parameter j of the batch statement is the array of every call's j-th. */
  #many(calls: C[]): Promise<{ rows: any[] }> {
    const rows = calls.map((c) => this.kind.params(c));
    return this.query(this.kind.many, rows[0]!.map((_, j) => rows.map((r) => r[j])));
  }

  /** Run `call`, alone or with the calls of its kind that queued meanwhile. */
  async run(call: C): Promise<R> {
    const r = await this.#batcher.push(call);
    if (r instanceof Error) throw r;
    return r;
  }

  async #send(calls: C[]): Promise<Array<R | Error>> {
    if (calls.length === 1) return [await this.#one(calls[0]!)];
    if (!this.support.on) return this.#alone(calls);
    let rows: any[];
    try {
      rows = (await this.#many(calls)).rows;
    } catch (err) {
      const kind = errorKind(POSTGRES, err);
      if (kind === 'unavailable' || kind === 'unsent') throw err;
      // undefined_function: the schema lacks the batch functions (the single-key functions still
      // work); stop trying until the store is made again.
      if ((err as { code?: unknown } | null)?.code === '42883') this.support.on = false;
      return this.#alone(calls);
    }
    const out = new Array<R | Error>(calls.length);
    for (const r of rows) out[Number(r.i) - 1] = r as R;
    for (let i = 0; i < out.length; i++) out[i] ??= new Error(`session batch statement answered no row for call ${i + 1}`);
    return out;
  }

  #alone(calls: C[]): Promise<Array<R | Error>> {
    return Promise.all(calls.map((c) => this.#one(c).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))));
  }
}
