/**
 * Claim-ahead (a busy worker's completion claims its next job in the same round trip) for every
 * adapter that does it: Redis and Postgres run the same tests. A worker "dies" here by its lease
 * lapsing: `reclaim` is called with a clock past the lease, as another worker's maintenance would.
 */
import { expect, it } from 'vitest';
import type { JobBackend } from '../../src/jobs/backend.js';
import { START_MARK_MS } from '../../src/adapter-kit/claim-ahead-buffer.js';
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
  const job = (id: string, priority = 0) => ({ id, name: 'a', payload: '1', priority, runAt: 0, maxAttempts: 3, backoff: '{}', timeoutMs: 1_000 });
  const afterLease = (): number => Date.now() + 60_000;

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
    console.info(`[claim-ahead round trips] ${calls() - before} for 29 jobs`);
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
    expect(await backend.get('y')).toMatchObject({ state: 'active', attempts: 1, startedAt: undefined }); // claimed ahead
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

  it('hands a job claimed ahead back uncounted when its worker dies before starting it, 3 times at most', async () => {
    const backend = setup.backend();
    await backend.add(job('y'), Date.now());
    for (let round = 1; round <= 4; round++) {
      const unsubscribe = await backend.subscribe!(() => {});
      await backend.add(job(`f${round}`, 10), Date.now()); // claimed first, so its completion claims y ahead
      const [f] = await backend.claim({ names: ['a'], limit: 1, maxTimeoutMs: 1e9, token: `t${round}`, leaseMs: 30_000, now: Date.now() });
      expect(f?.id).toBe(`f${round}`);
      expect(await backend.complete(f!.id, `t${round}`, 'null', Date.now())).toBe(true);
      // The worker dies with y in its buffer: another worker's maintenance finds the lapsed lease.
      const taken = await backend.reclaim('r', 30_000, 10, afterLease());
      if (round <= 3) {
        expect(taken).toEqual([]);
        expect(await backend.get('y')).toMatchObject({ state: 'waiting', attempts: 0, error: undefined, startedAt: undefined });
      } else {
        // A job that keeps killing workers before its start is written cannot come back for ever.
        expect(taken.map((j) => [j.id, j.attempts, j.leaseToken])).toEqual([['y', 1, 'r']]);
      }
      await unsubscribe(); // hands nothing back: y's lease is no longer this worker's
    }
    expect(await backend.get('y')).toMatchObject({ state: 'active', leaseToken: 'r' });
    await backend.close();
  });

  it("counts a subscribed worker's claim only once its handler began", async () => {
    const backend = setup.backend();
    await backend.add(job('x'), Date.now());
    const claim = (token: string) => backend.claim({ names: ['a'], limit: 1, maxTimeoutMs: 1e9, token, leaseMs: 30_000, now: Date.now() });
    const unsubscribe = await backend.subscribe!(() => {});
    // Claimed, and the worker dies before calling the handler: back uncounted.
    expect((await claim('t1')).map((j) => j.id)).toEqual(['x']);
    expect(await backend.get('x')).toMatchObject({ state: 'active', attempts: 1, startedAt: undefined });
    expect(await backend.reclaim('r', 30_000, 10, afterLease())).toEqual([]);
    expect(await backend.get('x')).toMatchObject({ state: 'waiting', attempts: 0 });
    // Claimed and begun: once the start is written (here by a call of its own), a lapse counts.
    const [x] = await claim('t2');
    expect(x).toMatchObject({ id: 'x', leaseToken: 't2', startedAt: expect.any(Number) });
    backend.started!('x', 't2', x!.startedAt!);
    for (let i = 0; i < 100 && (await backend.get('x'))?.startedAt === undefined; i++) await sleep(START_MARK_MS / 2);
    expect((await backend.get('x'))?.startedAt).toBe(x!.startedAt);
    expect((await backend.reclaim('r2', 30_000, 10, afterLease())).map((j) => [j.id, j.attempts])).toEqual([['x', 1]]);
    await unsubscribe();
    await backend.close();
  });

  it('writes the start of a run begun from the buffer with the next completion, so a lapse then counts', async () => {
    const backend = setup.backend();
    for (const id of ['a1', 'b1', 'c1', 'd1']) await backend.add(job(id), Date.now());
    const claim = (token: string, limit: number) => backend.claim({ names: ['a'], limit, maxTimeoutMs: 1e9, token, leaseMs: 30_000, now: Date.now() });
    const unsubscribe = await backend.subscribe!(() => {});
    expect((await claim('t1', 2)).map((j) => j.id)).toEqual(['a1', 'b1']);
    expect(await backend.complete('a1', 't1', 'null', Date.now())).toBe(true); // claims c1 ahead
    const [c] = await claim('t2', 1); // from the buffer
    expect(c).toMatchObject({ id: 'c1', leaseToken: 't2', startedAt: expect.any(Number) });
    backend.started!('c1', 't2', c!.startedAt!); // the runner calls the handler
    await new Promise((r) => setTimeout(r, 15)); // starts younger than 10 ms wait for their run's outcome
    expect(await backend.complete('b1', 't1', 'null', Date.now())).toBe(true); // carries c1's start, claims d1 ahead
    expect((await backend.get('b1'))?.startedAt).toBeGreaterThan(0); // a completion records its own start
    const taken = await backend.reclaim('r', 30_000, 10, afterLease());
    // c1 ran: its lost run counts (the core retries or fails it). d1 never ran: back, uncounted.
    expect(taken.map((j) => [j.id, j.attempts, j.startedAt])).toEqual([['c1', 1, c!.startedAt]]);
    expect(await backend.get('d1')).toMatchObject({ state: 'waiting', attempts: 0, startedAt: undefined });
    await unsubscribe();
    await backend.close();
  });

  it('leaves a start younger than 10 ms to its own outcome instead of writing it with another call', async () => {
    const backend = setup.backend();
    for (const id of ['a1', 'b1', 'c1', 'd1']) await backend.add(job(id), Date.now());
    const claim = (token: string, limit: number) => backend.claim({ names: ['a'], limit, maxTimeoutMs: 1e9, token, leaseMs: 30_000, now: Date.now() });
    const unsubscribe = await backend.subscribe!(() => {});
    expect((await claim('t1', 2)).map((j) => j.id)).toEqual(['a1', 'b1']);
    expect(await backend.complete('a1', 't1', 'null', Date.now())).toBe(true); // claims c1 ahead
    const [c] = await claim('t2', 1);
    backend.started!('c1', 't2', c!.startedAt!);
    expect(await backend.complete('b1', 't1', 'null', Date.now())).toBe(true); // c1's start is too young to ride along
    expect((await backend.get('c1'))?.startedAt).toBeUndefined();
    expect(await backend.complete('c1', 't2', 'null', Date.now())).toBe(true); // its outcome records it
    expect(await backend.get('c1')).toMatchObject({ state: 'completed', startedAt: expect.any(Number) });
    await unsubscribe();
    await backend.close();
  });
}
