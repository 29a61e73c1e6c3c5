/**
 * Forged sync envelopes: with a `secret`, anything not signed with it is dropped, counted and
 * reported — injected straight into the broker (memory hub, Redis PUBLISH, Postgres NOTIFY) as a
 * hostile client with broker access would. Without a secret, one envelope with an absurd `seq`
 * must not silence the origin whose id it borrows.
 */
import pg from 'pg';
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { createMemorySyncHub, memorySyncBus, memorySyncTransport, type MemorySyncHub } from '../../adapters/memory/sync-transport.js';
import { postgresSyncBus } from '../../adapters/postgres/sync-transport.js';
import { redisSyncBus } from '../../adapters/redis/sync-transport.js';
import { BotwireConfigError, SyncSignatureError } from '../../src/errors.js';
import { createEnvelopeSigner } from '../../src/sync/envelope-signing.js';
import type { ResyncInfo, SyncBus, SyncEnvelope } from '../../src/sync/types.js';
import { DATABASE_URL, needs, REDIS_URL, uniqueName } from '../support/services.js';

const SECRET = 'f'.repeat(16) + '0123456789abcdef0123456789abcdef';
const OTHER = 'e'.repeat(16) + '0123456789abcdef0123456789abcdef';
const tick = (ms = 10): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A valid-looking envelope text, as a forger would write it. */
const forged = (origin: string, seq: number, data: unknown = 'forged'): string =>
  JSON.stringify({ id: `${origin}:${seq}`, topic: 'payouts.approved', data, at: Date.now(), origin, seq });

/** Put raw text on the hub, bypassing every bus: what anyone with broker access can do. */
async function inject(hub: MemorySyncHub, text: string): Promise<void> {
  const raw = memorySyncTransport({ hub });
  raw.open({ message() {}, up() {}, down() {}, error() {} });
  await raw.send(text, 'payouts.approved');
  await raw.close();
}

function watch(bus: SyncBus): { got: SyncEnvelope[]; resyncs: ResyncInfo[] } {
  const got: SyncEnvelope[] = [];
  const resyncs: ResyncInfo[] = [];
  bus.subscribe('payouts.*', (e) => { got.push(e); });
  bus.subscribe('$resync', (e) => { resyncs.push(e.data); });
  return { got, resyncs };
}

