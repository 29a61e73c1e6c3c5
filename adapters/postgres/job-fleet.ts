import type { AddResult, ClaimedJobs, JobCounts, JobFeature, JobLimit, JobLimitEntry, NewJob, StoredJob } from 'botwire/jobs';
import { createdJob } from 'botwire/adapter-kit';
import { n, toStored } from './job-rows.js';

/** The fleet features the Postgres and Supabase job backends implement (migration 005_job_fleet). */
export const PG_JOB_FEATURES: readonly JobFeature[] = ['limits', 'groups', 'debounce', 'addMany', 'counts'];

type Query = (text: string, params: unknown[]) => Promise<{ rows: any[] }>;

/**
 * Claim rows (`job_claim`, `job_worker_batch`): the jobs, then possibly one row without a job that
 * carries the `heldBack`/`retryAt` hint. `id` is read from the expanded job columns.
 */
export function claimedJobs(rows: ReadonlyArray<Record<string, unknown>>): ClaimedJobs {
  const jobs: ClaimedJobs = [];
  for (const row of rows) {
    if (row.id !== null && row.id !== undefined) jobs.push(toStored(row));
    else if (row.held_back === true) {
      jobs.heldBack = true;
      if (row.retry_at !== null && row.retry_at !== undefined) jobs.retryAt = n(row.retry_at);
    }
  }
  return jobs;
}

/** `job_add_many`'s parameters: one array per column, in the jobs' order. */
export function addManyArrays(jobs: readonly NewJob[]): unknown[] {
  return [
    jobs.map((j) => j.id), jobs.map((j) => j.name), jobs.map((j) => j.payload), jobs.map((j) => j.priority),
    jobs.map((j) => j.runAt), jobs.map((j) => j.maxAttempts), jobs.map((j) => j.backoff), jobs.map((j) => j.timeoutMs),
    jobs.map((j) => j.retryUntil ?? null), jobs.map((j) => j.group ?? null), jobs.map((j) => j.debounce ?? null),
  ];
}

/** A `job_add`/`job_add_many` row (`created`, `replaced`, then the job's columns) → the answer. */
export function addResult(row: Record<string, unknown>): AddResult {
  const result: AddResult = { job: toStored(row), created: row.created === true };
  if (row.replaced === true) result.replaced = true;
  return result;
}


/** `job_add_many`: ONE statement for the chunk. */
export async function addManyPg(query: Query, s: string, jobs: readonly NewJob[], now: number, notify: boolean): Promise<AddResult[]> {
  if (!jobs.length) return [];
  const { rows } = await query(
    `SELECT r.created, r.replaced, (r.job).* FROM ${s}.job_add_many($1::text[], $2::text[], $3::text[], $4::int[], $5::float8[], `
      + '$6::int[], $7::text[], $8::float8[], $9::float8[], $10::text[], $11::text[], $12::float8, $13) AS r',
    [...addManyArrays(jobs), now, notify],
  );
  return rows.map((row, i) => (row.created === true && row.id === null ? { job: createdJob(jobs[i]!, now), created: true } : addResult(row)));
}

/** `job_counts` rows (state, n) → every state, zero when absent. */
export function countsFrom(rows: ReadonlyArray<{ state: string; n: unknown }>): JobCounts {
  const out: JobCounts = { waiting: 0, delayed: 0, active: 0, partial: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const r of rows) if (r.state in out) out[r.state as keyof JobCounts] = n(r.n);
  return out;
}

/** `job_get_limits` rows → entries. */
export function limitsFrom(rows: ReadonlyArray<Record<string, unknown>>): JobLimitEntry[] {
  return rows.map((r) => {
    const limit: JobLimit = {};
    if (r.concurrency !== null && r.concurrency !== undefined) limit.concurrency = n(r.concurrency);
    if (r.rate_max !== null && r.rate_max !== undefined) limit.rate = { max: n(r.rate_max), perMs: n(r.rate_per_ms) };
    return { name: String(r.name), limit };
  });
}

/** The fleet methods of the Postgres job backend, each one SQL function call. */
export class PgJobFleet {
  constructor(private readonly query: Query, private readonly s: string, private readonly notify: boolean) {}

  addMany(jobs: readonly NewJob[], now: number): Promise<AddResult[]> {
    return addManyPg(this.query, this.s, jobs, now, this.notify);
  }

  async counts(name: string | undefined, now: number): Promise<JobCounts> {
    return countsFrom((await this.query(`SELECT state, n FROM ${this.s}.job_counts($1, $2::float8)`, [name ?? null, now])).rows);
  }

  async setLimits(entries: readonly JobLimitEntry[], now: number): Promise<void> {
    await this.query(`SELECT ${this.s}.job_set_limits($1::jsonb, $2::float8)`, [JSON.stringify(entries), now]);
  }

  async getLimits(): Promise<JobLimitEntry[]> {
    return limitsFrom((await this.query(`SELECT * FROM ${this.s}.job_get_limits()`, [])).rows);
  }
}



