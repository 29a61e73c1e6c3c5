import { BotwireConfigError } from '../../src/errors.js';
import type {
  ClaimArgs, JobBackend, JobState, ListArgs, ListPage, NewJob, ProgressUpdate, StoredJob,
} from '../../src/jobs/backend.js';
import { JobQueue, type JobQueueOptions } from '../../src/jobs/job-queue.js';
import { claimForWorker, completionBatcher, type CompleteCall } from '../../src/jobs/claim-ahead-completions.js';
import { JobPrefetch } from '../../src/jobs/job-prefetch.js';
import { preparedQuery, type PgQueryable } from './client.js';
import { sendCompletions } from './job-completions.js';
import { n, toStored } from './job-rows.js';
import { DEFAULT_SCHEMA, quoteSchema } from './identifier.js';
import { canListen, ChannelListener } from './listener.js';

/** Options of {@link postgresJobQueue}. */
export interface PostgresJobQueueOptions extends JobQueueOptions {
  /**
   * A `pg.Pool`, a `pg.Client`, a PGlite instance — anything with `query(text, params)`. The queue
   * never closes it; it only releases the listener connection it took from a pool.
   */
  client: PgQueryable;
  /** Schema created by `migrate()`. @default 'botwire' */
  schema?: string;
  /**
   * Wake workers on new jobs through `LISTEN`/`NOTIFY` (one dedicated pool connection, or PGlite's
   * in-process listener). Set `false` behind a transaction pooler (PgBouncer, Supavisor port 6543):
   * workers then poll, and serverless ticks (`runDue`) never need it.
   * @default true
   */
  listen?: boolean;
  /**
   * Send a NOTIFY when a job is added while some LISTENing worker is idle (workers register as idle
   * in `job_waiters` when a claim comes back short), so it starts the job at once. NOTIFY serializes
   * committing transactions on a global lock, hence only then; `false` never sends it.
   * @default the value of `listen`
   */
  notify?: boolean;
  /**
   * Send the queue's statements as named prepared statements on node-postgres (`pg`): each
   * connection parses and plans them once instead of once per job. Set `false` behind a pooler that
   * cannot keep them across transactions (PgBouncer in transaction mode before 1.21, Supavisor
   * port 6543). PGlite ignores it.
   * @default true
   */
  preparedStatements?: boolean;
}

/** Channel `job_wake` notifies on; the payload is `<quoted schema>:<job name>`. */
export const JOBS_CHANNEL = 'botwire_jobs';

class PostgresJobBackend implements JobBackend {
  readonly name = 'Postgres';
  subscribe?: (listener: (name: string) => void) => Promise<() => Promise<void>>;
  readonly #client: PgQueryable;
  readonly #query: (text: string, params: unknown[]) => Promise<{ rows: any[] }>;
  readonly #s: string;
  readonly #listeners = new Set<(name: string) => void>();
  readonly #channel: ChannelListener | undefined;
  readonly #notify: boolean;
  readonly #prefetch = new JobPrefetch((jobs) => this.#releaseAhead(jobs));
  readonly #complete = completionBatcher(this.#prefetch, (call) => this.#sendCompletions(call), 200);

  constructor(options: PostgresJobQueueOptions) {
    if (typeof options.client?.query !== 'function') {
      throw new BotwireConfigError('postgresJobQueue needs `client`: a pg.Pool, pg.Client or PGlite instance (anything with query(text, params)).');
    }
    this.#client = options.client;
    this.#query = preparedQuery(options.client, options.preparedStatements ?? true);
    this.#s = quoteSchema(options.schema ?? DEFAULT_SCHEMA);
    this.#notify = options.notify ?? options.listen !== false;
    if (options.listen !== false && canListen(options.client)) {
      const prefix = `${this.#s}:`;
      this.#channel = new ChannelListener(options.client, JOBS_CHANNEL, (payload) => {
        if (!payload.startsWith(prefix)) return;
        const name = payload.slice(prefix.length);
        for (const l of this.#listeners) l(name);
      }, () => {
        // The listener connection dropped: wake everyone once (a notification may be lost), then re-listen.
        for (const l of this.#listeners) l('');
        void this.#channel?.start(2_000);
      });
      this.subscribe = (listener) => this.#subscribe(listener);
    }
  }

