import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { memorySessionStore, type MemorySessionBackend } from '../adapters/memory/index.js';
import { sessionStoreContract } from '../src/testing/index.js';
import { afterEach, describe, expect, it, vi } from 'vitest';

// Real time: proves leases and TTLs lapse by the wall clock.
sessionStoreContract('memory (wall clock)', () => ({ store: memorySessionStore() }));

// Injected clock: same suite, no waiting.
sessionStoreContract('memory (injected clock)', () => {
  let offset = 0;
  return { store: memorySessionStore({ now: () => Date.now() + offset }), advance: (ms) => { offset += ms; } };
});

describe('memory session store specifics', () => {
  it('drops the least recently used record beyond maxEntries', async () => {
    const store = memorySessionStore({ maxEntries: 2 });
    await store.set('a', 1);
    await store.set('b', 2);
    await store.get('a');
    await store.set('c', 3);
    expect((await store.getMany(['a', 'b', 'c'])).map((r) => r?.data)).toEqual([1, undefined, 3]);
  });

  it('rejects a nonsensical maxEntries or sweepIntervalMs', () => {
    expect(() => memorySessionStore({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => memorySessionStore({ maxEntries: 1.5 })).toThrow(/maxEntries/);
    expect(() => memorySessionStore({ sweepIntervalMs: 0 })).toThrow(/sweepIntervalMs/);
    expect(() => memorySessionStore({ maxEntries: Infinity })).not.toThrow();
  });

  it('is bounded to 10,000 records by default', async () => {
    const store = memorySessionStore();
    for (let i = 0; i < 10_050; i++) await store.set(`k${i}`, i);
    expect((store.backend as MemorySessionBackend).stats().records).toBe(10_000);
    expect(await store.get('k0')).toBeUndefined();
    expect(await store.get('k10049')).toMatchObject({ data: 10_049 });
    await store.close();
  });

  it('when full, drops expired records before evicting a live one', async () => {
    let now = 1_000_000;
    const store = memorySessionStore({ maxEntries: 3, now: () => now });
    await store.set('live', 1);
    await store.set('old1', 2, { ttlMs: 10 });
    await store.set('old2', 3, { ttlMs: 10 });
    now += 5_000;
    await store.set('new', 4);
    expect((await store.getMany(['live', 'new'])).map((r) => r?.data)).toEqual([1, 4]);
    expect((store.backend as MemorySessionBackend).stats().records).toBe(2);
  });
});

describe('memory session store: memory returns to baseline after TTLs lapse', () => {
  afterEach(() => { vi.useRealTimers(); });

  it('sweeps 50,000 expired records and their lapsed leases: 0 left', async () => {
    let now = Date.now();
    const store = memorySessionStore({ maxEntries: Infinity, now: () => now });
    const backend = store.backend as MemorySessionBackend;
    for (let i = 0; i < 50_000; i++) await store.set(`chat:${i}`, { step: 'name', i }, { ttlMs: 60_000 });
    // Leases whose holders never came back (a crashed process): nothing releases them.
    for (let i = 0; i < 1_000; i++) await store.acquire(`chat:${i}`, { leaseMs: 30_000 });
    expect(backend.stats()).toEqual({ records: 50_000, leases: 1_000 });
    now += 61_000;
    expect(backend.sweep()).toBe(51_000);
    expect(backend.stats()).toEqual({ records: 0, leases: 0 });
  });

  it('sweeps in the background, on an unref\'d timer that close() stops', async () => {
    vi.useFakeTimers();
    const store = memorySessionStore({ maxEntries: Infinity, sweepIntervalMs: 30_000 });
    const backend = store.backend as MemorySessionBackend;
    for (let i = 0; i < 100; i++) await store.set(`k${i}`, i, { ttlMs: 1_000 });
    await store.acquire('k0', { leaseMs: 1_000 });
    await vi.advanceTimersByTimeAsync(29_000);
    expect(backend.stats()).toEqual({ records: 100, leases: 1 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(backend.stats()).toEqual({ records: 0, leases: 0 });
    expect(vi.getTimerCount()).toBe(1);
    await store.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives the heap back: 200,000 expired records cost nothing once swept', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = (): number => { gc(); gc(); return process.memoryUsage().heapUsed; };
    let now = Date.now();
    const store = memorySessionStore({ maxEntries: Infinity, now: () => now });
    const backend = store.backend as MemorySessionBackend;
    const before = heap();
    for (let i = 0; i < 200_000; i++) await store.set(`chat:${i}`, { step: 'name', i }, { ttlMs: 60_000 });
    const full = heap() - before;
    now += 61_000;
    backend.sweep();
    const after = heap() - before;
    expect(full).toBeGreaterThan(20 * 1024 * 1024);
    expect(after).toBeLessThan(full / 10);
  });
});
