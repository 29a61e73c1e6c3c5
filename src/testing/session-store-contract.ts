import { describe, expect, it } from 'vitest';
import {
  BotwireConfigError, BotwireError, SessionConflictError, SessionCorruptError, SessionKeyError, SessionLeaseLostError,
  SessionLockTimeoutError, SessionSerializationError,
} from '../errors.js';
import type { SessionStore } from '../session/session-store.js';
import { inspectCases } from './session-store-contract-inspect.js';
import { valueCases, valueRows, type InputRow } from './session-store-contract-values.js';

/** What a factory hands the session contract suite for one test. */
export interface SessionStoreHarness {
  /** A store whose keys do not collide with any other test's (use a fresh prefix or instance). */
  store: SessionStore<unknown>;
  /**
   * Move the backend's clock forward. Without it the suite waits in real time, using TTLs and
   * leases of a few hundred milliseconds.
   */
  advance?: (ms: number) => void | Promise<void>;
  /**
   * Overwrite the stored bytes of `key` (already written by the suite) with text that is not JSON.
   * @default writes `{not json` through the backend's raw `set` primitive
   */
  corrupt?: (key: string) => Promise<void>;
  /** Called after the test, e.g. to close the store. */
  teardown?: () => Promise<void>;
}

/** Options of {@link sessionStoreContract}. */
export interface SessionStoreContractOptions {
  /**
   * Why the backend cannot hold undecodable bytes (e.g. Postgres `jsonb` validates on write).
   * Required when the harness has no `corrupt`, so a skipped case always says why.
   */
  corruptionImpossibleBecause?: string;
  /** True when expired records are removed by `cleanup()` rather than natively. */
  needsCleanup?: boolean;
}

/**
 * The behaviour every {@link SessionStore} backend must show, as a vitest suite. Run it against
 * your adapter in three lines:
 *
 * @example
 * ```ts
 * import { sessionStoreContract } from 'botwire/testing';
 * import { memorySessionStore } from 'botwire/memory';
 * sessionStoreContract('memory', () => ({ store: memorySessionStore() }));
 * ```
 */
