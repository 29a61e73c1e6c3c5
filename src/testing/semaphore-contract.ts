import { describe, expect, it } from 'vitest';
import { BotwireConfigError, SemaphoreTimeoutError } from '../errors.js';
import { semaphore, type SemaphoreOptions } from '../jobs/semaphore.js';
import type { SemaphoreBackend } from '../jobs/semaphore-backend.js';
import { Clock, sleep } from './job-contract-support.js';

/** What a factory hands the semaphore contract suite for one test. */
export interface SemaphoreHarness {
  /** A backend whose semaphores do not collide with any other test's. */
  backend: SemaphoreBackend;
  /** Called after the test, e.g. to close connections. */
  teardown?: () => Promise<void>;
}

/** Options of {@link semaphoreContract}. */
export interface SemaphoreContractOptions {
  /** Real-time waits are scaled by this factor for slow backends. @default 1 */
  timeScale?: number;
}

interface Ctx {
  backend: SemaphoreBackend;
  clock: Clock;
  /** A semaphore on the test's backend, on the suite's clock unless `now` is given. */
  make: (name: string, options: SemaphoreOptions) => ReturnType<typeof semaphore>;
}

/**
 * The behaviour every {@link SemaphoreBackend} must show, through `semaphore()`: at most `limit`
 * holders, waiting with wake-up or backoff up to `waitMs`, lapsed permits of crashed holders,
 * renewal and loss, release (also by `await using`).
 *
 * @example
 * ```ts
 * import { semaphoreContract } from 'botwire/testing';
 * import { memorySemaphoreBackend } from 'botwire/memory';
 * semaphoreContract('memory', () => ({ backend: memorySemaphoreBackend() }));
 * ```
 */
