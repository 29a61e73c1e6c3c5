import { describe, expect, it } from 'vitest';
import { BotwireConfigError } from '../errors.js';
import type { ClaimArgs, JobBackend } from '../jobs/backend.js';
import type { JobFeature } from '../jobs/fleet-backend.js';
import { JobQueue } from '../jobs/job-queue.js';
import { runDue } from '../jobs/run-due.js';
import type { JobHandlers } from '../jobs/types.js';
import { Worker } from '../jobs/worker.js';
import { bulkCases } from './job-fleet-contract-bulk.js';
import { Clock, peakInWindow, peakOverlap, queueRunner, sleep, until, type Ctx } from './job-contract-support.js';
import type { JobQueueHarness } from './job-queue-contract.js';

/** Options of {@link jobFleetContract}. */
export interface JobFleetContractOptions {
  /** Real-time waits are scaled by this factor for slow backends. @default 1 */
  timeScale?: number;
  /** The features to test (a backend implementing only some). @default all five */
  features?: readonly JobFeature[];
}

/** A claim straight on the backend, as a worker elsewhere in the fleet makes it. @internal */
export type RawClaim = (token: string, extra?: Partial<ClaimArgs>) => ReturnType<JobBackend['claim']>;

/** @internal */
export function rawClaim(backend: JobBackend, clock: Clock, names: readonly string[]): RawClaim {
  return (token, extra = {}) => backend.claim({ names, limit: 10, maxTimeoutMs: 1e9, token, leaseMs: 10_000, now: clock.t, ...extra });
}

/**
 * The fleet features of the {@link JobBackend} contract (`botwire/jobs` fleet-backend) as a vitest
 * suite: limits per job name (concurrency, rate, lapsed leases, run-time changes), groups (caps,
 * round-robin lanes), addMany, counts and debounce — each through the queue and through raw claims,
 * as other instances of a fleet make them.
 *
 * @example
 * ```ts
 * import { jobFleetContract } from 'botwire/testing';
 * import { memoryJobBackend } from 'botwire/memory';
 * jobFleetContract('memory', () => ({ backend: memoryJobBackend() }));
 * ```
 */
export function jobFleetContract(
  name: string,
  factory: () => JobQueueHarness | Promise<JobQueueHarness>,
  options: JobFleetContractOptions = {},
): void {
  const scale = options.timeScale ?? 1;
  const features = options.features ?? ['limits', 'groups', 'debounce', 'addMany', 'counts'];
  const withQueue = queueRunner(factory, (backend, o) => new JobQueue(backend, o));
  const noop: JobHandlers = { lim: () => null, free: () => null, r: () => null, g: () => null };

  describe(`JobQueue fleet contract: ${name}`, () => {
    if (features.includes('limits')) limitCases(withQueue, scale, noop);
    if (features.includes('groups')) groupCases(withQueue, scale);
    bulkCases(withQueue, features);
  });
}

