import type {
  AddResult, ClaimArgs, ClaimedJobs, JobBackend, JobCounts, JobLimitEntry, JobState, ListArgs, ListPage, NewJob,
  ProgressUpdate, StoredJob,
} from 'botwire/jobs';
import {
  BotwireConfigError, JobQueue, withClaimAhead, type BackendErrorKind, type WorkerBatch, type WorkerBatchBackend,
  type WorkerBatchResult,
} from 'botwire/adapter-kit';
import { preparedQuery } from './client.js';
import type { BackendHealth } from 'botwire/adapter-kit';
import { schemaHealth } from './health.js';
import { classifyPgError } from './errors.js';
import { sendWorkerBatch } from './job-completions.js';
import { addResult, claimedJobs, PG_JOB_FEATURES, PgJobFleet } from './job-fleet.js';
import { n, toStored } from './job-rows.js';
import { DEFAULT_SCHEMA, quoteSchema } from './identifier.js';
import { canListen, ChannelListener } from './listener.js';
import { JOBS_CHANNEL, type PostgresJobBackendOptions, type PostgresJobQueueOptions } from './job-options.js';

export { JOBS_CHANNEL, type PostgresJobBackendOptions, type PostgresJobQueueOptions } from './job-options.js';

/**
 * The plain job backend on Postgres: one SQL function call per state change; `workerBatch` is
 * `job_worker_batch` (or `job_complete_many` for bare completions). {@link postgresJobBackend}
 * wraps it with claim-ahead.
 */
class PostgresJobBackend implements WorkerBatchBackend {
  readonly name = 'Postgres';
  readonly features = PG_JOB_FEATURES;
  subscribe?: (listener: (name: string) => void) => Promise<() => Promise<void>>;
  readonly #query: (text: string, params: unknown[]) => Promise<{ rows: any[] }>;
  readonly #s: string;
  readonly #listeners = new Set<(name: string) => void>();
  readonly #channel: ChannelListener | undefined;
  readonly #notify: boolean;
  readonly #fleet: PgJobFleet;