export function semaphoreContract(
  name: string,
  factory: () => SemaphoreHarness | Promise<SemaphoreHarness>,
  options: SemaphoreContractOptions = {},
): void {
  const scale = options.timeScale ?? 1;
  const withSem = (fn: (c: Ctx) => Promise<void>) => async () => {
    const h = await factory();
    const clock = new Clock();
    const make: Ctx['make'] = (n, o) => semaphore(h.backend, n, { now: clock.now, onError: () => {}, ...o });
    try { await fn({ backend: h.backend, clock, make }); } finally { await h.teardown?.(); }
  };

  describe(`semaphore contract: ${name}`, () => {
    it('grants at most limit permits; a release lets the next one in', withSem(async ({ make }) => {
      const sem = make('ai', { limit: 2 });
      const a = await sem.acquire();
      const b = await sem.acquire();
      await expect(sem.acquire({ waitMs: 0 })).rejects.toBeInstanceOf(SemaphoreTimeoutError);
      await a.release();
      await a.release(); // idempotent
      const c = await sem.acquire({ waitMs: 0 });
      await expect(sem.acquire({ waitMs: 0 })).rejects.toMatchObject({ code: 'SEMAPHORE_TIMEOUT', subject: 'ai' });
      await Promise.all([b.release(), c.release()]);
    }));

    it('keeps semaphores of different names apart', withSem(async ({ make }) => {
      const one = await make('one', { limit: 1 }).acquire();
      const two = await make('two', { limit: 1 }).acquire({ waitMs: 0 });
      await Promise.all([one.release(), two.release()]);
    }));

    it('hands the permit to a waiter soon after a release, well before its wait ends', withSem(async ({ make }) => {
      const sem = make('ai', { limit: 1, now: Date.now });
      const held = await sem.acquire();
      const started = Date.now();
      const waiting = sem.acquire({ waitMs: 10_000 * scale });
      await sleep(50);
      await held.release();
      const next = await waiting;
      expect(Date.now() - started).toBeLessThan(1_500 * scale);
      await next.release();
    }));

    it('fails with SemaphoreTimeoutError after waitMs', withSem(async ({ make }) => {
      const sem = make('ai', { limit: 1, now: Date.now });
      const held = await sem.acquire();
      const started = Date.now();
      const err = await sem.acquire({ waitMs: 150 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SemaphoreTimeoutError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(145);
      expect((err as SemaphoreTimeoutError).waitedMs).toBeGreaterThanOrEqual(145);
      await held.release();
    }));

    it('frees the permit of a crashed holder when its lease lapses', withSem(async ({ make, backend, clock }) => {
      expect(await backend.tryAcquire('ai', 'crashed', 1, 1_000, clock.t)).toEqual({ ok: true });
      expect(await backend.tryAcquire('ai', 'other', 1, 1_000, clock.t)).toEqual({ ok: false, retryInMs: 1_001 });
      const sem = make('ai', { limit: 1, leaseMs: 5_000 });
      clock.advance(1_000); // until === now: still held
      await expect(sem.acquire({ waitMs: 0 })).rejects.toBeInstanceOf(SemaphoreTimeoutError);
      clock.advance(1);
      const permit = await sem.acquire({ waitMs: 0 });
      expect(await backend.extend('ai', 'crashed', 1_000, clock.t)).toBe(false);
      await permit.release();
    }));

    it('lets a holder re-acquire and extend under its token without taking a second permit', withSem(async ({ backend, clock }) => {
      expect(await backend.tryAcquire('s', 'x', 1, 1_000, clock.t)).toEqual({ ok: true });
      expect(await backend.tryAcquire('s', 'x', 1, 1_000, clock.t + 500)).toEqual({ ok: true });
      expect(await backend.tryAcquire('s', 'y', 1, 1_000, clock.t + 1_200)).toMatchObject({ ok: false, retryInMs: 301 });
      expect(await backend.extend('s', 'x', 1_000, clock.t + 1_400)).toBe(true);
      expect(await backend.release('s', 'x', clock.t)).toBe(true);
      expect(await backend.release('s', 'x', clock.t)).toBe(false);
      expect(await backend.tryAcquire('s', 'y', 1, 1_000, clock.t)).toEqual({ ok: true });
    }));

    it('aborts the permit signal when its lapsed lease was taken by another holder', withSem(async ({ make, clock }) => {
      const sem = make('ai', { limit: 1, leaseMs: 1_000 });
      const permit = await sem.acquire();
      clock.advance(600);
      expect(await permit.extend()).toBe(true);
      clock.advance(1_601);
      const other = await sem.acquire({ waitMs: 0 });
      expect(permit.signal.aborted).toBe(false);
      expect(await permit.extend()).toBe(false);
      expect(permit.signal.aborted).toBe(true);
      expect(permit.signal.reason).toMatchObject({ reason: 'lost' });
      await other.release();
    }));

    it('renews a held permit on its own, so a long holder keeps it', withSem(async ({ make }) => {
      const sem = make('ai', { limit: 1, leaseMs: 150 * scale, now: Date.now });
      const permit = await sem.acquire();
      await sleep(450 * scale);
      await expect(sem.acquire({ waitMs: 0 })).rejects.toBeInstanceOf(SemaphoreTimeoutError);
      expect(permit.signal.aborted).toBe(false);
      await permit.release();
      await (await sem.acquire({ waitMs: 0 })).release();
    }));

    it('releases through Symbol.asyncDispose (what `await using` calls), also when the guarded work throws', withSem(async ({ make }) => {
      const sem = make('ai', { limit: 1 });
      // Written as `await using` compiles: the syntax here would make the build emit esbuild's
      // disposal helpers as a chunk that every entry of the package imports (one more file to load).
      const guarded = async (fail: boolean): Promise<string> => {
        const permit = await sem.acquire({ waitMs: 0 });
        try {
          if (fail) throw new Error(`boom ${permit.name}`);
          return 'done';
        } finally {
          await permit[Symbol.asyncDispose]();
        }
      };
      await expect(guarded(true)).rejects.toThrow('boom ai');
      expect(await guarded(false)).toBe('done');
    }));

    it('never has more than limit holders among many concurrent callers', withSem(async ({ make }) => {
      let holding = 0;
      let peak = 0;
      let granted = 0;
      const sems = [0, 1, 2].map(() => make('shared', { limit: 3, now: Date.now }));
      await Promise.all(Array.from({ length: 12 }, async (_, i) => {
        for (let k = 0; k < 3; k++) {
          const permit = await sems[i % 3]!.acquire({ waitMs: 20_000 * scale });
          peak = Math.max(peak, ++holding);
          // The first three holders stay until all three permits are out, so the test sees the
          // limit reached however slow the backend's round trips are; a semaphore that grants
          // fewer than limit leaves them waiting out the deadline and the peak short of 3.
          if (granted++ < 3) {
            const deadline = Date.now() + 5_000 * scale;
            while (holding < 3 && Date.now() < deadline) await sleep(5);
          } else {
            await sleep(5);
          }
          holding--;
          await permit.release();
        }
      }));
      expect(peak).toBe(3);
    }));

    it('stops waiting when the signal aborts', withSem(async ({ make }) => {
      const sem = make('ai', { limit: 1, now: Date.now });
      const held = await sem.acquire();
      const ctrl = new AbortController();
      setTimeout(() => ctrl.abort(new Error('request closed')), 30);
      await expect(sem.acquire({ waitMs: 10_000, signal: ctrl.signal })).rejects.toThrow('request closed');
      await held.release();
    }));

    it('refuses bad names and options with BotwireConfigError', withSem(async ({ make }) => {
      expect(() => make('a b', { limit: 1 })).toThrow(BotwireConfigError);
      expect(() => make('ai', { limit: 0 })).toThrow(BotwireConfigError);
      expect(() => make('ai', { limit: 1, leaseMs: 0 })).toThrow(BotwireConfigError);
      await expect(make('ai', { limit: 1 }).acquire({ waitMs: -1 })).rejects.toBeInstanceOf(BotwireConfigError);
    }));
  });
}
