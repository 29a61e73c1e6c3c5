import { describe, expect, it } from 'vitest';
import { SyncBusClosedError, SyncPayloadTooLargeError, SyncSerializationError, SyncTopicError } from '../errors.js';
import type { SyncBus, SyncEnvelope } from '../sync/types.js';

/** Options the suite passes when it creates a bus. */
export interface SyncBusCreateOptions {
  /** Forwarded to the bus. */
  maxPayloadBytes?: number;
  /** Forwarded to the bus. */
  onError?: (error: unknown) => void;
}

/** What a factory hands the SyncBus contract suite for one test. */
export interface SyncBusHarness {
  /**
   * Create one more bus on the same broker channel, as another app instance would. Buses of one
   * harness must see each other; buses of different harnesses must not.
   */
  create(options?: SyncBusCreateOptions): SyncBus | Promise<SyncBus>;
  /** Called after the test, once every bus the suite created is closed. */
  teardown?: () => Promise<void>;
}

/** Options of {@link syncBusContract}. */
export interface SyncBusContractOptions {
  /**
   * Size of the "large payload" that must still cross instances, in bytes.
   * @default 20_000 (over Postgres NOTIFY's 8,000-byte limit)
   */
  largePayloadBytes?: number;
  /** How long to wait for an event from another instance, in ms. @default 5000 */
  deliveryTimeoutMs?: number;
}

