import { describe, expect, it } from 'vitest';
import { createMemorySyncHub, memorySyncBus } from '../adapters/memory/sync-transport.js';
import { BotwireConfigError, BotwireError, SyncSignatureError } from '../src/errors.js';
import { createSyncBus } from '../src/sync/sync-bus.js';
import type { SyncTransport, SyncTransportEvents } from '../src/sync/backend.js';
import type { ResyncInfo } from '../src/sync/types.js';

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

  it('counts exactly: published, received, dropped (taken off again when the broker answers late), rejected, duplicates, resyncs', async () => {
    const pending: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
    const transport = stuckTransport();
    transport.send = () => new Promise<void>((resolve, reject) => { pending.push({ resolve, reject }); });
    const errors: BotwireError[] = [];
    const bus = createSyncBus({ transport, sendTimeoutMs: 30, maxInFlight: 2, onError: (e) => { errors.push(e as BotwireError); } });
    const got: unknown[] = [];
    bus.subscribe('x', (e) => { got.push(e.data); });

    // Sends: one taken, one refused, one over maxInFlight, one answered only after sendTimeoutMs.
    const first = bus.publish('x', 'taken');
    const second = bus.publish('x', 'refused');
    await bus.publish('x', 'over maxInFlight');
    pending[0]!.resolve();
    pending[1]!.reject(new Error('broker said no'));
    await Promise.all([first, second]);
    await expect(bus.publish('x', { n: 1n })).rejects.toThrow(); // a caller mistake: not published
    await bus.publish('x', 'late');
    expect(bus.stats()).toMatchObject({ published: 4, dropped: 3 });
    pending[2]!.resolve();
    await tick();
    expect(bus.stats().dropped).toBe(2);

    const env = (seq: number, topic = 'x'): string => JSON.stringify({ id: `o:${seq}`, topic, data: seq, at: 1, origin: 'o', seq });
    for (const text of [env(1), env(2), env(2), env(1 + 1), env(5), '{oops', '{"a":1}', env(6, '$resync'), 's1.' + 'A'.repeat(43) + '.' + env(7)]) {
      transport.events!.message(text);
    }
    expect(got).toEqual(['taken', 'refused', 'over maxInFlight', 'late', 1, 2, 5]);
    expect(bus.stats()).toEqual({ published: 4, received: 3, dropped: 2, rejected: 4, duplicates: 2, resyncs: 1 });
    expect(errors.filter((e) => e.code === 'SYNC_MALFORMED')).toHaveLength(3);
    expect(errors.filter((e) => e instanceof SyncSignatureError)).toHaveLength(1);
    await bus.close();
  });

  it('takes the signature out of the transport limit, so a signed envelope never exceeds it', async () => {
    const transport = stuckTransport();
    Object.assign(transport, { maxPayloadBytes: 1_000 });
    const bus = createSyncBus({ transport, secret: 'k'.repeat(32), sendTimeoutMs: 10, onError: () => {} });
    const err = await bus.publish('x', 'y'.repeat(940)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SYNC_PAYLOAD_TOO_LARGE', limitBytes: 953 });
    await bus.publish('x', 'y'.repeat(700));
    expect(transport.sent[0]!.length).toBeLessThanOrEqual(1_000);
    expect(transport.sent[0]!.startsWith('s1.')).toBe(true);
    await bus.close();
  });

  it('rejects a maxSeqJump below 1 with BotwireConfigError', () => {
    for (const bad of [0, -5, 1.5, Number.NaN]) expect(() => memorySyncBus({ maxSeqJump: bad })).toThrow(BotwireConfigError);
  });
});