  constructor(options: PostgresJobBackendOptions) {
    if (typeof options?.client?.query !== 'function') {
      throw new BotwireConfigError('postgresJobQueue needs `client`: a pg.Pool, pg.Client or PGlite instance (anything with query(text, params)).');
    }
    this.#query = preparedQuery(options.client, options.preparedStatements ?? true);
    this.#s = quoteSchema(options.schema ?? DEFAULT_SCHEMA);
    this.#notify = options.notify ?? options.listen !== false;
    this.#fleet = new PgJobFleet(this.#query, this.#s, this.#notify);
    if (options.listen !== false && canListen(options.client)) {
      const prefix = `${this.#s}:`;
      this.#channel = new ChannelListener(options.client, JOBS_CHANNEL, (payload) => {
        if (!payload.startsWith(prefix)) return;
        const name = payload.slice(prefix.length);
        for (const l of this.#listeners) l(name);
      }, () => {
        // The listener connection dropped: wake everyone once (a notification may be lost), then re-listen.
        for (const l of this.#listeners) l('');
        void this.#channel?.start(2_000).catch(() => undefined);
      }, options.sessionPooler ? { mode: 'allow' } : { mode: 'refuse', what: 'postgresJobQueue wake-ups' });
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

  async add(job: NewJob, now: number): Promise<AddResult> {
    const { rows } = await this.#query(
      `SELECT r.created, r.replaced, (r.job).* FROM ${this.#s}.job_add($1, $2, $3, $4::int, $5::float8, $6::int, $7, $8::float8, `
        + '$9::float8, $10::float8, $11, $12, $13) AS r',
      [job.id, job.name, job.payload, job.priority, job.runAt, job.maxAttempts, job.backoff, job.timeoutMs, job.retryUntil ?? null, now,
        this.#notify, job.group ?? null, job.debounce ?? null],
    );
    return addResult(rows[0] as Record<string, unknown>);
  }

  addMany(jobs: readonly NewJob[], now: number): Promise<AddResult[]> { return this.#fleet.addMany(jobs, now); }
  counts(name: string | undefined, now: number): Promise<JobCounts> { return this.#fleet.counts(name, now); }
  setLimits(entries: readonly JobLimitEntry[], now: number): Promise<void> { return this.#fleet.setLimits(entries, now); }
  getLimits(): Promise<JobLimitEntry[]> { return this.#fleet.getLimits(); }

  classifyError(err: unknown): BackendErrorKind | undefined {
    return classifyPgError(err);
  }

  /** One `select` of the schema version (`'migrations missing'` / `'migrations behind'`). */
  health(): Promise<BackendHealth> {
    return schemaHealth(this.#query, this.#s);
  }

  /** The worker to register as idle when its claim comes back short: only while LISTEN works. */
  #waiter(waiter: string | undefined): string | undefined {
    return this.#channel?.listening ? waiter : undefined;
  }

  async claim(a: ClaimArgs): Promise<ClaimedJobs> {
    const { rows } = await this.#query(
      `SELECT (r.job).*, r.held_back, r.retry_at FROM ${this.#s}.job_claim($1::text[], $2::int, $3::float8, $4, $5::float8, $6::float8, $7, $8::int) AS r`,
      [a.names, a.limit, a.maxTimeoutMs, a.token, a.leaseMs, a.now, this.#waiter(a.waiter) ?? null, a.groupConcurrency ?? null],
    );
    return claimedJobs(rows);
  }

  async heartbeat(id: string, token: string, leaseMs: number, now: number, progress?: ProgressUpdate): Promise<boolean> {
    return (await this.#scalar('job_heartbeat', '$1, $2, $3::float8, $4::float8, $5::float8, $6',
      [id, token, leaseMs, now, progress?.pct ?? null, progress?.message ?? null])) === true;
  }

  async complete(id: string, token: string, result: string, now: number): Promise<boolean> {
    const { flags } = await this.workerBatch({ now, started: [], completions: [{ id, token, result }], claim: undefined });
    return flags[0] === 1;
  }

  workerBatch(batch: WorkerBatch): Promise<WorkerBatchResult> {
    return sendWorkerBatch(this.#query, this.#s, batch, this.#waiter(batch.claim?.waiter));
  }

  async handBack(id: string, token: string, now: number): Promise<boolean> {
    // job_release keeps run_at when it is not later than now: a claimed job's place in line.
    return (await this.#scalar('job_release', '$1, $2, $3::float8', [id, token, now])) === true;
  }

  async partial(
    id: string, token: string, result: string, missing: string, retryAt: number, now: number, final?: { error: string },
  ): Promise<boolean> {
    return (await this.#scalar('job_partial', '$1, $2, $3, $4, $5::float8, $6::float8, $7',
      [id, token, result, missing, retryAt, now, final?.error ?? null])) === true;
  }

  async fail(id: string, token: string, error: string, retryAt: number | undefined, now: number): Promise<boolean> {
    return (await this.#scalar('job_fail', '$1, $2, $3, $4::float8, $5::float8', [id, token, error, retryAt ?? null, now])) === true;
  }

  async release(id: string, token: string, now: number): Promise<boolean> {
    return (await this.#scalar('job_release', '$1, $2, $3::float8', [id, token, now])) === true;
  }

  async retry(id: string, now: number): Promise<boolean> {
    return (await this.#scalar('job_retry', '$1, $2::float8', [id, now])) === true;
  }

  async cancel(id: string, now: number): Promise<boolean> {
    return (await this.#scalar('job_cancel', '$1, $2::float8', [id, now])) === true;
  }

  async remove(id: string, now: number): Promise<boolean> {
    return (await this.#scalar('job_remove', '$1, $2::float8', [id, now])) === true;
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
    // The LISTEN connection stays open until close(): another worker may subscribe again.
    return async () => { this.#listeners.delete(listener); };
  }

  async close(): Promise<void> {
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
  return new JobQueue(postgresJobBackend(options), options);
}

/**
 * The Postgres {@link JobBackend} itself, for composing your own {@link JobQueue}: one SQL function
 * call per state change; a long-running worker's completions are written together and claim their
 * replacements in the same statement (`withClaimAhead`), so a busy worker pays about one round
 * trip per job.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { JobQueue } from 'botwire/jobs';
 * import { postgresJobBackend } from 'botwire/postgres';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const queue = new JobQueue(postgresJobBackend({ client: pool }), { leaseMs: 60_000 });
 * ```
 */
export function postgresJobBackend(options: PostgresJobBackendOptions): JobBackend {
  // At most 200 completions per statement: bounds how long one statement holds its row locks.
  return withClaimAhead(new PostgresJobBackend(options), { maxCompletions: 200 });
}
