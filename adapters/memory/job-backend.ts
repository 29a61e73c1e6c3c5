import type { ClaimArgs, JobBackend, JobQueueOptions, JobState, ListArgs, ListPage, NewJob, ProgressUpdate, StoredJob } from 'botwire/jobs';
import { JobQueue } from 'botwire/adapter-kit';
import { JobIndex, type JobRec } from './job-index.js';

/** Options of {@link memoryJobQueue}. */
export type MemoryJobQueueOptions = JobQueueOptions;

const RUNNABLE = new Set<JobState>(['waiting', 'delayed', 'partial']);

/**
 * In-process job backend: the same semantics as the durable adapters (leases, fencing, priorities,
 * delays), gone when the process exits. Wake-ups reach workers in this process only. Jobs wait in
 * a {@link JobIndex}, so a claim, reclaim or retention pass costs O(log n) per job it touches,
 * whatever the queue holds.
 */
class MemoryJobBackend implements JobBackend {
  readonly name = 'memory';
  readonly #jobs = new Map<string, JobRec>();
  readonly #index = new JobIndex();
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

  async add(input: NewJob, now: number): Promise<{ job: StoredJob; created: boolean }> {
    const existing = this.#jobs.get(input.id);
    if (existing) return { job: { ...existing.job }, created: false };
    const job: StoredJob = {
      ...input, state: input.runAt <= now ? 'waiting' : 'delayed', attempts: 0, progress: 0, createdAt: now, updatedAt: now,
    };
    const rec: JobRec = { job, seq: ++this.#seq, heap: undefined, pos: -1 };
    this.#jobs.set(job.id, rec);
    this.#index.place(rec, now);
    if (job.state === 'waiting') this.#wake(job.name);
    return { job: { ...job }, created: true };
  }

  async claim(args: ClaimArgs): Promise<StoredJob[]> {
    // Over the caller's budget (or due later on a clock that went back): stays due, untouched.
    const taken = this.#index.takeDue(args.names, args.limit, args.now, (j) => j.timeoutMs <= args.maxTimeoutMs && j.runAt <= args.now);
    return taken.map((rec) => {
      Object.assign(rec.job, {
        state: 'active', leaseToken: args.token, leaseUntil: args.now + args.leaseMs, attempts: rec.job.attempts + 1,
        startedAt: args.now, updatedAt: args.now,
      });
      this.#index.place(rec, args.now);
      return { ...rec.job };
    });
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
    return true;
  }

  async fail(id: string, token: string, error: string, retryAt: number | undefined, now: number): Promise<boolean> {
    const rec = this.#active(id, token);
    if (!rec) return false;
    const end = { error, leaseToken: undefined, leaseUntil: undefined, updatedAt: now };
    if (retryAt === undefined) this.#index.move(rec, now, { ...end, state: 'failed', finishedAt: now });
    else this.#index.move(rec, now, { ...end, state: retryAt <= now ? 'waiting' : 'delayed', runAt: retryAt });
    if (rec.job.state === 'waiting') this.#wake(rec.job.name);
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
    this.#index.move(rec, now, { state: 'cancelled', finishedAt: now, leaseToken: undefined, leaseUntil: undefined, updatedAt: now });
    return true;
  }

  async get(id: string): Promise<StoredJob | undefined> {
    const rec = this.#jobs.get(id);
    return rec && { ...rec.job };
  }

  // A dashboard read, not on a worker's path: a scan is fine here.
  async list(args: ListArgs): Promise<ListPage> {
    // Cursor = "<createdAt>:<id>" of the last job returned; order is createdAt desc, then id desc.
    const cut = args.cursor ? args.cursor.indexOf(':') : -1;
    const cAt = cut > 0 ? Number(args.cursor!.slice(0, cut)) : Infinity;
    const cId = cut > 0 ? args.cursor!.slice(cut + 1) : '';
    const page: StoredJob[] = [];
    for (const { job: j } of this.#jobs.values()) {
      if ((args.state && j.state !== args.state) || (args.name && j.name !== args.name)) continue;
      if (j.createdAt < cAt || (j.createdAt === cAt && j.id < cId)) page.push(j);
    }
    page.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const jobs = page.slice(0, args.limit).map((j) => ({ ...j }));
    const last = jobs[jobs.length - 1];
    return page.length > args.limit && last ? { jobs, cursor: `${last.createdAt}:${last.id}` } : { jobs };
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
    for (const rec of gone) this.#jobs.delete(rec.job.id);
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
