import { sleep } from 'botwire/adapter-kit';
import type { SupabaseRpcErrorBody, SupabaseRpcResponse, SupabaseSchemaClient } from './client.js';
import { rpcFailure, SupabaseRpcError } from './errors.js';

/**
 * One `rpc()` call per backend primitive, with every answer checked: errors become typed errors
 * (./errors.ts), and a success whose body is not what the function returns is refused too. That is
 * the trap supabase-js leaves open: an empty 404 from a gateway comes back as `{ error: null,
 * data: null, status: 204 }`, which a careless reader takes for "no row". None of the functions
 * botwire calls returns void, so `null` is never a valid answer.
 *
 * Idempotent calls (`idempotent: true`: reads, and `session_acquire`, which with the same token
 * finds the lease already its own and changes nothing more) are retried up to twice with jittered
 * backoff when no PostgREST answer came (status 0, a 5xx page, PGRST000): a keep-alive connection
 * that died during an outage fails the first request after it. Other writes are never retried here:
 * their outcome is unknown, and the core says so in `BackendUnavailableError.outcome`.
 *
 * @module
 */

/** What a function returns, as PostgREST encodes it. */
export type RpcShape =
  /** SETOF / RETURNS TABLE: a JSON array of objects. */
  | 'rows'
  /** OUT parameters or a composite: one JSON object. */
  | 'row'
  /** A boolean scalar. */
  | 'boolean'
  /** A numeric scalar (bigint and integer are JSON numbers). */
  | 'number';

/** Retries of an idempotent call after a failure with no PostgREST answer. */
const RETRIES = 2;
/** Base backoff before the first retry; doubles, jittered ×0.5–1.5. */
const BACKOFF_MS = 25;

function fits(data: unknown, shape: RpcShape): boolean {
  switch (shape) {
    case 'rows': return Array.isArray(data);
    case 'row': return typeof data === 'object' && data !== null && !Array.isArray(data);
    case 'boolean': return typeof data === 'boolean';
    case 'number': return typeof data === 'number';
  }
}

/** Calls botwire's SQL functions in one schema through the Data API. */
export class Rpc {
  constructor(
    private readonly db: SupabaseSchemaClient,
    /** The schema, for error messages. */
    readonly schema: string,
    /** The caller's bound on one operation (retries stop within it; a hung request is aborted after it). */
    private readonly timeoutMs: number,
  ) {}

  /**
   * Call `fn` with named `args`; resolves with its answer when it has `shape`, else rejects with a
   * typed error. `idempotent` marks a call that may safely run twice (retried on outages).
   */
  async call<T>(fn: string, args: Record<string, unknown>, shape: RpcShape, idempotent = false): Promise<T> {
    const deadline = performance.now() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once<T>(fn, args, shape, deadline);
      } catch (err) {
        const delay = BACKOFF_MS * 2 ** attempt * (0.5 + Math.random());
        const retry = idempotent && attempt < RETRIES && err instanceof SupabaseRpcError
          && (err.kind === 'unavailable' || err.kind === 'unsent') && performance.now() + delay < deadline;
        if (!retry) throw err;
        await sleep(delay);
      }
    }
  }

  async #once<T>(fn: string, args: Record<string, unknown>, shape: RpcShape, deadline: number): Promise<T> {
    const call = this.db.rpc(fn, args);
    // Cut a request nobody waits for any more (the core gives up at the same deadline), so a hung
    // answer does not hold a socket or keep a serverless function alive.
    call.abortSignal?.(AbortSignal.timeout(Math.ceil(Math.max(0, deadline - performance.now())) + 50));
    let answer: SupabaseRpcResponse;
    try {
      answer = await call;
    } catch (err) {
      // supabase-js answers failures rather than throwing; a client set to throw (or a fetch of its
      // own that throws) lands here.
      throw thrown(this.schema, fn, err);
    }
    const { data, error, status } = answer;
    if (error) throw rpcFailure(this.schema, fn, status, error);
    if (!fits(data, shape)) {
      const seen = data === null ? 'no body' : `a ${Array.isArray(data) ? 'JSON array' : typeof data}`;
      throw new SupabaseRpcError(fn, status, null, 'unavailable',
        `expected ${shape === 'rows' ? 'a JSON array' : shape === 'row' ? 'a JSON object' : `a ${shape}`} but got ${seen}: ` +
          'this answer did not come from PostgREST (a gateway, proxy or wrong URL answered instead)');
    }
    return data as T;
  }
}

/** A SQLSTATE or a PostgREST code, as opposed to Node's `ERR_…`/`E…` codes. */
const POSTGREST_CODE = /^(PGRST\d{3}|[0-9A-Z]{5})$/;

function thrown(schema: string, fn: string, err: unknown): Error {
  const e = err as Partial<SupabaseRpcErrorBody> & { status?: unknown } | null;
  if (typeof e?.code === 'string' && POSTGREST_CODE.test(e.code)) {
    return rpcFailure(schema, fn, typeof e.status === 'number' ? e.status : 500, e as SupabaseRpcErrorBody);
  }
  return new SupabaseRpcError(fn, 0, { message: err instanceof Error ? err.message : String(err) }, 'unavailable');
}
