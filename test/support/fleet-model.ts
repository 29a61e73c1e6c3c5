/**
 * The fleet rules of the job contract (src/jobs/fleet-backend.ts) written as a model that scans
 * every job for every operation — limits per name (live leases, sliding rate windows), group caps,
 * lanes served by turn, debounce, counts — and the memory backend driven next to it with random
 * operations: same claims in the same order, same hints, same counts, same stored jobs. The model
 * reads like the contract text, so a Redis or Postgres backend can be driven against it too.
 */
import { describe, expect, it } from 'vitest';
import type { ClaimArgs, JobBackend, JobCounts, JobLimit, JobState, NewJob, StoredJob } from '../../src/jobs/index.js';

const RUNNABLE: readonly JobState[] = ['waiting', 'delayed', 'partial'];
const UNFINISHED: readonly JobState[] = [...RUNNABLE, 'active'];
type Row = StoredJob & { seq: number; key?: string | undefined };

class FleetModel {
  readonly jobs: Row[] = [];
  readonly limits = new Map<string, JobLimit>();
  readonly starts = new Map<string, number[]>();
  readonly turns = new Map<string, number>();
  readonly debounced = new Map<string, string>();
  ungroupedTurn = 0;
  #counter = 0;
  #seq = 0;

  #find(id: string): Row | undefined { return this.jobs.find((j) => j.id === id); }
  #promote(now: number): void {
    for (const j of this.jobs) if (j.state === 'delayed' && j.runAt <= now) Object.assign(j, { state: 'waiting', updatedAt: now });
  }
  /** A group's lane exists while it has unfinished jobs; one joining gets the next turn. */
  #lanes(): void {
    for (const g of this.turns.keys()) if (!this.jobs.some((j) => j.group === g && UNFINISHED.includes(j.state))) this.turns.delete(g);
    for (const j of this.jobs) if (j.group !== undefined && UNFINISHED.includes(j.state) && !this.turns.has(j.group)) this.turns.set(j.group, ++this.#counter);
  }
  #live(now: number, pick: (j: Row) => boolean): number {
    return this.jobs.filter((j) => j.state === 'active' && j.leaseUntil! >= now && pick(j)).length;
  }
  #window(name: string, now: number): number[] {
    const rate = this.limits.get(name)?.rate;
    return rate ? (this.starts.get(name) ?? []).filter((t) => t > now - rate.perMs).sort((a, b) => a - b) : [];
  }
  #room(name: string, now: number): number {
    const limit = this.limits.get(name);
    let room = Infinity;
    if (limit?.concurrency !== undefined) room = limit.concurrency - this.#live(now, (j) => j.name === name);
    if (limit?.rate) room = Math.min(room, limit.rate.max - this.#window(name, now).length);
    return room;
  }

  add(job: NewJob, now: number): { id: string; created: boolean; replaced?: boolean } {
    const { debounce, ...fields } = job;
    const key = debounce === undefined ? undefined : `${job.name}\n${debounce}`;
    const last = key === undefined ? undefined : this.#find(this.debounced.get(key) ?? '');
    if (last && (last.state === 'waiting' || last.state === 'delayed') && last.attempts === 0) {
      const { payload, priority, runAt, maxAttempts, backoff, timeoutMs, retryUntil, group } = fields;
      Object.assign(last, { payload, priority, runAt, maxAttempts, backoff, timeoutMs, retryUntil, group, state: runAt <= now ? 'waiting' : 'delayed', updatedAt: now });
      this.#lanes();
      return { id: last.id, created: false, replaced: true };
    }
    if (this.#find(job.id)) return { id: job.id, created: false };
    const row: Row = { ...fields, state: job.runAt <= now ? 'waiting' : 'delayed', attempts: 0, progress: 0, createdAt: now, updatedAt: now, seq: ++this.#seq, key };
    if (row.group === undefined) delete row.group;
    this.jobs.push(row);
    if (key !== undefined) this.debounced.set(key, job.id);
    this.#lanes();
    return { id: job.id, created: true };
  }

  claim(a: ClaimArgs): { ids: string[]; heldBack: boolean; retryAt: number | undefined } {
    const { now, groupConcurrency: cap } = a;
    this.#promote(now);
    const due = (j: Row): boolean => RUNNABLE.includes(j.state) && j.runAt <= now && a.names.includes(j.name);
    // Without a cap a claim takes no grouped job at all (not a hold-back: such claims never take them).
    const groupFull = (j: Row): boolean => j.group !== undefined && cap !== undefined && this.#live(now, (k) => k.group === j.group) >= cap;
    const claimable = (j: Row): boolean => j.group === undefined || cap !== undefined;
    const order = (x: Row, y: Row): number => y.priority - x.priority || x.runAt - y.runAt || x.seq - y.seq;
    const ids: string[] = [];
    while (ids.length < a.limit) {
      const eligible = this.jobs.filter((j) => due(j) && claimable(j) && j.timeoutMs <= a.maxTimeoutMs && this.#room(j.name, now) > 0 && !groupFull(j));
      if (!eligible.length) break;
      const turn = (j: Row): number => (j.group === undefined ? this.ungroupedTurn : this.turns.get(j.group)!);
      const lane = Math.min(...eligible.map(turn));
      const j = eligible.filter((k) => turn(k) === lane).sort(order)[0]!;
      Object.assign(j, { state: 'active', leaseToken: a.token, leaseUntil: now + a.leaseMs, attempts: j.attempts + 1, startedAt: now, updatedAt: now });
      if (this.limits.get(j.name)?.rate) this.starts.set(j.name, [...this.starts.get(j.name) ?? [], now]);
      if (cap !== undefined) {
        if (j.group === undefined) this.ungroupedTurn = ++this.#counter;
        else this.turns.set(j.group, ++this.#counter);
      }
      ids.push(j.id);
    }
    let heldBack = false;
    let retryAt: number | undefined;
    if (ids.length < a.limit) {
      for (const j of this.jobs.filter((k) => due(k) && claimable(k))) {
        if (this.#room(j.name, now) <= 0 || groupFull(j)) heldBack = true;
        const limit = this.limits.get(j.name);
        const starts = this.#window(j.name, now);
        const byConcurrency = limit?.concurrency === undefined ? Infinity : limit.concurrency - this.#live(now, (k) => k.name === j.name);
        if (limit?.rate && byConcurrency > 0 && starts.length >= limit.rate.max) {
          const at = starts[starts.length - limit.rate.max]! + limit.rate.perMs;
          retryAt = retryAt === undefined ? at : Math.min(retryAt, at);
        }
      }
    }
    return { ids, heldBack, retryAt };
  }

  end(id: string, token: string, now: number, change: Partial<StoredJob>): boolean {
    const j = this.#find(id);
    if (!j || j.state !== 'active' || j.leaseToken !== token) return false;
    Object.assign(j, { leaseToken: undefined, leaseUntil: undefined, updatedAt: now }, change);
    this.#lanes();
    return true;
  }
  cancel(id: string, now: number): boolean {
    const j = this.#find(id);
    if (!j || !UNFINISHED.includes(j.state)) return false;
    Object.assign(j, { state: 'cancelled', finishedAt: now, leaseToken: undefined, leaseUntil: undefined, updatedAt: now });
    this.#lanes();
    return true;
  }
  retry(id: string, now: number): boolean {
    const j = this.#find(id);
    if (!j || !['failed', 'cancelled', 'partial', 'delayed'].includes(j.state)) return false;
    Object.assign(j, { state: 'waiting', runAt: now, attempts: 0, finishedAt: undefined, updatedAt: now });
    this.#lanes();
    return true;
  }
  counts(name: string | undefined, now: number): JobCounts {
    this.#promote(now);
    const out: JobCounts = { waiting: 0, delayed: 0, active: 0, partial: 0, completed: 0, failed: 0, cancelled: 0 };
    for (const j of this.jobs) if (name === undefined || j.name === name) out[j.state]++;
    return out;
  }
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What {@link fleetModelSuite} drives: a fresh backend per run, and how to drop it. */
export interface ModelHarness { backend: JobBackend; teardown?: () => Promise<void> }

/**
 * Drive a fresh backend from `factory` next to the model with random operations (seeds from
 * MODEL_SEEDS, default 11–14): same claims in the same order, same hints, same counts, same jobs.
 */
export function fleetModelSuite(name: string, factory: () => ModelHarness | Promise<ModelHarness>, options: { steps?: number } = {}): void {
  const steps = options.steps ?? 2_500;
  describe(`${name} job backend: fleet rules against a scanning model`, () => {
  for (const seed of (process.env.MODEL_SEEDS ?? '11,12,13,14').split(',').map(Number)) {
    it(`claims, hints, counts and stores like the model over ${steps} random operations (seed ${seed})`, async () => {
      const harness = await factory();
      try {
      const random = rng(seed);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
      const int = (n: number): number => Math.floor(random() * n);
      const backend = harness.backend;
      const model = new FleetModel();
      const names = ['a', 'b', 'c'];
      let now = 1_000;
      let ids = 0;
      const active = (): Row | undefined => pick([...model.jobs.filter((j) => j.state === 'active'), undefined]);
      for (let step = 0; step < steps; step++) {
        const op = int(13);
        const at = `step ${step} op ${op}`;
        if (op <= 2) {
          const job: NewJob = {
            id: `j${++ids}`, name: pick(names), payload: String(step), priority: int(3) - 1, runAt: now + (random() < 0.2 ? int(300) : 0),
            maxAttempts: 3, backoff: '{}', timeoutMs: pick([100, 10_000]), group: pick([undefined, undefined, 'G1', 'G2', 'G3']),
          };
          if (random() < 0.15) job.debounce = pick(['k1', 'k2']);
          const got = await backend.add(job, now);
          const want = model.add(job, now);
          expect({ id: got.job.id, created: got.created, replaced: got.replaced }, at).toEqual({ replaced: undefined, ...want });
        } else if (op <= 4) {
          const args: ClaimArgs = {
            names: names.filter(() => random() < 0.7), limit: 1 + int(4), maxTimeoutMs: pick([1_000, 1e9]), token: `t${step}`,
            leaseMs: 50 + int(300), now, groupConcurrency: pick([undefined, 1, 2, 3]),
          };
          if (!args.names.length) args.names = ['a'];
          const got = await backend.claim(args);
          const want = model.claim(args);
          expect(got.map((j) => j.id), at).toEqual(want.ids);
          expect(got.retryAt, at).toBe(want.retryAt);
          // The hint may be set for jobs over the time budget too (see the contract).
          if (args.maxTimeoutMs === 1e9) expect(!!got.heldBack, at).toBe(want.heldBack);
        } else if (op <= 6) {
          const j = active();
          if (!j) continue;
          const token = random() < 0.9 ? j.leaseToken! : 'stale';
          const kind = int(3);
          if (kind === 0) expect(await backend.complete(j.id, token, '1', now), at).toBe(model.end(j.id, token, now, { state: 'completed', result: '1', missing: undefined, progress: 100, finishedAt: now }));
          else if (kind === 1) {
            const retryAt = random() < 0.3 ? undefined : now + int(200);
            const change: Partial<StoredJob> = retryAt === undefined ? { error: 'e', state: 'failed', finishedAt: now } : { error: 'e', state: retryAt <= now ? 'waiting' : 'delayed', runAt: retryAt };
            expect(await backend.fail(j.id, token, 'e', retryAt, now), at).toBe(model.end(j.id, token, now, change));
          } else expect(await backend.release(j.id, token, now), at).toBe(model.end(j.id, token, now, { state: 'waiting', runAt: now, attempts: Math.max(0, j.attempts - 1) }));
        } else if (op === 7) {
          const j = active();
          const leaseMs = 50 + int(300);
          if (j) {
            expect(await backend.heartbeat(j.id, j.leaseToken!, leaseMs, now), at).toBe(true);
            Object.assign(j, { leaseUntil: now + leaseMs, updatedAt: now });
          }
        } else if (op === 8) {
          const id = model.jobs.length ? pick(model.jobs).id : 'none';
          if (random() < 0.5) expect(await backend.retry(id, now), at).toBe(model.retry(id, now));
          else expect(await backend.cancel(id, now), at).toBe(model.cancel(id, now));
        } else if (op === 9) {
          const name = pick(names);
          const limit: JobLimit | null = random() < 0.3 ? null : random() < 0.5
            ? { concurrency: 1 + int(3) }
            // One window length: a window made longer may count fewer starts (forgotten ones, see the contract).
            : { ...(random() < 0.5 ? { concurrency: 1 + int(3) } : {}), rate: { max: 1 + int(3), perMs: 300 } };
          await backend.setLimits!([{ name, limit }], now);
          if (limit) model.limits.set(name, limit);
          else model.limits.delete(name);
        } else if (op === 10) {
          const name = pick([undefined, ...names]);
          expect(await backend.counts!(name, now), at).toEqual(model.counts(name, now));
        } else {
          now += int(80);
        }
        if (step % 100 === 99) {
          // When a due delayed job becomes `waiting` (and its updatedAt moves) is the backend's choice.
          const seen = (j: StoredJob): StoredJob => ({ ...j, updatedAt: 0, state: j.state === 'delayed' && j.runAt <= now ? 'waiting' : j.state });
          for (const { seq: _s, key: _k, ...want } of model.jobs) expect(seen((await backend.get(want.id))!), `${at} ${want.id}`).toEqual(seen(want));
        }
      }
      } finally {
        await harness.teardown?.();
      }
    }, 120_000);
  }
  });
}
