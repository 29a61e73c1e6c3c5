import { describe, expect, it } from 'vitest';
import {
  JobNotFoundError, JobPayloadTooLargeError, JobSerializationError, JobStateError, UnknownJobError,
} from '../errors.js';
import type { JobBackend } from '../jobs/backend.js';
import { JobQueue, type JobQueueOptions } from '../jobs/job-queue.js';
import { runDue } from '../jobs/run-due.js';
import type { JobHandlers } from '../jobs/types.js';
import { inputCases } from './job-queue-contract-inputs.js';
import { manageCases } from './job-queue-contract-manage.js';
import { runnerCases } from './job-queue-contract-runners.js';
import { Clock, sleep, until, type Ctx } from './job-contract-support.js';

/** What a factory hands the job contract suite for one test. */
export interface JobQueueHarness {
  /** A backend whose jobs do not collide with any other test's (fresh prefix, schema or instance). */
  backend: JobBackend;
  /** Called after the test, e.g. to close connections or drop the schema. */
  teardown?: () => Promise<void>;
}

/** Options of {@link jobQueueContract}. */
export interface JobQueueContractOptions {
  /**
   * Real-time waits (worker wake-ups, timeouts, heartbeats) are scaled by this factor for slow
   * backends. @default 1
   */
  timeScale?: number;
}

/**
 * The behaviour every {@link JobBackend} must show, as a vitest suite: states, idempotency,
 * priorities, delays, retries with backoff and deadlines, timeouts, partial results, lease loss and
 * fencing, cancel/retry/remove/list/retention, errors per attempt, workers, budgeted ticks and schedules.
 *
 * @example
 * ```ts
 * import { jobQueueContract } from 'botwire/testing';
 * import { memoryJobBackend } from 'botwire/memory';
 * jobQueueContract('memory', () => ({ backend: memoryJobBackend() }));
 * ```
 */
