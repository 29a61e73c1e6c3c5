/**
 * The one primitive a rate-limit adapter makes atomic: count a hit in the current window and say
 * whether it is allowed, in one round trip (a Lua script on Redis, one SQL function on Postgres).
 *
 * Windows are numbered `floor(now / windowMs)` on the backend's own clock, so every instance of a
 * bot shares them. The sliding mode weighs the previous window's count by how much of it still
 * overlaps the sliding window (the two-counter approximation): smooth at window edges, O(1) state.
 *
 * @module
 */
import type { BackendInfo } from '../adapter-kit/backend-call.js';
import type { BackendHealth } from '../health.js';

/** Outcome of one hit. */
export interface RateLimitHit {
  /** True when the hit was within the limit and was counted; denied hits are not counted. */
  allowed: boolean;
  /** Hits in the window including this one if allowed (for sliding: the weighted estimate). */
  count: number;
  /** Milliseconds until the current window ends. */
  resetMs: number;
}

/** Implement this to add a rate-limit backend. */
export interface RateLimitBackend extends BackendInfo {
  /** Count a hit for `key` unless `limit` is reached in the window; one round trip. */
  hit(key: string, limit: number, windowMs: number, sliding: boolean): Promise<RateLimitHit>;
  /**
   * Optional: delete up to `limit` counters whose windows are over; returns how many. Backends whose
   * counters expire on their own (Redis) leave it out.
   */
  cleanup?(limit: number): Promise<number>;
  /** Optional: one round trip proving the backend can count hits (see `SessionBackend.health`). */
  health?(): Promise<BackendHealth>;
  /** Release connections the adapter opened itself. */
  close?(): Promise<void>;
}

/** Counter state the memory adapter keeps and the Lua/SQL versions mirror. */
export interface WindowCounter { window: number; current: number; previous: number }

/**
 * The shared decision rule, in plain TypeScript: used by the memory adapter and as the reference the
 * Redis Lua script and the Postgres function implement.
 */
export function decideHit(
  state: WindowCounter | undefined,
  nowMs: number,
  limit: number,
  windowMs: number,
  sliding: boolean,
): { next: WindowCounter; hit: RateLimitHit } {
  const window = Math.floor(nowMs / windowMs);
  let current = 0;
  let previous = 0;
  if (state && state.window === window) { current = state.current; previous = state.previous; }
  else if (state && state.window === window - 1) previous = state.current;
  const elapsed = nowMs - window * windowMs;
  const estimate = sliding ? Math.floor((previous * (windowMs - elapsed)) / windowMs) + current : current;
  const resetMs = windowMs - elapsed;
  if (estimate >= limit) return { next: { window, current, previous }, hit: { allowed: false, count: estimate, resetMs } };
  return { next: { window, current: current + 1, previous }, hit: { allowed: true, count: estimate + 1, resetMs } };
}
