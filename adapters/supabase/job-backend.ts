import type {
  AddResult, ClaimArgs, ClaimedJobs, JobBackend, JobCounts, JobFeature, JobLimitEntry, JobQueueOptions, JobState, ListArgs, ListPage, NewJob,
  ProgressUpdate, StoredJob,
} from 'botwire/jobs';
import {
  JobQueue, withClaimAhead, type BackendErrorKind, type WorkerBatch, type WorkerBatchBackend, type WorkerBatchResult,
} from 'botwire/adapter-kit';
import { schemaClient, type SupabaseClientLike } from './client.js';
import { classifySupabaseError, NAME } from './errors.js';
import { addResult, claimed, SupabaseJobFleet } from './job-fleet.js';
import { toStored } from './job-rows.js';
import { Rpc } from './rpc.js';

/** Options of {@link supabaseJobBackend}. */
export interface SupabaseJobBackendOptions {
  /** A `SupabaseClient` made with the **service-role** key. The queue never closes it. */
  client: SupabaseClientLike;
  /** Schema created by `npx botwire migrate` (one of the project's exposed schemas). @default 'botwire' */
  schema?: string;
  /**
   * Let `add` wake a long-running `postgresJobQueue` worker that LISTENs on the same database
   * (through its direct connection) and is idle. The SQL sends the NOTIFY only while such a worker
   * is registered as waiting, so it costs nothing otherwise.
   * @default true
   */
  notify?: boolean;
  /** Bound on one call, in ms, retries of a read included; pass the queue's `operationTimeoutMs`. @default 5_000 */
  operationTimeoutMs?: number;
}

/** Options of {@link supabaseJobQueue}: where the jobs live plus every {@link JobQueueOptions} option. */
export interface SupabaseJobQueueOptions extends JobQueueOptions, SupabaseJobBackendOptions {}

type Row = Record<string, unknown>;

const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Jobs through the Data API: each primitive one `rpc()` of the SQL function the Postgres adapter
 * calls (002_jobs.sql). No `subscribe`: PostgREST cannot LISTEN, so a `Worker` on this backend polls,
 * and `runDue` ticks (serverless) need nothing else.
 */
class SupabaseJobBackend implements WorkerBatchBackend {
  readonly name = NAME;
  readonly features: readonly JobFeature[] = ['limits', 'groups', 'debounce', 'addMany', 'counts'];
  readonly #rpc: Rpc;
  readonly #notify: boolean;
  readonly #fleet: SupabaseJobFleet;

  constructor(options: SupabaseJobBackendOptions) {
    const { db, schema } = schemaClient('supabaseJobQueue', options);
    this.#rpc = new Rpc(db, schema, options.operationTimeoutMs ?? 5_000);
    this.#notify = options.notify ?? true;
    this.#fleet = new SupabaseJobFleet(this.#rpc, this.#notify);
  }

  classifyError(err: unknown): BackendErrorKind | undefined {
    return classifySupabaseError(err);
  }

  async #jobs(fn: string, args: Record<string, unknown>, read = false): Promise<StoredJob[]> {
    return (await this.#rpc.call<Row[]>(fn, args, 'rows', read)).map(toStored);
  }

