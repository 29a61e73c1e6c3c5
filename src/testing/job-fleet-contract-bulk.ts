import { describe, expect, it } from 'vitest';
import { BotwireConfigError, JobConflictError, JobSerializationError, UnknownJobError } from '../errors.js';
import type { JobBackend } from '../jobs/backend.js';
import type { JobFeature } from '../jobs/fleet-backend.js';
import { JobQueue } from '../jobs/job-queue.js';
import { runDue } from '../jobs/run-due.js';
import type { JobHandlers } from '../jobs/types.js';
import type { Ctx } from './job-contract-support.js';

const ZERO = { waiting: 0, delayed: 0, active: 0, partial: 0, completed: 0, failed: 0, cancelled: 0 };

/** `backend` seen through a proxy that records the size of every `addMany` call. */
function countingAddMany(backend: JobBackend, sizes: number[]): JobBackend {
  return new Proxy(backend, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop === 'addMany' && typeof value === 'function') {
        return (jobs: unknown[], now: number) => { sizes.push(jobs.length); return (value as Function).call(target, jobs, now); };
      }
      return typeof value === 'function' ? (value as Function).bind(target) : value;
    },
  });
}

/**
 * The addMany, counts and debounce half of the fleet contract.
 * @internal
 */
export function bulkCases(withQueue: (fn: (c: Ctx) => Promise<void>) => () => Promise<void>, features: readonly JobFeature[]): void {
  const ok: JobHandlers = { a: () => 'a', b: () => 'b', d: () => 'd' };

  if (features.includes('addMany')) describe('addMany', () => {
    it('adds many jobs with their own options, answering in order and publishing each', withQueue(async ({ make, clock }) => {
      const topics: string[] = [];
      const q = make({ handlers: ok, bus: { publish: (topic) => { topics.push(topic); } } });
      const results = await q.addMany<unknown>([
        { name: 'a', payload: 1 },
        { name: 'b', payload: { x: 2 }, options: { priority: 5, delayMs: 1_000, attempts: 7 } },
        { name: 'a', payload: 'three', options: { id: 'third' } },
      ]);
      expect(results.map((r) => r.created)).toEqual([true, true, true]);
      expect(results[1]!.job).toMatchObject({ name: 'b', state: 'delayed', priority: 5, maxAttempts: 7, payload: { x: 2 } });
      expect(results[1]!.job!.runAt.getTime()).toBe(clock.t + 1_000);
      expect(await q.get('third')).toMatchObject({ name: 'a', payload: 'three', state: 'waiting' });
      expect(topics).toEqual(['jobs.a.waiting', 'jobs.b.delayed', 'jobs.a.waiting']);
      expect(await q.addMany([])).toEqual([]);
    }));

    it('honours ids per job: an existing one, one repeated in the call, and another name\'s id (reported, not written)', withQueue(async ({ make }) => {
      const q = make({ handlers: ok });
      await q.add('a', 'old', { id: 'x' });
      const [existing, conflict, fresh, repeat] = await q.addMany([
        { name: 'a', payload: 'new', options: { id: 'x' } },
        { name: 'b', payload: 'other', options: { id: 'x' } },
        { name: 'a', payload: 'first', options: { id: 'y' } },
        { name: 'a', payload: 'second', options: { id: 'y' } },
      ]);
      expect(existing).toMatchObject({ created: false, job: { id: 'x', payload: 'old' } });
      expect(conflict!.error).toBeInstanceOf(JobConflictError);
      expect(conflict).toMatchObject({ created: false, error: { existingName: 'a' } });
      expect(conflict!.job).toBeUndefined();
      expect(fresh).toMatchObject({ created: true, job: { id: 'y', payload: 'first' } });
      expect(repeat).toMatchObject({ created: false, job: { id: 'y', payload: 'first' } });
      expect((await q.list()).jobs.map((j) => j.id).sort()).toEqual(['x', 'y']);
    }));

    it('checks every job before writing any', withQueue(async ({ make }) => {
      const q = make({ handlers: ok });
      await expect(q.addMany<unknown>([{ name: 'a', payload: 1, options: { id: 'p1' } }, { name: 'a', payload: { n: 1n } }])).rejects.toBeInstanceOf(JobSerializationError);
      await expect(q.addMany([{ name: 'a', payload: 1, options: { id: 'p2' } }, { name: 'typo', payload: 1 }])).rejects.toBeInstanceOf(UnknownJobError);
      await expect(q.addMany([{ name: 'a', payload: 1, options: { id: 'p3' } }, { name: 'a', payload: 1, options: { priority: 5000 } }])).rejects.toBeInstanceOf(BotwireConfigError);
      for (const id of ['p1', 'p2', 'p3']) expect(await q.get(id)).toBeUndefined();
    }));

    it('sends at most 500 jobs and about 1 MiB of payload per backend call, keeping the order', withQueue(async ({ backend, clock }) => {
      const sizes: number[] = [];
      const q = new JobQueue(countingAddMany(backend, sizes), { now: clock.now, maxPayloadBytes: 700_000, onError: () => {} });
      const many = await q.addMany(Array.from({ length: 1_200 }, (_, i) => ({ name: 'n', payload: i, options: { id: `n${i}` } })));
      expect(sizes).toEqual([500, 500, 200]);
      expect(many.map((r) => r.job!.payload)).toEqual(Array.from({ length: 1_200 }, (_, i) => i));
      sizes.length = 0;
      const big = 'x'.repeat(600_000);
      const large = await q.addMany([1, 2, 3].map((i) => ({ name: 'big', payload: { i, big } })));
      expect(sizes).toEqual([1, 1, 1]);
      expect(large.every((r) => r.created)).toBe(true);
    }));
  });

  if (features.includes('counts')) describe('counts', () => {
    it('counts jobs per state, per name and in total', withQueue(async ({ make, backend, clock }) => {
      const q = make({ handlers: ok });
      for (let i = 1; i <= 7; i++) { await q.add('a', i, { id: `a${i}` }); clock.advance(1); }
      await q.add('a', 8, { id: 'a8', delayMs: 10_000 });
      await q.add('b', 1);
      const claimOne = async (token: string): Promise<string> =>
        (await backend.claim({ names: ['a'], limit: 1, maxTimeoutMs: 1e9, token, leaseMs: 60_000, now: clock.t }))[0]!.id;
      await claimOne('active');
      expect(await backend.complete(await claimOne('c'), 'c', '1', clock.t)).toBe(true);
      expect(await backend.fail(await claimOne('f'), 'f', '{}', undefined, clock.t)).toBe(true);
      expect(await backend.partial(await claimOne('p'), 'p', '{}', '["x"]', clock.t + 5_000, clock.t)).toBe(true);
      await q.cancel('a5');
      expect(await q.counts('a')).toEqual({ waiting: 2, delayed: 1, active: 1, partial: 1, completed: 1, failed: 1, cancelled: 1 });
      expect(await q.counts()).toEqual({ waiting: 3, delayed: 1, active: 1, partial: 1, completed: 1, failed: 1, cancelled: 1 });
      expect(await q.counts('nobody')).toEqual(ZERO);
    }));

    it('counts a delayed job whose time has come as waiting, as get shows it, and follows retries and retention', withQueue(async ({ make, clock }) => {
      const q = make({ handlers: { f: () => { throw new Error('no'); } }, retention: { failedMs: 1_000 } });
      const job = await q.add('f', 1, { delayMs: 1_000, attempts: 1 });
      expect(await q.counts('f')).toMatchObject({ waiting: 0, delayed: 1 });
      clock.advance(1_000);
      expect((await q.get(job.id))!.state).toBe('waiting');
      expect(await q.counts('f')).toMatchObject({ waiting: 1, delayed: 0 });
      await runDue(q, undefined, { retention: false });
      expect(await q.counts('f')).toEqual({ ...ZERO, failed: 1 });
      await q.retry(job.id);
      expect(await q.counts('f')).toEqual({ ...ZERO, waiting: 1 });
      await runDue(q, undefined, { retention: false });
      clock.advance(1_001);
      await q.removeFinished();
      expect(await q.counts('f')).toEqual(ZERO);
    }));
  });

  if (features.includes('debounce')) describe('debounce', () => {
    const debounce = (ms: number) => ({ debounce: { id: 'chat-1', ms } });

    it('replaces the unstarted job under a debounce id and pushes its start back', withQueue(async ({ make, clock }) => {
      const seen: unknown[] = [];
      const topics: string[] = [];
      const q = make({ handlers: { d: ({ job }) => { seen.push(job.payload); } }, bus: { publish: (t) => { topics.push(t); } } });
      const t0 = clock.t;
      const first = await q.add('d', { v: 1 }, debounce(1_000));
      expect(first).toMatchObject({ state: 'delayed', payload: { v: 1 } });
      clock.advance(600);
      const second = await q.add('d', { v: 2 }, { ...debounce(1_000), priority: 3 });
      expect(second).toMatchObject({ id: first.id, state: 'delayed', payload: { v: 2 }, priority: 3, createdAt: first.createdAt });
      expect(second.runAt.getTime()).toBe(t0 + 1_600);
      expect((await q.list({ name: 'd' })).jobs).toHaveLength(1);
      clock.advance(999);
      expect((await runDue(q)).claimed).toBe(0);
      clock.advance(1);
      expect(await runDue(q)).toMatchObject({ claimed: 1, completed: 1 });
      expect(seen).toEqual([{ v: 2 }]);
      expect(topics).toEqual(['jobs.d.delayed', 'jobs.d.delayed', 'jobs.d.active', 'jobs.d.completed']);
    }));

    it('creates a new job once the debounced one has started, keeping the history of the old one', withQueue(async ({ make, backend, clock }) => {
      const q = make({ handlers: ok });
      const first = await q.add('d', 1, debounce(0));
      expect(first.state).toBe('waiting');
      await backend.claim({ names: ['d'], limit: 1, maxTimeoutMs: 1e9, token: 't', leaseMs: 10_000, now: clock.t });
      const second = await q.add('d', 2, debounce(0));
      expect(second.id).not.toBe(first.id);
      expect(await q.get(first.id)).toMatchObject({ state: 'active', payload: 1 });
      const third = await q.add('d', 3, debounce(500));
      expect(third).toMatchObject({ id: second.id, payload: 3, state: 'delayed' });
      expect(await backend.complete(first.id, 't', '"done"', clock.t)).toBe(true);
      expect(await q.get(first.id)).toMatchObject({ state: 'completed', result: 'done', payload: 1 });
    }));

    it('does not replace a job that ran and now waits for a retry', withQueue(async ({ make }) => {
      const q = make({ handlers: { d: () => { throw new Error('retry me'); } } });
      const first = await q.add('d', 1, { ...debounce(0), attempts: 3 });
      await runDue(q);
      expect(await q.get(first.id)).toMatchObject({ state: 'delayed', attempts: 1 });
      const next = await q.add('d', 2, debounce(0));
      expect(next.id).not.toBe(first.id);
      expect((await q.get(first.id))!.payload).toBe(1);
    }));

    it('scopes debounce ids by job name', withQueue(async ({ make }) => {
      const q = make({ handlers: ok });
      const a = await q.add('a', 1, debounce(100));
      const b = await q.add('b', 1, debounce(100));
      expect(a.id).not.toBe(b.id);
      expect((await q.add('a', 2, debounce(100))).id).toBe(a.id);
    }));

    it('refuses debounce with an id, delayMs or runAt, a bad debounce id or ms', withQueue(async ({ make }) => {
      const q = make({ handlers: ok });
      await expect(q.add('d', 1, { ...debounce(1), id: 'x' })).rejects.toBeInstanceOf(BotwireConfigError);
      await expect(q.add('d', 1, { ...debounce(1), delayMs: 5 })).rejects.toBeInstanceOf(BotwireConfigError);
      await expect(q.add('d', 1, { ...debounce(1), runAt: Date.now() })).rejects.toBeInstanceOf(BotwireConfigError);
      await expect(q.add('d', 1, { debounce: { id: '', ms: 1 } })).rejects.toBeInstanceOf(BotwireConfigError);
      await expect(q.add('d', 1, { debounce: { id: 'k', ms: -1 } })).rejects.toBeInstanceOf(BotwireConfigError);
      expect((await q.list()).jobs).toEqual([]);
    }));
  });
}
