import type {
  ClaimArgs, JobBackend, JobState, ListArgs, ListPage, NewJob, ProgressUpdate, StoredJob,
} from '../../src/jobs/backend.js';
import { JobQueue, type JobQueueOptions } from '../../src/jobs/job-queue.js';
import { IndexedHeap, type HeapSlot } from './indexed-heap.js';

/** Options of {@link memoryJobQueue}. */
export type MemoryJobQueueOptions = JobQueueOptions;

const RUNNABLE = new Set<JobState>(['waiting', 'delayed', 'partial']);
const FINISHED = new Set<JobState>(['completed', 'failed', 'cancelled']);
/** Most due jobs one claim looks at (skipping those over its time budget), as on Redis. */
const MAX_SCAN = 1_000;

/** One stored job plus its place in the indexes. */
interface Rec extends HeapSlot<Rec> {
  job: StoredJob;
  /** Insertion order: the last tie-breaker of the claim order. */
  seq: number;
}

// Claim order: priority (highest first), then runAt, then insertion.
const claimOrder = (a: Rec, b: Rec): boolean =>
  a.job.priority !== b.job.priority ? a.job.priority > b.job.priority : a.job.runAt !== b.job.runAt ? a.job.runAt < b.job.runAt : a.seq < b.seq;
const earlier = (x: number, y: number, a: Rec, b: Rec): boolean => (x !== y ? x < y : a.seq < b.seq);
const byRunAt = (a: Rec, b: Rec): boolean => earlier(a.job.runAt, b.job.runAt, a, b);
const byLease = (a: Rec, b: Rec): boolean => earlier(a.job.leaseUntil ?? 0, b.job.leaseUntil ?? 0, a, b);
const byFinish = (a: Rec, b: Rec): boolean => earlier(a.job.finishedAt ?? 0, b.job.finishedAt ?? 0, a, b);

/**
 * In-process job backend: the same semantics as the durable adapters (leases, fencing, priorities,
 * delays), gone when the process exits. Wake-ups reach workers in this process only.
 *
 * Every job sits in exactly one index, by state: due jobs in a heap per name in claim order, jobs
 * due later in one heap by runAt (moved to their name's heap when their time comes, at the next
 * claim, count or promote), active jobs by lease end, finished jobs per state by finish time. A
 * claim, reclaim or retention pass costs O(log n) per job it touches, whatever the queue holds.
 */
class MemoryJobBackend implements JobBackend {
  readonly name = 'memory';
  readonly #jobs = new Map<string, Rec>();
  readonly #due = new Map<string, IndexedHeap<Rec>>();
  readonly #later = new IndexedHeap<Rec>(byRunAt);
  readonly #leased = new IndexedHeap<Rec>(byLease);
  readonly #finished = new Map<JobState, IndexedHeap<Rec>>();
  readonly #listeners = new Set<(name: string) => void>();
  #seq = 0;

  #wake(name: string): void {
    // Deferred so a listener never runs inside the caller's critical section.
    for (const l of this.#listeners) queueMicrotask(() => l(name));
  }

