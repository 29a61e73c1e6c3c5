import { describe, expect, it } from 'vitest';
import { createMemorySyncHub, memorySyncBus } from '../adapters/memory/sync-transport.js';
import { syncBusContract } from '../src/testing/sync-bus-contract.js';
import { compilePattern } from '../src/sync/topic-pattern.js';
import type { ResyncInfo, SyncBus } from '../src/sync/types.js';

syncBusContract('memory', () => {
  const hub = createMemorySyncHub();
  return { create: (o) => memorySyncBus({ ...o, hub }) };
});

syncBusContract('memory with a secret', () => {
  const hub = createMemorySyncHub();
  return { create: (o) => memorySyncBus({ ...o, hub, secret: 'contract-secret-contract-secret-0' }) };
});

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('memory SyncBus: faults', () => {
  it('resolves publish at once during an outage, keeps delivering locally, and resyncs on recovery', async () => {
    const hub = createMemorySyncHub();
    const a = memorySyncBus({ hub, onError: () => {} });
    const b = memorySyncBus({ hub, onError: () => {} });
    await Promise.all([a.ready(), b.ready()]);
    const resyncs: ResyncInfo[] = [];
    const local: unknown[] = [];
    const remote: unknown[] = [];
    a.subscribe('$resync', (e) => { resyncs.push(e.data); });
    a.subscribe('buttons.updated', (e) => { local.push(e.data); });
    b.subscribe('buttons.updated', (e) => { remote.push(e.data); });
    hub.setDown(true);
    expect(a.state).toBe('down');
    const started = performance.now();
    await a.publish('buttons.updated', 1);
    expect(performance.now() - started).toBeLessThan(50); // generous: the bench measures the real figure
    expect(local).toEqual([1]);
    expect(a.stats().dropped).toBe(1);
    hub.setDown(false);
    expect(resyncs).toEqual([{ reason: 'reconnect' }]);
    await a.publish('buttons.updated', 2);
    await tick();
    expect(remote).toEqual([2]);
    await Promise.all([a.close(), b.close()]);
  });

  it('emits a gap $resync when the broker loses events of an origin', async () => {
    const hub = createMemorySyncHub();
    const a = memorySyncBus({ hub });
    const b = memorySyncBus({ hub });
    await Promise.all([a.ready(), b.ready()]);
    const resyncs: ResyncInfo[] = [];
    const got: number[] = [];
    b.subscribe('$resync', (e) => { resyncs.push(e.data); });
    b.subscribe('t', (e) => { got.push(e.data as number); });
    await a.publish('t', 1);
    hub.loseNext(2);
    await a.publish('t', 2);
    await a.publish('t', 3);
    await a.publish('t', 4);
    await tick();
    expect(got).toEqual([1, 4]);
    expect(resyncs).toEqual([{ reason: 'gap', origin: a.instanceId, missed: 2 }]);
    await Promise.all([a.close(), b.close()]);
  });

  it('type-checks topics and payloads through the TopicMap generic', async () => {
    interface Topics { 'users.balance_updated': { userId: number; balance: number }; 'settings.updated': void }
    const bus: SyncBus<Topics> = memorySyncBus<Topics>();
    const balances: number[] = [];
    bus.subscribe('users.balance_updated', (e) => { balances.push(e.data.balance); });
    await bus.publish('users.balance_updated', { userId: 1, balance: 7 });
    await bus.publish('settings.updated');
    // @ts-expect-error wrong payload type is a compile error
    await bus.publish('users.balance_updated', { userId: 1 });
    // @ts-expect-error unknown topic is a compile error
    await bus.publish('users.unknown', 1);
    expect(balances).toEqual([7, undefined]); // the ill-typed publish still runs: types guard at compile time only
    // Wildcard handlers get the union of the matching topics' envelopes, narrowed by `topic`.
    bus.subscribe('users.*', (e) => {
      const balance: number = e.data.balance;
      void balance;
    });
    bus.subscribe('*', (e) => {
      if (e.topic === 'users.balance_updated') { const id: number = e.data.userId; void id; }
    });
    bus.subscribe('$resync', (e) => { const reason: 'reconnect' | 'gap' = e.data.reason; void reason; });
    await bus.close();
  });
});

describe('topic patterns', () => {
  it.each([
    ['buttons.*', 'buttons.updated', true], ['buttons.*', 'buttons.a.b', false], ['buttons.*', 'buttons', false],
    ['*.updated', 'users.updated', true], ['a.*.c', 'a.b.c', true], ['a.*.c', 'a.b.d', false],
    ['users.**', 'users', false], ['users.**', 'users.a.b.c', true], ['users.#', 'users.x', true],
    ['*', 'a.b.c', true], ['**', 'a', true], ['*', '$resync', false], ['$resync', '$resync', true],
    ['buttons.updated', 'buttons.updated', true], ['buttons.updated', 'buttons.updatedX', false],
    ['a-b.c_d', 'a-b.c_d', true], ['a.*', 'aXb', false],
  ])('%s vs %s → %s', (pattern, topic, expected) => {
    expect(compilePattern(pattern).matches(topic)).toBe(expected);
  });
});
