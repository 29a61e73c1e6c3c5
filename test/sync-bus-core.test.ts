import { describe, expect, it } from 'vitest';
import { createMemorySyncHub, memorySyncBus } from '../adapters/memory/sync-transport.js';
import { BotwireConfigError, BotwireError } from '../src/errors.js';
import { createSyncBus } from '../src/sync/sync-bus.js';
import type { ResyncInfo, SyncTransport, SyncTransportEvents } from '../src/sync/types.js';

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A transport whose sends never settle and whose incoming side the test drives by hand. */
function stuckTransport(): SyncTransport & { events?: SyncTransportEvents; sent: string[] } {
  const t: SyncTransport & { events?: SyncTransportEvents; sent: string[] } = {
    name: 'stuck',
    maxPayloadBytes: 1_000_000,
    sent: [],
    open(events) { t.events = events; events.up(false); },
    send(text) { t.sent.push(text); return new Promise(() => {}); },
    async close() {},
  };
  return t;
}

describe('SyncBus core', () => {
  it('bounds a publish the broker never answers by sendTimeoutMs and counts it dropped', async () => {
    const errors: unknown[] = [];
    const transport = stuckTransport();
    const bus = createSyncBus({ transport, sendTimeoutMs: 30, onError: (e) => { errors.push(e); } });
    await bus.publish('a', 1);
    expect(bus.stats()).toMatchObject({ published: 1, dropped: 1 });
    expect(errors).toHaveLength(1);
    expect((errors[0] as BotwireError).code).toBe('BACKEND_UNAVAILABLE');
    await bus.close();
  });

  it('stops queueing broker sends beyond maxInFlight: later publishes resolve at once and are counted dropped', async () => {
    const transport = stuckTransport();
    const bus = createSyncBus({ transport, sendTimeoutMs: 60_000, maxInFlight: 2, onError: () => {} });
    void bus.publish('a', 1);
    void bus.publish('a', 2);
    await bus.publish('a', 3);
    expect(transport.sent).toHaveLength(2);
    expect(bus.stats().dropped).toBe(1);
    await bus.close();
  });

  it('ignores unreadable and foreign broker messages, reporting them, and keeps delivering', async () => {
    const errors: BotwireError[] = [];
    const transport = stuckTransport();
    const bus = createSyncBus({ transport, onError: (e) => { errors.push(e as BotwireError); } });
    const got: unknown[] = [];
    bus.subscribe('*', (e) => { got.push(e.data); });
    transport.events!.message('{not json');
    transport.events!.message('{"hello":"world"}');
    transport.events!.message(JSON.stringify({ id: 'o:1', topic: 'x', data: 7, at: 1, origin: 'o', seq: 1 }));
    expect(got).toEqual([7]);
    expect(errors.map((e) => e.code)).toEqual(['SYNC_MALFORMED', 'SYNC_MALFORMED']);
    await bus.close();
  });

  it('drops repeated or reordered copies and treats seq 1 from a known origin as a restart', async () => {
    const transport = stuckTransport();
    const bus = createSyncBus({ transport });
    const got: number[] = [];
    const resyncs: ResyncInfo[] = [];
    bus.subscribe('x', (e) => { got.push(e.seq); });
    bus.subscribe('$resync', (e) => { resyncs.push(e.data); });
    const env = (seq: number): string => JSON.stringify({ id: `o:${seq}`, topic: 'x', data: null, at: 1, origin: 'o', seq });
    for (const seq of [1, 2, 2, 3, 2, 5, 1, 2]) transport.events!.message(env(seq));
    expect(got).toEqual([1, 2, 3, 5, 1, 2]);
    expect(resyncs).toEqual([{ reason: 'gap', origin: 'o', missed: 1 }]);
    await bus.close();
  });

  it('emits $resync when the transport comes back after a failed first connect', async () => {
    const transport = stuckTransport();
    transport.open = (events) => { transport.events = events; events.down(new Error('refused')); };
    const bus = createSyncBus({ transport, onError: () => {} });
    const resyncs: ResyncInfo[] = [];
    bus.subscribe('$resync', (e) => { resyncs.push(e.data); });
    expect(bus.state).toBe('down');
    transport.events!.up(false);
    expect(bus.state).toBe('up');
    expect(resyncs).toEqual([{ reason: 'reconnect' }]);
    await bus.close();
  });

  it('measures the payload limit in UTF-8 bytes, not characters', async () => {
    const bus = memorySyncBus({ maxPayloadBytes: 3_000 });
    await bus.publish('ascii', 'a'.repeat(2_000));
    await expect(bus.publish('cyrillic', 'я'.repeat(2_000))).rejects.toMatchObject({ code: 'SYNC_PAYLOAD_TOO_LARGE' });
    await bus.close();
  });

  it('rejects a missing transport, an empty instanceId and a non-function handler with BotwireConfigError', () => {
    expect(() => createSyncBus({} as never)).toThrow(BotwireConfigError);
    expect(() => memorySyncBus({ instanceId: '' })).toThrow(BotwireConfigError);
    expect(() => memorySyncBus().subscribe('a', undefined as never)).toThrow(BotwireConfigError);
  });

  it('ready() rejects with BackendUnavailableError when the broker never comes up', async () => {
    const transport = stuckTransport();
    transport.open = () => {};
    const bus = createSyncBus({ transport });
    await expect(bus.ready(20)).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    await bus.close();
  });

  it('accepts a restarted publisher that reuses its instanceId', async () => {
    const hub = createMemorySyncHub();
    const b = memorySyncBus({ hub });
    const got: string[] = [];
    const resyncs: unknown[] = [];
    b.subscribe('t', (e) => { got.push(e.data as string); });
    b.subscribe('$resync', (e) => { resyncs.push(e.data); });
    const first = memorySyncBus({ hub, instanceId: 'bot-1' });
    await Promise.all([b.ready(), first.ready()]);
    for (const x of ['a', 'b', 'c']) await first.publish('t', x);
    await first.close();
    const second = memorySyncBus({ hub, instanceId: 'bot-1' });
    await second.ready();
    await second.publish('t', 'after restart');
    await tick();
    expect(got).toEqual(['a', 'b', 'c', 'after restart']);
    expect(resyncs).toEqual([]);
    await Promise.all([b.close(), second.close()]);
  });
});
