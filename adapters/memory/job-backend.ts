import type {
  AddResult, ClaimArgs, ClaimedJobs, JobBackend, JobCounts, JobFeature, JobLimitEntry, JobQueueOptions, JobState, ListArgs, ListPage,
  NewJob, ProgressUpdate, StoredJob,
} from 'botwire/jobs';
import { createdJob, JobQueue } from 'botwire/adapter-kit';
import { claimJobs } from './job-claim.js';
import { JobIndex, type JobRec } from './job-index.js';
import { NameLimits } from './job-limits.js';
import { listJobs } from './job-list.js';

/** Options of {@link memoryJobQueue}. */
export type MemoryJobQueueOptions = JobQueueOptions;

const RUNNABLE = new Set<JobState>(['waiting', 'delayed', 'partial']);
const FEATURES: readonly JobFeature[] = ['limits', 'groups', 'debounce', 'addMany', 'counts'];

/**
 * In-process job backend: the same semantics as the durable adapters (leases, fencing, priorities,
 * delays), gone when the process exits. Wake-ups reach workers in this process only. Jobs wait in
 * a {@link JobIndex}, so a claim, reclaim or retention pass costs O(log n) per job it touches,
 * whatever the queue holds.
 */
class MemoryJobBackend implements JobBackend {
  readonly name = 'memory';
  readonly features = FEATURES;
  readonly #jobs = new Map<string, JobRec>();
  readonly #index = new JobIndex();
  readonly #limits = new NameLimits();
  /** `<name>\n<debounce id>` → the job most recently created under it. */
  readonly #debounced = new Map<string, string>();
  readonly #listeners = new Set<(name: string) => void>();
  #seq = 0;

  #wake(name: string): void {
    // Deferred so a listener never runs inside the caller's critical section.
    for (const l of this.#listeners) queueMicrotask(() => l(name));
  }