  /** Put `rec` into the index its state (and, when runnable, its runAt against `now`) calls for. */
  #place(rec: Rec, now: number): void {
    const { state, name, runAt } = rec.job;
    if (state === 'active') this.#leased.push(rec);
    else if (FINISHED.has(state)) {
      let heap = this.#finished.get(state);
      if (!heap) this.#finished.set(state, (heap = new IndexedHeap<Rec>(byFinish)));
      heap.push(rec);
    } else if (runAt > now) this.#later.push(rec);
    else {
      let heap = this.#due.get(name);
      if (!heap) this.#due.set(name, (heap = new IndexedHeap<Rec>(claimOrder)));
      heap.push(rec);
    }
  }

  /** Apply a state change to `rec`, moving it between indexes. */
  #move(rec: Rec, now: number, change: Partial<StoredJob>): void {
    rec.heap?.remove(rec);
    Object.assign(rec.job, change);
    this.#place(rec, now);
  }

  /** Move up to `limit` jobs whose runAt has come into their name's due heap. */
  #promote(now: number, limit = Infinity): number {
    let n = 0;
    for (let top = this.#later.peek(); top && top.job.runAt <= now && n < limit; top = this.#later.peek(), n++) {
      this.#move(top, now, top.job.state === 'delayed' ? { state: 'waiting', updatedAt: now } : {});
    }
    return n;
  }

  #active(id: string, token: string): Rec | undefined {
    const rec = this.#jobs.get(id);
    return rec && rec.job.state === 'active' && rec.job.leaseToken === token ? rec : undefined;
  }

  async add(input: NewJob, now: number): Promise<{ job: StoredJob; created: boolean }> {
    const existing = this.#jobs.get(input.id);
    if (existing) return { job: { ...existing.job }, created: false };
    const job: StoredJob = {
      ...input, state: input.runAt <= now ? 'waiting' : 'delayed', attempts: 0, progress: 0, createdAt: now, updatedAt: now,
    };
    const rec: Rec = { job, seq: ++this.#seq, heap: undefined, pos: -1 };
    this.#jobs.set(job.id, rec);
    this.#place(rec, now);
    if (job.state === 'waiting') this.#wake(job.name);
    return { job: { ...job }, created: true };
  }

  async claim(args: ClaimArgs): Promise<StoredJob[]> {
    this.#promote(args.now);
    const heaps: Array<IndexedHeap<Rec>> = [];
    for (const name of new Set(args.names)) {
      const heap = this.#due.get(name);
      if (heap?.size) heaps.push(heap);
    }
    const out: StoredJob[] = [];
    const skipped: Rec[] = [];
    for (let scanned = 0; out.length < args.limit && scanned < MAX_SCAN; scanned++) {
      let best: Rec | undefined;
      for (const heap of heaps) {
        const top = heap.peek();
        if (top && (!best || claimOrder(top, best))) best = top;
      }
      if (!best) break;
      best.heap!.remove(best);
      // Over the caller's budget (or due later on a clock that went back): stays due, untouched.
      if (best.job.timeoutMs > args.maxTimeoutMs || best.job.runAt > args.now) { skipped.push(best); continue; }
      Object.assign(best.job, {
        state: 'active', leaseToken: args.token, leaseUntil: args.now + args.leaseMs, attempts: best.job.attempts + 1,
        startedAt: args.now, updatedAt: args.now,
      });
      this.#leased.push(best);
      out.push({ ...best.job });
    }
    for (const rec of skipped) this.#place(rec, args.now);
    return out;
  }

  async heartbeat(id: string, token: string, leaseMs: number, now: number, progress?: ProgressUpdate): Promise<boolean> {
    const rec = this.#active(id, token);
    if (!rec) return false;
    rec.job.leaseUntil = now + leaseMs;
    rec.job.updatedAt = now;
    this.#leased.update(rec);
    if (progress) { rec.job.progress = progress.pct; rec.job.progressMessage = progress.message; }
    return true;
  }

  async complete(id: string, token: string, result: string, now: number): Promise<boolean> {
    const rec = this.#active(id, token);
    if (!rec) return false;
    this.#move(rec, now, {
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
    if (final) this.#move(rec, now, { ...end, state: 'failed', error: final.error, finishedAt: now });
    else this.#move(rec, now, { ...end, state: 'partial', runAt: retryAt });
    if (!final && retryAt <= now) this.#wake(rec.job.name);
    return true;
  }

  async fail(id: string, token: string, error: string, retryAt: number | undefined, now: number): Promise<boolean> {
    const rec = this.#active(id, token);
    if (!rec) return false;
    const end = { error, leaseToken: undefined, leaseUntil: undefined, updatedAt: now };
    if (retryAt === undefined) this.#move(rec, now, { ...end, state: 'failed', finishedAt: now });
    else this.#move(rec, now, { ...end, state: retryAt <= now ? 'waiting' : 'delayed', runAt: retryAt });
    if (rec.job.state === 'waiting') this.#wake(rec.job.name);
    return true;
  }

  async release(id: string, token: string, now: number): Promise<boolean> {
    const rec = this.#active(id, token);
    if (!rec) return false;
    this.#move(rec, now, {
      state: 'waiting', runAt: now, attempts: Math.max(0, rec.job.attempts - 1), leaseToken: undefined, leaseUntil: undefined, updatedAt: now,
    });
    this.#wake(rec.job.name);
    return true;
  }

  async retry(id: string, now: number): Promise<boolean> {
    const rec = this.#jobs.get(id);
    if (!rec || !['failed', 'cancelled', 'partial', 'delayed'].includes(rec.job.state)) return false;
    this.#move(rec, now, { state: 'waiting', runAt: now, attempts: 0, finishedAt: undefined, updatedAt: now });
    this.#wake(rec.job.name);
    return true;
  }

  async cancel(id: string, now: number): Promise<boolean> {
    const rec = this.#jobs.get(id);
    if (!rec || !(RUNNABLE.has(rec.job.state) || rec.job.state === 'active')) return false;
    this.#move(rec, now, { state: 'cancelled', finishedAt: now, leaseToken: undefined, leaseUntil: undefined, updatedAt: now });
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
    for (let top = this.#leased.peek(); top && out.length < limit && top.job.leaseUntil! < now; top = this.#leased.peek()) {
      Object.assign(top.job, { leaseToken: token, leaseUntil: now + leaseMs, updatedAt: now });
      this.#leased.update(top);
      out.push({ ...top.job });
    }
    return out;
  }

  async promote(limit: number, now: number): Promise<number> {
    return this.#promote(now, limit);
  }

  async countDue(names: readonly string[], now: number): Promise<number> {
    this.#promote(now);
    let n = 0;
    for (const name of new Set(names)) n += this.#due.get(name)?.size ?? 0;
    return n;
  }

  async removeFinished(states: readonly JobState[], before: number, limit: number): Promise<number> {
    let n = 0;
    for (const state of new Set(states)) {
      const heap = this.#finished.get(state);
      for (let top = heap?.peek(); top && n < limit && top.job.finishedAt! < before; top = heap!.peek(), n++) {
        heap!.remove(top);
        this.#jobs.delete(top.job.id);
      }
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
