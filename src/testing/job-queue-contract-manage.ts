import { describe, expect, it } from 'vitest';
import { JobStateError } from '../errors.js';
import type { JobCounts } from '../jobs/fleet-backend.js';
import type { JobQueue } from '../jobs/job-queue.js';
import { runDue } from '../jobs/run-due.js';
import type { JobHandlers } from '../jobs/types.js';
import type { Ctx } from './job-contract-support.js';

const ZERO: JobCounts = { waiting: 0, delayed: 0, active: 0, partial: 0, completed: 0, failed: 0, cancelled: 0 };

/** Counts of `name` where the backend keeps them (feature `'counts'`), else undefined. */
async function countsOf(q: JobQueue, name?: string): Promise<JobCounts | undefined> {
  return q.backend.features?.includes('counts') ? q.counts(name) : undefined;
}

/**
 * The job contract's cases for `remove` and for the errors kept per attempt.
 * @internal
 */
export function manageCases(withQueue: (fn: (c: Ctx) => Promise<void>) => () => Promise<void>): void {
  describe('removing jobs', () => {
    it('removes a job in every state but active with its data, counts go down, a second remove answers false', withQueue(async ({ make, clock }) => {
      const handlers: JobHandlers = {
        ok: () => 'done',
        bad: () => { throw new Error('nope'); },
        part: async ({ partial }) => { await partial({ a: 1 }, { missing: ['b'] }); },
      };
      const q = make({ handlers });
      await q.add('ok', 1, { id: 'r-completed' });
      await q.add('bad', 1, { id: 'r-failed', attempts: 1 });
      await q.add('part', 1, { id: 'r-partial', attempts: 5 });
      expect(await runDue(q)).toMatchObject({ completed: 1, failed: 1, partial: 1 });
      await q.add('ok', 1, { id: 'r-waiting' });
      await q.add('ok', 1, { id: 'r-delayed', delayMs: 60_000 });
      await q.add('ok', 1, { id: 'r-cancelled', delayMs: 60_000 });
      await q.cancel('r-cancelled');
      const states = ['completed', 'failed', 'partial', 'waiting', 'delayed', 'cancelled'] as const;
      for (const s of states) expect((await q.get(`r-${s}`))?.state).toBe(s);
      const before = await countsOf(q);
      if (before) expect(before).toMatchObject({ completed: 1, failed: 1, partial: 1, waiting: 1, delayed: 1, cancelled: 1 });

      for (const s of states) {
        expect(await q.remove(`r-${s}`), s).toBe(true);
        expect(await q.get(`r-${s}`), s).toBeUndefined();
        expect(await q.remove(`r-${s}`), s).toBe(false);
      }
      expect(await q.remove('never-added')).toBe(false);
      if (before) {
        expect(await countsOf(q)).toEqual(ZERO);
        expect(await countsOf(q, 'ok')).toEqual(ZERO);
      }
      expect((await q.list({ limit: 100 })).jobs).toEqual([]);
      clock.advance(3_600_000);
      expect(await runDue(q)).toMatchObject({ claimed: 0, left: 0 });
      // The id is free again: adding it creates a new job.
      const again = await q.add('ok', 2, { id: 'r-waiting' });
      expect(again).toMatchObject({ state: 'waiting', payload: 2, attempts: 0, errors: [] });
      expect(await runDue(q)).toMatchObject({ claimed: 1, completed: 1 });
    }));

    it('refuses to remove an active job (its lease held or lapsed), which then ends as usual', withQueue(async ({ make, backend, clock }) => {
      const q = make({ handlers: { ok: () => 'done' }, leaseMs: 10_000 });
      const job = await q.add('ok', 1);
      const [claimed] = await backend.claim({ names: ['ok'], limit: 1, maxTimeoutMs: 1e9, token: 'tok', leaseMs: 10_000, now: clock.t });
      expect(claimed?.id).toBe(job.id);
      const refused = q.remove(job.id);
      await expect(refused).rejects.toBeInstanceOf(JobStateError);
      await expect(refused).rejects.toMatchObject({ code: 'JOB_STATE', state: 'active' });
      clock.advance(10_001);
      await expect(q.remove(job.id)).rejects.toBeInstanceOf(JobStateError);
      expect(await backend.complete(job.id, 'tok', '"late"', clock.t)).toBe(true);
      expect(await q.get(job.id)).toMatchObject({ state: 'completed', result: 'late' });
      expect(await q.remove(job.id)).toBe(true);
    }));

    it('keeps groups, limits and debounce keys working around a removed job', withQueue(async ({ make }) => {
      const features = make().backend.features ?? [];
      const fleet = features.includes('groups') && features.includes('debounce') && features.includes('limits');
      const ran: string[] = [];
      const q = make({ handlers: { g: ({ job }) => { ran.push(job.id); } }, ...(fleet ? { groups: { concurrency: 1 }, limits: { g: { concurrency: 5 } } } : {}) });
      const group = (g: string) => (fleet ? { group: g } : {});
      await q.add('g', 1, { id: 'chat-1', ...group('chat') });
      await q.add('g', 2, { id: 'chat-2', ...group('chat') });
      await q.add('g', 3, { id: 'solo-1', ...group('solo') });
      expect(await q.remove('chat-1')).toBe(true);
      expect(await q.remove('solo-1')).toBe(true);
      await q.add('g', 4, { id: 'solo-2', ...group('solo') });
      expect(await runDue(q)).toMatchObject({ claimed: 2, completed: 2, left: 0 });
      expect(ran.sort()).toEqual(['chat-2', 'solo-2']);
      if (!fleet) return;
      const first = await q.add('g', 5, { debounce: { id: 'typing', ms: 60_000 } });
      expect(await q.remove(first.id)).toBe(true);
      const next = await q.add('g', 6, { debounce: { id: 'typing', ms: 60_000 } });
      expect(next.id).not.toBe(first.id);
      expect(next).toMatchObject({ state: 'delayed', payload: 6 });
      expect(await q.get(first.id)).toBeUndefined();
      expect(await countsOf(q, 'g')).toEqual({ ...ZERO, completed: 2, delayed: 1 });
    }));
  });

  describe('errors per attempt', () => {
    it('keeps each failed attempt’s error in order, also after the job completes', withQueue(async ({ make, clock }) => {
      let runs = 0;
      const seen: number[] = [];
      const q = make({
        handlers: {
          flaky: ({ job }) => {
            seen.push(job.errors.length);
            if (++runs === 1) throw Object.assign(new TypeError('boom 1'), { code: 'E_FIRST' });
            if (runs === 2) throw new RangeError('boom 2');
            return 'ok';
          },
        },
      });
      const job = await q.add('flaky', {}, { attempts: 5, backoff: { type: 'fixed', delayMs: 1_000 } });
      expect(job.errors).toEqual([]);
      const t1 = clock.t;
      await runDue(q);
      clock.advance(1_000);
      const t2 = clock.t;
      await runDue(q);
      clock.advance(1_000);
      expect(await runDue(q)).toMatchObject({ completed: 1 });
      const done = (await q.get(job.id))!;
      expect(done).toMatchObject({ state: 'completed', attempts: 3, result: 'ok', error: { name: 'RangeError', message: 'boom 2' } });
      expect(done.errors).toEqual([
        { attempt: 1, at: new Date(t1), name: 'TypeError', message: 'boom 1', code: 'E_FIRST', stack: expect.stringMatching(/^TypeError: boom 1\n/) as string },
        { attempt: 2, at: new Date(t2), name: 'RangeError', message: 'boom 2', stack: expect.stringMatching(/^RangeError: boom 2\n/) as string },
      ]);
      // Each run saw the errors of the runs before it.
      expect(seen).toEqual([0, 1, 2]);
    }));

    it('records lost workers and final partial runs among them, across a manual retry', withQueue(async ({ make, backend, clock }) => {
      let fail = true;
      const q = make({ handlers: { f: () => { if (fail) throw new Error('down'); return 1; } }, leaseMs: 1_000 });
      const job = await q.add('f', {}, { attempts: 2, backoff: { type: 'fixed', delayMs: 1_000 } });
      await backend.claim({ names: ['f'], limit: 1, maxTimeoutMs: 1e9, token: 'dead', leaseMs: 1_000, now: clock.t });
      clock.advance(1_001);
      expect(await q.reclaimLapsed()).toBe(1);
      clock.advance(1_000);
      await runDue(q);
      expect((await q.get(job.id))!.state).toBe('failed');
      await q.retry(job.id);
      await runDue(q);
      const after = (await q.get(job.id))!;
      expect(after.errors.map((e) => [e.attempt, e.name, e.message])).toEqual([
        [1, 'JobLeaseLapsedError', expect.stringContaining('attempt 1') as string], [2, 'Error', 'down'], [1, 'Error', 'down'],
      ]);
      const p = make({ handlers: { p: async ({ partial }) => { await partial({ a: 1 }, { missing: ['b'] }); } } });
      const part = await p.add('p', {}, { attempts: 1 });
      await runDue(p);
      expect((await p.get(part.id))!.errors.map((e) => [e.attempt, e.name])).toEqual([[1, 'JobIncompleteError']]);
    }));

    it('keeps the errors of the last 10 attempts, oldest dropped', withQueue(async ({ make, clock }) => {
      let runs = 0;
      const q = make({ handlers: { f: () => { throw new Error(`run ${++runs} ${'x'.repeat(5_000)}`); } } });
      const job = await q.add('f', {}, { attempts: 12, backoff: { type: 'fixed', delayMs: 1 } });
      for (let i = 0; i < 12; i++) { await runDue(q); clock.advance(1); }
      const failed = (await q.get(job.id))!;
      expect(failed).toMatchObject({ state: 'failed', attempts: 12 });
      expect(failed.errors.map((e) => e.attempt)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect(failed.errors.map((e) => e.message.split(' ').slice(0, 2).join(' '))).toEqual(['run 3', 'run 4', 'run 5', 'run 6', 'run 7', 'run 8', 'run 9', 'run 10', 'run 11', 'run 12']);
      // Earlier attempts are shortened; the latest is kept as the handler threw it.
      expect(failed.errors.slice(0, -1).every((e) => e.message.length === 1_000 && e.stack!.length <= 2_000)).toBe(true);
      expect(failed.errors.at(-1)!.message.length).toBe(5_007);
      expect(failed.error!.message).toBe(failed.errors.at(-1)!.message);
    }));
  });
}
