import type {
  ClaimArgs, JobBackend, JobState, ListArgs, ListPage, NewJob, ProgressUpdate, StoredJob,
} from '../../src/jobs/backend.js';
import { JobQueue, type JobQueueOptions } from '../../src/jobs/job-queue.js';

/** Options of {@link memoryJobQueue}. */
export type MemoryJobQueueOptions = JobQueueOptions;

const RUNNABLE = new Set<JobState>(['waiting', 'delayed', 'partial']);

/**
 * In-process job backend: the same semantics as the durable adapters (leases, fencing, priorities,
 * delays), gone when the process exits. Wake-ups reach workers in this process only.
 */
class MemoryJobBackend implements JobBackend {
  readonly name = 'memory';
  readonly #jobs = new Map<string, StoredJob & { seq: number }>();
  readonly #listeners = new Set<(name: string) => void>();
  #seq = 0;

  #wake(name: string): void {
    // Deferred so a listener never runs inside the caller's critical section.
    for (const l of this.#listeners) queueMicrotask(() => l(name));
  }

  #copy(job: StoredJob): StoredJob {
    const { seq: _seq, ...rest } = job as StoredJob & { seq?: number };
    return { ...rest };
  }

  #active(id: string, token: string): (StoredJob & { seq: number }) | undefined {
    const job = this.#jobs.get(id);
    return job && job.state === 'active' && job.leaseToken === token ? job : undefined;
  }

  #endLease(job: StoredJob, now: number): void {
    job.leaseToken = undefined;
    job.leaseUntil = undefined;
    job.updatedAt = now;
  }

  async add(input: NewJob, now: number): Promise<{ job: StoredJob; created: boolean }> {
    const existing = this.#jobs.get(input.id);
    if (existing) return { job: this.#copy(existing), created: false };
    const job: StoredJob & { seq: number } = {
      ...input, state: input.runAt <= now ? 'waiting' : 'delayed', attempts: 0, progress: 0, createdAt: now, updatedAt: now, seq: ++this.#seq,
    };
    this.#jobs.set(job.id, job);
    if (job.state === 'waiting') this.#wake(job.name);
    return { job: this.#copy(job), created: true };
  }

  async claim(args: ClaimArgs): Promise<StoredJob[]> {
    const names = new Set(args.names);
    const due = [...this.#jobs.values()]
      .filter((j) => RUNNABLE.has(j.state) && j.runAt <= args.now && names.has(j.name) && j.timeoutMs <= args.maxTimeoutMs)
      .sort((a, b) => b.priority - a.priority || a.runAt - b.runAt || a.seq - b.seq)
      .slice(0, args.limit);
    for (const j of due) {
      Object.assign(j, {
        state: 'active', leaseToken: args.token, leaseUntil: args.now + args.leaseMs, attempts: j.attempts + 1,
        startedAt: args.now, updatedAt: args.now,
      });
    }
    return due.map((j) => this.#copy(j));
  }

  async heartbeat(id: string, token: string, leaseMs: number, now: number, progress?: ProgressUpdate): Promise<boolean> {
    const job = this.#active(id, token);
    if (!job) return false;
    job.leaseUntil = now + leaseMs;
    job.updatedAt = now;
    if (progress) { job.progress = progress.pct; job.progressMessage = progress.message; }
    return true;
  }

  async complete(id: string, token: string, result: string, now: number): Promise<boolean> {
    const job = this.#active(id, token);
    if (!job) return false;
    Object.assign(job, { state: 'completed', result, missing: undefined, progress: 100, finishedAt: now });
    this.#endLease(job, now);
    return true;
  }

  async partial(
    id: string, token: string, result: string, missing: string, retryAt: number, now: number, final?: { error: string },
  ): Promise<boolean> {
    const job = this.#active(id, token);
    if (!job) return false;
    Object.assign(job, { result, missing });
    if (final) Object.assign(job, { state: 'failed', error: final.error, finishedAt: now });
    else Object.assign(job, { state: 'partial', runAt: retryAt });
    this.#endLease(job, now);
    if (!final && retryAt <= now) this.#wake(job.name);
    return true;
  }

  async fail(id: string, token: string, error: string, retryAt: number | undefined, now: number): Promise<boolean> {
    const job = this.#active(id, token);
    if (!job) return false;
    job.error = error;
    if (retryAt === undefined) Object.assign(job, { state: 'failed', finishedAt: now });
    else Object.assign(job, { state: retryAt <= now ? 'waiting' : 'delayed', runAt: retryAt });
    this.#endLease(job, now);
    if (job.state === 'waiting') this.#wake(job.name);
    return true;
  }

  async release(id: string, token: string, now: number): Promise<boolean> {
    const job = this.#active(id, token);
    if (!job) return false;
    Object.assign(job, { state: 'waiting', runAt: now, attempts: Math.max(0, job.attempts - 1) });
    this.#endLease(job, now);
    this.#wake(job.name);
    return true;
  }

  async retry(id: string, now: number): Promise<boolean> {
    const job = this.#jobs.get(id);
    if (!job || !['failed', 'cancelled', 'partial', 'delayed'].includes(job.state)) return false;
    Object.assign(job, { state: 'waiting', runAt: now, attempts: 0, finishedAt: undefined, updatedAt: now });
    this.#wake(job.name);
    return true;
  }

  async cancel(id: string, now: number): Promise<boolean> {
    const job = this.#jobs.get(id);
    if (!job || !(RUNNABLE.has(job.state) || job.state === 'active')) return false;
    Object.assign(job, { state: 'cancelled', finishedAt: now });
    this.#endLease(job, now);
    return true;
  }

  async get(id: string): Promise<StoredJob | undefined> {
    const job = this.#jobs.get(id);
    return job && this.#copy(job);
  }

  async list(args: ListArgs): Promise<ListPage> {
    // Cursor = "<createdAt>:<id>" of the last job returned; order is createdAt desc, then id desc.
    const cut = args.cursor ? args.cursor.indexOf(':') : -1;
    const cAt = cut > 0 ? Number(args.cursor!.slice(0, cut)) : Infinity;
    const cId = cut > 0 ? args.cursor!.slice(cut + 1) : '';
    const page = [...this.#jobs.values()]
      .filter((j) => (!args.state || j.state === args.state) && (!args.name || j.name === args.name))
      .filter((j) => j.createdAt < cAt || (j.createdAt === cAt && j.id < cId))
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, args.limit + 1);
    const jobs = page.slice(0, args.limit).map((j) => this.#copy(j));
    const last = jobs[jobs.length - 1];
    return page.length > args.limit && last ? { jobs, cursor: `${last.createdAt}:${last.id}` } : { jobs };
  }

  async reclaim(token: string, leaseMs: number, limit: number, now: number): Promise<StoredJob[]> {
    const out: StoredJob[] = [];
    for (const job of this.#jobs.values()) {
      if (out.length >= limit) break;
      if (job.state !== 'active' || job.leaseUntil === undefined || job.leaseUntil >= now) continue;
      Object.assign(job, { leaseToken: token, leaseUntil: now + leaseMs, updatedAt: now });
      out.push(this.#copy(job));
    }
    return out;
  }

  async promote(limit: number, now: number): Promise<number> {
    let n = 0;
    for (const job of this.#jobs.values()) {
      if (n >= limit) break;
      if (job.state === 'delayed' && job.runAt <= now) { job.state = 'waiting'; job.updatedAt = now; n++; }
    }
    return n;
  }

  async countDue(names: readonly string[], now: number): Promise<number> {
    let n = 0;
    for (const job of this.#jobs.values()) if (RUNNABLE.has(job.state) && job.runAt <= now && names.includes(job.name)) n++;
    return n;
  }

  async removeFinished(states: readonly JobState[], before: number, limit: number): Promise<number> {
    let n = 0;
    for (const [id, job] of this.#jobs) {
      if (n >= limit) break;
      if (states.includes(job.state) && job.finishedAt !== undefined && job.finishedAt < before) { this.#jobs.delete(id); n++; }
    }
    return n;
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
