/**
 * Bounded backend calls and the naming of driver errors: the one place where a call's time limit
 * and its failure become botwire's typed errors. The core knows only generic network facts (Node
 * socket codes, a failed `fetch`); what a driver's own errors mean (ioredis messages, Postgres
 * SQLSTATEs) is told by the adapter that owns the driver, through {@link BackendInfo.classifyError}.
 *
 * @module
 */
import { BackendForbiddenError, BackendSchemaError, BackendUnavailableError, BotwireError, type BackendOutcome } from '../errors.js';

/**
 * What a driver error means, as the adapter that owns the driver reads it:
 * - `'unavailable'`: the server could not be reached or the connection broke while the call was
 *   under way; a write may have been applied before its answer was lost;
 * - `'unsent'`: the server could not be reached and the call never left this process (connection
 *   refused, client already closed): nothing was applied;
 * - `'forbidden'`: the server refused the call for lack of rights;
 * - `'schema'`: botwire's tables or functions are missing or out of date (migrations not run).
 */
export type BackendErrorKind = 'unavailable' | 'unsent' | 'forbidden' | 'schema';

/**
 * What the core needs to know about a backend to bound its calls and name their failures. Every
 * backend contract (`SessionBackend`, `JobBackend`, `RateLimitBackend`) extends it.
 */
export interface BackendInfo {
  /** Human-readable backend name used in error messages, e.g. `"Redis"`. */
  readonly name: string;
  /**
   * Optional: what a driver error means ({@link BackendErrorKind}), or undefined when it is none of
   * those kinds (it then reaches the caller unchanged). Called only for errors that are not
   * botwire's own; generic network errors (Node socket codes such as `ECONNREFUSED`, a failed
   * `fetch`) are recognised by the core when this answers undefined.
   *
   * @example
   * ```ts
   * classifyError(err) {
   *   const code = (err as { code?: string }).code;
   *   return code === '42501' ? 'forbidden' : code === '42P01' ? 'schema' : undefined;
   * }
   * ```
   */
  classifyError?(err: unknown): BackendErrorKind | undefined;
}

/** Node socket error codes: the server could not be reached, or the connection broke. */
const UNREACHABLE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
/** Node socket error codes raised before anything was written: nothing can have been applied. */
const UNSENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENETUNREACH']);
/** Messages of the same failures from wrappers that drop `code`, and of a `fetch` that never got a response. */
const UNSENT_MESSAGES = ['connect ECONNREFUSED', 'Failed to fetch', 'fetch failed'];
/** Operations that change nothing on the server, so their outcome is never in doubt. */
const READS = new Set(['get', 'getMany', 'inspect', 'list', 'countDue', 'health', 'sync subscribe']);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The generic network facts the core knows without any driver. */
function genericKind(err: unknown): BackendErrorKind | undefined {
  const code = codeOf(err);
  if (code !== undefined) {
    if (UNSENT_CODES.has(code)) return 'unsent';
    if (UNREACHABLE_CODES.has(code)) return 'unavailable';
  }
  const message = err instanceof Error ? err.message : String(err);
  return UNSENT_MESSAGES.some((m) => message.includes(m)) ? 'unsent' : undefined;
}

/** The kind of `err` for `backend`: the adapter's reading first, then the generic network facts. */
export function errorKind(backend: BackendInfo, err: unknown): BackendErrorKind | undefined {
  return backend.classifyError?.(err) ?? genericKind(err);
}

/**
 * Whether a write may have landed after a failure of kind `kind`: reads and unsent calls applied
 * nothing; any other failure of a write (a timeout, a connection lost mid-flight) may have been
 * applied before the answer was lost. The operations `get`, `getMany`, `list`, `countDue` and
 * `health` count as reads.
 */
export function outcomeOf(operation: string, kind: 'unavailable' | 'unsent'): BackendOutcome {
  return kind === 'unsent' || READS.has(operation) ? 'not-applied' : 'unknown';
}

/**
 * Turn a driver error into botwire's typed errors where it is one of the known kinds
 * ({@link BackendErrorKind}); anything else (botwire's own errors included) is returned unchanged.
 *
 * @param backend names the backend in the message and classifies its driver's errors
 * @param operation what was being done, e.g. `get`, `commit`, `migrate`
 * @param subject the session key, job id or topic concerned, if any
 */