  async #rows(sql: string, params: unknown[]): Promise<StoredJob[]> {
    const { rows } = await this.#query(sql, params);
    return rows.map(toStored);
  }

  async #scalar(fn: string, args: string, params: unknown[]): Promise<unknown> {
    const { rows } = await this.#query(`SELECT ${this.#s}.${fn}(${args}) AS v`, params);
    return rows[0]?.v;
  }

  async add(job: NewJob, now: number): Promise<{ job: StoredJob; created: boolean }> {
    const { rows } = await this.#query(
      `SELECT r.created, (r.job).* FROM ${this.#s}.job_add($1, $2, $3, $4::int, $5::float8, $6::int, $7, $8::float8, $9::float8, $10::float8, $11) AS r`,
      [job.id, job.name, job.payload, job.priority, job.runAt, job.maxAttempts, job.backoff, job.timeoutMs, job.retryUntil ?? null, now, this.#notify],
    );
    const row = rows[0] as Record<string, unknown>;
    return { job: toStored(row), created: row.created === true };
  }

  async claim(a: ClaimArgs): Promise<StoredJob[]> {
    // A long-running worker's claim is first answered from the jobs its completions claimed ahead.
    const ahead = this.#prefetch.take(a);
    let jobs = ahead;
    if (ahead.length < a.limit) {
      const limit = a.limit - ahead.length;
      const waiter = this.#channel?.listening ? a.waiter ?? undefined : undefined;
      // A subscribed worker's claim leaves started_at to begin(); a tick's counts at once.
      const fresh = this.#prefetch.enabled
        ? await claimForWorker(this.#prefetch, (call) => sendCompletions(this.#query, this.#s, call, waiter), a, limit)
        : await this.#rows(
          `SELECT * FROM ${this.#s}.job_claim($1::text[], $2::int, $3::float8, $4, $5::float8, $6::float8, $7)`,
          [a.names, limit, a.maxTimeoutMs, a.token, a.leaseMs, a.now, waiter ?? null],
        );
      jobs = ahead.length ? ahead.concat(fresh) : fresh;
    }
    this.#prefetch.remember(a.token, a, jobs.length);
    return jobs;
  }

  started(id: string, token: string, now: number): void { this.#prefetch.begin(id, token, now); }

  async heartbeat(id: string, token: string, leaseMs: number, now: number, progress?: ProgressUpdate): Promise<boolean> {
    const ok = (await this.#scalar('job_heartbeat', '$1, $2, $3::float8, $4::float8, $5::float8, $6',
      [id, this.#prefetch.recording(id, token), leaseMs, now, progress?.pct ?? null, progress?.message ?? null])) === true;
    if (!ok) this.#prefetch.settle(id, token);
    return ok;
  }

  complete(id: string, token: string, result: string, now: number): Promise<boolean> {
    // Batched with completions arriving meanwhile: still at most one round trip per call.
    return this.#complete({ id, token, result, now });
  }

  #sendCompletions(call: CompleteCall): Promise<{ flags: number[]; refilled: StoredJob[] }> {
    return sendCompletions(this.#query, this.#s, call);
  }

  /** Hand jobs claimed ahead back to the queue, uncounted (best effort: a failure leaves a lease to lapse). */
  async #releaseAhead(jobs: StoredJob[]): Promise<void> {
    const now = Date.now();
    await Promise.allSettled(jobs.map((job) => this.#scalar('job_release', '$1, $2, $3::float8', [job.id, job.leaseToken!, now])));
  }

  async partial(
    id: string, token: string, result: string, missing: string, retryAt: number, now: number, final?: { error: string },
  ): Promise<boolean> {
    const ok = (await this.#scalar('job_partial', '$1, $2, $3, $4, $5::float8, $6::float8, $7',
      [id, this.#prefetch.recording(id, token), result, missing, retryAt, now, final?.error ?? null])) === true;
    this.#prefetch.settle(id, token);
    return ok;
  }

  async fail(id: string, token: string, error: string, retryAt: number | undefined, now: number): Promise<boolean> {
    const ok = (await this.#scalar('job_fail', '$1, $2, $3, $4::float8, $5::float8', [id, this.#prefetch.recording(id, token), error, retryAt ?? null, now])) === true;
    this.#prefetch.settle(id, token);
    return ok;
  }

  async release(id: string, token: string, now: number): Promise<boolean> {
    const ok = (await this.#scalar('job_release', '$1, $2, $3::float8', [id, this.#prefetch.recording(id, token), now])) === true;
    this.#prefetch.settle(id, token);
    return ok;
  }

  async retry(id: string, now: number): Promise<boolean> {
    return (await this.#scalar('job_retry', '$1, $2::float8', [id, now])) === true;
  }

  async cancel(id: string, now: number): Promise<boolean> {
    return (await this.#scalar('job_cancel', '$1, $2::float8', [id, now])) === true;
  }

  async get(id: string): Promise<StoredJob | undefined> {
    return (await this.#rows(`SELECT * FROM ${this.#s}.job_get($1)`, [id]))[0];
  }

  async list(a: ListArgs): Promise<ListPage> {
    // Cursor "<createdAt>:<id>" of the last row returned.
    const cut = a.cursor ? a.cursor.indexOf(':') : -1;
    const after = cut > 0 ? [Number(a.cursor!.slice(0, cut)), a.cursor!.slice(cut + 1)] : [null, null];
    const rows = await this.#rows(
      `SELECT * FROM ${this.#s}.job_list($1, $2, $3::int, $4::float8, $5)`, [a.state ?? null, a.name ?? null, a.limit, ...after],
    );
    const jobs = rows.slice(0, a.limit);
    const last = jobs[jobs.length - 1];
    return rows.length > a.limit && last ? { jobs, cursor: `${last.createdAt}:${last.id}` } : { jobs };
  }

  reclaim(token: string, leaseMs: number, limit: number, now: number): Promise<StoredJob[]> {
    return this.#rows(`SELECT * FROM ${this.#s}.job_reclaim($1, $2::float8, $3::int, $4::float8)`, [token, leaseMs, limit, now]);
  }

  async promote(): Promise<number> {
    // job_claim reads run_at directly: nothing to move, no round trip.
    return 0;
  }

  async countDue(names: readonly string[], now: number): Promise<number> {
    return n(await this.#scalar('job_count_due', '$1::text[], $2::float8', [names, now]));
  }

  async removeFinished(states: readonly JobState[], before: number, limit: number): Promise<number> {
    return n(await this.#scalar('job_remove_finished', '$1::text[], $2::float8, $3::int', [states, before, limit]));
  }

  async #subscribe(listener: (name: string) => void): Promise<() => Promise<void>> {
    this.#listeners.add(listener);
    await this.#channel!.start(5_000);
    // A subscriber is a long-running worker: only those claim ahead (see JobPrefetch).
    const disable = this.#prefetch.enable();
    // The LISTEN connection stays open until close(): another worker may subscribe again.
    return async () => { this.#listeners.delete(listener); await disable(); };
  }

  async close(): Promise<void> {
    await this.#releaseAhead(this.#prefetch.drain());
    this.#listeners.clear();
    await this.#channel?.close();
  }
}

/**
 * A {@link JobQueue} on Postgres (a `pg` Pool/Client or PGlite): `FOR UPDATE SKIP LOCKED` claims,
 * one SQL function call per state change, wake-ups through LISTEN/NOTIFY. Run `migrate(client)`
 * once per deploy first.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { migrate, postgresJobQueue } from 'botwire/postgres';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool);
 * const queue = postgresJobQueue({ client: pool, handlers: { report } });
 * ```
 */
export function postgresJobQueue(options: PostgresJobQueueOptions): JobQueue {
  return new JobQueue(new PostgresJobBackend(options), options);
}

/** The Postgres backend itself, for composing your own {@link JobQueue}. */
export function postgresJobBackend(options: Pick<PostgresJobQueueOptions, 'client' | 'schema' | 'listen' | 'notify'>): JobBackend {
  return new PostgresJobBackend(options);
}
