import type { AddResult, ClaimedJobs, JobCounts, JobLimitEntry, NewJob, StoredJob } from 'botwire/jobs';
import { createdJob } from 'botwire/adapter-kit';
import type { Rpc } from './rpc.js';
import { toStored } from './job-rows.js';

type Row = Record<string, unknown>;

/** A `job_add`/`job_add_many` row as PostgREST answers it (the job as a nested object). */
export function addResult(row: { created: boolean; replaced?: boolean; job: Row | null } | undefined, id: string): AddResult {
  if (!row?.job) throw new Error(`job_add answered no row for job ${id}`);
  const result: AddResult = { job: toStored(row.job), created: row.created === true };
  if (row.replaced === true) result.replaced = true;
  return result;
}


/** Claim rows (`job_claim`, `job_worker_batch`): jobs, then possibly one hint row without a job. */
export function claimed(rows: ReadonlyArray<{ job: Row | null; held_back?: boolean | null; retry_at?: number | null }>): ClaimedJobs {
  const jobs: ClaimedJobs = [];
  for (const row of rows) {
    if (row.job && row.job.id !== null && row.job.id !== undefined) jobs.push(toStored(row.job));
    else if (row.held_back === true) {
      jobs.heldBack = true;
      if (row.retry_at !== null && row.retry_at !== undefined) jobs.retryAt = Number(row.retry_at);
    }
  }
  return jobs;
}

/** The fleet methods of the Supabase job backend: one `rpc()` each, to 005_job_fleet's functions. */
export class SupabaseJobFleet {
  constructor(private readonly rpc: Rpc, private readonly notify: boolean) {}

  async addMany(jobs: readonly NewJob[], now: number): Promise<AddResult[]> {
    if (!jobs.length) return [];
    const rows = await this.rpc.call<Array<{ created: boolean; replaced: boolean; job: Row | null }>>('job_add_many', {
      p_ids: jobs.map((j) => j.id), p_names: jobs.map((j) => j.name), p_payloads: jobs.map((j) => j.payload),
      p_priorities: jobs.map((j) => j.priority), p_run_ats: jobs.map((j) => j.runAt), p_max_attempts: jobs.map((j) => j.maxAttempts),
      p_backoffs: jobs.map((j) => j.backoff), p_timeouts: jobs.map((j) => j.timeoutMs), p_retry_untils: jobs.map((j) => j.retryUntil ?? null),
      p_groups: jobs.map((j) => j.group ?? null), p_debounces: jobs.map((j) => j.debounce ?? null), p_now: now, p_notify: this.notify,
    }, 'rows');
    return rows.map((row, i) => (row.created === true && !row.job?.id ? { job: createdJob(jobs[i]!, now), created: true } : addResult(row, jobs[i]!.id)));
  }

  async counts(name: string | undefined, now: number): Promise<JobCounts> {
    const rows = await this.rpc.call<Array<{ state: string; n: number }>>('job_counts', { p_name: name ?? null, p_now: now }, 'rows', true);
    const out: JobCounts = { waiting: 0, delayed: 0, active: 0, partial: 0, completed: 0, failed: 0, cancelled: 0 };
    for (const r of rows) if (r.state in out) out[r.state as keyof JobCounts] = Number(r.n);
    return out;
  }

  async setLimits(entries: readonly JobLimitEntry[], now: number): Promise<void> {
    await this.rpc.call('job_set_limits', { p_entries: entries, p_now: now }, 'number');
  }

  async getLimits(): Promise<JobLimitEntry[]> {
    const rows = await this.rpc.call<Row[]>('job_get_limits', {}, 'rows', true);
    return rows.map((r) => {
      const limit: NonNullable<JobLimitEntry['limit']> = {};
      if (r.concurrency !== null && r.concurrency !== undefined) limit.concurrency = Number(r.concurrency);
      if (r.rate_max !== null && r.rate_max !== undefined) limit.rate = { max: Number(r.rate_max), perMs: Number(r.rate_per_ms) };
      return { name: String(r.name), limit };
    });
  }
}