  #flag(fn: string, args: Record<string, unknown>): Promise<boolean> {
    return this.#rpc.call<boolean>(fn, args, 'boolean');
  }

  async add(job: NewJob, now: number): Promise<AddResult> {
    const rows = await this.#rpc.call<Array<{ created: boolean; replaced: boolean; job: Row | null }>>('job_add', {
      p_id: job.id, p_name: job.name, p_payload: job.payload, p_priority: job.priority, p_run_at: job.runAt,
      p_max_attempts: job.maxAttempts, p_backoff: job.backoff, p_timeout_ms: job.timeoutMs, p_retry_until: job.retryUntil ?? null,
      p_now: now, p_notify: this.#notify, p_group: job.group ?? null, p_debounce: job.debounce ?? null,
    }, 'rows');
    return addResult(rows[0], job.id);
  }

  addMany(jobs: readonly NewJob[], now: number): Promise<AddResult[]> { return this.#fleet.addMany(jobs, now); }
  counts(name: string | undefined, now: number): Promise<JobCounts> { return this.#fleet.counts(name, now); }
  setLimits(entries: readonly JobLimitEntry[], now: number): Promise<void> { return this.#fleet.setLimits(entries, now); }
  getLimits(): Promise<JobLimitEntry[]> { return this.#fleet.getLimits(); }

  async claim(a: ClaimArgs): Promise<ClaimedJobs> {
    return claimed(await this.#rpc.call<Array<{ job: Row | null; held_back: boolean | null; retry_at: number | null }>>('job_claim', {
      p_names: a.names, p_limit: a.limit, p_max_timeout_ms: a.maxTimeoutMs, p_token: a.token, p_lease_ms: a.leaseMs, p_now: a.now,
      p_group_concurrency: a.groupConcurrency ?? null,
    }, 'rows'));
  }

  heartbeat(id: string, token: string, leaseMs: number, now: number, progress?: ProgressUpdate): Promise<boolean> {
    return this.#flag('job_heartbeat', {
      p_id: id, p_token: token, p_lease_ms: leaseMs, p_now: now, p_progress: progress?.pct ?? null, p_message: progress?.message ?? null,
    });
  }

  async complete(id: string, token: string, result: string, now: number): Promise<boolean> {
    const { flags } = await this.workerBatch({ now, started: [], completions: [{ id, token, result }], claim: undefined });
    return flags[0] === 1;
  }

  /**
   * `job_complete_many` for bare completions, else `job_worker_batch` (starts, completions and a
   * claim in one transaction), both with ids sorted so concurrent batches lock rows in one order.
   */
  async workerBatch(batch: WorkerBatch): Promise<WorkerBatchResult> {
    const items = [...batch.completions].sort(byId);
    const done = { p_ids: items.map((c) => c.id), p_tokens: items.map((c) => c.token), p_results: items.map((c) => c.result), p_now: batch.now };
    const accepted = new Set<string>();
    let jobs: ClaimedJobs = [];
    const r = batch.claim;
    if (r || batch.started.length) {
      const started = [...batch.started].sort(byId);
      type BatchRow = { done_id: string | null; done_token: string | null; job: Row | null; held_back: boolean | null; retry_at: number | null };
      const rows = await this.#rpc.call<BatchRow[]>('job_worker_batch', {
        ...done, p_started_ids: started.map((m) => m.id), p_started_tokens: started.map((m) => m.token), p_started_at: started.map((m) => m.at),
        p_names: r?.names ?? [], p_limit: r?.limit ?? 0, p_max_timeout_ms: r?.maxTimeoutMs ?? 0, p_token: r?.token ?? '',
        p_lease_ms: r?.leaseMs ?? 0, p_waiter: null, p_group_concurrency: r?.groupConcurrency ?? null, p_ahead: r?.ahead === true,
      }, 'rows');
      for (const row of rows) if (row.done_id !== null) accepted.add(`${row.done_id}\u0000${String(row.done_token)}`);
      jobs = claimed(rows.filter((row) => row.done_id === null));
    } else {
      const rows = await this.#rpc.call<Array<{ id: string; token: string }>>('job_complete_many', done, 'rows');
      for (const row of rows) accepted.add(`${row.id}\u0000${row.token}`);
    }
    const flags = batch.completions.map((c) => (accepted.has(`${c.id}\u0000${c.token}`) ? 1 : 0));
    return { flags, jobs: [...jobs], ...(jobs.heldBack ? { heldBack: true } : {}), ...(jobs.retryAt === undefined ? {} : { retryAt: jobs.retryAt }) };
  }

  handBack(id: string, token: string, now: number): Promise<boolean> {
    // job_release keeps run_at when it is not later than now: a claimed job's place in line.
    return this.#flag('job_release', { p_id: id, p_token: token, p_now: now });
  }

  partial(id: string, token: string, result: string, missing: string, retryAt: number, now: number, final?: { error: string }): Promise<boolean> {
    return this.#flag('job_partial', {
      p_id: id, p_token: token, p_result: result, p_missing: missing, p_retry_at: retryAt, p_now: now, p_final_error: final?.error ?? null,
    });
  }

  fail(id: string, token: string, error: string, retryAt: number | undefined, now: number): Promise<boolean> {
    return this.#flag('job_fail', { p_id: id, p_token: token, p_error: error, p_retry_at: retryAt ?? null, p_now: now });
  }

  release(id: string, token: string, now: number): Promise<boolean> {
    return this.#flag('job_release', { p_id: id, p_token: token, p_now: now });
  }

  retry(id: string, now: number): Promise<boolean> {
    return this.#flag('job_retry', { p_id: id, p_now: now });
  }

  cancel(id: string, now: number): Promise<boolean> {
    return this.#flag('job_cancel', { p_id: id, p_now: now });
  }

  remove(id: string, now: number): Promise<boolean> {
    return this.#flag('job_remove', { p_id: id, p_now: now });
  }

  async get(id: string): Promise<StoredJob | undefined> {
    return (await this.#jobs('job_get', { p_id: id }, true))[0];
  }

  async list(a: ListArgs): Promise<ListPage> {
    // Cursor "<createdAt>:<id>" of the last row returned, as on Postgres.
    const cut = a.cursor ? a.cursor.indexOf(':') : -1;
    const rows = await this.#jobs('job_list', {
      p_state: a.state ?? null, p_name: a.name ?? null, p_limit: a.limit,
      p_after_created: cut > 0 ? Number(a.cursor!.slice(0, cut)) : null, p_after_id: cut > 0 ? a.cursor!.slice(cut + 1) : null,
    }, true);
    const jobs = rows.slice(0, a.limit);
    const last = jobs[jobs.length - 1];
    return rows.length > a.limit && last ? { jobs, cursor: `${last.createdAt}:${last.id}` } : { jobs };
  }

  reclaim(token: string, leaseMs: number, limit: number, now: number): Promise<StoredJob[]> {
    return this.#jobs('job_reclaim', { p_token: token, p_lease_ms: leaseMs, p_limit: limit, p_now: now });
  }

  async promote(): Promise<number> {
    // job_claim reads run_at directly: nothing to move, no request.
    return 0;
  }

  async countDue(names: readonly string[], now: number): Promise<number> {
    return Number(await this.#rpc.call<number>('job_count_due', { p_names: names, p_now: now }, 'number', true));
  }

  async removeFinished(states: readonly JobState[], before: number, limit: number): Promise<number> {
    return Number(await this.#rpc.call<number>('job_remove_finished', { p_states: states, p_before: before, p_limit: limit }, 'number'));
  }

  async close(): Promise<void> {
    // The client is the caller's; HTTP holds nothing open.
  }
}

/**
 * A {@link JobQueue} on Supabase through the Data API: `FOR UPDATE SKIP LOCKED` claims and fenced
 * state changes, each one HTTP request to the SQL function `botwire/postgres` calls, so a serverless
 * function can enqueue and run due jobs (`runDue`) from anywhere supabase-js runs. Workers on it
 * poll (no LISTEN through HTTP); a long-running worker on the direct connection
 * (`postgresJobQueue`) shares the same jobs and is woken by `add` here.
 *
 * @example
 * ```ts
 * import { createClient } from '@supabase/supabase-js';
 * import { supabaseJobQueue } from 'botwire/supabase';
 * const supabase = createClient(process.env.SUPABASE_URL!, process.env.SUPABASE_SERVICE_ROLE_KEY!);
 * const queue = supabaseJobQueue({ client: supabase, handlers: { report } });
 * await queue.add('report', { chatId });
 * ```
 */
export function supabaseJobQueue(options: SupabaseJobQueueOptions): JobQueue {
  return new JobQueue(supabaseJobBackend(options), options);
}

/**
 * The Supabase {@link JobBackend} itself, for composing your own {@link JobQueue}: completions of a
 * worker are written together (`withClaimAhead`, as on Postgres), one request for many.
 *
 * @example
 * ```ts
 * import { JobQueue } from 'botwire/jobs';
 * import { supabaseJobBackend } from 'botwire/supabase';
 * const queue = new JobQueue(supabaseJobBackend({ client: supabase }), { leaseMs: 60_000 });
 * ```
 */
export function supabaseJobBackend(options: SupabaseJobBackendOptions): JobBackend {
  // At most 200 completions per request: bounds how long one transaction holds its row locks.
  return withClaimAhead(new SupabaseJobBackend(options), { maxCompletions: 200 });
}
