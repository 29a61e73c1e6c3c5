import type { SemaphoreAttempt, SemaphoreBackend } from 'botwire/jobs';
import type { BackendErrorKind } from 'botwire/adapter-kit';
import { schemaClient, type SupabaseClientLike } from './client.js';
import { classifySupabaseError, NAME } from './errors.js';
import { Rpc } from './rpc.js';

/** Options of {@link supabaseSemaphoreBackend}. */
export interface SupabaseSemaphoreBackendOptions {
  /** A `SupabaseClient` made with the **service-role** key; botwire never closes it. */
  client: SupabaseClientLike;
  /** Schema created by `npx botwire migrate` (one of the project's exposed schemas). @default 'botwire' */
  schema?: string;
  /** Bound on one call, in ms. @default 5_000 */
  operationTimeoutMs?: number;
}

/**
 * Semaphores through the Data API: one `rpc()` per acquire, extend and release, to the SQL
 * functions `botwire/postgres` uses. No `waitForRelease` (PostgREST cannot LISTEN): waiters back off.
 */
class SupabaseSemaphoreBackend implements SemaphoreBackend {
  readonly name = NAME;
  readonly #rpc: Rpc;

  constructor(options: SupabaseSemaphoreBackendOptions) {
    const { db, schema } = schemaClient('supabaseSemaphoreBackend', options);
    this.#rpc = new Rpc(db, schema, options.operationTimeoutMs ?? 5_000);
  }

  classifyError(err: unknown): BackendErrorKind | undefined {
    return classifySupabaseError(err);
  }

  async tryAcquire(name: string, token: string, limit: number, leaseMs: number, now: number): Promise<SemaphoreAttempt> {
    const rows = await this.#rpc.call<Array<{ ok: boolean; retry_in_ms: number | null }>>('semaphore_acquire', {
      p_name: name, p_token: token, p_limit: limit, p_lease_ms: leaseMs, p_now: now,
    }, 'rows');
    const row = rows[0];
    if (!row) throw new Error('semaphore_acquire answered no row');
    return row.ok ? { ok: true } : { ok: false, retryInMs: Math.max(1, Math.ceil(Number(row.retry_in_ms))) };
  }

  extend(name: string, token: string, leaseMs: number, now: number): Promise<boolean> {
    return this.#rpc.call<boolean>('semaphore_extend', { p_name: name, p_token: token, p_lease_ms: leaseMs, p_now: now }, 'boolean');
  }

  release(name: string, token: string, now: number): Promise<boolean> {
    return this.#rpc.call<boolean>('semaphore_release', { p_name: name, p_token: token, p_now: now }, 'boolean');
  }

  async close(): Promise<void> {}
}

/**
 * A fleet-wide {@link SemaphoreBackend} on Supabase for `semaphore()` from `botwire/jobs`, sharing
 * its holders with `postgresSemaphoreBackend` on the same schema.
 *
 * @example
 * ```ts
 * import { semaphore } from 'botwire/jobs';
 * import { supabaseSemaphoreBackend } from 'botwire/supabase';
 * const ai = semaphore(supabaseSemaphoreBackend({ client: supabase }), 'openai', { limit: 3 });
 * ```
 */
export function supabaseSemaphoreBackend(options: SupabaseSemaphoreBackendOptions): SemaphoreBackend {
  return new SupabaseSemaphoreBackend(options);
}
