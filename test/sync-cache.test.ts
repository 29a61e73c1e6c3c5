import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemorySyncHub, memorySyncBus } from '../adapters/memory/sync-transport.js';
import { SyncCache } from '../src/sync/sync-cache.js';
import type { SyncBus } from '../src/sync/types.js';

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));
let buses: SyncBus[] = [];
afterEach(async () => { vi.useRealTimers(); await Promise.all(buses.map((b) => b.close())); buses = []; });
/** Move only Date.now() forward: TTL checks read the wall clock, timers keep running for real. */
const advanceClock = (ms: number): void => { vi.setSystemTime(Date.now() + ms); };

async function twoInstances(options: { ttlMs?: number; staleWhileErrorMs?: number } = {}) {
  const hub = createMemorySyncHub();
  const a = memorySyncBus({ hub, onError: () => {} });
  const b = memorySyncBus({ hub, onError: () => {} });
  buses.push(a, b);
  await Promise.all([a.ready(), b.ready()]);
  return { hub, a, b, ca: new SyncCache<unknown>({ bus: a, ...options }), cb: new SyncCache<unknown>({ bus: b, ...options }) };
}

describe('SyncCache', () => {
  it('get/peek return fresh values synchronously and nothing after the TTL', async () => {
    const { ca } = await twoInstances();
    vi.useFakeTimers({ toFake: ['Date'] });
    ca.set('k', 1, { ttlMs: 30 });
    expect(ca.get('k')).toBe(1);
    expect(ca.peek('k')).toBe(1);
    advanceClock(29);
    expect(ca.get('k')).toBe(1);
    advanceClock(2);
    expect(ca.get('k')).toBeUndefined();
  });

  it('getOrLoad calls the loader once for concurrent misses and serves hits from memory', async () => {
    const { ca } = await twoInstances();
    let calls = 0;
    const loader = async (): Promise<string[]> => { calls++; await tick(10); return ['btn1', 'btn2']; };
    const results = await Promise.all(Array.from({ length: 20 }, () => ca.getOrLoad('buttons:main', loader)));
    expect(calls).toBe(1);
    expect(new Set(results).size).toBe(1);
    expect(await ca.getOrLoad('buttons:main', loader)).toEqual(['btn1', 'btn2']);
    expect(calls).toBe(1);
  });

  it('invalidate(key | prefix | tag) drops entries on this and every other instance', async () => {
    const { ca, cb } = await twoInstances();
    for (const c of [ca, cb]) {
      c.set('buttons:main', 1, { tags: ['buttons'] });
      c.set('buttons:admin', 2, { tags: ['buttons'] });
      c.set('scenario:1', 3);
      c.set('scenario:2', 4);
      c.set('settings', 5);
    }
    await ca.invalidate({ tag: 'buttons' });
    expect(ca.get('buttons:main')).toBeUndefined();
    await tick();
    expect([cb.get('buttons:main'), cb.get('buttons:admin'), cb.get('scenario:1')]).toEqual([undefined, undefined, 3]);
    await cb.invalidate({ prefix: 'scenario:' });
    await tick();
    expect([ca.get('scenario:1'), ca.get('scenario:2'), ca.get('settings')]).toEqual([undefined, undefined, 5]);
    await ca.invalidate('settings');
    await tick();
    expect(cb.get('settings')).toBeUndefined();
    expect(cb.size).toBe(0);
  });

  it('invalidateOn maps bus topics to invalidations on each instance (the buttons flow)', async () => {
    const { a, ca, cb } = await twoInstances();
    const db = { buttons: ['old'] };
    for (const c of [ca, cb]) {
      c.invalidateOn({ 'buttons.*': { tag: 'buttons' }, 'scenarios.*': (e) => ({ key: `scenario:${(e.data as { id: number }).id}` }) });
    }
    const keyboard = (c: SyncCache<unknown>) => c.getOrLoad('buttons:main_keyboard', async () => [...db.buttons], { tags: ['buttons'] });
    expect(await keyboard(cb)).toEqual(['old']);
    cb.set('scenario:7', 'v1');
    cb.set('scenario:8', 'v1');
    db.buttons = ['new'];
    await a.publish('buttons.updated', { id: 1 });
    await a.publish('scenarios.updated', { id: 7 });
    await tick();
    expect(await keyboard(cb)).toEqual(['new']);
    expect([cb.get('scenario:7'), cb.get('scenario:8')]).toEqual([undefined, 'v1']);
  });

  it('does not store a value whose load raced with an invalidation of its key', async () => {
    const { ca } = await twoInstances();
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const first = ca.getOrLoad('k', async () => { await gate; return 'stale'; }, { tags: ['t'] });
    await ca.invalidate({ tag: 't' });
    release();
    expect(await first).toBe('stale');
    expect(ca.get('k')).toBeUndefined();
    expect(await ca.getOrLoad('k', () => 'fresh')).toBe('fresh');
  });

  it('flushes everything on $resync (reconnect after an outage)', async () => {
    const { hub, ca, cb } = await twoInstances();
    ca.set('x', 1);
    cb.set('x', 1);
    hub.setDown(true);
    hub.setDown(false);
    expect(ca.get('x')).toBeUndefined();
    expect(cb.get('x')).toBeUndefined();
  });

  it('serves an expired value while the loader fails, within staleWhileErrorMs; rethrows otherwise', async () => {
    const { ca } = await twoInstances({ ttlMs: 20, staleWhileErrorMs: 10_000 });
    vi.useFakeTimers({ toFake: ['Date'] });
    await ca.getOrLoad('k', () => 'v1');
    advanceClock(30);
    expect(ca.get('k')).toBeUndefined();
    expect(await ca.getOrLoad('k', () => { throw new Error('db down'); })).toBe('v1');
    await ca.invalidate('k');
    await expect(ca.getOrLoad('k', () => { throw new Error('db down'); })).rejects.toThrow('db down');
  });

  it('keeps at most maxEntries, dropping the oldest', async () => {
    const hub = createMemorySyncHub();
    const bus = memorySyncBus({ hub });
    buses.push(bus);
    const c = new SyncCache({ bus, maxEntries: 3 });
    for (let i = 0; i < 5; i++) c.set(`k${i}`, i);
    expect(c.size).toBe(3);
    expect([c.get('k0'), c.get('k1'), c.get('k4')]).toEqual([undefined, undefined, 4]);
  });

  it('caches with different names on one bus do not invalidate each other', async () => {
    const hub = createMemorySyncHub();
    const a = memorySyncBus({ hub });
    const b = memorySyncBus({ hub });
    buses.push(a, b);
    const users = new SyncCache({ bus: a, name: 'users' });
    const buttons = new SyncCache({ bus: b, name: 'buttons' });
    buttons.set('k', 1);
    await users.invalidate('k');
    await tick();
    expect(buttons.get('k')).toBe(1);
  });
});
