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

  it('lets at most maxPendingWrites outcomes trail behind while it starts more jobs', async () => {
    expect(() => new Worker(memoryJobQueue({ handlers: { a: () => 1 } }), undefined, { autostart: false, maxPendingWrites: 0 })).toThrow(BotwireConfigError);
    const backend = memoryJobBackend();
    let open!: () => void;
    const gate = new Promise<void>((r) => { open = r; });
    const complete = backend.complete.bind(backend);
    // Completions hang until the gate opens: the worker may run ahead only by maxPendingWrites.
    backend.complete = async (...args) => { await gate; return complete(...args); };
    const { JobQueue } = await import('../src/jobs/job-queue.js');
    let ran = 0;
    const q = new JobQueue(backend, { handlers: { a: () => { ran++; return null; } } });
    for (let i = 0; i < 10; i++) await q.add('a', { i });
    const worker = new Worker(q, undefined, { concurrency: 1, maxPendingWrites: 3 });
    await worker.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(ran).toBe(3);
    open();
    for (let i = 0; i < 100 && ran < 10; i++) await new Promise((r) => setTimeout(r, 10));
    expect(ran).toBe(10);
    await worker.stop();
    expect((await q.list({ state: 'completed', limit: 20 })).jobs).toHaveLength(10);
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
