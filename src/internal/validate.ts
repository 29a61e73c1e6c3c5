/**
 * Validators for options and arguments, shared by every module: each refuses bad input with a
 * {@link BotwireConfigError} that names the option and the rule, before anything reaches a backend
 * (where the same input would surface as a driver error: Redis "ERR invalid expire time", Postgres
 * 22008 "interval out of range", 22P02 …).
 *
 * @module
 */
import { BotwireConfigError } from '../errors.js';

/**
 * Longest TTL or lease accepted, in milliseconds (100 years): far beyond any real expiry, and far
 * below what Redis `PX` and Postgres `interval` arithmetic overflow on.
 */
export const MAX_DURATION_MS = 3_153_600_000_000;

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * A duration in milliseconds: a finite number > 0 and ≤ {@link MAX_DURATION_MS}. Fractions round up
 * to whole milliseconds (Redis `PX` takes integers only).
 */
export function positiveMs(what: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0 && value <= MAX_DURATION_MS)) {
    throw new BotwireConfigError(
      `${what} must be a number of milliseconds > 0 and ≤ ${MAX_DURATION_MS} (100 years), got ${describe(value)}.`,
    );
  }
  return Math.ceil(value);
}

/** Like {@link positiveMs} but 0 is allowed (e.g. `waitMs: 0` = do not wait). */
export function nonNegativeMs(what: string, value: unknown): number {
  if (value === 0) return 0;
  if (typeof value !== 'number' || !(value >= 0 && value <= MAX_DURATION_MS)) {
    throw new BotwireConfigError(
      `${what} must be a number of milliseconds ≥ 0 and ≤ ${MAX_DURATION_MS} (100 years), got ${describe(value)}.`,
    );
  }
  return Math.ceil(value);
}

/** An integer in `[min, max]`. */
export function intInRange(what: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `between ${min} and ${max}`;
    throw new BotwireConfigError(`${what} must be an integer ${range}, got ${describe(value)}.`);
  }
  return value;
}

/** A compare-and-set version: an integer ≥ 0 (`0` = "must not exist"). */
export function version(what: string, value: unknown): number {
  return intInRange(what, value, 0);
}

/** A batch size for cleanup-style loops: an integer ≥ 1 (0 would loop forever). */
export function batchSize(value: unknown, fallback: number): number {
  return value === undefined ? fallback : intInRange('batchSize', value, 1, 100_000);
}