export function classifyBackendError(backend: BackendInfo, operation: string, err: unknown, subject?: string): unknown {
  if (err instanceof BotwireError) return err;
  const kind = errorKind(backend, err);
  if (kind === undefined) return err;
  if (kind === 'forbidden') return new BackendForbiddenError(backend.name, operation, err);
  if (kind === 'schema') return new BackendSchemaError(backend.name, err);
  return new BackendUnavailableError(backend.name, operation, err, subject, outcomeOf(operation, kind));
}

/** A backend call still waiting for its answer, with the moment it must give up. */
interface Pending {
  deadline: number;
  reject: (err: unknown) => void;
  backend: BackendInfo;
  operation: string;
  timeoutMs: number;
  subject: string | undefined;
}

// Deadlines of all calls in flight share ONE timer, armed for the earliest of them: a setTimeout +
// clearTimeout + Promise.race per call cost a measurable share of a 20 µs Redis round trip. The
// timer is unref'd while nothing is in flight (a finished script can exit at once) and ref'd again
// while a call waits (an unanswered call still ends in BackendUnavailableError, never in a silent exit).
const pending = new Set<Pending>();
let timer: ReturnType<typeof setTimeout> | undefined;
let armedFor = Infinity;

type Refable = { ref?: () => unknown; unref?: () => unknown };

function arm(at: number): void {
  if (timer !== undefined) clearTimeout(timer);
  armedFor = at;
  timer = setTimeout(sweep, Math.max(0, at - performance.now()));
}

function sweep(): void {
  timer = undefined;
  armedFor = Infinity;
  const now = performance.now();
  let next = Infinity;
  for (const p of pending) {
    // Timers may fire a fraction of a millisecond early on the monotonic clock: allow 1 ms.
    if (p.deadline <= now + 1) {
      pending.delete(p);
      const cause = new Error(`no answer within ${p.timeoutMs} ms`);
      p.reject(new BackendUnavailableError(p.backend.name, p.operation, cause, p.subject, outcomeOf(p.operation, 'unavailable')));
    } else if (p.deadline < next) next = p.deadline;
  }
  if (next !== Infinity) arm(next);
}

function track(p: Pending): void {
  pending.add(p);
  if (p.deadline < armedFor) arm(p.deadline);
  else if (pending.size === 1) (timer as Refable | undefined)?.ref?.();
}

function untrack(p: Pending): void {
  if (pending.delete(p) && pending.size === 0) (timer as Refable | undefined)?.unref?.();
}

/**
 * Run one backend call with a hard upper bound on how long the caller waits, so an unreachable
 * backend turns into {@link BackendUnavailableError} in bounded time (ioredis alone waits ~10 s),
 * and its driver errors into botwire's typed errors ({@link classifyBackendError}). `map` turns the
 * answer into the result in the same step (an error it throws rejects the call as it is).
 *
 * Cheap enough for every call on a hot path: all calls in flight share one timer.
 *
 * @param backend names the backend and classifies its driver's errors (a backend object itself fits)
 * @param operation what is being done, e.g. `get`; reads (`get`, `getMany`, `list`, `countDue`)
 *   that fail are always `outcome: 'not-applied'`
 * @param timeoutMs how long the caller waits at most
 * @param run starts the call
 * @param subject the session key, job id or topic concerned, if any
 * @param map turns the answer into the result
 *
 * @example
 * ```ts
 * const REDIS: BackendInfo = { name: 'Redis', classifyError: classifyRedisError };
 * const value = await callBackend(REDIS, 'get', 2_000, () => client.get(key), key);
 * ```
 */
export function callBackend<T, R = T>(
  backend: BackendInfo,
  operation: string,
  timeoutMs: number,
  run: () => Promise<T>,
  subject?: string,
  map?: (value: T) => R,
): Promise<R> {
  let work: Promise<T>;
  try {
    work = Promise.resolve(run());
  } catch (err) {
    return Promise.reject(classifyBackendError(backend, operation, err, subject));
  }
  return new Promise<R>((resolve, reject) => {
    const p: Pending = { deadline: performance.now() + timeoutMs, reject, backend, operation, timeoutMs, subject };
    track(p);
    work.then(
      (value) => {
        untrack(p);
        if (!map) resolve(value as unknown as R);
        else {
          try { resolve(map(value)); } catch (err) { reject(err); }
        }
      },
      (err: unknown) => {
        untrack(p);
        reject(classifyBackendError(backend, operation, err, subject));
      },
    );
  });
}

/** Resolve after `ms` milliseconds (a backoff between retries). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
