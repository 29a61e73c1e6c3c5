import type { JobState, StoredJob } from 'botwire/jobs';
import { IndexedHeap, type HeapSlot } from './indexed-heap.js';

/** One stored job plus its place in the {@link JobIndex}. */
export interface JobRec extends HeapSlot<JobRec> {
  job: StoredJob;
  /** Insertion order: the last tie-breaker of every order. */
  seq: number;
}

const FINISHED = new Set<JobState>(['completed', 'failed', 'cancelled']);
/** Most due jobs one claim looks at (skipping those over its time budget), as on Redis. */
const MAX_SCAN = 1_000;

// Claim order: priority (highest first), then runAt, then insertion.
const claimOrder = (a: JobRec, b: JobRec): boolean =>
  a.job.priority !== b.job.priority ? a.job.priority > b.job.priority : a.job.runAt !== b.job.runAt ? a.job.runAt < b.job.runAt : a.seq < b.seq;
const earlier = (x: number, y: number, a: JobRec, b: JobRec): boolean => (x !== y ? x < y : a.seq < b.seq);
const byRunAt = (a: JobRec, b: JobRec): boolean => earlier(a.job.runAt, b.job.runAt, a, b);
const byLease = (a: JobRec, b: JobRec): boolean => earlier(a.job.leaseUntil ?? 0, b.job.leaseUntil ?? 0, a, b);
const byFinish = (a: JobRec, b: JobRec): boolean => earlier(a.job.finishedAt ?? 0, b.job.finishedAt ?? 0, a, b);

/**
 * Where the memory backend's jobs wait, by state, so that no operation a worker repeats scans every
 * job: due jobs in a heap per name in claim order; jobs due later in one heap by runAt, moved to
 * their name's heap once their time has come (at the next claim, count or promote); active jobs by
 * lease end; finished jobs per state by finish time. Every job is in exactly one heap.
 */
export class JobIndex {
  readonly #due = new Map<string, IndexedHeap<JobRec>>();
  readonly #later = new IndexedHeap<JobRec>(byRunAt);
  readonly #leased = new IndexedHeap<JobRec>(byLease);
  readonly #finished = new Map<JobState, IndexedHeap<JobRec>>();

  /** Put `rec` where its state (and, when runnable, its runAt against `now`) calls for. */
  place(rec: JobRec, now: number): void {
    const { state, name, runAt } = rec.job;
    if (state === 'active') this.#leased.push(rec);
    else if (FINISHED.has(state)) {
      let heap = this.#finished.get(state);
      if (!heap) this.#finished.set(state, (heap = new IndexedHeap<JobRec>(byFinish)));
      heap.push(rec);
    } else if (runAt > now) this.#later.push(rec);
    else {
      let heap = this.#due.get(name);
      if (!heap) this.#due.set(name, (heap = new IndexedHeap<JobRec>(claimOrder)));
      heap.push(rec);
    }
  }

  /** Apply a change to `rec`'s job, moving it to the heap the change calls for. */
  move(rec: JobRec, now: number, change: Partial<StoredJob>): void {
    rec.heap?.remove(rec);
    Object.assign(rec.job, change);
    this.place(rec, now);
  }

  /** Move up to `limit` jobs whose runAt has come into their name's heap (`delayed` → `waiting`). */
  promote(now: number, limit = Infinity): number {
    let n = 0;
    for (let top = this.#later.peek(); top && top.job.runAt <= now && n < limit; top = this.#later.peek(), n++) {
      this.move(top, now, top.job.state === 'delayed' ? { state: 'waiting', updatedAt: now } : {});
    }
    return n;
  }

  /**
   * Take up to `limit` due jobs of `names` out, in claim order, skipping (and keeping due) those
   * `fits` refuses. The caller makes them active and {@link place}s them again.
   */
  takeDue(names: readonly string[], limit: number, now: number, fits: (job: StoredJob) => boolean): JobRec[] {
    this.promote(now);
    const heaps: Array<IndexedHeap<JobRec>> = [];
    for (const name of new Set(names)) {
      const heap = this.#due.get(name);
      if (heap?.size) heaps.push(heap);
    }
    const out: JobRec[] = [];
    const skipped: JobRec[] = [];
    for (let scanned = 0; out.length < limit && scanned < MAX_SCAN; scanned++) {
      let best: JobRec | undefined;
      for (const heap of heaps) {
        const top = heap.peek();
        if (top && (!best || claimOrder(top, best))) best = top;
      }
      if (!best) break;
      best.heap!.remove(best);
      (fits(best.job) ? out : skipped).push(best);
    }
    for (const rec of skipped) this.place(rec, now);
    return out;
  }

  /** How many jobs of `names` are due (after promoting those whose time has come). */
  countDue(names: readonly string[], now: number): number {
    this.promote(now);
    let n = 0;
    for (const name of new Set(names)) n += this.#due.get(name)?.size ?? 0;
    return n;
  }

  /** The active job whose lease ends first, when it ended before `now`. */
  lapsed(now: number): JobRec | undefined {
    const top = this.#leased.peek();
    return top && top.job.leaseUntil! < now ? top : undefined;
  }

  /** Re-sort an active job after its lease changed. */
  renewed(rec: JobRec): void {
    this.#leased.update(rec);
  }

  /** Take out up to `limit` jobs in `states` that finished before `before`, oldest first. */
  takeFinished(states: readonly JobState[], before: number, limit: number): JobRec[] {
    const out: JobRec[] = [];
    for (const state of new Set(states)) {
      const heap = this.#finished.get(state);
      for (let top = heap?.peek(); top && out.length < limit && top.job.finishedAt! < before; top = heap!.peek()) {
        heap!.remove(top);
        out.push(top);
      }
    }
    return out;
  }
}
