import type { SemaphoreAttempt, SemaphoreBackend } from 'botwire/jobs';
import { BotwireConfigError, ReleaseWaiters, type BackendErrorKind } from 'botwire/adapter-kit';
import { preparedQuery, type PgQueryable } from './client.js';
import { classifyPgError } from './errors.js';
import { DEFAULT_SCHEMA, quoteSchema } from './identifier.js';
import { canListen, ChannelListener } from './listener.js';

/** Options of {@link postgresSemaphoreBackend}. */
export interface PostgresSemaphoreBackendOptions {
  /** A `pg.Pool`, a `pg.Client` or a PGlite instance; never closed by the backend. */
  client: PgQueryable;
  /** Schema created by `migrate()`. @default 'botwire' */
  schema?: string;
  /**
   * Hear releases of other processes through `LISTEN` (one dedicated pool connection, opened at
   * the first wait, or PGlite's in-process listener). `false`: waiters back off with jitter.
   * @default true
   */
  listen?: boolean;
  /**
   * Send the statements as named prepared statements on node-postgres (`pg`). Set `false` behind a
   * pooler that cannot keep them across transactions (PgBouncer in transaction mode before 1.21,
   * Supavisor port 6543), as for `postgresJobQueue`. PGlite ignores it.
   * @default true
   */
  preparedStatements?: boolean;
  /**
   * `client` goes through a session-mode pooler (PgBouncer `pool_mode = session`, Supavisor port
   * 5432), where LISTEN works: waiters listen without checking for a pooler. Otherwise a pooled
   * connection is detected at the first wait and waiters back off with jitter instead.
   * @default false
   */
  sessionPooler?: boolean;
}

/** Channel `semaphore_release` notifies on; the payload is `<quoted schema>:<name>`. */
export const SEMAPHORE_CHANNEL = 'botwire_semaphore';

/** Semaphores on Postgres: one SQL function call per acquire, extend and release (005_job_fleet). */
class PostgresSemaphoreBackend implements SemaphoreBackend {
  readonly name = 'Postgres';
  waitForRelease?: (name: string, timeoutMs: number) => Promise<void>;
  readonly #query: (text: string, params: unknown[]) => Promise<{ rows: any[] }>;
  readonly #s: string;
  readonly #waiters = new ReleaseWaiters();
  readonly #channel: ChannelListener | undefined;

  constructor(options: PostgresSemaphoreBackendOptions) {
    if (typeof options?.client?.query !== 'function') {
      throw new BotwireConfigError('postgresSemaphoreBackend needs `client`: a pg.Pool, pg.Client or PGlite instance.');
    }
    this.#query = preparedQuery(options.client, options.preparedStatements ?? true);
    this.#s = quoteSchema(options.schema ?? DEFAULT_SCHEMA);
    if (options.listen !== false && canListen(options.client)) {
      const prefix = `${this.#s}:`;
      this.#channel = new ChannelListener(options.client, SEMAPHORE_CHANNEL, (payload) => {
        if (payload.startsWith(prefix)) this.#waiters.heard(payload.slice(prefix.length));
      }, () => {
        // A release may have been missed while the connection was down: every waiter retries.
        this.#waiters.wakeAll();
        void this.#channel?.start(2_000);
      }, options.sessionPooler ? { mode: 'allow' } : { mode: 'poll' });
      this.waitForRelease = (name, timeoutMs) => this.#wait(name, timeoutMs);
    }
  }

  classifyError(err: unknown): BackendErrorKind | undefined {
    return classifyPgError(err);
  }

  async tryAcquire(name: string, token: string, limit: number, leaseMs: number, now: number): Promise<SemaphoreAttempt> {
    const sentAt = performance.now();
    const { rows } = await this.#query(
      `SELECT ok, retry_in_ms FROM ${this.#s}.semaphore_acquire($1, $2, $3::int, $4::float8, $5::float8)`, [name, token, limit, leaseMs, now],
    );
    const row = rows[0] as { ok: boolean; retry_in_ms: unknown };
    if (row.ok) return { ok: true };
    if (this.#channel) this.#waiters.notePending(name, sentAt);
    return { ok: false, retryInMs: Math.max(1, Math.ceil(Number(row.retry_in_ms))) };
  }

  async extend(name: string, token: string, leaseMs: number, now: number): Promise<boolean> {
    const { rows } = await this.#query(`SELECT ${this.#s}.semaphore_extend($1, $2, $3::float8, $4::float8) AS v`, [name, token, leaseMs, now]);
    return rows[0]?.v === true;
  }

  async release(name: string, token: string, now: number): Promise<boolean> {
    const { rows } = await this.#query(`SELECT ${this.#s}.semaphore_release($1, $2, $3::float8) AS v`, [name, token, now]);
    return rows[0]?.v === true;
  }

  async #wait(name: string, timeoutMs: number): Promise<void> {
    // The first wait opens the LISTEN; a failed start leaves the caller's own timeout as the bound.
    // Through a pooler no release can ever be heard: from then on the semaphore's own jittered
    // back-off (5 ms doubling to 200 ms) paces the retries instead of the holder's lease.
    if (!(await this.#channel!.start(5_000)) && this.#channel!.pooled) {
      this.waitForRelease = undefined;
      return;
    }
    if (!this.#waiters.released(name)) await this.#waiters.park(name, timeoutMs);
  }

  async close(): Promise<void> {
    this.#waiters.wakeAll();
    await this.#channel?.close();
  }
}

/**
 * A fleet-wide {@link SemaphoreBackend} on Postgres for `semaphore()` from `botwire/jobs`: holders
 * live in `semaphore_holders`, each acquire is one function call serialized per name, and a
 * release wakes waiters in other processes through `NOTIFY`. Run `migrate(client)` first.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { semaphore } from 'botwire/jobs';
 * import { postgresSemaphoreBackend } from 'botwire/postgres';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const ai = semaphore(postgresSemaphoreBackend({ client: pool }), 'openai', { limit: 3 });
 * ```
 */
export function postgresSemaphoreBackend(options: PostgresSemaphoreBackendOptions): SemaphoreBackend {
  return new PostgresSemaphoreBackend(options);
}
