/**
 * The primitives a fleet-wide semaphore needs: each is ONE round trip (one Lua script, one SQL
 * function call), takes the caller's clock as `now` (epoch ms) and never reads the server's.
 *
 * State per semaphore `name`: a set of holders, each a `token` with a lease end `until`. A holder
 * is live while `until >= now`; a lapsed holder (`until < now`) counts for nobody. A backend may
 * drop lapsed holders at any call; `tryAcquire` must drop (or ignore) them before counting.
 *
 * @module
 */
import type { BackendInfo } from '../adapter-kit/backend-call.js';

/** The answer of {@link SemaphoreBackend.tryAcquire}. */
export type SemaphoreAttempt =
  | { ok: true }
  /** `retryInMs` ≥ 1: how long until the first live holder's lease lapses (a bound for waiting). */
  | { ok: false; retryInMs: number };

/**
 * Storage for `semaphore()` (from `botwire/jobs`). Implement it, then run `semaphoreContract` from
 * `botwire/testing` against it.
 */
export interface SemaphoreBackend extends BackendInfo {
  /**
   * Take a permit of `name` for `token`: when `token` is a holder already (live or lapsed, not
   * dropped), set its `until = now + leaseMs` and answer ok; else when fewer than `limit` holders
   * are live, add `token` with `until = now + leaseMs` and answer ok; else answer
   * `{ ok: false, retryInMs: max(1, min(until of the live holders) + 1 - now) }` and change nothing
   * (dropping lapsed holders aside). `limit` comes with each call: callers that pass different
   * limits each get theirs.
   */
  tryAcquire(name: string, token: string, limit: number, leaseMs: number, now: number): Promise<SemaphoreAttempt>;

  /**
   * While `token` is a holder of `name` (live, or lapsed and not dropped yet: the token fences, not
   * the clock): `until = now + leaseMs`, true. Else false (its permit was lost).
   */
  extend(name: string, token: string, leaseMs: number, now: number): Promise<boolean>;

  /** Drop `token` from the holders of `name`; true when it was one. Wakes waiters (see below). */
  release(name: string, token: string, now: number): Promise<boolean>;

  /**
   * Optional: resolve when some holder of `name` releases (in any process), or after `timeoutMs`.
   * Best effort, never rejects: the caller retries {@link tryAcquire} either way. Without it,
   * waiters back off with jitter.
   */
  waitForRelease?(name: string, timeoutMs: number): Promise<void>;

  /** Release connections the adapter opened itself (never a client the user passed in). */
  close(): Promise<void>;
}