export function sessionStoreContract(
  name: string,
  factory: () => SessionStoreHarness | Promise<SessionStoreHarness>,
  options: SessionStoreContractOptions = {},
): void {
  const withStore = (fn: (h: SessionStoreHarness, elapse: (ms: number) => Promise<void>) => Promise<void>) => async () => {
    const h = await factory();
    const elapse = async (ms: number): Promise<void> => {
      if (h.advance) await h.advance(ms);
      else await new Promise((r) => setTimeout(r, ms));
    };
    try { await fn(h, elapse); } finally { await h.teardown?.(); }
  };

  describe(`SessionStore contract: ${name}`, () => {
    describe('records', () => {
      it('reports health ok with its backend name, in one bounded round trip', withStore(async ({ store }) => {
        const report = await store.health();
        expect(report, JSON.stringify(report)).toMatchObject({ ok: true, backend: store.backend.name });
        expect(report.latencyMs).toBeGreaterThanOrEqual(0);
      }));

      it('returns undefined for a key never written', withStore(async ({ store }) => {
        expect(await store.get('absent')).toBeUndefined();
      }));

      it('round-trips JSON values and counts versions from 1', withStore(async ({ store }) => {
        const value = { step: 'name', n: 1.5, list: [1, 'two', null], nested: { ok: true }, text: 'прив€т 🎉' };
        expect(await store.set('k', value)).toBe(1);
        expect(await store.get('k')).toEqual({ data: value, version: 1, expiresAt: undefined });
        expect(await store.set('k', 'second')).toBe(2);
        expect((await store.get('k'))?.data).toBe('second');
      }));

      it('stores falsy values as values, not as absence', withStore(async ({ store }) => {
        await store.set('zero', 0);
        await store.set('empty', '');
        await store.set('null', null);
        expect((await store.getMany(['zero', 'empty', 'null'])).map((r) => r?.data)).toEqual([0, '', null]);
      }));

      it('reads many keys in order with gaps for missing ones', withStore(async ({ store }) => {
        await store.set('a', 1);
        await store.set('c', 3);
        const got = await store.getMany(['a', 'b', 'c']);
        expect(got.map((r) => r?.data)).toEqual([1, undefined, 3]);
        expect(await store.getMany([])).toEqual([]);
      }));

      it('deletes and reports whether something was there', withStore(async ({ store }) => {
        await store.set('d', 1);
        expect(await store.delete('d')).toBe(true);
        expect(await store.get('d')).toBeUndefined();
        expect(await store.delete('d')).toBe(false);
      }));

      it('accepts keys with separators, braces and non-ASCII text', withStore(async ({ store }) => {
        for (const key of ['chat:-100123:user:7', '{tag}x}', 'ключ 🔑', 'a'.repeat(512)]) {
          await store.set(key, key.length);
          expect((await store.get(key))?.data).toBe(key.length);
        }
      }));
    });

    describe('compare-and-set', () => {
      it('ifVersion 0 creates only when absent', withStore(async ({ store }) => {
        expect(await store.set('c', 'first', { ifVersion: 0 })).toBe(1);
        const err = await store.set('c', 'second', { ifVersion: 0 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SessionConflictError);
        expect(err).toMatchObject({ code: 'SESSION_CONFLICT', subject: 'c', expectedVersion: 0, actualVersion: 1 });
        expect((await store.get('c'))?.data).toBe('first');
      }));

      it('writes when the version matches and rejects a stale one', withStore(async ({ store }) => {
        await store.set('c', 1);
        expect(await store.set('c', 2, { ifVersion: 1 })).toBe(2);
        await expect(store.set('c', 3, { ifVersion: 1 })).rejects.toBeInstanceOf(SessionConflictError);
        expect(await store.get('c')).toMatchObject({ data: 2, version: 2 });
      }));

      it('lets exactly one of many concurrent writers of the same version win', withStore(async ({ store }) => {
        await store.set('race', 0);
        const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.set('race', i + 1, { ifVersion: 1 })));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(losers.every((r) => r.reason instanceof SessionConflictError)).toBe(true);
        expect((await store.get('race'))?.version).toBe(2);
      }));

      it('deletes with ifVersion only when it matches', withStore(async ({ store }) => {
        await store.set('d', 1);
        await expect(store.delete('d', { ifVersion: 5 })).rejects.toBeInstanceOf(SessionConflictError);
        expect(await store.get('d')).toBeDefined();
        expect(await store.delete('d', { ifVersion: 1 })).toBe(true);
      }));
    });

    describe('expiry', () => {
      it('hides a record once its TTL has passed', withStore(async ({ store }, elapse) => {
        const before = Date.now();
        await store.set('t', 'short', { ttlMs: 200 });
        const rec = await store.get('t');
        expect(rec?.expiresAt).toBeGreaterThanOrEqual(before + 100);
        await elapse(320);
        expect(await store.get('t')).toBeUndefined();
        expect(await store.getMany(['t'])).toEqual([undefined]);
        expect(await store.set('t', 'again', { ifVersion: 0 })).toBe(1);
      }));

      it('touch slides the expiry without rewriting data or version', withStore(async ({ store }, elapse) => {
        await store.set('s', { keep: true }, { ttlMs: 1_000 });
        await elapse(300);
        expect(await store.touch('s', 4_000)).toBe(true);
        await elapse(900);
        expect(await store.get('s')).toMatchObject({ data: { keep: true }, version: 1 });
        expect(await store.touch('missing', 1_000)).toBe(false);
      }));

      it('set without ttlMs keeps the record indefinitely', withStore(async ({ store }) => {
        await store.set('p', 1, { ttlMs: 100 });
        await store.set('p', 2);
        expect((await store.get('p'))?.expiresAt).toBeUndefined();
      }));

      it('cleanup removes expired records and keeps live ones', withStore(async ({ store }, elapse) => {
        await store.set('x1', 1, { ttlMs: 100 });
        await store.set('x2', 2, { ttlMs: 100 });
        await store.set('live', 3, { ttlMs: 60_000 });
        await elapse(250);
        const removed = await store.cleanup({ batchSize: 1 });
        if (options.needsCleanup) expect(removed).toBe(2);
        else expect(removed).toBeGreaterThanOrEqual(0);
        expect(await store.get('live')).toMatchObject({ data: 3 });
        expect(await store.get('x1')).toBeUndefined();
      }));
    });

    describe('bad input', () => {
      it('rejects values that are not JSON, naming the key, and writes nothing', withStore(async ({ store }) => {
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        await store.set('v', 'kept');
        for (const bad of [{ n: 10n }, cyclic, { f: () => 1 }, undefined]) {
          const err = await store.set('v', bad).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(SessionSerializationError);
          expect((err as Error).message).toContain('"v"');
        }
        expect(await store.get('v')).toMatchObject({ data: 'kept', version: 1 });
      }));

      // Each row: what the caller passes, and the typed error it must get before anything reaches
      // the backend (where the same input would fail as a raw driver error, or silently differ);
      // for values, also the `path` the error must name.
      const badInput: InputRow[] = [
        ['empty key', (s) => s.get(''), SessionKeyError, /non-empty/],
        ['non-string key', (s) => s.acquire(42 as unknown as string), SessionKeyError],
        ['key over 512 bytes of UTF-8', (s) => s.set('é'.repeat(257), 1), SessionKeyError, /512 bytes/],
        ['key with NUL', (s) => s.set('a\u0000b', 1), SessionKeyError, /NUL/],
        ['key with a lone surrogate', (s) => s.get('a\uD800'), SessionKeyError, /surrogate/],
        ['getMany with one bad key', (s) => s.getMany(['ok', '']), SessionKeyError],
        ['ttlMs -1', (s) => s.set('k', 1, { ttlMs: -1 }), BotwireConfigError, /ttlMs/],
        ['ttlMs NaN', (s) => s.set('k', 1, { ttlMs: Number.NaN }), BotwireConfigError, /ttlMs/],
        ['ttlMs 1e20', (s) => s.set('k', 1, { ttlMs: 1e20 }), BotwireConfigError, /100 years/],
        ['ifVersion 0.5', (s) => s.set('k', 1, { ifVersion: 0.5 }), BotwireConfigError, /ifVersion/],
        ['ifVersion -1', (s) => s.set('k', 1, { ifVersion: -1 }), BotwireConfigError, /ifVersion/],
        ['delete ifVersion "1"', (s) => s.delete('k', { ifVersion: '1' as unknown as number }), BotwireConfigError],
        ['touch ttlMs 0', (s) => s.touch('k', 0), BotwireConfigError, /ttlMs/],
        ['leaseMs 0', (s) => s.acquire('k', { leaseMs: 0 }), BotwireConfigError, /leaseMs/],
        ['waitMs -5', (s) => s.acquire('k', { waitMs: -5 }), BotwireConfigError, /waitMs/],
        ['cleanup batchSize 0', (s) => s.cleanup({ batchSize: 0 }), BotwireConfigError, /batchSize/],
        ['cleanup batchSize -1', (s) => s.cleanup({ batchSize: -1 }), BotwireConfigError, /batchSize/],
        ['commit ttlMs Infinity', async (s) => (await s.acquire('lease-row')).commit(1, { ttlMs: Infinity }), BotwireConfigError, /ttlMs/],
        ['extend 1e300', async (s) => (await s.acquire('lease-row2')).extend(1e300), BotwireConfigError, /leaseMs/],
        ...valueRows,
      ];
      it.each(badInput)('refuses %s with a typed error, before the backend sees it', async (_what, run, type, message, path) => {
        await withStore(async ({ store }) => {
          const err = await run(store).then(() => undefined, (e: unknown) => e);
          expect(err).toBeInstanceOf(type);
          expect(err).toBeInstanceOf(BotwireError);
          if (message) expect((err as Error).message).toMatch(message);
          if (path !== undefined) expect(err).toMatchObject({ path });
          expect(await store.get('k')).toBeUndefined();
        })();
      });

      valueCases(withStore);

      it.skipIf(options.corruptionImpossibleBecause !== undefined)(
        `reports undecodable stored bytes as SessionCorruptError and leaves them untouched${
          options.corruptionImpossibleBecause ? ` (skipped: ${options.corruptionImpossibleBecause})` : ''}`,
        withStore(async (h) => {
          await h.store.set('bad', { fine: true });
          if (h.corrupt) await h.corrupt('bad');
          else await h.store.backend.set(`${h.store.prefix}bad`, '{not json', undefined, undefined);
          const err = await h.store.get('bad').catch((e: unknown) => e);
          expect(err).toBeInstanceOf(SessionCorruptError);
          expect(err).toMatchObject({ subject: 'bad' });
          await expect(h.store.getMany(['bad'])).rejects.toBeInstanceOf(SessionCorruptError);
          await expect(h.store.acquire('bad', { waitMs: 0 })).rejects.toBeInstanceOf(SessionCorruptError);
          await expect(h.store.get('bad')).rejects.toBeInstanceOf(SessionCorruptError);
        }),
      );
    });

    describe('leases', () => {
      it('acquire returns the record and commit writes and releases in one go', withStore(async ({ store }) => {
        await store.set('l', { n: 1 });
        const lease = await store.acquire('l');
        expect(lease.record).toMatchObject({ data: { n: 1 }, version: 1 });
        expect(await lease.commit({ n: 2 })).toBe(2);
        const next = await store.acquire('l', { waitMs: 0 });
        expect(next.record).toMatchObject({ data: { n: 2 }, version: 2 });
        await next.release();
      }));

      it('acquire on an absent key gives no record and commit creates it', withStore(async ({ store }) => {
        const lease = await store.acquire('new');
        expect(lease.record).toBeUndefined();
        expect(await lease.commit('made', { ttlMs: 60_000 })).toBe(1);
        expect((await store.get('new'))?.expiresAt).toBeGreaterThan(Date.now());
      }));

      it('commit without data releases without writing', withStore(async ({ store }) => {
        await store.set('r', 'same');
        const lease = await store.acquire('r');
        expect(await lease.commit()).toBe(1);
        expect(await store.get('r')).toMatchObject({ data: 'same', version: 1 });
        (await store.acquire('r', { waitMs: 0 })).release();
      }));

      it('commit can delete the record', withStore(async ({ store }) => {
        await store.set('del', 1);
        const lease = await store.acquire('del');
        await lease.commit(undefined, { delete: true });
        expect(await store.get('del')).toBeUndefined();
      }));

      it('commit without data with ttlMs slides the expiry only', withStore(async ({ store }, elapse) => {
        await store.set('slide', 'v', { ttlMs: 1_000 });
        await elapse(300);
        const lease = await store.acquire('slide');
        await lease.commit(undefined, { ttlMs: 4_000 });
        await elapse(900);
        expect(await store.get('slide')).toMatchObject({ data: 'v', version: 1 });
      }));

      it('a held lease makes others wait, and times out with SessionLockTimeoutError', withStore(async ({ store }) => {
        const held = await store.acquire('busy', { leaseMs: 10_000 });
        const err = await store.acquire('busy', { waitMs: 100 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SessionLockTimeoutError);
        expect(err).toMatchObject({ code: 'SESSION_LOCK_TIMEOUT', subject: 'busy' });
        await held.release();
        const next = await store.acquire('busy', { waitMs: 0 });
        await next.release();
      }));

      it('a waiter gets the lease soon after it is released', withStore(async ({ store }) => {
        const held = await store.acquire('handoff', { leaseMs: 10_000 });
        const waiting = store.acquire('handoff', { waitMs: 5_000 });
        await new Promise((r) => setTimeout(r, 50));
        await held.commit('from-first');
        const next = await waiting;
        expect(next.record?.data).toBe('from-first');
        await next.release();
      }));

      it('serializes concurrent read-increment-write cycles: none lost', withStore(async ({ store }) => {
        await Promise.all(Array.from({ length: 25 }, async () => {
          const lease = await store.acquire('counter', { waitMs: 20_000 });
          const n = (lease.record?.data as number | undefined) ?? 0;
          await lease.commit(n + 1);
        }));
        expect(await store.get('counter')).toMatchObject({ data: 25, version: 25 });
      }));

      it('different keys do not block each other', withStore(async ({ store }) => {
        const a = await store.acquire('k1', { leaseMs: 10_000 });
        const b = await store.acquire('k2', { waitMs: 0 });
        await Promise.all([a.release(), b.release()]);
      }));

      it('a lease lapses on its own so a crashed holder never blocks forever', withStore(async ({ store }, elapse) => {
        await store.acquire('crash', { leaseMs: 150 }); // never released: the "crashed" holder
        await elapse(250);
        const next = await store.acquire('crash', { waitMs: 0 });
        await next.release();
      }));

      it('fences a commit after the lease lapsed and someone else took it: nothing written', withStore(async ({ store }, elapse) => {
        await store.set('fence', 'original');
        const stale = await store.acquire('fence', { leaseMs: 150 });
        await elapse(250);
        const fresh = await store.acquire('fence', { waitMs: 0 });
        await expect(stale.commit('stale write')).rejects.toBeInstanceOf(SessionLeaseLostError);
        expect((await store.get('fence'))?.data).toBe('original');
        expect(await fresh.commit('fresh write')).toBe(2);
        expect((await store.get('fence'))?.data).toBe('fresh write');
      }));

      it('fences a lapsed commit when the record changed meanwhile, even with no holder now', withStore(async ({ store }, elapse) => {
        await store.set('moved', 1);
        const stale = await store.acquire('moved', { leaseMs: 150 });
        await elapse(250);
        await store.set('moved', 2);
        await expect(stale.commit(99)).rejects.toBeInstanceOf(SessionLeaseLostError);
        expect((await store.get('moved'))?.data).toBe(2);
      }));

      it('accepts a lapsed commit when nobody else touched the key', withStore(async ({ store }, elapse) => {
        await store.set('calm', 1);
        const slow = await store.acquire('calm', { leaseMs: 150 });
        await elapse(250);
        expect(await slow.commit(2)).toBe(2);
      }));

      it('extend keeps the lease past its first expiry', withStore(async ({ store }, elapse) => {
        const lease = await store.acquire('ext', { leaseMs: 1_000 });
        await elapse(300);
        await lease.extend(5_000);
        await elapse(900);
        await expect(store.acquire('ext', { waitMs: 0 })).rejects.toBeInstanceOf(SessionLockTimeoutError);
        await lease.commit('extended');
        expect((await store.get('ext'))?.data).toBe('extended');
      }));

      it('extend of a lost lease throws SessionLeaseLostError', withStore(async ({ store }, elapse) => {
        const lost = await store.acquire('gone', { leaseMs: 100 });
        await elapse(200);
        const other = await store.acquire('gone', { waitMs: 0 });
        await expect(lost.extend()).rejects.toBeInstanceOf(SessionLeaseLostError);
        await other.release();
      }));

      it('release of someone else\'s lease leaves it held', withStore(async ({ store }, elapse) => {
        const old = await store.acquire('own', { leaseMs: 100 });
        await elapse(200);
        const current = await store.acquire('own', { waitMs: 0, leaseMs: 10_000 });
        await old.release();
        await expect(store.acquire('own', { waitMs: 0 })).rejects.toBeInstanceOf(SessionLockTimeoutError);
        await current.release();
      }));

      it('handOver writes and keeps the lease: others still wait, the next holder sees the new record', withStore(async ({ store }) => {
        const first = await store.acquire('hand', { leaseMs: 10_000 });
        const second = await first.handOver({ step: 1 }, { keepLeaseMs: 10_000 });
        expect(second.token).toBe(first.token);
        expect(second.record).toMatchObject({ data: { step: 1 }, version: 1 });
        expect(await store.get('hand')).toMatchObject({ data: { step: 1 }, version: 1 });
        await expect(store.acquire('hand', { waitMs: 0 })).rejects.toBeInstanceOf(SessionLockTimeoutError);
        const third = await second.handOver(); // unchanged: no write, lease kept
        expect(third.record).toMatchObject({ data: { step: 1 }, version: 1 });
        expect(await third.commit({ step: 2 })).toBe(2);
        const after = await store.acquire('hand', { waitMs: 0 });
        expect(after.record).toMatchObject({ data: { step: 2 }, version: 2 });
        await after.release();
      }));

      it('a lease is used once: a second commit is a programming error', withStore(async ({ store }) => {
        const lease = await store.acquire('once');
        await lease.commit(1);
        await expect(lease.commit(2)).rejects.toThrow(/already committed/);
        await lease.release(); // harmless after commit
      }));

      it('rejects a non-JSON commit before touching the backend and keeps the lease usable', withStore(async ({ store }) => {
        const lease = await store.acquire('badcommit');
        await expect(lease.commit({ n: 1n } as unknown)).rejects.toBeInstanceOf(SessionSerializationError);
        await lease.commit('ok');
        expect((await store.get('badcommit'))?.data).toBe('ok');
      }));
    });

    inspectCases(withStore);
  });
}
