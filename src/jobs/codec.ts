import { BotwireConfigError, JobSerializationError } from '../errors.js';
import { pathOf } from '../internal/json-value.js';
import { stringifyPlain } from '../internal/plain-json.js';
import { decodeErrors } from './attempt-errors.js';
import type { StoredJob } from './backend.js';
import type { Backoff, Job, JobError } from './types.js';

const encoder = new TextEncoder();

/** Longest job id accepted, in characters. */
export const MAX_JOB_ID_LENGTH = 200;
/** Longest job name accepted, in characters. */
export const MAX_JOB_NAME_LENGTH = 100;

/** UTF-8 length of `text`, without allocating when it cannot matter. */
export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

/** Throw {@link BotwireConfigError} naming the rule when `id` cannot be a job id. */
export function assertJobId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_JOB_ID_LENGTH) {
    throw new BotwireConfigError(`A job id must be a string of 1–${MAX_JOB_ID_LENGTH} characters, got ${typeof id === 'string' ? `${id.length} characters` : typeof id}.`);
  }
  // Control characters break logs, HTTP paths and Redis key dumps; nobody needs them in ids. Lone
  // surrogates become U+FFFD in UTF-8, so two ids would name one stored job.
  if (/[\u0000-\u001f\u007f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(id)) {
    throw new BotwireConfigError('A job id must not contain control characters or unpaired surrogates.');
  }
}

/**
 * Ids starting with this are the queue's own (schedule slots): `add` refuses them, so no caller can
 * pre-create a slot's job with a payload of its own.
 */
export const RESERVED_ID_PREFIX = '$';

/** {@link assertJobId} for ids a caller chooses: also outside the queue's own `$…` namespace. */
export function assertCallerJobId(id: unknown): asserts id is string {
  assertJobId(id);
  if (id.startsWith(RESERVED_ID_PREFIX)) {
    throw new BotwireConfigError(`A job id must not start with "${RESERVED_ID_PREFIX}" (reserved for schedule slots), got ${JSON.stringify(id)}.`);
  }
}

/** Throw {@link BotwireConfigError} naming the rule when `name` cannot be a job name. */
export function assertJobName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/.test(name) || name.length > MAX_JOB_NAME_LENGTH) {
    throw new BotwireConfigError(
      `A job name must be 1–${MAX_JOB_NAME_LENGTH} characters of letters, digits, "_", ".", ":" or "-" (got ${JSON.stringify(name)}); ` +
        'it also forms the event topic jobs.<name>.<state>.',
    );
  }
}

/**
 * Throw {@link BotwireConfigError} when `value` cannot be a group or semaphore name (`what`): the
 * job-name rules, which keep keys short and printable.
 */
export function assertName(what: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/.test(value) || value.length > MAX_JOB_NAME_LENGTH) {
    throw new BotwireConfigError(
      `${what} must be 1–${MAX_JOB_NAME_LENGTH} characters of letters, digits, "_", ".", ":" or "-", got ${JSON.stringify(value)}.`,
    );
  }
}

/**
 * JSON-encode a payload or result, refusing with {@link JobSerializationError} (its `path` naming
 * the part, e.g. `payload.items[3]`) what JSON would silently change or cannot encode; see
 * `jsonCodec` for the rules. A handler that returns nothing completes with a `null` result.
 */
export function encodeJson(name: string, what: 'payload' | 'result', value: unknown): string {
  if (value === undefined && what === 'result') return 'null';
  try {
    return stringifyPlain(value, what);
  } catch (err) {
    throw new JobSerializationError(name, what, err, pathOf(err));
  }
}

/** Longest stack kept with a job's error, in characters. */
const MAX_STACK_LENGTH = 4_000;

/** A readable `{ name, message }` (and the stack of an `Error`) for anything a handler may throw (strings, objects, undefined). */
export function toJobError(err: unknown): JobError {
  if (err instanceof Error) {
    const out: JobError = { name: err.name || 'Error', message: err.message || String(err) };
    if (typeof err.stack === 'string' && err.stack !== '') out.stack = err.stack.slice(0, MAX_STACK_LENGTH);
    const code = (err as { code?: unknown }).code;
    if ((typeof code === 'string' && code !== '') || (typeof code === 'number' && Number.isFinite(code))) out.code = String(code).slice(0, 100);
    return out;
  }
  if (typeof err === 'string') return { name: 'Error', message: err };
  if (err === undefined || err === null) return { name: 'Error', message: `handler threw ${String(err)}` };
  try {
    const text = JSON.stringify(err);
    if (text !== undefined && text !== '{}') return { name: 'Error', message: `handler threw ${text}` };
  } catch { /* cyclic: fall through */ }
  return { name: 'Error', message: `handler threw ${Object.prototype.toString.call(err)}` };
}

/** Epoch milliseconds from a Date or a number, validated. */
export function toEpoch(what: string, value: Date | number): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw new BotwireConfigError(`${what} must be a valid Date or epoch milliseconds, got ${String(value)}.`);
  }
  return ms;
}

function parse<T>(text: string | undefined, fallback: T): T {
  if (text === undefined || text === null) return fallback;
  try { return JSON.parse(text) as T; } catch { return fallback; }
}

const UNPARSED = Symbol('unparsed');

/** Decode a stored job for callers; a `delayed` job whose time has come reads as `waiting`. */
export function toJob<P = unknown, R = unknown>(raw: StoredJob, now: number): Job<P, R> {
  const state = raw.state === 'delayed' && raw.runAt <= now ? 'waiting' : raw.state;
  const opt = (ms: number | undefined | null): Date | undefined => (ms === undefined || ms === null ? undefined : new Date(ms));
  // Parsed on first read: `add` returns the job and most callers never look at its payload again.
  let payload: P | typeof UNPARSED = UNPARSED;
  const { error, errors } = decodeErrors(raw);
  return {
    id: raw.id,
    name: raw.name,
    state,
    get payload(): P {
      if (payload === UNPARSED) payload = parse<P>(raw.payload, undefined as P);
      return payload;
    },
    set payload(value: P) {
      payload = value;
    },
    attempts: raw.attempts,
    maxAttempts: raw.maxAttempts === 0 ? Infinity : raw.maxAttempts,
    priority: raw.priority,
    progress: raw.progressMessage == null ? { pct: raw.progress } : { pct: raw.progress, message: raw.progressMessage },
    result: parse<R | undefined>(raw.result, undefined),
    missing: parse<string[]>(raw.missing, []),
    error,
    errors,
    timeoutMs: raw.timeoutMs,
    retryUntil: opt(raw.retryUntil),
    runAt: new Date(raw.runAt),
    createdAt: new Date(raw.createdAt),
    updatedAt: new Date(raw.updatedAt),
    startedAt: opt(raw.startedAt),
    finishedAt: opt(raw.finishedAt),
    ...(raw.group == null ? {} : { group: raw.group }),
  };
}

/** Decode the stored backoff text, falling back to the default for anything unreadable. */
export function parseBackoff(text: string, fallback: Backoff): Backoff {
  const b = parse<Backoff | undefined>(text, undefined);
  return b && (b.type === 'exponential' || b.type === 'fixed') ? b : fallback;
}
