import { BotwireConfigError } from '../errors.js';
import type { Backoff } from './types.js';

/** Backoff used when neither the job nor the queue names one: 1 s, 2 s, 4 s … capped at 1 h, 20 % jitter. */
export const DEFAULT_BACKOFF: Backoff = { type: 'exponential', delayMs: 1_000, maxDelayMs: 3_600_000, jitter: 0.2 };

function positive(what: string, v: number | undefined, allowZero = false): void {
  if (v === undefined) return;
  if (!(Number.isFinite(v) && (allowZero ? v >= 0 : v > 0))) {
    throw new BotwireConfigError(`backoff.${what} must be a ${allowZero ? 'non-negative' : 'positive'} number of milliseconds, got ${String(v)}.`);
  }
}

/** Throw {@link BotwireConfigError} when `b` is not a usable backoff; returns it for chaining. */
export function validateBackoff(b: Backoff): Backoff {
  if (!b || (b.type !== 'exponential' && b.type !== 'fixed')) {
    throw new BotwireConfigError(`backoff.type must be "exponential" or "fixed", got ${JSON.stringify((b as { type?: unknown } | undefined)?.type)}.`);
  }
  if (b.type === 'fixed') {
    if (b.delayMs === undefined) throw new BotwireConfigError('backoff.delayMs is required for a fixed backoff.');
    positive('delayMs', b.delayMs, true);
  } else {
    positive('delayMs', b.delayMs);
    positive('maxDelayMs', b.maxDelayMs);
  }
  if (b.jitter !== undefined && !(b.jitter >= 0 && b.jitter <= 1)) {
    throw new BotwireConfigError(`backoff.jitter must be between 0 and 1, got ${String(b.jitter)}.`);
  }
  return b;
}

/**
 * Delay before the run after `attempt` runs have happened (attempt ≥ 1).
 * Jitter only shortens the delay (`delay * (1 - jitter * random)`), so the cap is a true upper bound.
 */
export function backoffDelay(b: Backoff, attempt: number, random: () => number = Math.random): number {
  let delay: number;
  let jitter: number;
  if (b.type === 'fixed') {
    delay = b.delayMs;
    jitter = b.jitter ?? 0;
  } else {
    const base = b.delayMs ?? 1_000;
    const cap = b.maxDelayMs ?? 3_600_000;
    // 2^n overflows to Infinity for large n; the min() keeps it at the cap.
    delay = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
    jitter = b.jitter ?? 0.2;
  }
  return Math.max(0, Math.round(delay * (1 - jitter * random())));
}