describe('sync integrity with a secret (memory hub)', () => {
  it('drops, counts and reports forged envelopes; delivers those signed with the same secret', async () => {
    const hub = createMemorySyncHub();
    const errors: unknown[] = [];
    const a = memorySyncBus({ hub, secret: SECRET, onError: () => {} });
    const b = memorySyncBus({ hub, secret: SECRET, onError: (e) => { errors.push(e); } });
    await Promise.all([a.ready(), b.ready()]);
    const { got } = watch(b);
    const signed = createEnvelopeSigner(SECRET).sign(forged('x', 1));
    const forgeries = [
      forged(a.instanceId, 1), // unsigned, a real origin
      forged('intruder', 1), // unsigned, a new origin
      createEnvelopeSigner(OTHER).sign(forged('intruder', 2)), // signed with another key
      signed.replace('"forged"', '"FORGED"'), // a real signature over another text
      's1.' + 'A'.repeat(43) + '.' + forged('intruder', 3), // a made-up signature
    ];
    for (const text of forgeries) await inject(hub, text);
    await a.publish('payouts.approved', { id: 1 });
    await vi.waitFor(() => expect(got).toHaveLength(1));
    expect(got[0]).toMatchObject({ origin: a.instanceId, seq: 1, data: { id: 1 } });
    expect(b.stats()).toMatchObject({ received: 1, rejected: forgeries.length, duplicates: 0 });
    expect(errors).toHaveLength(forgeries.length);
    for (const e of errors) expect(e).toBeInstanceOf(SyncSignatureError);
    expect(String((errors[0] as Error).message)).toMatch(/no signature/);
    expect(String((errors[2] as Error).message)).toMatch(/does not match/);
    await Promise.all([a.close(), b.close()]);
  });

  it('a bus with another secret rejects every event, and a bus without one says the fleet is misconfigured', async () => {
    const hub = createMemorySyncHub();
    const errors: { other: unknown[]; none: unknown[] } = { other: [], none: [] };
    const a = memorySyncBus({ hub, secret: SECRET, onError: () => {} });
    const other = memorySyncBus({ hub, secret: OTHER, onError: (e) => { errors.other.push(e); } });
    const none = memorySyncBus({ hub, onError: (e) => { errors.none.push(e); } });
    await Promise.all([a.ready(), other.ready(), none.ready()]);
    const seen = [watch(other), watch(none)];
    await a.publish('payouts.approved', { id: 1 });
    await a.publish('payouts.approved', { id: 2 });
    await tick(20);
    for (const w of seen) expect(w.got).toEqual([]);
    expect(other.stats()).toMatchObject({ received: 0, rejected: 2 });
    expect(none.stats()).toMatchObject({ received: 0, rejected: 2 });
    expect(errors.other[0]).toBeInstanceOf(SyncSignatureError);
    expect((errors.other[0] as Error).message).toMatch(/another `secret`/);
    expect(errors.none[0]).toBeInstanceOf(SyncSignatureError);
    expect((errors.none[0] as Error).message).toMatch(/signed but this bus has no `secret`/);
    // The unsigned bus still talks to other unsigned buses, and its texts are refused by signed ones.
    const plain = memorySyncBus({ hub });
    await plain.ready();
    const fromPlain = watch(plain);
    await none.publish('payouts.approved', { id: 3 });
    await vi.waitFor(() => expect(fromPlain.got).toHaveLength(1));
    await tick(20);
    expect(other.stats().rejected).toBe(3);
    await Promise.all([a.close(), other.close(), none.close(), plain.close()]);
  });

  it('sends only signed texts, and keeps per-origin order over 1,000 events', async () => {
    const hub = createMemorySyncHub();
    const a = memorySyncBus({ hub, secret: SECRET });
    const b = memorySyncBus({ hub, secret: SECRET });
    const spy = memorySyncTransport({ hub });
    const wire: string[] = [];
    spy.open({ message: (t) => { wire.push(t); }, up() {}, down() {}, error() {} });
    await Promise.all([a.ready(), b.ready()]);
    const { got } = watch(b);
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < 1_000; i++) sends.push(a.publish('payouts.approved', i));
    await Promise.all(sends);
    await vi.waitFor(() => expect(got).toHaveLength(1_000));
    expect(got.map((e) => e.seq)).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    expect(got.map((e) => e.data)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    expect(b.stats()).toMatchObject({ received: 1_000, rejected: 0, duplicates: 0, resyncs: 0 });
    expect(wire).toHaveLength(1_000);
    expect(wire.every((t) => /^s1\.[A-Za-z0-9_-]{43}\.\{/.test(t))).toBe(true);
    await Promise.all([a.close(), b.close(), spy.close()]);
  });

  it('refuses a secret shorter than 32 characters with BotwireConfigError naming the fix', () => {
    expect(() => memorySyncBus({ secret: 'hunter2' })).toThrow(BotwireConfigError);
    expect(() => memorySyncBus({ secret: 'hunter2' })).toThrow(/openssl rand -hex 32/);
  });
});

describe('sync integrity without a secret: absurd seqs do not silence an origin', () => {
  it('a forged seq 9007199254740000 with a real origin: a $resync, and the origin\'s next events are delivered', async () => {
    const hub = createMemorySyncHub();
    const a = memorySyncBus({ hub });
    const b = memorySyncBus({ hub });
    await Promise.all([a.ready(), b.ready()]);
    const { got, resyncs } = watch(b);
    await a.publish('payouts.approved', 1);
    await vi.waitFor(() => expect(got).toHaveLength(1));
    await inject(hub, forged(a.instanceId, 9_007_199_254_740_000));
    await vi.waitFor(() => expect(got).toHaveLength(2));
    await a.publish('payouts.approved', 2);
    await a.publish('payouts.approved', 3);
    await vi.waitFor(() => expect(got).toHaveLength(4));
    expect(got.map((e) => e.data)).toEqual([1, 'forged', 2, 3]);
    expect(resyncs).toEqual([{ reason: 'gap', origin: a.instanceId, missed: 9_007_199_254_739_998 }]);
    expect(b.stats()).toMatchObject({ received: 4, duplicates: 0, resyncs: 1 });
    await Promise.all([a.close(), b.close()]);
  });

  it('the same forgery before the receiver ever heard of the origin does not silence it either', async () => {
    const hub = createMemorySyncHub();
    const a = memorySyncBus({ hub });
    await a.ready();
    await a.publish('payouts.approved', 'before b joined'); // so a's next seqs are not 1 (a restart)
    const b = memorySyncBus({ hub });
    await b.ready();
    const { got } = watch(b);
    await inject(hub, forged(a.instanceId, 9_007_199_254_740_000));
    await a.publish('payouts.approved', 2);
    await a.publish('payouts.approved', 3);
    await vi.waitFor(() => expect(got).toHaveLength(3));
    expect(got.map((e) => e.data)).toEqual(['forged', 2, 3]);
    await Promise.all([a.close(), b.close()]);
  });

  it('a forged jump within maxSeqJump cannot hide the events below it', async () => {
    const hub = createMemorySyncHub();
    const a = memorySyncBus({ hub });
    const b = memorySyncBus({ hub, maxSeqJump: 100 });
    await Promise.all([a.ready(), b.ready()]);
    const { got, resyncs } = watch(b);
    await a.publish('payouts.approved', 1);
    await vi.waitFor(() => expect(got).toHaveLength(1));
    await inject(hub, forged(a.instanceId, 90)); // within the bound: looks like 88 lost events
    for (let i = 2; i <= 4; i++) await a.publish('payouts.approved', i);
    await vi.waitFor(() => expect(got).toHaveLength(5));
    expect(got.map((e) => e.data)).toEqual([1, 'forged', 2, 3, 4]);
    expect(resyncs).toEqual([{ reason: 'gap', origin: a.instanceId, missed: 88 }]);
    // Real copies of delivered events are still recognised as copies.
    await inject(hub, forged(a.instanceId, 3, 'copy'));
    await tick(20);
    expect(got).toHaveLength(5);
    expect(b.stats()).toMatchObject({ received: 5, duplicates: 1 });
    await Promise.all([a.close(), b.close()]);
  });
});

describe.runIf(await needs('redis'))('sync integrity on Redis', () => {
  it('drops an envelope PUBLISHed raw on the real channel, delivers signed ones in order', async () => {
    const channelPrefix = `${uniqueName('sec')}:`;
    const errors: unknown[] = [];
    const a = redisSyncBus({ url: REDIS_URL, channelPrefix, secret: SECRET, onError: () => {} });
    const b = redisSyncBus({ url: REDIS_URL, channelPrefix, secret: SECRET, onError: (e) => { errors.push(e); } });
    const raw = new Redis(REDIS_URL);
    try {
      await Promise.all([a.ready(), b.ready()]);
      const { got } = watch(b);
      await raw.publish(`${channelPrefix}payouts.approved`, forged(a.instanceId, 1));
      await raw.publish(`${channelPrefix}payouts.approved`, createEnvelopeSigner(OTHER).sign(forged('intruder', 1)));
      for (let i = 0; i < 1_000; i++) void a.publish('payouts.approved', i);
      await vi.waitFor(() => expect(got).toHaveLength(1_000), { timeout: 10_000 });
      expect(got.map((e) => e.data)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
      expect(b.stats()).toMatchObject({ received: 1_000, rejected: 2, duplicates: 0 });
      expect(errors.map((e) => e instanceof SyncSignatureError)).toEqual([true, true]);
    } finally {
      await Promise.all([a.close(), b.close()]);
      raw.disconnect();
    }
  });
});

describe.runIf(await needs('postgres'))('sync integrity on Postgres', () => {
  it('drops an envelope NOTIFYed raw on the real channel, delivers signed ones', async () => {
    const schema = uniqueName('bw_sec');
    const errors: unknown[] = [];
    const a = postgresSyncBus({ connectionString: DATABASE_URL, schema, secret: SECRET });
    const b = postgresSyncBus({ connectionString: DATABASE_URL, schema, secret: SECRET, onError: (e) => { errors.push(e); } });
    const raw = new pg.Client({ connectionString: DATABASE_URL });
    await raw.connect();
    try {
      await Promise.all([a.ready(), b.ready()]);
      const { got } = watch(b);
      await raw.query('SELECT pg_notify($1, $2)', [`${schema}_sync`, forged(a.instanceId, 1)]);
      await a.publish('payouts.approved', { id: 1 });
      await vi.waitFor(() => expect(got).toHaveLength(1));
      expect(got[0]).toMatchObject({ origin: a.instanceId, data: { id: 1 } });
      expect(b.stats()).toMatchObject({ received: 1, rejected: 1 });
      expect(errors[0]).toBeInstanceOf(SyncSignatureError);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await raw.end();
    }
  });
});