/** Poll `check` until it stops throwing or `timeoutMs` passes (then rethrow its last error). */
async function eventually(check: () => void, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try { check(); return; } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/**
 * The behaviour every {@link SyncBus} adapter must show, as a vitest suite: local-first delivery,
 * envelopes, matching semantics, echo suppression, order, limits and error handling.
 *
 * @example
 * ```ts
 * import { syncBusContract } from 'botwire/testing';
 * import { createMemorySyncHub, memorySyncBus } from 'botwire/memory';
 * syncBusContract('memory', () => { const hub = createMemorySyncHub(); return { create: (o) => memorySyncBus({ ...o, hub }) }; });
 * ```
 */
export function syncBusContract(
  name: string,
  factory: () => SyncBusHarness | Promise<SyncBusHarness>,
  options: SyncBusContractOptions = {},
): void {
  const timeout = options.deliveryTimeoutMs ?? 5000;
  const large = options.largePayloadBytes ?? 20_000;
  const within = (check: () => void): Promise<void> => eventually(check, timeout);

  const withBuses = (fn: (create: (o?: SyncBusCreateOptions) => Promise<SyncBus>) => Promise<void>) => async () => {
    const h = await factory();
    const buses: SyncBus[] = [];
    const create = async (o?: SyncBusCreateOptions): Promise<SyncBus> => {
      const bus = await h.create(o);
      buses.push(bus);
      await bus.ready(timeout);
      return bus;
    };
    try { await fn(create); } finally {
      await Promise.all(buses.map((b) => b.close()));
      await h.teardown?.();
    }
  };

  describe(`SyncBus contract: ${name}`, () => {
    it('reports health ok with its connection state while subscribed, and not ok once closed', withBuses(async (create) => {
      const bus = await create();
      expect(await bus.health()).toMatchObject({ ok: true, details: { state: 'up' } });
      await bus.flush();
      await bus.close();
      expect(await bus.health()).toMatchObject({ ok: false, error: 'closed' });
    }));

    it('delivers to local subscribers synchronously, before publish returns', withBuses(async (create) => {
      const bus = await create();
      const seen: unknown[] = [];
      bus.subscribe('scenarios.updated', (e) => { seen.push(e.data); });
      const pending = bus.publish('scenarios.updated', { id: 1 });
      expect(seen).toEqual([{ id: 1 }]);
      await pending;
    }));

    it('delivers to another instance with a full envelope and per-origin seq from 1', withBuses(async (create) => {
      const a = await create();
      const b = await create();
      const got: SyncEnvelope[] = [];
      b.subscribe('users.balance_updated', (e) => { got.push(e); });
      await a.publish('users.balance_updated', { userId: 5, balance: 10 });
      await a.publish('users.balance_updated', { userId: 5, balance: 12 });
      await within(() => expect(got).toHaveLength(2));
      expect(got[0]).toMatchObject({ topic: 'users.balance_updated', data: { userId: 5, balance: 10 }, origin: a.instanceId, seq: 1 });
      expect(got[1]).toMatchObject({ data: { userId: 5, balance: 12 }, seq: 2 });
      expect(got[0]!.id).not.toBe(got[1]!.id);
      expect(typeof got[0]!.at).toBe('number');
      expect(a.instanceId).not.toBe(b.instanceId);
    }));

    it('never delivers a local event twice through its own broker echo', withBuses(async (create) => {
      const a = await create();
      const b = await create();
      let local = 0;
      let remote = 0;
      a.subscribe('tasks.created', () => { local++; });
      b.subscribe('tasks.created', () => { remote++; });
      await a.publish('tasks.created', { id: 1 });
      await b.publish('tasks.created', { id: 2 }); // ordered behind a's echo on the same broker
      await within(() => { expect(remote).toBe(2); expect(local).toBe(2); });
      await new Promise((r) => setTimeout(r, 50));
      expect(local).toBe(2);
      expect(remote).toBe(2);
    }));

    it('matches `*` as one segment, trailing `**`/`#` as the rest, `*` alone as everything', withBuses(async (create) => {
      const a = await create();
      const b = await create();
      const hits: Record<string, string[]> = {};
      for (const p of ['buttons.*', '*.updated', 'users.**', 'users.#', '*', '**', 'buttons.updated']) {
        hits[p] = [];
        b.subscribe(p, (e) => { hits[p]!.push(e.topic); });
      }
      const topics = ['buttons.updated', 'buttons.created', 'users.1.balance_updated', 'users.updated', 'settings.updated', 'buttons'];
      for (const t of topics) await a.publish(t, null);
      await within(() => expect(hits['**']).toHaveLength(topics.length));
      expect(hits['buttons.*']).toEqual(['buttons.updated', 'buttons.created']);
      expect(hits['*.updated']).toEqual(['buttons.updated', 'users.updated', 'settings.updated']);
      expect(hits['users.**']).toEqual(['users.1.balance_updated', 'users.updated']);
      expect(hits['users.#']).toEqual(['users.1.balance_updated', 'users.updated']);
      expect(hits['*']).toEqual(topics);
      expect(hits['buttons.updated']).toEqual(['buttons.updated']);
    }));

    it('runs a handler once per event even when several of its patterns overlap', withBuses(async (create) => {
      const a = await create();
      const b = await create();
      const calls: string[] = [];
      const handler = (e: SyncEnvelope): void => { calls.push(e.topic); };
      const other: string[] = [];
      for (const p of ['buttons.updated', 'buttons.*', '*', 'buttons.**']) b.subscribe(p, handler);
      b.subscribe('buttons.*', (e) => { other.push(e.topic); });
      await a.publish('buttons.updated', { id: 1 });
      await within(() => expect(other).toEqual(['buttons.updated']));
      await new Promise((r) => setTimeout(r, 30));
      expect(calls).toEqual(['buttons.updated']);
    }));

    it('stops delivering after unsubscribe, and unsubscribing twice is harmless', withBuses(async (create) => {
      const a = await create();
      const b = await create();
      const got: unknown[] = [];
      const marker: unknown[] = [];
      const off = b.subscribe('payouts.*', (e) => { got.push(e.data); });
      b.subscribe('marker', (e) => { marker.push(e.data); });
      await a.publish('payouts.created', 1);
      await within(() => expect(got).toEqual([1]));
      off();
      off();
      await a.publish('payouts.approved', 2);
      await a.publish('marker', 'done');
      await within(() => expect(marker).toEqual(['done']));
      expect(got).toEqual([1]);
    }));

    it('keeps order per origin and loses or repeats nothing in a burst', withBuses(async (create) => {
      const a = await create();
      const c = await create();
      const b = await create();
      const seen: Array<[string, number]> = [];
      b.subscribe('burst.*', (e) => { seen.push([e.origin, e.data as number]); });
      const sends: Array<Promise<void>> = [];
      for (let i = 0; i < 300; i++) {
        sends.push(a.publish('burst.a', i));
        sends.push(c.publish('burst.c', i));
      }
      await Promise.all(sends);
      await within(() => expect(seen).toHaveLength(600));
      for (const origin of [a.instanceId, c.instanceId]) {
        expect(seen.filter(([o]) => o === origin).map(([, n]) => n)).toEqual(Array.from({ length: 300 }, (_, i) => i));
      }
      expect(b.stats()).toMatchObject({ published: 0, received: 600, rejected: 0, duplicates: 0, resyncs: 0 });
      expect(a.stats()).toMatchObject({ published: 300, dropped: 0, rejected: 0 });
    }));

    it('carries payloads without data, with unicode, and large ones up to the limit', withBuses(async (create) => {
      const a = await create();
      const b = await create();
      const got: SyncEnvelope[] = [];
      b.subscribe('settings.**', (e) => { got.push(e); });
      const big = { blob: 'x'.repeat(large), text: 'прив€т 🎉' };
      await a.publish('settings.updated');
      await a.publish('settings.text', 'прив€т 🎉');
      await a.publish('settings.big', big);
      await within(() => expect(got).toHaveLength(3));
      expect(got[0]!.data).toBeUndefined();
      expect(got[1]!.data).toBe('прив€т 🎉');
      expect(got[2]!.data).toEqual(big);
    }));

    it('rejects payloads over maxPayloadBytes with SyncPayloadTooLargeError and delivers nothing', withBuses(async (create) => {
      const a = await create({ maxPayloadBytes: 2_000 });
      const local: unknown[] = [];
      a.subscribe('big', (e) => { local.push(e.data); });
      const err = await a.publish('big', 'y'.repeat(5_000)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SyncPayloadTooLargeError);
      expect(err).toMatchObject({ code: 'SYNC_PAYLOAD_TOO_LARGE', limitBytes: 2_000 });
      expect(local).toEqual([]);
      await a.publish('big', 'small');
      expect(local).toEqual(['small']);
    }));

    it('rejects bad topics, bad patterns, `$resync` and non-JSON payloads with named errors', withBuses(async (create) => {
      const a = await create();
      for (const t of ['', 'a..b', 'buttons.*', 'with space', '.lead', 'x'.repeat(300)]) {
        await expect(a.publish(t, 1)).rejects.toBeInstanceOf(SyncTopicError);
      }
      await expect(a.publish('$resync' as string, 1)).rejects.toBeInstanceOf(SyncTopicError);
      await expect(a.publish('bad.payload', { n: 1n })).rejects.toBeInstanceOf(SyncSerializationError);
      for (const p of ['a.**.b', 'a..b', '', 'a b', '$x.*']) expect(() => a.subscribe(p, () => {})).toThrow(SyncTopicError);
      // A rejected publish must not consume a sequence number (receivers would see a false gap).
      const b = await create();
      const got: SyncEnvelope[] = [];
      b.subscribe('ok', (e) => { got.push(e); });
      await a.publish('ok', 1);
      await within(() => expect(got).toHaveLength(1));
      expect(got[0]!.seq).toBe(1);
      expect(b.stats().resyncs).toBe(0);
    }));

    // Each row: a payload JSON would silently change or cannot encode, and the path the error names.
    const cyclic: Record<string, unknown> = { items: [] };
    (cyclic.items as unknown[]).push(cyclic);
    const badData: Array<[what: string, data: unknown, path: string, message: RegExp]> = [
      ['a Map (JSON: {})', { items: [1, 2, new Map([[1, 2]])] }, 'data.items[2]', /Map/],
      ['a Set (JSON: {})', { tags: new Set(['a']) }, 'data.tags', /Set/],
      ['a class instance', { err: new Error('x') }, 'data.err', /Error/],
      ['a function inside an object (JSON: dropped)', { id: 1, render: () => 'x' }, 'data.render', /function/],
      ['undefined inside an array (JSON: null)', { ids: [1, undefined] }, 'data.ids[1]', /undefined/],
      ['NaN (JSON: null)', { score: Number.NaN }, 'data.score', /NaN/],
      ['Infinity (JSON: null)', { 'max value': Infinity }, 'data["max value"]', /Infinity/],
      ['a BigInt', [10n], 'data[0]', /BigInt/],
      ['a cycle', cyclic, 'data.items[0]', /cycle/],
    ];
    it.each(badData)('refuses a payload with %s with SyncSerializationError naming the path, delivering nothing', (_what, data, path, message) =>
      withBuses(async (create) => {
        const a = await create();
        const local: unknown[] = [];
        a.subscribe('bad.**', (e) => { local.push(e.data); });
        const err = await a.publish('bad.value', data).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SyncSerializationError);
        expect(err).toMatchObject({ code: 'SYNC_SERIALIZATION', path });
        expect((err as Error).message).toMatch(message);
        expect(local).toEqual([]);
        expect(a.stats().published).toBe(0);
      })());

    it('sends a Date as its ISO string and drops undefined properties', withBuses(async (create) => {
      const a = await create();
      const b = await create();
      const got: unknown[] = [];
      b.subscribe('dated', (e) => { got.push(e.data); });
      await a.publish('dated', { at: new Date(Date.UTC(2030, 0, 1)), gone: undefined });
      await within(() => expect(got).toEqual([{ at: '2030-01-01T00:00:00.000Z' }]));
    }));

    it('isolates handler errors: other handlers run, publish resolves, onError hears about it', withBuses(async (create) => {
      const errors: unknown[] = [];
      const a = await create({ onError: (e) => { errors.push(e); } });
      const ran: string[] = [];
      a.subscribe('x.y', () => { throw new Error('sync boom'); });
      a.subscribe('x.y', async () => { throw new Error('async boom'); });
      a.subscribe('x.*', () => { ran.push('after'); });
      await expect(a.publish('x.y', 1)).resolves.toBeUndefined();
      await within(() => expect(errors.map((e) => (e as Error).message).sort()).toEqual(['async boom', 'sync boom']));
      expect(ran).toEqual(['after']);
    }));

    it('does not let wildcards see system topics; `$resync` needs an exact subscription', withBuses(async (create) => {
      const a = await create();
      const b = await create();
      const all: string[] = [];
      const deep: string[] = [];
      b.subscribe('*', (e) => { all.push(e.topic); });
      b.subscribe('**', (e) => { deep.push(e.topic); });
      const sys: string[] = [];
      b.subscribe('$cache.test', (e) => { sys.push(e.topic); });
      await a.publish('$cache.test', { k: 1 });
      await a.publish('plain', 1);
      await within(() => expect(all).toEqual(['plain']));
      expect(deep).toEqual(['plain']);
      expect(sys).toEqual(['$cache.test']);
    }));

    it('refuses to publish after close; close is idempotent', withBuses(async (create) => {
      const a = await create();
      await a.close();
      await a.close();
      expect(a.state).toBe('closed');
      await expect(a.publish('after.close', 1)).rejects.toBeInstanceOf(SyncBusClosedError);
    }));
  });
}
