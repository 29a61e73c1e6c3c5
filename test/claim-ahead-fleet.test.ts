/**
 * withClaimAhead and the fleet features: the wrapper forwards the new primitives, its workers'
 * claims carry the group cap, refills are marked `ahead` (no rate-limited names), hints reach the
 * core, and a worker hears when jobs claimed ahead for it arrive. The whole fleet contract also
 * runs through the wrapper, over a workerBatch made of the memory backend's primitives.
 */
import { describe, expect, it } from 'vitest';
import { memoryJobBackend } from '../adapters/memory/job-backend.js';
import { withClaimAhead } from '../src/adapter-kit/claim-ahead.js';
import type { WorkerBatch, WorkerBatchBackend, WorkerBatchResult } from '../src/adapter-kit/worker-batch.js';
import type { ClaimedJobs, JobBackend, StoredJob } from '../src/jobs/backend.js';
import { jobFleetContract } from '../src/testing/job-fleet-contract.js';

/** A WorkerBatchBackend over any backend's plain primitives (one call per step, not one round trip). */
function batchOver(inner: JobBackend, seen: WorkerBatch[] = []): WorkerBatchBackend {
  const batch = {
    async workerBatch(b: WorkerBatch): Promise<WorkerBatchResult> {
      seen.push(b);
      const flags: number[] = [];
      for (const c of b.completions) flags.push((await inner.complete(c.id, c.token, c.result, b.now)) ? 1 : 0);
      if (!b.claim) return { flags, jobs: [] };
      let names = b.claim.names;
      if (b.claim.ahead) {
        const rated = new Set((await inner.getLimits!()).filter((e) => e.limit?.rate).map((e) => e.name));
        names = names.filter((n) => !rated.has(n));
      }
      const limit = b.completions.length ? Math.min(b.claim.limit, flags.filter((f) => f === 1).length) : b.claim.limit;
      if (!names.length || limit < 1) return { flags, jobs: [] };
      const jobs = await inner.claim({ ...b.claim, names, limit, now: b.now });
      return { flags, jobs: [...jobs], heldBack: jobs.heldBack, retryAt: jobs.retryAt };
    },
    handBack: (id: string, token: string, now: number) => inner.release(id, token, now),
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (prop in batch) return batch[prop as keyof typeof batch];
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as WorkerBatchBackend;
}

jobFleetContract('memory behind withClaimAhead', () => ({ backend: withClaimAhead(batchOver(memoryJobBackend())) }));

const job = (id: string, name: string, token: string): StoredJob => ({
  id, name, state: 'active', payload: '1', priority: 0, runAt: 0, attempts: 1, maxAttempts: 3, backoff: '{}', timeoutMs: 1_000,
  progress: 0, createdAt: 0, updatedAt: 0, leaseToken: token, leaseUntil: 10_000,
});

describe('withClaimAhead with fleet features', () => {
  it('forwards features and the fleet primitives of the inner backend, and only those it has', async () => {
    const memory = memoryJobBackend();
    const wrapped = withClaimAhead(batchOver(memory));
    expect(wrapped.features).toEqual(memory.features);
    await wrapped.setLimits!([{ name: 'x', limit: { concurrency: 2 } }], 0);
    expect(await wrapped.getLimits!()).toEqual([{ name: 'x', limit: { concurrency: 2 } }]);
    expect((await wrapped.addMany!([{ id: 'a', name: 'x', payload: '1', priority: 0, runAt: 0, maxAttempts: 1, backoff: '{}', timeoutMs: 1 }], 0))[0]!.created).toBe(true);
    expect((await wrapped.counts!('x', 0)).waiting).toBe(1);
    const bare = withClaimAhead(Object.assign(Object.create(memory) as WorkerBatchBackend, {
      features: undefined, addMany: undefined, counts: undefined, setLimits: undefined, getLimits: undefined,
      workerBatch: async () => ({ flags: [], jobs: [] }), handBack: async () => true,
    }));
    expect([bare.features, bare.addMany, bare.counts, bare.setLimits, bare.getLimits]).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it("passes the group cap with a worker's claims, marks refills ahead, returns hints, and tells the worker when refills arrive", async () => {
    const seen: WorkerBatch[] = [];
    const heard: string[] = [];
    let refill = 0;
    const inner = Object.assign(Object.create(memoryJobBackend()) as WorkerBatchBackend, {
      subscribe: async () => async () => {},
      async workerBatch(b: WorkerBatch): Promise<WorkerBatchResult> {
        seen.push(b);
        if (!b.claim) return { flags: b.completions.map(() => 1), jobs: [] };
        if (b.completions.length) return { flags: b.completions.map(() => 1), jobs: [job(`r${++refill}`, 'y', b.claim.token)] };
        return { flags: [], jobs: [job('own', 'x', b.claim.token)], heldBack: true, retryAt: 1234 };
      },
      handBack: async () => true,
    });
    const wrapped = withClaimAhead(inner);
    const stop = await wrapped.subscribe!((name) => { heard.push(name); });
    const claimed: ClaimedJobs = await wrapped.claim({
      names: ['x', 'y'], limit: 2, maxTimeoutMs: 1e9, token: 'core', leaseMs: 10_000, now: 5, waiter: 'w', groupConcurrency: 3,
    });
    expect(claimed.map((j) => j.id)).toEqual(['own']);
    expect(claimed).toMatchObject({ heldBack: true, retryAt: 1234 });
    expect(seen[0]!.claim).toMatchObject({ groupConcurrency: 3, waiter: 'w' });
    expect(seen[0]!.claim!.ahead).toBeFalsy();
    expect(await wrapped.complete('own', 'core', 'null', 6)).toBe(true);
    expect(seen[1]!.claim).toMatchObject({ limit: 1, groupConcurrency: 3, ahead: true });
    await new Promise((r) => setTimeout(r, 0));
    expect(heard).toEqual(['y']);
    await stop();
  });

  it('answers a claim from the buffer alone while its slots are held, until the backend wakes one of its names', async () => {
    const seen: WorkerBatch[] = [];
    let wake!: (name: string) => void;
    let n = 0;
    const inner = Object.assign(Object.create(memoryJobBackend()) as WorkerBatchBackend, {
      subscribe: async (listener: (name: string) => void) => { wake = listener; return async () => {}; },
      // A name limited to one slot: a refill gets what its completions freed, an own claim one job at first, then nothing.
      async workerBatch(b: WorkerBatch): Promise<WorkerBatchResult> {
        seen.push(b);
        const flags = b.completions.map(() => 1);
        if (b.completions.length) return { flags, jobs: b.completions.map(() => job(`r${++n}`, 'x', b.claim!.token)) };
        return { flags, jobs: seen.length === 1 ? [job('own', 'x', b.claim!.token)] : [], heldBack: true };
      },
      handBack: async () => true,
    });
    const wrapped = withClaimAhead(inner);
    const stop = await wrapped.subscribe!(() => {});
    const claim = (token: string): Promise<ClaimedJobs> =>
      wrapped.claim({ names: ['x'], limit: 3, maxTimeoutMs: 1e9, token, leaseMs: 10_000, now: 5 });
    expect((await claim('c1')).map((j) => j.id)).toEqual(['own']);
    expect(await wrapped.complete('own', 'c1', 'null', 6)).toBe(true); // its refill r1 waits in the buffer
    expect(seen).toHaveLength(2);
    const second = await claim('c2');
    expect(second.map((j) => j.id)).toEqual(['r1']);
    expect(second.heldBack).toBe(true);
    expect(seen).toHaveLength(2); // no round trip for the slots it could not get
    expect(await wrapped.complete('r1', 'c2', 'null', 7)).toBe(true); // refill r2
    wake('x');
    expect((await claim('c3')).map((j) => j.id)).toEqual(['r2']);
    expect(seen).toHaveLength(4); // woken: it asked the backend for the rest again
    expect(seen[3]!.claim).toMatchObject({ limit: 2 });
    await stop();
  });

  it('hands back, never runs, jobs whose claim answered after half their lease (the lease may have lapsed and the job moved on)', async () => {
    const memory = memoryJobBackend();
    const base = batchOver(memory);
    let delayMs = 0;
    const handedBack: string[] = [];
    // The memory backend behind a reply that arrives late: the claim is written at once, its answer
    // comes delayMs later (as behind a connection held by a replication WAIT).
    const inner = new Proxy(base, {
      get(target, prop) {
        if (prop === 'subscribe') return async () => async () => {};
        if (prop === 'workerBatch') {
          return async (b: WorkerBatch): Promise<WorkerBatchResult> => {
            const reply = await target.workerBatch(b);
            if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
            return reply;
          };
        }
        if (prop === 'handBack') return async (id: string, token: string, now: number) => { handedBack.push(id); return target.handBack(id, token, now); };
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const wrapped = withClaimAhead(inner);
    const stop = await wrapped.subscribe!(() => {});
    const now = Date.now();
    for (const id of ['a', 'b', 'c']) {
      await memory.add({ id, name: 'x', payload: '1', priority: 0, runAt: 0, maxAttempts: 3, backoff: '{}', timeoutMs: 1_000 }, now);
    }
    const claim = (token: string, limit = 1): Promise<ClaimedJobs> =>
      wrapped.claim({ names: ['x'], limit, maxTimeoutMs: 1e9, token, leaseMs: 200, now: Date.now() });
    expect((await claim('c1')).map((j) => j.id)).toEqual(['a']);
    delayMs = 150; // more than half the 200 ms lease
    expect(await wrapped.complete('a', 'c1', 'null', Date.now())).toBe(true); // its refill claimed b, answered late
    await new Promise((r) => setTimeout(r, 20));
    expect(handedBack).toEqual(['b']);
    expect(await memory.get('b')).toMatchObject({ state: 'waiting', attempts: 0 });
    // A worker's own claim answered late goes back the same way.
    expect(await claim('c2')).toEqual([]);
    await new Promise((r) => setTimeout(r, 20));
    expect(handedBack).toHaveLength(2);
    expect(await memory.get(handedBack[1]!)).toMatchObject({ state: 'waiting', attempts: 0 });
    delayMs = 0;
    expect((await claim('c3', 2)).map((j) => j.id).sort()).toEqual(['b', 'c']);
    await stop();
  });
});
