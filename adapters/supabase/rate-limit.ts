import type { RateLimitBackend, RateLimitHit, RateLimitStoreOptions } from 'botwire';
import { RateLimitStore, type BackendErrorKind } from 'botwire/adapter-kit';
import { schemaClient, type SupabaseClientLike } from './client.js';
import { classifySupabaseError, NAME } from './errors.js';
import { Rpc } from './rpc.js';

/** Options of {@link supabaseRateLimitStore}. */
export interface SupabaseRateLimitStoreOptions extends RateLimitStoreOptions {
  /** A `SupabaseClient` made with the **service-role** key; botwire never closes it. */
  client: SupabaseClientLike;
  /** Schema created by `npx botwire migrate` (one of the project's exposed schemas). @default 'botwire' */
  schema?: string;
}

interface HitRow { allowed: boolean; hits: number; reset_ms: number }

class SupabaseRateLimitBackend implements RateLimitBackend {
  readonly name = NAME;
  readonly #rpc: Rpc;

  constructor(options: SupabaseRateLimitStoreOptions) {
    const { db, schema } = schemaClient('supabaseRateLimitStore', options);
    this.#rpc = new Rpc(db, schema, options.operationTimeoutMs ?? 2_000);
  }

  classifyError(err: unknown): BackendErrorKind | undefined {
    return classifySupabaseError(err);
  }

  /** Delete up to `limit` counters whose windows are over (one `rpc()` of `rate_limit_cleanup`). */
  async cleanup(limit: number): Promise<number> {
    return Number(await this.#rpc.call<number>('rate_limit_cleanup', { p_limit: limit }, 'number'));
  }

  async hit(key: string, limit: number, windowMs: number, sliding: boolean): Promise<RateLimitHit> {
    const rows = await this.#rpc.call<HitRow[]>('rate_limit_hit', { p_key: key, p_limit: limit, p_window_ms: windowMs, p_sliding: sliding }, 'rows');
    const row = rows[0];
    if (!row) throw new Error('rate_limit_hit answered no row');
    return { allowed: row.allowed, count: Number(row.hits), resetMs: Number(row.reset_ms) };
  }
}

/**
 * Rate-limit counters on Supabase, shared by every instance: one `rpc()` of `rate_limit_hit` per
 * hit (the SQL `botwire/postgres` uses), windows on the database clock.
 *
 * @example
 * ```ts
 * bot.use(rateLimit({ store: supabaseRateLimitStore({ client: supabase }), limit: 10, windowMs: 60_000 }));
 * ```
 */
export function supabaseRateLimitStore(options: SupabaseRateLimitStoreOptions): RateLimitStore {
  const backend = new SupabaseRateLimitBackend(options);
  return new RateLimitStore(backend, { operationTimeoutMs: options.operationTimeoutMs, prefix: options.prefix });
}