export function jobQueueContract(
  name: string,
  factory: () => JobQueueHarness | Promise<JobQueueHarness>,
  options: JobQueueContractOptions = {},
): void {
  const scale = options.timeScale ?? 1;
  const withQueue = (fn: (c: Ctx) => Promise<void>) => async () => {
    const h = await factory();
    const clock = new Clock();
    const make = (o: JobQueueOptions = {}): JobQueue =>
      new JobQueue(h.backend, { now: clock.now, random: () => 0, onError: () => {}, ...o });
    try { await fn({ backend: h.backend, clock, make }); } finally { await h.teardown?.(); }
  };
  const ok: JobHandlers = { ok: async ({ job }) => ({ echo: job.payload }) };

  describe(`JobQueue contract: ${name}`, () => {
    describe('adding and reading', () => {
      it('reports health ok with its backend name', withQueue(async ({ make }) => {
        const report = await make().health();
        expect(report, JSON.stringify(report)).toMatchObject({ ok: true, backend: expect.any(String) as string });
      }));

      it('adds a waiting job and reads it back with its fields', withQueue(async ({ make, clock }) => {
        const q = make({ handlers: ok });
        const job = await q.add('ok', { chat: 42, text: 'привет 🎉' }, { attempts: 5, priority: 3, timeoutMs: 9_000 });
        expect(job).toMatchObject({
          name: 'ok', state: 'waiting', payload: { chat: 42, text: 'привет 🎉' }, attempts: 0, maxAttempts: 5,
          priority: 3, timeoutMs: 9_000, missing: [], progress: { pct: 0 },
        });
        expect(job.createdAt.getTime()).toBe(clock.t);
        expect(await q.get(job.id)).toEqual(job);
        expect(await q.get('never-added')).toBeUndefined();
      }));

      it('treats an explicit id as an idempotency key', withQueue(async ({ make }) => {
        const q = make({ handlers: ok });
        const first = await q.add('ok', { v: 1 }, { id: 'order-7' });
        const again = await q.add('ok', { v: 2 }, { id: 'order-7' });
        expect(again.id).toBe('order-7');
        expect(again.payload).toEqual({ v: 1 });
        expect(again.createdAt).toEqual(first.createdAt);
        expect((await runDue(q)).claimed).toBe(1);
      }));

      it('refuses bad payloads and unknown names, storing nothing', withQueue(async ({ make }) => {
        const q = make({ handlers: ok, maxPayloadBytes: 1_000 });
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        await expect(q.add('ok', { n: 10n }, { id: 'a' })).rejects.toBeInstanceOf(JobSerializationError);
        await expect(q.add('ok', cyclic, { id: 'b' })).rejects.toBeInstanceOf(JobSerializationError);
        await expect(q.add('ok', () => 1, { id: 'c' })).rejects.toBeInstanceOf(JobSerializationError);
        const big = q.add('ok', { s: 'я'.repeat(600) }, { id: 'd' });
        await expect(big).rejects.toBeInstanceOf(JobPayloadTooLargeError);
        await expect(big).rejects.toMatchObject({ bytes: 1_208, limit: 1_000 });
        await expect(q.add('typo', {}, { id: 'e' })).rejects.toBeInstanceOf(UnknownJobError);
        for (const id of ['a', 'b', 'c', 'd', 'e']) expect(await q.get(id)).toBeUndefined();
      }));

      it('keeps a delayed job until its time, then runs it', withQueue(async ({ make, clock }) => {
        const q = make({ handlers: ok });
        const job = await q.add('ok', 1, { delayMs: 60_000 });
        expect(job.state).toBe('delayed');
        expect((await runDue(q)).claimed).toBe(0);
        clock.advance(59_999);
        expect((await runDue(q)).claimed).toBe(0);
        clock.advance(1);
        expect((await q.get(job.id))?.state).toBe('waiting');
        expect(await runDue(q)).toMatchObject({ claimed: 1, completed: 1, left: 0 });
        expect(await q.get(job.id)).toMatchObject({ state: 'completed', result: { echo: 1 }, progress: { pct: 100 } });
      }));

      it('runs higher priority first, then older first', withQueue(async ({ make, clock }) => {
        const order: string[] = [];
        const q = make({ handlers: { p: ({ job }) => { order.push(job.id); } } });
        await q.add('p', 0, { id: 'low', priority: -5 });
        clock.advance(1);
        await q.add('p', 0, { id: 'old' });
        clock.advance(1);
        await q.add('p', 0, { id: 'high', priority: 10 });
        clock.advance(1);
        await q.add('p', 0, { id: 'new' });
        await runDue(q, undefined, { concurrency: 1 });
        expect(order).toEqual(['high', 'old', 'new', 'low']);
      }));
    });

    describe('running', () => {
      it('records progress while running and the result at the end', withQueue(async ({ make }) => {
        let release!: () => void;
        const gate = new Promise<void>((r) => { release = r; });
        const q = make({
          handlers: { slow: async ({ progress }) => { await progress(40, 'halfway'); await gate; return 'done'; } },
        });
        const job = await q.add('slow', null);
        const tick = runDue(q);
        await until(async () => (await q.get(job.id))?.progress.pct === 40, 5_000 * scale, 'progress 40');
        expect(await q.get(job.id)).toMatchObject({ state: 'active', attempts: 1, progress: { pct: 40, message: 'halfway' } });
        release();
        expect(await tick).toMatchObject({ claimed: 1, completed: 1 });
        expect(await q.get(job.id)).toMatchObject({ state: 'completed', result: 'done', progress: { pct: 100 } });
      }));

      it('retries a failing job with exponential backoff, then fails it for good', withQueue(async ({ make, clock }) => {
        let runs = 0;
        const q = make({ handlers: { flaky: () => { runs++; throw new TypeError(`boom ${runs}`); } } });
        const job = await q.add('flaky', {}, { attempts: 3, backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 1_500 } });
        expect((await runDue(q)).failed).toBe(1);
        let now = await q.get(job.id);
        expect(now).toMatchObject({ state: 'delayed', attempts: 1, error: { name: 'TypeError', message: 'boom 1' } });
        expect(now!.runAt.getTime()).toBe(clock.t + 1_000);
        clock.advance(1_000);
        await runDue(q);
        now = await q.get(job.id);
        expect(now!.runAt.getTime()).toBe(clock.t + 1_500); // 2 s capped at 1.5 s
        clock.advance(1_500);
        await runDue(q);
        expect(await q.get(job.id)).toMatchObject({ state: 'failed', attempts: 3, error: { message: 'boom 3' } });
        expect(runs).toBe(3);
        clock.advance(3_600_000);
        expect((await runDue(q)).claimed).toBe(0);
      }));

      it('uses a fixed backoff when asked', withQueue(async ({ make, clock }) => {
        const q = make({ handlers: { f: () => { throw new Error('x'); } } });
        const job = await q.add('f', {}, { attempts: 5, backoff: { type: 'fixed', delayMs: 7_000 } });
        await runDue(q);
        clock.advance(7_000);
        await runDue(q);
        expect((await q.get(job.id))!.runAt.getTime()).toBe(clock.t + 7_000);
      }));

      it('records a readable error when a handler throws a non-Error', withQueue(async ({ make }) => {
        const q = make({ handlers: { s: () => { throw 'plain string'; }, o: () => { throw { code: 42 }; }, u: () => { throw undefined; } } });
        const ids = await Promise.all(['s', 'o', 'u'].map((n) => q.add(n, {}, { attempts: 1 }).then((j) => j.id)));
        await runDue(q);
        const errors = await Promise.all(ids.map(async (id) => (await q.get(id))!.error));
        expect(errors).toEqual([
          { name: 'Error', message: 'plain string' },
          { name: 'Error', message: 'handler threw {"code":42}' },
          { name: 'Error', message: 'handler threw undefined' },
        ]);
      }));

      it('stops retrying at retryUntil whatever attempts remain', withQueue(async ({ make, clock }) => {
        const q = make({ handlers: { f: () => { throw new Error('down'); } } });
        const job = await q.add('f', {}, { retryUntil: clock.t + 10_000, backoff: { type: 'fixed', delayMs: 4_000 } });
        expect(job.maxAttempts).toBe(Infinity);
        for (let i = 0; i < 5; i++) { await runDue(q); clock.advance(4_000); }
        // Runs at 0, 4 s and 8 s; a retry at 12 s would be past the deadline.
        expect(await q.get(job.id)).toMatchObject({ state: 'failed', attempts: 3 });
      }));

      it('aborts the signal at timeoutMs and counts the run as failed', withQueue(async ({ make }) => {
        let sawAbort = false;
        const q = make({
          handlers: {
            hang: ({ signal }) => new Promise((_, reject) => {
              signal.addEventListener('abort', () => { sawAbort = true; reject(signal.reason); });
            }),
          },
        });
        const job = await q.add('hang', {}, { timeoutMs: 100 * scale, attempts: 1 });
        expect(await runDue(q)).toMatchObject({ claimed: 1, failed: 1 });
        expect(sawAbort).toBe(true);
        expect(await q.get(job.id)).toMatchObject({ state: 'failed', error: { name: 'JobTimeoutError' } });
      }));

      it('gives up on a handler that ignores the abort, and rejects its late result', withQueue(async ({ make }) => {
        let finish!: () => void;
        const q = make({ handlers: { deaf: () => new Promise<string>((r) => { finish = () => r('late'); }) } });
        const job = await q.add('deaf', {}, { timeoutMs: 100 * scale, attempts: 1 });
        await runDue(q);
        finish();
        await sleep(20);
        expect(await q.get(job.id)).toMatchObject({ state: 'failed', result: undefined });
      }));
    });

    describe('partial results', () => {
      it('stores the merged result, retries for the missing parts only, then completes', withQueue(async ({ make, clock }) => {
        const seen: Array<{ missing: string[]; result: unknown }> = [];
        const available = new Set(['a']);
        const q = make({
          handlers: {
            report: async ({ job, partial }) => {
              seen.push({ missing: job.missing, result: job.result });
              const want = job.missing.length ? job.missing : ['a', 'b', 'c'];
              const merged = { ...(job.result as Record<string, string> | undefined) };
              for (const part of want) if (available.has(part)) merged[part] = `data ${part}`;
              const missing = want.filter((p) => !available.has(p));
              if (missing.length) { await partial(merged, { missing }); return merged; }
              return merged;
            },
          },
        });
        const job = await q.add('report', {}, { attempts: 10, backoff: { type: 'fixed', delayMs: 300_000 } });
        expect(await runDue(q)).toMatchObject({ claimed: 1, partial: 1 });
        expect(await q.get(job.id)).toMatchObject({ state: 'partial', result: { a: 'data a' }, missing: ['b', 'c'] });
        expect((await q.get(job.id))!.runAt.getTime()).toBe(clock.t + 300_000);
        available.add('b');
        clock.advance(300_000);
        await runDue(q);
        expect(await q.get(job.id)).toMatchObject({ state: 'partial', result: { a: 'data a', b: 'data b' }, missing: ['c'] });
        available.add('c');
        clock.advance(300_000);
        expect(await runDue(q)).toMatchObject({ completed: 1 });
        expect(await q.get(job.id)).toMatchObject({ state: 'completed', missing: [], result: { a: 'data a', b: 'data b', c: 'data c' } });
        expect(seen.map((s) => s.missing)).toEqual([[], ['b', 'c'], ['c']]);
      }));

      it('takes the retry delay from partial(..., { retryInMs }) and completes when nothing is missing', withQueue(async ({ make, clock }) => {
        let n = 0;
        const q = make({
          handlers: { p: async ({ partial }) => { n++; await partial({ n }, { missing: n === 1 ? ['x'] : [], retryInMs: 5_000 }); } },
        });
        const job = await q.add('p', {});
        await runDue(q);
        expect((await q.get(job.id))!.runAt.getTime()).toBe(clock.t + 5_000);
        clock.advance(5_000);
        await runDue(q);
        expect(await q.get(job.id)).toMatchObject({ state: 'completed', result: { n: 2 } });
      }));

      it('fails a partial job at its deadline but keeps what it got', withQueue(async ({ make, clock }) => {
        const q = make({ handlers: { p: async ({ partial }) => { await partial({ got: 'a' }, { missing: ['b'] }); } } });
        const job = await q.add('p', {}, { retryUntil: clock.t + 10 * 60_000, backoff: { type: 'fixed', delayMs: 5 * 60_000 } });
        for (let i = 0; i < 4; i++) { await runDue(q); clock.advance(5 * 60_000); }
        expect(await q.get(job.id)).toMatchObject({
          state: 'failed', attempts: 3, result: { got: 'a' }, missing: ['b'], error: { name: 'JobIncompleteError' },
        });
      }));
    });

    describe('leases', () => {
      it('reclaims a job whose worker died, counting the attempt, and rejects the stale completion', withQueue(async ({ make, backend, clock }) => {
        const q = make({ handlers: ok, leaseMs: 10_000 });
        const job = await q.add('ok', 'x', { attempts: 3, backoff: { type: 'fixed', delayMs: 2_000 } });
        const [claimed] = await backend.claim({ names: ['ok'], limit: 1, maxTimeoutMs: 1e9, token: 'dead-worker', leaseMs: 10_000, now: clock.t });
        expect(claimed).toMatchObject({ id: job.id, state: 'active', attempts: 1, leaseToken: 'dead-worker' });
        expect(await q.reclaimLapsed()).toBe(0);
        clock.advance(10_001);
        expect(await q.reclaimLapsed()).toBe(1);
        expect(await q.get(job.id)).toMatchObject({ state: 'delayed', attempts: 1, error: { name: 'JobLeaseLapsedError' } });
        expect(await backend.complete(job.id, 'dead-worker', '"stale"', clock.t)).toBe(false);
        expect(await backend.heartbeat(job.id, 'dead-worker', 10_000, clock.t)).toBe(false);
        clock.advance(2_000);
        expect(await runDue(q)).toMatchObject({ completed: 1 });
        expect(await q.get(job.id)).toMatchObject({ state: 'completed', attempts: 2, result: { echo: 'x' } });
        expect(await backend.complete(job.id, 'dead-worker', '"stale"', clock.t)).toBe(false);
        expect((await q.get(job.id))!.result).toEqual({ echo: 'x' });
      }));

      it('fails a reclaimed job for good when it was the last attempt', withQueue(async ({ make, backend, clock }) => {
        const q = make({ handlers: ok, leaseMs: 1_000 });
        const job = await q.add('ok', 'x', { attempts: 1 });
        await backend.claim({ names: ['ok'], limit: 1, maxTimeoutMs: 1e9, token: 't', leaseMs: 1_000, now: clock.t });
        clock.advance(1_001);
        await q.reclaimLapsed();
        expect(await q.get(job.id)).toMatchObject({ state: 'failed', attempts: 1 });
      }));

      it('never hands the same job to two concurrent claims', withQueue(async ({ make, backend, clock }) => {
        const q = make({ handlers: ok });
        await Promise.all(Array.from({ length: 30 }, (_, i) => q.add('ok', i)));
        const claims = await Promise.all(Array.from({ length: 6 }, (_, i) =>
          backend.claim({ names: ['ok'], limit: 8, maxTimeoutMs: 1e9, token: `t${i}`, leaseMs: 10_000, now: clock.t })));
        const ids = claims.flat().map((j) => j.id);
        expect(ids.length).toBe(30);
        expect(new Set(ids).size).toBe(30);
      }));

      it('keeps a long job alive with heartbeats beyond its lease', withQueue(async ({ make }) => {
        // Real time here: the lease is 300 ms and the job runs 3 leases long.
        const q = make({ handlers: { long: async () => { await sleep(900 * scale); return 'ok'; } }, leaseMs: 300 * scale, now: Date.now });
        const job = await q.add('long', {});
        const tick = runDue(q);
        await sleep(600 * scale);
        expect(await q.reclaimLapsed()).toBe(0);
        expect(await tick).toMatchObject({ completed: 1 });
        expect(await q.get(job.id)).toMatchObject({ state: 'completed', attempts: 1 });
      }));
    });

    describe('managing jobs', () => {
      it('cancels an unfinished job and refuses to cancel a finished one', withQueue(async ({ make }) => {
        const q = make({ handlers: ok });
        const a = await q.add('ok', 1, { delayMs: 1_000 });
        expect((await q.cancel(a.id)).state).toBe('cancelled');
        expect((await runDue(q)).claimed).toBe(0);
        await expect(q.cancel(a.id)).rejects.toBeInstanceOf(JobStateError);
        await expect(q.cancel('nope')).rejects.toBeInstanceOf(JobNotFoundError);
      }));

      it('aborts a running job that gets cancelled and discards its result', withQueue(async ({ make }) => {
        let aborted = false;
        const q = make({
          leaseMs: 150 * scale,
          handlers: { c: ({ signal }) => new Promise((resolve) => signal.addEventListener('abort', () => { aborted = true; resolve('ignored'); })) },
        });
        const job = await q.add('c', {}, { timeoutMs: 30_000 });
        const tick = runDue(q);
        await until(async () => (await q.get(job.id))?.state === 'active', 5_000 * scale, 'active');
        await q.cancel(job.id);
        await tick;
        expect(aborted).toBe(true);
        expect(await q.get(job.id)).toMatchObject({ state: 'cancelled', result: undefined });
      }));

      it('retries a failed job with a fresh count of attempts; refuses completed ones', withQueue(async ({ make }) => {
        let fail = true;
        const q = make({ handlers: { f: () => { if (fail) throw new Error('no'); return 'yes'; } } });
        const job = await q.add('f', {}, { attempts: 1 });
        await runDue(q);
        expect((await q.get(job.id))!.state).toBe('failed');
        fail = false;
        expect(await q.retry(job.id)).toMatchObject({ state: 'waiting', attempts: 0 });
        await runDue(q);
        expect(await q.get(job.id)).toMatchObject({ state: 'completed', result: 'yes', attempts: 1 });
        await expect(q.retry(job.id)).rejects.toBeInstanceOf(JobStateError);
        await expect(q.retry('nope')).rejects.toBeInstanceOf(JobNotFoundError);
      }));

      it('retries a partial job now, keeping its result and missing parts', withQueue(async ({ make }) => {
        const seen: string[][] = [];
        const q = make({ handlers: { p: async ({ job, partial }) => { seen.push(job.missing); await partial({ a: 1 }, { missing: ['b'] }); } } });
        const job = await q.add('p', {}, { attempts: 5, backoff: { type: 'fixed', delayMs: 3_600_000 } });
        await runDue(q);
        await q.retry(job.id);
        expect(await q.get(job.id)).toMatchObject({ state: 'waiting', result: { a: 1 }, missing: ['b'] });
        await runDue(q);
        expect(seen).toEqual([[], ['b']]);
      }));

      it('lists by state and name, newest first, page by page', withQueue(async ({ make, clock }) => {
        const q = make({ handlers: { a: () => 1, b: () => 2 } });
        const ids: string[] = [];
        for (let i = 0; i < 7; i++) { ids.push((await q.add(i % 2 ? 'b' : 'a', i)).id); clock.advance(1); }
        await q.add('a', 'same-ms-1', { id: 'tie-1' });
        await q.add('a', 'same-ms-2', { id: 'tie-2' });
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await q.list({ limit: 3, cursor });
          expect(page.jobs.length).toBeLessThanOrEqual(3);
          seen.push(...page.jobs.map((j) => j.id));
          cursor = page.cursor;
        } while (cursor);
        expect(seen.length).toBe(9);
        expect(new Set(seen).size).toBe(9);
        expect(seen.slice(2)).toEqual([...ids].reverse());
        expect((await q.list({ name: 'b' })).jobs.map((j) => j.payload)).toEqual([5, 3, 1]);
        await runDue(q, { b: () => 2 });
        expect((await q.list({ state: 'completed' })).jobs.map((j) => j.id).sort()).toEqual([ids[1], ids[3], ids[5]].sort());
        expect((await q.list({ state: 'waiting', name: 'b' })).jobs).toEqual([]);
      }));

      it('removes finished jobs past their retention in batches, and nothing else', withQueue(async ({ make, clock }) => {
        const q = make({ handlers: { ok: () => 1, bad: () => { throw new Error('x'); } }, retention: { completedMs: 60_000, failedMs: 120_000 } });
        for (let i = 0; i < 5; i++) await q.add('ok', i);
        const bad = await q.add('bad', 0, { attempts: 1 });
        await runDue(q, undefined, { retention: false });
        const pending = await q.add('ok', 'later', { delayMs: 1_000_000 });
        clock.advance(60_001);
        expect(await q.removeFinished({ batchSize: 2 })).toBe(5);
        expect((await q.get(bad.id))?.state).toBe('failed');
        clock.advance(60_000);
        expect(await q.removeFinished()).toBe(1);
        expect(await q.get(bad.id)).toBeUndefined();
        expect((await q.get(pending.id))?.state).toBe('delayed');
      }));
    });

    manageCases(withQueue);
    inputCases(withQueue);
    runnerCases(withQueue, scale);
  });
}