  #active(id: string, token: string): JobRec | undefined {
    const rec = this.#jobs.get(id);
    return rec && rec.job.state === 'active' && rec.job.leaseToken === token ? rec : undefined;
  }

  async add(input: NewJob, now: number): Promise<AddResult> {
    return this.#add(input, now);
  }

  async addMany(jobs: readonly NewJob[], now: number): Promise<AddResult[]> {
    return jobs.map((job) => this.#add(job, now));
  }

  #add(input: NewJob, now: number): AddResult {
    const { debounce, ...fields } = input;
    const key = debounce === undefined ? undefined : `${input.name}\n${debounce}`;
    const last = key === undefined ? undefined : this.#jobs.get(this.#debounced.get(key) ?? '');
    if (last && (last.job.state === 'waiting' || last.job.state === 'delayed') && last.job.attempts === 0) {
      const { payload, priority, runAt, maxAttempts, backoff, timeoutMs, retryUntil, group } = fields;
      const state = runAt <= now ? 'waiting' : 'delayed';
      this.#index.move(last, now, { payload, priority, runAt, maxAttempts, backoff, timeoutMs, retryUntil, group, state, updatedAt: now });
      if (state === 'waiting') this.#wake(last.job.name);
      return { job: { ...last.job }, created: false, replaced: true };
    }
    const existing = this.#jobs.get(input.id);
    if (existing) return { job: { ...existing.job }, created: false };
    const job = createdJob(input, now);
    const rec: JobRec = { job, seq: ++this.#seq, heap: undefined, pos: -1, debounceKey: key };
    this.#jobs.set(job.id, rec);
    if (key !== undefined) this.#debounced.set(key, job.id);
    this.#index.place(rec, now);
    if (job.state === 'waiting') this.#wake(job.name);
    return { job: { ...job }, created: true };
  }

  async claim(args: ClaimArgs): Promise<ClaimedJobs> {
    const out: ClaimedJobs = [];
    const hint = claimJobs(this.#index, this.#limits, args, false, (rec) => {
      this.#index.move(rec, args.now, {
        state: 'active', leaseToken: args.token, leaseUntil: args.now + args.leaseMs, attempts: rec.job.attempts + 1,
        startedAt: args.now, updatedAt: args.now,
      });
      out.push({ ...rec.job });
    });
    if (hint.heldBack) out.heldBack = true;
    if (hint.retryAt !== undefined) out.retryAt = hint.retryAt;
    return out;
  }

  /**
   * A job of `job.name`/`job.group` stopped holding a slot: wake its name when a limit held jobs of
   * it back and a slot is free now, and the names of its group's due jobs.
   */
  #freed(job: StoredJob, now: number): void {
    const limit = this.#limits.get(job.name);
    if (limit?.concurrency !== undefined && this.#index.mayBeDue(job.name, now) && this.#index.live(now).name(job.name) < limit.concurrency) {
      this.#wake(job.name);
    }
    const lane = job.group === undefined ? undefined : this.#index.lane(job.group);
    if (lane?.dueCount) for (const [name, heap] of lane.due) if (heap.size) this.#wake(name);
  }

  async setLimits(entries: readonly JobLimitEntry[], now: number): Promise<void> {
    this.#limits.set(entries);
    for (const { name } of entries) if (this.#index.mayBeDue(name, now)) this.#wake(name);
  }

  async getLimits(): Promise<JobLimitEntry[]> {
    return this.#limits.entries();
  }

  async counts(name: string | undefined, now: number): Promise<JobCounts> {
    return this.#index.counts(name, now);
  }

  async heartbeat(id: string, token: string, leaseMs: number, now: number, progress?: ProgressUpdate): Promise<boolean> {
    const rec = this.#active(id, token);
    if (!rec) return false;
    rec.job.leaseUntil = now + leaseMs;
    rec.job.updatedAt = now;
    this.#index.renewed(rec);
    if (progress) { rec.job.progress = progress.pct; rec.job.progressMessage = progress.message; }
    return true;
  }

  async complete(id: string, token: string, result: string, now: number): Promise<boolean> {
    const rec = this.#active(id, token);
    if (!rec) return false;
    this.#index.move(rec, now, {
      state: 'completed', result, missing: undefined, progress: 100, finishedAt: now, leaseToken: undefined, leaseUntil: undefined, updatedAt: now,
    });
    this.#freed(rec.job, now);
    return true;
  }

  async partial(
    id: string, token: string, result: string, missing: string, retryAt: number, now: number, final?: { error: string },
  ): Promise<boolean> {
    const rec = this.#active(id, token);
    if (!rec) return false;
    const end = { result, missing, leaseToken: undefined, leaseUntil: undefined, updatedAt: now };
    if (final) this.#index.move(rec, now, { ...end, state: 'failed', error: final.error, finishedAt: now });
    else this.#index.move(rec, now, { ...end, state: 'partial', runAt: retryAt });
    if (!final && retryAt <= now) this.#wake(rec.job.name);
    this.#freed(rec.job, now);
    return true;
  }

  async fail(id: string, token: string, error: string, retryAt: number | undefined, now: number): Promise<boolean> {
    const rec = this.#active(id, token);
    if (!rec) return false;
    const end = { error, leaseToken: undefined, leaseUntil: undefined, updatedAt: now };
    if (retryAt === undefined) this.#index.move(rec, now, { ...end, state: 'failed', finishedAt: now });
    else this.#index.move(rec, now, { ...end, state: retryAt <= now ? 'waiting' : 'delayed', runAt: retryAt });
    if (rec.job.state === 'waiting') this.#wake(rec.job.name);
    this.#freed(rec.job, now);
    return true;
  }

  async release(id: string, token: string, now: number): Promise<boolean> {
    const rec = this.#active(id, token);
    if (!rec) return false;
    this.#index.move(rec, now, {
      state: 'waiting', runAt: now, attempts: Math.max(0, rec.job.attempts - 1), leaseToken: undefined, leaseUntil: undefined, updatedAt: now,
    });
    this.#wake(rec.job.name);
    return true;
  }

  async retry(id: string, now: number): Promise<boolean> {
    const rec = this.#jobs.get(id);
    if (!rec || !['failed', 'cancelled', 'partial', 'delayed'].includes(rec.job.state)) return false;
    this.#index.move(rec, now, { state: 'waiting', runAt: now, attempts: 0, finishedAt: undefined, updatedAt: now });
    this.#wake(rec.job.name);
    return true;
  }

  async cancel(id: string, now: number): Promise<boolean> {
    const rec = this.#jobs.get(id);
    if (!rec || !(RUNNABLE.has(rec.job.state) || rec.job.state === 'active')) return false;
    const active = rec.job.state === 'active';
    this.#index.move(rec, now, { state: 'cancelled', finishedAt: now, leaseToken: undefined, leaseUntil: undefined, updatedAt: now });
    if (active) this.#freed(rec.job, now);
    return true;
  }

  async remove(id: string): Promise<boolean> {
    const rec = this.#jobs.get(id);
    if (!rec || rec.job.state === 'active') return false;
    this.#index.remove(rec);
    this.#forget(rec);
    return true;
  }

  /** Drop a job taken out of the index, and its debounce key while that still names it. */
  #forget(rec: JobRec): void {
    this.#jobs.delete(rec.job.id);
    if (rec.debounceKey !== undefined && this.#debounced.get(rec.debounceKey) === rec.job.id) this.#debounced.delete(rec.debounceKey);
  }

  async get(id: string): Promise<StoredJob | undefined> {
    const rec = this.#jobs.get(id);
    return rec && { ...rec.job };
  }

  async list(args: ListArgs): Promise<ListPage> {
    return listJobs(this.#jobs.values(), args);
  }

  async reclaim(token: string, leaseMs: number, limit: number, now: number): Promise<StoredJob[]> {
    const out: StoredJob[] = [];
    for (let rec = this.#index.lapsed(now); rec && out.length < limit; rec = this.#index.lapsed(now)) {
      Object.assign(rec.job, { leaseToken: token, leaseUntil: now + leaseMs, updatedAt: now });
      this.#index.renewed(rec);
      out.push({ ...rec.job });
    }
    return out;
  }

  async promote(limit: number, now: number): Promise<number> {
    return this.#index.promote(now, limit);
  }

  async countDue(names: readonly string[], now: number): Promise<number> {
    return this.#index.countDue(names, now);
  }

  async removeFinished(states: readonly JobState[], before: number, limit: number): Promise<number> {
    const gone = this.#index.takeFinished(states, before, limit);
    for (const rec of gone) this.#forget(rec);
    return gone.length;
  }

  async subscribe(listener: (name: string) => void): Promise<() => Promise<void>> {
    this.#listeners.add(listener);
    return async () => { this.#listeners.delete(listener); };
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}

/**
 * An in-process {@link JobQueue}: zero setup, for development, tests and single-instance bots.
 * Jobs are lost when the process exits; use `redisJobQueue` or `postgresJobQueue` in production.
 *
 * @example
 * ```ts
 * const queue = memoryJobQueue({ handlers: { report } });
 * new Worker(queue, undefined, { concurrency: 2 });
 * await queue.add('report', { chatId: 42 });
 * ```
 */
export function memoryJobQueue(options: MemoryJobQueueOptions = {}): JobQueue {
  return new JobQueue(new MemoryJobBackend(), options);
}

/** The memory backend itself, for composing your own {@link JobQueue}. */
export function memoryJobBackend(): JobBackend {
  return new MemoryJobBackend();
}
