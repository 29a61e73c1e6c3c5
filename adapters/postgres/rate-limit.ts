import type { RateLimitBackend, RateLimitHit, RateLimitStoreOptions } from 'botwire';
import { BotwireConfigError, RateLimitStore } from 'botwire/adapter-kit';
import type { BackendErrorKind, BackendHealth } from 'botwire/adapter-kit';
import { schemaHealth } from './health.js';
import { classifyPgError } from './errors.js';
import type { PgQueryable } from './client.js';
import { DEFAULT_SCHEMA, quoteSchema } from './identifier.js';

/** Options of {@link postgresRateLimitStore}. */
export interface PostgresRateLimitStoreOptions extends RateLimitStoreOptions {
  /** A `pg.Pool`, `pg.Client` or PGlite instance; botwire never closes it. */
  client: PgQueryable;
  /**
   * Schema where `migrate()` created botwire's tables (migration 004 adds the counters).
   * @default 'botwire'
   */
  schema?: string;
}

class PostgresRateLimitBackend implements RateLimitBackend {
  readonly name = 'Postgres';
  readonly #client: PgQueryable;
  readonly #sql: string;
  readonly #schema: string;
  readonly #cleanupSql: string;

  constructor(options: PostgresRateLimitStoreOptions) {
    if (!options?.client || typeof options.client.query !== 'function') {
      throw new BotwireConfigError('postgresRateLimitStore needs `client`: a pg.Pool, pg.Client or PGlite instance.');
    }
    this.#client = options.client;
    const schema = quoteSchema(options.schema ?? DEFAULT_SCHEMA);
    this.#schema = schema;
    this.#sql = `SELECT allowed, hits, reset_ms FROM ${schema}.rate_limit_hit($1, $2, $3, $4)`;
    this.#cleanupSql = `SELECT ${schema}.rate_limit_cleanup($1) AS n`;
  }

  classifyError(err: unknown): BackendErrorKind | undefined {
    return classifyPgError(err);
  }

  /** One `select` of the schema version (`'migrations missing'` / `'migrations behind'`). */
  health(): Promise<BackendHealth> {
    return schemaHealth((text, params) => this.#client.query(text, params), this.#schema);
  }

  /** Delete up to `limit` counters whose windows are over (`rate_limit_cleanup`, migration 004). */
  async cleanup(limit: number): Promise<number> {
    const { rows } = await this.#client.query(this.#cleanupSql, [limit]);
    return Number((rows[0] as { n: unknown }).n);
  }

  async hit(key: string, limit: number, windowMs: number, sliding: boolean): Promise<RateLimitHit> {
    const { rows } = await this.#client.query(this.#sql, [key, limit, windowMs, sliding]);
    const row = rows[0] as { allowed: boolean; hits: number; reset_ms: number };
    return { allowed: row.allowed, count: Number(row.hits), resetMs: Number(row.reset_ms) };
  }
}

/**
 * Rate-limit counters in Postgres (pg or PGlite), shared by every instance: one SQL function call
 * per hit, windows on the database clock. Needs `migrate(client)` from botwire/postgres once.
 * Counters of finished windows stay until `store.cleanup()` removes them (the `/cron/cleanup`
 * route of `cleanupHandler` in botwire/http runs it).
 *
 * @example
 * ```ts
 * bot.use(rateLimit({ store: postgresRateLimitStore({ client: pool }), limit: 10, windowMs: 60_000 }));
 * ```
 */
export function postgresRateLimitStore(options: PostgresRateLimitStoreOptions): RateLimitStore {
  const backend = new PostgresRateLimitBackend(options);
  return new RateLimitStore(backend, { operationTimeoutMs: options.operationTimeoutMs, prefix: options.prefix });
}
