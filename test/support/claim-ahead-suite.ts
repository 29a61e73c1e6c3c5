/**
 * Claim-ahead (a busy worker's completion claims its next job in the same round trip) for every
 * adapter that does it: Redis and Postgres run the same three tests.
 */
import { expect, it } from 'vitest';
import type { JobBackend } from '../../src/jobs/backend.js';
import type { JobQueue } from '../../src/jobs/job-queue.js';
import { Worker } from '../../src/jobs/worker.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ClaimAheadSetup {
  /** A fresh, empty backend that can subscribe (a long-running worker's backend). */
  backend(): JobBackend & { close(): Promise<void> };
  /** A fresh, empty queue with these handlers, and a count of the round trips its client sent. */
  queue(handlers: Record<string, () => unknown>): { queue: JobQueue; calls: () => number };
}

export function claimAheadSuite(setup: ClaimAheadSetup): void {
  const job = (id: string) => ({ id, name: 'a', payload: '1', priority: 0, runAt: 0, maxAttempts: 3, backoff: '{}', timeoutMs: 1_000 });

  it('lets a worker at concurrency 1 use about one round trip per job', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let ran = 0;
    const { queue, calls } = setup.queue({ noop: async () => { if (++ran === 30) await gate; return 'ok'; } });
    for (let i = 0; i < 40; i++) await queue.add('noop', { i }, { id: `n${i}` });
    const worker = new Worker(queue, undefined, { concurrency: 1, maintenanceIntervalMs: 60_000 });
    await worker.start();
    const before = calls();
    for (let i = 0; i < 250 && ran < 30; i++) await sleep(20);
    // Run 30 is blocked; its predecessors' completions claimed their successors in the same call.
    expect(ran).toBe(30);
    expect(calls() - before).toBeLessThanOrEqual(29 + 4);
    const stopped = worker.stop({ graceMs: 5_000 });
    release();
    await stopped;
    const jobs = (await queue.list({ limit: 100 })).jobs;
    expect(jobs.filter((j) => j.state === 'completed')).toHaveLength(30);
    const rest = jobs.filter((j) => j.state !== 'completed');
    expect(rest).toHaveLength(10);
    expect(rest.every((j) => j.state === 'waiting' && j.attempts === 0)).toBe(true);
    await queue.close();
  });

  it('hands back a job claimed ahead when no claim takes it, or when the worker unsubscribes', async () => {
    const backend = setup.backend();
    for (const id of ['x', 'y', 'z']) await backend.add(job(id), Date.now());
    const claim = (token: string) => backend.claim({ names: ['a'], limit: 1, maxTimeoutMs: 1e9, token, leaseMs: 30_000, now: Date.now() });
    const waitFor = async (id: string, state: string): Promise<void> => {
      for (let i = 0; i < 150 && (await backend.get(id))?.state !== state; i++) await sleep(20);
    };
    const unsubscribe = await backend.subscribe!(() => {});
    const [x] = await claim('t1');
    expect(await backend.complete(x!.id, 't1', 'null', Date.now())).toBe(true);
    expect(await backend.get('y')).toMatchObject({ state: 'active', attempts: 1 }); // claimed ahead
    await waitFor('y', 'waiting'); // nobody asked for it within the hold time
    expect(await backend.get('y')).toMatchObject({ state: 'waiting', attempts: 0 });
    const [y] = await claim('t2');
    expect(y?.id).toBe('y');
    expect(await backend.complete('y', 't2', 'null', Date.now())).toBe(true);
    expect((await backend.get('z'))?.state).toBe('active');
    await unsubscribe(); // a stopping worker: what it claimed ahead goes back at once
    await waitFor('z', 'waiting');
    expect(await backend.get('z')).toMatchObject({ state: 'waiting', attempts: 0 });
    await backend.close();
  });

  it('fences a job claimed ahead by the token of the claim that handed it out', async () => {
    const backend = setup.backend();
    for (const id of ['x', 'y']) await backend.add(job(id), Date.now());
    const claim = (token: string) => backend.claim({ names: ['a'], limit: 1, maxTimeoutMs: 1e9, token, leaseMs: 30_000, now: Date.now() });
    const unsubscribe = await backend.subscribe!(() => {});
    const [x] = await claim('t1');
    await backend.complete(x!.id, 't1', 'null', Date.now());
    const [y] = await claim('t2');
    expect(y).toMatchObject({ id: 'y', leaseToken: 't2', attempts: 1 });
    expect(await backend.heartbeat('y', 't1', 30_000, Date.now())).toBe(false);
    expect(await backend.heartbeat('y', 't2', 30_000, Date.now(), { pct: 40 })).toBe(true);
    expect(await backend.complete('y', 'wrong', 'null', Date.now())).toBe(false);
    expect(await backend.complete('y', 't2', '"done"', Date.now())).toBe(true);
    expect(await backend.get('y')).toMatchObject({ state: 'completed', result: '"done"', progress: 100 });
    await unsubscribe();
    await backend.close();
  });
}