function limitCases(withQueue: (fn: (c: Ctx) => Promise<void>) => () => Promise<void>, scale: number, noop: JobHandlers): void {
  describe('limits per job name', () => {
    it('holds a name at its concurrency across claims; held-back jobs stay waiting uncounted; a completion frees a slot', withQueue(async ({ make, backend, clock }) => {
      const q = make({ handlers: noop });
      await q.setLimit('lim', { concurrency: 2 });
      for (let i = 0; i < 5; i++) await q.add('lim', i, { id: `lim-${i}` });
      await q.add('free', 0);
      const claim = rawClaim(backend, clock, ['lim', 'free']);
      const first = await claim('t1');
      expect(first).toHaveLength(3);
      expect(first.filter((j) => j.name === 'lim').map((j) => j.id).sort()).toEqual(['lim-0', 'lim-1']);
      expect(first.heldBack).toBe(true);
      expect(first.retryAt).toBeUndefined();
      const second = await claim('t2');
      expect(second).toHaveLength(0);
      expect(second.heldBack).toBe(true);
      expect(await q.get('lim-2')).toMatchObject({ state: 'waiting', attempts: 0 });
      expect(await backend.complete('lim-0', 't1', 'null', clock.t)).toBe(true);
      expect((await claim('t3')).map((j) => j.id)).toEqual(['lim-2']);
      expect((await claim('t4')).length).toBe(0);
    }));

    it('frees the slot of a lapsed lease at once, before the job is reclaimed', withQueue(async ({ make, backend, clock }) => {
      const q = make({ handlers: noop });
      await q.setLimit('lim', { concurrency: 1 });
      await q.add('lim', 1, { id: 'one' });
      await q.add('lim', 2, { id: 'two' });
      const claim = rawClaim(backend, clock, ['lim']);
      expect((await claim('dead', { leaseMs: 1_000 })).map((j) => j.id)).toEqual(['one']);
      clock.advance(1_000); // leaseUntil === now: still live
      expect(await claim('t2')).toHaveLength(0);
      clock.advance(1);
      expect((await claim('t3')).map((j) => j.id)).toEqual(['two']);
    }));

    it('allows at most rate.max starts per sliding window and says when it opens', withQueue(async ({ make, backend, clock }) => {
      const q = make({ handlers: noop });
      await q.setLimit('r', { rate: { max: 3, perMs: 1_000 } });
      for (let i = 0; i < 10; i++) await q.add('r', i);
      const t0 = clock.t;
      const claim = rawClaim(backend, clock, ['r']);
      const first = await claim('a');
      expect(first).toHaveLength(3);
      expect(first).toMatchObject({ heldBack: true, retryAt: t0 + 1_000 });
      for (const j of first) expect(await backend.complete(j.id, 'a', 'null', clock.t)).toBe(true); // completions refund nothing
      clock.advance(999);
      expect(await claim('b')).toMatchObject({ length: 0, heldBack: true, retryAt: t0 + 1_000 });
      clock.advance(1);
      expect(await claim('c', { limit: 2 })).toHaveLength(2);
      clock.advance(10);
      const fourth = await claim('d');
      expect(fourth).toHaveLength(1);
      expect(fourth).toMatchObject({ heldBack: true, retryAt: t0 + 2_000 });
    }));

    it('combines concurrency and rate; retryAt only when the rate window alone holds jobs back', withQueue(async ({ make, backend, clock }) => {
      const q = make({ handlers: noop });
      await q.setLimit('lim', { concurrency: 1, rate: { max: 5, perMs: 1_000 } });
      for (let i = 0; i < 3; i++) await q.add('lim', i);
      const claim = rawClaim(backend, clock, ['lim']);
      const first = await claim('a');
      expect(first).toHaveLength(1);
      expect(first.heldBack).toBe(true);
      expect(first.retryAt).toBeUndefined();
    }));

    it('applies a limit set at run time to every queue object on the backend; null removes it', withQueue(async ({ make }) => {
      let running = 0;
      let peak = 0;
      const handlers: JobHandlers = { lim: async () => { peak = Math.max(peak, ++running); await sleep(15); running--; } };
      const a = make({ handlers });
      const b = make({ handlers });
      await a.setLimit('lim', { concurrency: 1 });
      expect(await b.getLimits()).toEqual({ lim: { concurrency: 1 } });
      for (let i = 0; i < 3; i++) await a.add('lim', i);
      // The tick claims again each time its own limited run ends.
      expect(await runDue(b, undefined, { concurrency: 4 })).toMatchObject({ claimed: 3, completed: 3, left: 0 });
      expect(peak).toBe(1);
      await a.setLimit('lim', null);
      expect(await b.getLimits()).toEqual({});
    }));

    it('writes options.limits when a worker or tick starts, replacing the stored limit of those names only', withQueue(async ({ make }) => {
      const a = make({ handlers: noop });
      await a.setLimit('lim', { concurrency: 1 });
      await a.setLimit('r', { concurrency: 2 });
      const b = make({ handlers: noop, limits: { lim: { concurrency: 3, rate: { max: 10, perMs: 1_000 } } } });
      expect((await b.getLimits()).lim).toEqual({ concurrency: 1 });
      await runDue(b);
      expect(await a.getLimits()).toEqual({ lim: { concurrency: 3, rate: { max: 10, perMs: 1_000 } }, r: { concurrency: 2 } });
      const worker = new Worker(make({ handlers: noop, limits: { lim: { concurrency: 4 } } }), undefined, { autostart: false });
      await worker.start();
      await worker.stop();
      expect((await a.getLimits()).lim).toEqual({ concurrency: 4 });
    }));

    it('runs a limited name at exactly its concurrency across workers, starting the next job when a slot frees', withQueue(async ({ make }) => {
      let running = 0;
      let peak = 0;
      const handlers: JobHandlers = { lim: async () => { peak = Math.max(peak, ++running); await sleep(40); running--; } };
      const queues = [make({ handlers, now: Date.now }), make({ handlers, now: Date.now })];
      await queues[0]!.setLimit('lim', { concurrency: 2 });
      // A poll interval far beyond the test: only wake-ups can start the held-back jobs in time.
      const poll = queues[0]!.backend.subscribe ? 60_000 : 50;
      const workers = queues.map((q) => new Worker(q, undefined, { concurrency: 4, pollIntervalMs: poll }));
      try {
        await Promise.all(workers.map((w) => w.start()));
        const jobs = await Promise.all(Array.from({ length: 8 }, (_, i) => queues[i % 2]!.add('lim', i)));
        await until(async () => (await Promise.all(jobs.map((j) => queues[0]!.get(j.id)))).every((j) => j?.state === 'completed'), 5_000 * scale, 'all completed');
        expect(peak).toBe(2);
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
    }));

    it('lets a worker wait for the rate window to open, not for its poll interval', withQueue(async ({ make }) => {
      const starts: number[] = [];
      const q = make({ handlers: { r: ({ job }) => { starts.push(job.startedAt!.getTime()); } }, now: Date.now });
      await q.setLimit('r', { rate: { max: 2, perMs: 200 } });
      // Without wake-ups the jobs added after the worker's first (empty) claim wait for a poll.
      const worker = new Worker(q, undefined, { concurrency: 3, pollIntervalMs: q.backend.subscribe ? 60_000 : 50 });
      try {
        await worker.start();
        const jobs = await Promise.all(Array.from({ length: 6 }, (_, i) => q.add('r', i)));
        await until(async () => (await Promise.all(jobs.map((j) => q.get(j.id)))).every((j) => j?.state === 'completed'), 5_000 * scale, 'all completed');
        expect(peakInWindow(starts, 200)).toBe(2);
      } finally {
        await worker.stop();
      }
    }));

    it('refuses bad limits with BotwireConfigError, writing nothing', withQueue(async ({ make }) => {
      const q = make({ handlers: noop });
      for (const bad of [{ concurrency: 0 }, { concurrency: 1.5 }, { rate: { max: 0, perMs: 1_000 } }, { rate: { max: 1, perMs: 0 } }, {}]) {
        await expect(q.setLimit('lim', bad)).rejects.toBeInstanceOf(BotwireConfigError);
      }
      await expect(q.setLimit('bad name', { concurrency: 1 })).rejects.toBeInstanceOf(BotwireConfigError);
      expect(() => make({ limits: { lim: { concurrency: -1 } } })).toThrow(BotwireConfigError);
      expect(await q.getLimits()).toEqual({});
    }));
  });
}

function groupCases(withQueue: (fn: (c: Ctx) => Promise<void>) => () => Promise<void>, scale: number): void {
  const ok: JobHandlers = { g: () => null, u: () => null };
  describe('groups', () => {
    it('runs at most groupConcurrency live jobs per group; jobs without a group have no cap; completion and lapse free a slot', withQueue(async ({ make, backend, clock }) => {
      const q = make({ handlers: ok, groups: { concurrency: 2 } });
      for (let i = 0; i < 4; i++) await q.add('g', i, { id: `a${i}`, group: 'A' });
      for (let i = 0; i < 3; i++) await q.add('u', i, { id: `u${i}` });
      const claim = rawClaim(backend, clock, ['g', 'u']);
      const first = await claim('t1', { groupConcurrency: 2, leaseMs: 1_000 });
      expect(first.map((j) => j.id).sort()).toEqual(['a0', 'a1', 'u0', 'u1', 'u2']);
      expect(first.heldBack).toBe(true);
      expect(await q.get('a2')).toMatchObject({ state: 'waiting', attempts: 0, group: 'A' });
      expect(await backend.complete('a0', 't1', 'null', clock.t)).toBe(true);
      expect((await claim('t2', { groupConcurrency: 2 })).map((j) => j.id)).toEqual(['a2']);
      clock.advance(1_001); // a1's lease lapsed: its slot is free
      expect((await claim('t3', { groupConcurrency: 2 })).map((j) => j.id)).toEqual(['a3']);
    }));

    it('serves groups round-robin, least recently served first, each in priority order', withQueue(async ({ make, backend, clock }) => {
      const q = make({ handlers: ok, groups: { concurrency: 10 } });
      for (const [id, group, priority] of [['a1', 'A', 0], ['a2', 'A', 5], ['a3', 'A', 0], ['a4', 'A', 0], ['b1', 'B', 0], ['b2', 'B', 0], ['c1', 'C', 0], ['c2', 'C', 0]] as const) {
        await q.add('g', id, { id, group, priority });
        clock.advance(1);
      }
      const claim = rawClaim(backend, clock, ['g']);
      const order: string[] = [];
      for (let i = 0; i < 9; i++) order.push(...(await claim(`t${i}`, { limit: 1, groupConcurrency: 10 })).map((j) => j.id));
      expect(order).toEqual(['a2', 'b1', 'c1', 'a1', 'b2', 'c2', 'a3', 'a4']);
    }));

    it('serves the jobs without a group as one more lane, and only them when a claim has no groupConcurrency', withQueue(async ({ make, backend, clock }) => {
      const q = make({ handlers: ok, groups: { concurrency: 5 } });
      for (let i = 1; i <= 3; i++) await q.add('g', i, { id: `a${i}`, group: 'A' });
      for (let i = 1; i <= 4; i++) await q.add('u', i, { id: `u${i}`, priority: 1 });
      const claim = rawClaim(backend, clock, ['g', 'u']);
      expect((await claim('plain', { limit: 2 })).map((j) => j.id)).toEqual(['u1', 'u2']);
      const order: string[] = [];
      for (let i = 0; i < 5; i++) order.push(...(await claim(`t${i}`, { limit: 1, groupConcurrency: 5 })).map((j) => j.id));
      // The lane without group starts at turn 0: it goes first, then takes turns with A.
      expect(order).toEqual(['u3', 'a1', 'u4', 'a2', 'a3']);
    }));

    it('puts a group that comes back behind the groups served meanwhile', withQueue(async ({ make, backend, clock }) => {
      const q = make({ handlers: ok, groups: { concurrency: 1 } });
      await q.add('g', 0, { id: 'a1', group: 'A' });
      for (let i = 1; i <= 3; i++) await q.add('g', i, { id: `b${i}`, group: 'B' });
      const claim = rawClaim(backend, clock, ['g']);
      const next = async (token: string): Promise<string[]> => (await claim(token, { limit: 1, groupConcurrency: 5 })).map((j) => j.id);
      expect([...await next('1'), ...await next('2')]).toEqual(['a1', 'b1']);
      expect(await backend.complete('a1', '1', 'null', clock.t)).toBe(true); // A has nothing unfinished: its lane ends
      await q.add('g', 9, { id: 'a2', group: 'A' });
      expect([...await next('3'), ...await next('4'), ...await next('5')]).toEqual(['b2', 'a2', 'b3']);
    }));

    it('keeps the group on the job; refuses a group without the groups option or with a bad name', withQueue(async ({ make }) => {
      const q = make({ handlers: ok, groups: {} });
      expect((await q.add('g', 1, { group: 'chat:42' })).group).toBe('chat:42');
      await expect(q.add('g', 1, { group: 'a b' })).rejects.toBeInstanceOf(BotwireConfigError);
      await expect(make({ handlers: ok }).add('g', 1, { group: 'A' })).rejects.toThrow(/groups/);
      expect(() => make({ groups: { concurrency: 0 } })).toThrow(BotwireConfigError);
    }));

    it('caps a group across workers and names, starting its next job when one ends', withQueue(async ({ make }) => {
      const running = new Map<string, number>();
      const peak = new Map<string, number>();
      const run = async (group: string): Promise<void> => {
        running.set(group, (running.get(group) ?? 0) + 1);
        peak.set(group, Math.max(peak.get(group) ?? 0, running.get(group)!));
        await sleep(25);
        running.set(group, running.get(group)! - 1);
      };
      const handlers: JobHandlers = { g: ({ job }) => run(job.group!), u: ({ job }) => run(job.group!) };
      const queues = [make({ handlers, now: Date.now, groups: {} }), make({ handlers, now: Date.now, groups: {} })];
      const poll = queues[0]!.backend.subscribe ? 60_000 : 50;
      const workers = queues.map((q) => new Worker(q, undefined, { concurrency: 3, pollIntervalMs: poll }));
      try {
        await Promise.all(workers.map((w) => w.start()));
        const jobs = await Promise.all([
          ...Array.from({ length: 4 }, (_, i) => queues[0]!.add(i % 2 ? 'g' : 'u', i, { group: 'A' })),
          ...Array.from({ length: 3 }, (_, i) => queues[1]!.add('g', i, { group: 'B' })),
        ]);
        await until(async () => (await Promise.all(jobs.map((j) => queues[0]!.get(j.id)))).every((j) => j?.state === 'completed'), 5_000 * scale, 'all completed');
        expect(Object.fromEntries(peak)).toEqual({ A: 1, B: 1 });
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
    }));

    it('lets a tick respect group caps and limits together', withQueue(async ({ make }) => {
      const runs: Array<{ start: number; end: number; group: string }> = [];
      const handlers: JobHandlers = { g: async ({ job }) => { const start = Date.now(); await sleep(10); runs.push({ start, end: Date.now(), group: job.group! }); } };
      const q = make({ handlers, groups: { concurrency: 2 } });
      await q.setLimit('g', { concurrency: 3 });
      for (let i = 0; i < 6; i++) await q.add('g', i, { group: i % 2 ? 'A' : 'B' });
      expect(await runDue(q, undefined, { concurrency: 6 })).toMatchObject({ claimed: 6, completed: 6, left: 0 });
      expect(peakOverlap(runs)).toBeLessThanOrEqual(3);
      expect(peakOverlap(runs.filter((r) => r.group === 'A'))).toBeLessThanOrEqual(2);
    }));
  });
}
