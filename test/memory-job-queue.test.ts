import { describe, expect, it } from 'vitest';
import { memoryJobBackend, memoryJobQueue } from '../adapters/memory/job-backend.js';
import { BotwireConfigError, UnknownJobError } from '../src/errors.js';
import { backoffDelay } from '../src/jobs/backoff.js';
import { runDue } from '../src/jobs/run-due.js';
import { Worker } from '../src/jobs/worker.js';
import { jobQueueContract } from '../src/testing/job-queue-contract.js';

jobQueueContract('memory', () => ({ backend: memoryJobBackend() }));

describe('job queue core specifics', () => {
  it('spreads exponential backoff with jitter below the capped delay', () => {
    const b = { type: 'exponential', delayMs: 1_000, maxDelayMs: 10_000, jitter: 0.5 } as const;
    expect([1, 2, 3, 4, 5, 50].map((n) => backoffDelay(b, n, () => 0))).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    expect(backoffDelay(b, 3, () => 0.999)).toBe(2_002);
    expect(backoffDelay({ type: 'fixed', delayMs: 500 }, 9, () => 0.7)).toBe(500);
  });

  it('refuses nonsensical options with a config error', async () => {
    expect(() => memoryJobQueue({ leaseMs: 0 })).toThrow(BotwireConfigError);
    const q = memoryJobQueue();
    await expect(q.add('x', {}, { attempts: 0 })).rejects.toThrow(/attempts/);
    await expect(q.add('x', {}, { priority: 1.5 })).rejects.toThrow(/priority/);
    await expect(q.add('x', {}, { delayMs: 5, runAt: 10 })).rejects.toThrow(/either delayMs or runAt/);
    await expect(q.add('x', {}, { backoff: { type: 'linear' } as never })).rejects.toThrow(/backoff.type/);
    await expect(q.add('bad name!', {})).rejects.toThrow(/job name/);
    await expect(q.add('x', {}, { id: '' })).rejects.toThrow(/job id/);
  });

  it('refuses a worker or tick whose handlers the queue does not know', async () => {
    const q = memoryJobQueue({ handlers: { a: () => 1 } });
    expect(() => new Worker(q, { b: () => 1 }, { autostart: false })).toThrow(UnknownJobError);
    await expect(runDue(memoryJobQueue())).rejects.toThrow(/No job handlers/);
  });

  it('keeps a bus failure from breaking the queue', async () => {
    const errors: unknown[] = [];
    const q = memoryJobQueue({
      handlers: { a: () => 1 },
      bus: { publish: () => { throw new Error('bus down'); } },
      onError: (e) => errors.push(e),
    });
    const job = await q.add('a', {});
    await runDue(q);
    expect((await q.get(job.id))?.state).toBe('completed');
    expect(errors.length).toBeGreaterThan(0);
  });
});
