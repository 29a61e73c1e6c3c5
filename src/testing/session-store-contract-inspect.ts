/** The `inspect` half of the session contract: a key's record and live lease, looked at without touching them. @module */
import { describe, expect, it } from 'vitest';
import { BotwireConfigError, SessionKeyError, SessionLockTimeoutError } from '../errors.js';
import { leaseHolder } from '../session/lease-holder.js';
import type { SessionStore } from '../session/session-store.js';

/** The suite's per-test wrapper (a fresh store, and time that passes, really or by `advance`). */
type WithStore = (fn: (h: { store: SessionStore<unknown> }, elapse: (ms: number) => Promise<void>) => Promise<void>) => () => Promise<void>;

/**
 * How far apart two clocks' readings of one moment may be: the store's and the backend's (a
 * database server's), plus the round trips between them.
 */
const SLACK_MS = 250;

/**
 * `SessionStore.inspect` on every backend. A backend without the optional `SessionBackend.inspect`
 * must make it reject with `BotwireConfigError` instead (checked in each case). @internal
 */
export function inspectCases(withStore: WithStore): void {
  const inspecting: WithStore = (fn) => withStore(async (h, elapse) => {
    if (typeof h.store.backend.inspect !== 'function') {
      await expect(h.store.inspect('k')).rejects.toBeInstanceOf(BotwireConfigError);
      return;
    }
    await fn(h, elapse);
  });
  const ageOf = (acquiredAt: number | undefined): number => Date.now() - acquiredAt!;

  describe('inspect', () => {
    it('reports a free key\'s record, or nothing, and validates the key', inspecting(async ({ store }) => {
      expect(await store.inspect('never')).toEqual({ record: undefined, lease: undefined });
      await store.set('rec', { a: [1, 'two'] }, { ttlMs: 60_000 });
      expect(await store.inspect('rec')).toEqual({ record: await store.get('rec'), lease: undefined });
      await expect(store.inspect('')).rejects.toBeInstanceOf(SessionKeyError);
    }));

    it('reports who holds a lease, since when and until when, by a fingerprint and never the token', inspecting(async ({ store }) => {
      await store.set('held', 'v');
      const before = Date.now();
      const lease = await store.acquire('held', { leaseMs: 10_000 });
      const after = Date.now();
      const { record, lease: info } = await store.inspect('held');
      expect(record).toMatchObject({ data: 'v', version: 1 });
      expect(info?.holder).toBe(leaseHolder(lease.token));
      expect(info?.holder).toMatch(/^[0-9a-f]{8}$/);
      expect(JSON.stringify(info)).not.toContain(lease.token);
      expect(info!.acquiredAt).toBeGreaterThanOrEqual(before - SLACK_MS);
      expect(info!.acquiredAt).toBeLessThanOrEqual(after + SLACK_MS);
      expect(info!.expiresAt - info!.acquiredAt!).toBeGreaterThan(10_000 - SLACK_MS);
      expect(info!.expiresAt - info!.acquiredAt!).toBeLessThan(10_000 + SLACK_MS);
      // Looking took nothing: the holder still has it, and commits as usual.
      await expect(store.acquire('held', { waitMs: 0 })).rejects.toBeInstanceOf(SessionLockTimeoutError);
      expect(await lease.commit('w')).toBe(2);
      expect(await store.inspect('held')).toEqual({ record: await store.get('held'), lease: undefined });
    }));

    it('reports a lease on a key that has no record yet', inspecting(async ({ store }) => {
      const lease = await store.acquire('first', { leaseMs: 10_000 });
      const seen = await store.inspect('first');
      expect(seen.record).toBeUndefined();
      expect(seen.lease?.holder).toBe(leaseHolder(lease.token));
      await lease.release();
      expect((await store.inspect('first')).lease).toBeUndefined();
    }));

    it('keeps the acquisition time through extend and handOver while the expiry moves', inspecting(async ({ store }, elapse) => {
      const lease = await store.acquire('long', { leaseMs: 2_000 });
      await elapse(300);
      await lease.extend(20_000);
      const extended = (await store.inspect('long')).lease!;
      expect(extended.holder).toBe(leaseHolder(lease.token));
      expect(ageOf(extended.acquiredAt)).toBeGreaterThanOrEqual(300 - 5);
      expect(extended.expiresAt - Date.now()).toBeGreaterThan(20_000 - SLACK_MS - 300);
      const next = await lease.handOver({ step: 1 }, { keepLeaseMs: 30_000 });
      const handed = await store.inspect('long');
      expect(handed.record).toMatchObject({ data: { step: 1 }, version: 1 });
      expect(handed.lease?.holder).toBe(extended.holder);
      expect(ageOf(handed.lease!.acquiredAt)).toBeGreaterThanOrEqual(300 - 5);
      expect(handed.lease!.expiresAt - Date.now()).toBeGreaterThan(30_000 - SLACK_MS - 300);
      await next.release();
      expect((await store.inspect('long')).lease).toBeUndefined();
    }));

    it('reports no lease once it lapsed, and the next holder with a fresh time', inspecting(async ({ store }, elapse) => {
      const lapsed = await store.acquire('lapse', { leaseMs: 150 });
      await elapse(400);
      expect((await store.inspect('lapse')).lease).toBeUndefined();
      const next = await store.acquire('lapse', { waitMs: 0, leaseMs: 10_000 });
      const info = (await store.inspect('lapse')).lease!;
      expect(info.holder).toBe(leaseHolder(next.token));
      expect(info.holder).not.toBe(leaseHolder(lapsed.token));
      expect(ageOf(info.acquiredAt)).toBeLessThan(SLACK_MS);
      await next.release();
    }));

    it('a lapsed lease kept by handOver counts as taken anew', inspecting(async ({ store }, elapse) => {
      const slow = await store.acquire('again', { leaseMs: 150 });
      await elapse(400);
      const kept = await slow.handOver('late', { keepLeaseMs: 10_000 });
      const info = (await store.inspect('again')).lease!;
      expect(info.holder).toBe(leaseHolder(slow.token));
      expect(ageOf(info.acquiredAt)).toBeLessThan(SLACK_MS);
      await kept.release();
    }));
  });
}
