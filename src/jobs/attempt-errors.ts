/**
 * The errors of a job's attempts, kept inside the one opaque `error` text every backend already
 * stores: the latest error's fields plus `attempt`, `at` and `previous` (the earlier attempts,
 * oldest first). The core writes it when a run fails, carrying the history over from the claimed
 * job's own `error`, so keeping it costs no backend change and no extra round trip.
 *
 * @module
 */
import type { StoredJob } from './backend.js';
import type { JobAttemptError, JobError } from './types.js';

/** Attempt errors kept per job, the latest included. */
export const MAX_ATTEMPT_ERRORS = 10;
/** Earlier attempts keep this much of their message and stack: a job's row stays ~30 KB at worst. */
const OLD_MESSAGE = 1_000;
const OLD_STACK = 2_000;

/** One attempt's error as stored. */
interface StoredAttempt { name: string; message: string; stack?: string; code?: string; attempt: number; at: number }

type Source = Pick<StoredJob, 'attempts' | 'error' | 'updatedAt' | 'finishedAt'>;

function objectOf(text: string | undefined | null): Record<string, unknown> | undefined {
  if (text === undefined || text === null) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const clip = (text: string, max: number): string => (text.length > max ? text.slice(0, max) : text);

/**
 * An attempt read from stored JSON, which may predate the history (no `attempt`/`at`: then they
 * come from `fallback`) or be anything at all (the text is opaque to backends).
 */
function attemptOf(e: Record<string, unknown>, fallback: { attempt: number; at: number }, short: boolean): StoredAttempt {
  const out: StoredAttempt = {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? (short ? clip(e.message, OLD_MESSAGE) : e.message) : '',
    attempt: num(e.attempt, fallback.attempt),
    at: num(e.at, fallback.at),
  };
  if (typeof e.stack === 'string') out.stack = short ? clip(e.stack, OLD_STACK) : e.stack;
  if (typeof e.code === 'string') out.code = e.code;
  return out;
}

/** The earlier attempts stored with `e`, oldest first. */
function previousOf(e: Record<string, unknown>, fallbackAt: number): StoredAttempt[] {
  if (!Array.isArray(e.previous)) return [];
  return e.previous
    .filter((p): p is Record<string, unknown> => typeof p === 'object' && p !== null && !Array.isArray(p))
    .map((p) => attemptOf(p, { attempt: 0, at: fallbackAt }, true));
}

/**
 * The `error` text to store for a run of `raw` (the job as claimed: `attempts` counts this run)
 * that ended with `error` at `now`: the error with its attempt and time, and the errors of up to
 * {@link MAX_ATTEMPT_ERRORS}` - 1` earlier attempts carried over from `raw.error`.
 */
export function errorText(raw: Source, error: JobError, now: number): string {
  const last = objectOf(raw.error);
  let previous: StoredAttempt[] = [];
  if (last) {
    // An error stored before the history existed has no attempt number: it was the previous run's.
    previous = [...previousOf(last, raw.updatedAt), attemptOf(last, { attempt: Math.max(raw.attempts - 1, 0), at: raw.updatedAt }, true)];
    previous = previous.slice(-(MAX_ATTEMPT_ERRORS - 1));
  }
  const out: Record<string, unknown> = { ...error, attempt: raw.attempts, at: now };
  if (previous.length > 0) out.previous = previous;
  return JSON.stringify(out);
}

function toPublic(a: StoredAttempt): JobAttemptError {
  const out: JobAttemptError = { name: a.name, message: a.message, attempt: a.attempt, at: new Date(a.at) };
  if (a.stack !== undefined) out.stack = a.stack;
  if (a.code !== undefined) out.code = a.code;
  return out;
}

/** The stored `error` text decoded: the latest error (`Job.error`) and every kept attempt (`Job.errors`). */
export function decodeErrors(raw: Source): { error: JobError | undefined; errors: JobAttemptError[] } {
  const e = objectOf(raw.error);
  if (!e) return { error: undefined, errors: [] };
  const latest = attemptOf(e, { attempt: raw.attempts, at: raw.finishedAt ?? raw.updatedAt }, false);
  const error: JobError = { name: latest.name, message: latest.message };
  if (latest.stack !== undefined) error.stack = latest.stack;
  if (latest.code !== undefined) error.code = latest.code;
  return { error, errors: [...previousOf(e, latest.at), latest].map(toPublic) };
}
