import type { JobCounts, JobState, StoredJob } from 'botwire/jobs';
import { IndexedHeap, type HeapSlot } from './indexed-heap.js';

/** One stored job plus its place in the {@link JobIndex}. */
export interface JobRec extends HeapSlot<JobRec> {
  job: StoredJob;
  /** Insertion order: the last tie-breaker of every order. */
  seq: number;
  /** The lane whose due heap holds the job, while it is due. */
  lane?: Lane | undefined;
  /** `<name>\n<debounce id>` when the job was created under a debounce key. */
  debounceKey?: string | undefined;
}

const FINISHED = new Set<JobState>(['completed', 'failed', 'cancelled']);
const UNFINISHED = new Set<JobState>(['waiting', 'delayed', 'partial', 'active']);

// Claim order: priority (highest first), then runAt, then insertion.
export const claimOrder = (a: JobRec, b: JobRec): boolean =>
  a.job.priority !== b.job.priority ? a.job.priority > b.job.priority : a.job.runAt !== b.job.runAt ? a.job.runAt < b.job.runAt : a.seq < b.seq;
const earlier = (x: number, y: number, a: JobRec, b: JobRec): boolean => (x !== y ? x < y : a.seq < b.seq);
const byRunAt = (a: JobRec, b: JobRec): boolean => earlier(a.job.runAt, b.job.runAt, a, b);
const byLease = (a: JobRec, b: JobRec): boolean => earlier(a.job.leaseUntil ?? 0, b.job.leaseUntil ?? 0, a, b);
const byFinish = (a: JobRec, b: JobRec): boolean => earlier(a.job.finishedAt ?? 0, b.job.finishedAt ?? 0, a, b);

/**
 * The due jobs of one group (or of all jobs without a group), per name in claim order, with the
 * lane's turn in the rotation (see the fleet contract in `botwire/jobs`).
 */
export class Lane implements HeapSlot<Lane> {
  heap: IndexedHeap<Lane> | undefined = undefined;
  pos = -1;
  readonly due = new Map<string, IndexedHeap<JobRec>>();
  dueCount = 0;
  /** Active jobs (live or lapsed). */
  active = 0;
  /** Waiting, delayed, partial and active jobs: the lane exists while this is above 0. */
  unfinished = 0;
  constructor(readonly group: string | undefined, public turn: number) {}
}

const zero = (): JobCounts => ({ waiting: 0, delayed: 0, active: 0, partial: 0, completed: 0, failed: 0, cancelled: 0 });

/**
 * Where the memory backend's jobs wait, by state, so that no operation a worker repeats scans every
 * job: due jobs in lanes (per group, and one without group), each a heap per name in claim order;
 * lanes with due jobs in a rotation heap by turn; jobs due later in one heap by runAt, moved to
 * their lane once their time has come (at the next claim, count or promote); active jobs by lease
 * end; finished jobs per state by finish time. Every job is in exactly one heap. Counters per name
 * (active, due, per state) keep limits and counts O(1).
 */
export class JobIndex {
  /** The lane of jobs without a group (turn 0 until first served by a grouped claim). */
  readonly ungrouped = new Lane(undefined, 0);
  /** Group lanes with due jobs, lowest turn first. */
  readonly rotation = new IndexedHeap<Lane>((a, b) => a.turn < b.turn);
  readonly #groups = new Map<string, Lane>();
  #turns = 0;
  readonly #later = new IndexedHeap<JobRec>(byRunAt);
  readonly #leased = new IndexedHeap<JobRec>(byLease);
  readonly #finished = new Map<JobState, IndexedHeap<JobRec>>();
  readonly #activeByName = new Map<string, number>();
  readonly #dueByName = new Map<string, number>();
  readonly #counts = new Map<string, JobCounts>();
  readonly #total = zero();

  /** The next turn: a lane served or joining goes behind every other. */
  nextTurn(): number {
    return ++this.#turns;
  }

  /** The lane of `group` (undefined: the lane without group), if it exists. */
  lane(group: string | undefined): Lane | undefined {
    return group === undefined ? this.ungrouped : this.#groups.get(group);
  }

