import { describe, expect, it } from 'vitest';
import { UnknownJobError } from '../errors.js';
import { runDue } from '../jobs/run-due.js';
import type { JobHandlers } from '../jobs/types.js';
import { Worker } from '../jobs/worker.js';
import { sleep, until, type Ctx } from './job-contract-support.js';

/**
 * The runner half of the job contract: workers, budgeted ticks, schedules and events.
 * @internal
 */
export function runnerCases(withQueue: (fn: (c: Ctx) => Promise<void>) => () => Promise<void>, scale: number): void {
  const ok: JobHandlers = { ok: async ({ job }) => ({ echo: job.payload }) };
  describe('workers', () => {
    it('runs jobs with the given concurrency and wakes on new jobs without waiting for a poll', withQueue(async ({ make }) => {
      let running = 0;
      let peak = 0;
      const q = make({ now: Date.now });
      const worker = new Worker(q, {
        w: async () => { running++; peak = Math.max(peak, running); await sleep(30); running--; },
      }, { concurrency: 3, pollIntervalMs: q.backend.subscribe ? 60_000 : 50 });
      await worker.start();
      try {
        const jobs = await Promise.all(Array.from({ length: 9 }, () => q.add('w', {}, { timeoutMs: 10_000 })));
        await until(async () => (await Promise.all(jobs.map((j) => q.get(j.id)))).every((j) => j?.state === 'completed'), 10_000 * scale, 'all completed');
        expect(peak).toBe(3);
      } finally {
        await worker.stop();
      }
    }));

    it('stops gracefully: lets a running job finish, or hands it back without counting it', withQueue(async ({ make }) => {
      const q = make({ now: Date.now });
      const finishing = new Worker(q, { g: async () => { await sleep(100); return 'finished'; } }, { pollIntervalMs: 20 });
      const a = await q.add('g', {});
      await until(async () => (await q.get(a.id))?.state === 'active', 5_000 * scale, 'active');
      await finishing.stop({ graceMs: 5_000 });
      expect(await q.get(a.id)).toMatchObject({ state: 'completed', result: 'finished' });

      let sawAbort = false;
      const busy = new Worker(q, {
        g: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => { sawAbort = true; reject(new Error('stopped')); })),
      }, { pollIntervalMs: 20 });
      const b = await q.add('g', {});
      await until(async () => (await q.get(b.id))?.state === 'active', 5_000 * scale, 'active');
      await busy.stop({ graceMs: 50 });
      expect(sawAbort).toBe(true);
      expect(await q.get(b.id)).toMatchObject({ state: 'waiting', attempts: 0 });
    }));
  });

  describe('budgeted ticks', () => {
    it('claims only jobs whose timeout fits the remaining budget and reports the rest as left', withQueue(async ({ make }) => {
      const q = make({ handlers: ok });
      await q.add('ok', 'short', { timeoutMs: 1_000 });
      await q.add('ok', 'long', { timeoutMs: 120_000 });
      expect(await runDue(q, undefined, { budgetMs: 10_000 })).toMatchObject({
        claimed: 1, completed: 1, partial: 0, failed: 0, left: 1, skipped: false,
      });
    }));

    it('skips a tick that overlaps a running one in the same process', withQueue(async ({ make }) => {
      let release!: () => void;
      const gate = new Promise<void>((r) => { release = r; });
      const q = make({ handlers: { s: () => gate } });
      await q.add('s', {});
      const first = runDue(q);
      await sleep(50);
      expect((await runDue(q)).skipped).toBe(true);
      release();
      expect(await first).toMatchObject({ claimed: 1, completed: 1 });
    }));

    it('runs every job exactly once when ticks on two instances overlap', withQueue(async ({ make }) => {
      const runs = new Map<string, number>();
      const handlers: JobHandlers = { n: async ({ job }) => { runs.set(job.id, (runs.get(job.id) ?? 0) + 1); await sleep(2); } };
      const a = make({ handlers });
      const b = make({ handlers });
      const ids = (await Promise.all(Array.from({ length: 40 }, (_, i) => a.add('n', i)))).map((j) => j.id);
      const [sa, sb] = await Promise.all([runDue(a, undefined, { concurrency: 3 }), runDue(b, undefined, { concurrency: 3 })]);
      expect(sa.claimed + sb.claimed).toBe(40);
      expect(ids.every((id) => runs.get(id) === 1)).toBe(true);
    }));
  });

  describe('schedules', () => {
    it('runs each cron slot once across instances, in the given time zone', withQueue(async ({ make, clock }) => {
      let runs = 0;
      const handlers: JobHandlers = { digest: () => { runs++; } };
      const a = make({ handlers });
      const b = make({ handlers });
      clock.t = Date.UTC(2030, 0, 1, 5, 59, 0);
      for (const q of [a, b]) q.schedule('digest', '0 9 * * *', { kind: 'daily' }, { tz: 'Europe/Moscow' });
      await Promise.all([runDue(a), runDue(b)]);
      expect(runs).toBe(0);
      const slot = await a.get('$schedule:digest:2030-01-01T06:00:00.000Z');
      expect(slot).toMatchObject({ state: 'delayed', payload: { kind: 'daily' } });
      clock.t = Date.UTC(2030, 0, 1, 6, 0, 30);
      await Promise.all([runDue(a), runDue(b)]);
      await Promise.all([runDue(b), runDue(a)]);
      expect(runs).toBe(1);
      expect(await a.get('$schedule:digest:2030-01-02T06:00:00.000Z')).toMatchObject({ state: 'delayed' });
    }));

    it('rejects a bad cron expression or time zone', withQueue(async ({ make }) => {
      const q = make({ handlers: ok });
      expect(() => q.schedule('ok', 'every day', {})).toThrow(/cron expression/);
      expect(() => q.schedule('ok', '* * * * *', {}, { tz: 'Mars/Olympus' })).toThrow(/time zone/);
      expect(() => q.schedule('nope', '* * * * *', {})).toThrow(UnknownJobError);
    }));
  });

  describe('events', () => {
    it('publishes jobs.<name>.<state> for every state change', withQueue(async ({ make, clock }) => {
      const topics: string[] = [];
      const q = make({
        handlers: { e: async ({ job, partial }) => { if (job.attempts === 1) await partial({}, { missing: ['x'], retryInMs: 0 }); } },
        bus: { publish: (topic) => { topics.push(topic); } },
      });
      const job = await q.add('e', {});
      await runDue(q);
      clock.advance(1);
      await runDue(q);
      const c = await q.add('e', {}, { delayMs: 1_000 });
      await q.cancel(c.id);
      expect(job.state).toBe('waiting');
      expect(topics).toEqual([
        'jobs.e.waiting', 'jobs.e.active', 'jobs.e.partial', 'jobs.e.active', 'jobs.e.completed', 'jobs.e.delayed', 'jobs.e.cancelled',
      ]);
    }));
  });
}