  /** Put `rec` where its state (and, when runnable, its runAt against `now`) calls for. */
  place(rec: JobRec, now: number): void {
    const { state, name, runAt, group } = rec.job;
    const counts = this.#counts.get(name) ?? this.#counts.set(name, zero()).get(name)!;
    counts[state]++;
    this.#total[state]++;
    let lane = this.lane(group);
    if (!lane && group !== undefined && UNFINISHED.has(state)) this.#groups.set(group, (lane = new Lane(group, this.nextTurn())));
    if (lane && group !== undefined && UNFINISHED.has(state)) lane.unfinished++;
    if (state === 'active') {
      this.#leased.push(rec);
      bump(this.#activeByName, name, 1);
      if (lane) lane.active++;
    } else if (FINISHED.has(state)) {
      let heap = this.#finished.get(state);
      if (!heap) this.#finished.set(state, (heap = new IndexedHeap<JobRec>(byFinish)));
      heap.push(rec);
    } else if (runAt > now) this.#later.push(rec);
    else {
      let heap = lane!.due.get(name);
      if (!heap) lane!.due.set(name, (heap = new IndexedHeap<JobRec>(claimOrder)));
      heap.push(rec);
      rec.lane = lane;
      bump(this.#dueByName, name, 1);
      if (++lane!.dueCount === 1 && lane!.group !== undefined && !lane!.heap) this.rotation.push(lane!);
    }
  }

  /** Take `rec` out of its heap and counters (its lane lives on until {@link #forget}). */
  #detach(rec: JobRec): void {
    const { state, name, group } = rec.job;
    this.#counts.get(name)![state]--;
    this.#total[state]--;
    const lane = this.lane(group);
    if (lane && group !== undefined && UNFINISHED.has(state)) lane.unfinished--;
    if (state === 'active') {
      bump(this.#activeByName, name, -1);
      if (lane) lane.active--;
    }
    if (rec.lane) {
      const due = rec.lane;
      rec.lane = undefined;
      bump(this.#dueByName, name, -1);
      if (--due.dueCount === 0 && due.heap) this.rotation.remove(due);
    }
    rec.heap?.remove(rec);
  }

  /** Drop the lane of `group` once it has no unfinished job left (it rejoins at the tail later). */
  #forget(group: string | undefined): void {
    const lane = group === undefined ? undefined : this.#groups.get(group);
    if (!lane || lane.unfinished > 0) return;
    if (lane.heap) this.rotation.remove(lane);
    this.#groups.delete(group!);
  }

  /** Apply a change to `rec`'s job, moving it to the heap (and lane) the change calls for. */
  move(rec: JobRec, now: number, change: Partial<StoredJob>): void {
    const group = rec.job.group;
    this.#detach(rec);
    Object.assign(rec.job, change);
    this.place(rec, now);
    this.#forget(group);
  }

  /**
   * Take a due job out of its heap for a moment (a claim looking past it); it stays due in every
   * count. {@link unlift} puts it back.
   */
  lift(rec: JobRec): void {
    rec.heap!.remove(rec);
  }

  /** Put back a job {@link lift}ed. */
  unlift(rec: JobRec): void {
    rec.lane!.due.get(rec.job.name)!.push(rec);
  }

  /** Take `rec` out for good (retention, remove). */
  remove(rec: JobRec): void {
    this.#detach(rec);
    this.#forget(rec.job.group);
  }

  /** Move up to `limit` jobs whose runAt has come into their lane (`delayed` → `waiting`). */
  promote(now: number, limit = Infinity): number {
    let n = 0;
    for (let top = this.#later.peek(); top && top.job.runAt <= now && n < limit; top = this.#later.peek(), n++) {
      this.move(top, now, top.job.state === 'delayed' ? { state: 'waiting', updatedAt: now } : {});
    }
    return n;
  }

  /** How many jobs of `name` are due (call {@link promote} first). */
  due(name: string): number {
    return this.#dueByName.get(name) ?? 0;
  }

  /**
   * Whether a job of `name` may be due: one is, or some job's time has come without a claim having
   * promoted it yet (a wake-up then costs a worker one claim at worst). Changes nothing.
   */
  mayBeDue(name: string, now: number): boolean {
    return this.due(name) > 0 || (this.#later.peek()?.job.runAt ?? Infinity) <= now;
  }

  /** How many jobs of `names` are due (after promoting those whose time has come). */
  countDue(names: readonly string[], now: number): number {
    this.promote(now);
    let n = 0;
    for (const name of new Set(names)) n += this.due(name);
    return n;
  }

  /** Jobs per state, of `name` or all (after promoting, so no due job reads as delayed). */
  counts(name: string | undefined, now: number): JobCounts {
    this.promote(now);
    return { ...(name === undefined ? this.#total : this.#counts.get(name) ?? zero()) };
  }

  /**
   * Live (`leaseUntil >= now`) active jobs per name and per group. Lapsed leases are found by a
   * walk over the lapsed top of the lease heap only (usually empty).
   */
  live(now: number): { name: (name: string) => number; group: (group: string) => number } {
    const lapsedNames = new Map<string, number>();
    const lapsedGroups = new Map<string, number>();
    this.#leased.visit((r) => r.job.leaseUntil! < now, (r) => {
      bump(lapsedNames, r.job.name, 1);
      if (r.job.group !== undefined) bump(lapsedGroups, r.job.group, 1);
    });
    return {
      name: (name) => (this.#activeByName.get(name) ?? 0) - (lapsedNames.get(name) ?? 0),
      group: (group) => (this.#groups.get(group)?.active ?? 0) - (lapsedGroups.get(group) ?? 0),
    };
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
        this.remove(top);
        out.push(top);
      }
    }
    return out;
  }
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n === 0) map.delete(key);
  else map.set(key, n);
}
