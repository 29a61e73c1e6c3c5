import { BackendForbiddenError, BackendSchemaError, BackendUnavailableError, BotwireError, type BackendOutcome } from '../errors.js';

/** Error codes (Node socket errors and Postgres SQLSTATE classes) that mean "could not reach the server". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENETUNREACH',
  '57P01', '57P02', '57P03', '53300',
]);
const UNREACHABLE_MESSAGES = [
  'Connection is closed', "Stream isn't writeable", 'Connection terminated', 'connect ECONNREFUSED',
  'Client has encountered a connection error', 'Client was closed', 'PGlite is closed', 'All sentinels are unreachable',
  'Reached the max retries per request limit', 'timeout exceeded when trying to connect', 'Failed to fetch', 'fetch failed',
];

/** Failures that happen before a command is written to the server: nothing can have been applied. */
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENETUNREACH']);
const NEVER_SENT_MESSAGES = [
  'connect ECONNREFUSED', "Stream isn't writeable", 'timeout exceeded when trying to connect', 'Client was closed', 'PGlite is closed',
  'All sentinels are unreachable', 'Failed to fetch', 'fetch failed',
];
/** Operations that change nothing on the server, so their outcome is never in doubt. */
const READS = new Set(['get', 'getMany', 'list', 'countDue', 'health', 'sync subscribe']);

/**
 * What is known about the effect of `operation` after `err`: a read, or a failure before the command
 * left this process, applied nothing; any other failure of a write (a timeout, a connection lost
 * mid-flight) may have been applied on the server before the answer was lost.
 */
export function outcomeOf(operation: string, err: unknown): BackendOutcome {
  if (READS.has(operation)) return 'not-applied';
  const code = codeOf(err);
  if (code && NEVER_SENT_CODES.has(code)) return 'not-applied';
  const message = err instanceof Error ? err.message : String(err);
  return NEVER_SENT_MESSAGES.some((m) => message.includes(m)) ? 'not-applied' : 'unknown';
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when `err` means the server could not be reached rather than that it refused the request. */
export function isUnreachable(err: unknown): boolean {
  const code = codeOf(err);
  if (code && (UNREACHABLE_CODES.has(code) || code.startsWith('08'))) return true;
  const message = err instanceof Error ? err.message : String(err);
  return UNREACHABLE_MESSAGES.some((m) => message.includes(m));
}

/** Turn a driver error into botwire's typed errors where it is one of the known kinds; else keep it. */
export function classifyBackendError(backend: string, operation: string, err: unknown, subject?: string): unknown {
  if (err instanceof BotwireError) return err;
  if (isUnreachable(err)) return new BackendUnavailableError(backend, operation, err, subject, outcomeOf(operation, err));
  const code = codeOf(err);
  if (code === '42501') return new BackendForbiddenError(backend, operation, err);
  // undefined_table, undefined_function, undefined_column, invalid_schema_name: migrations not run.
  if (code === '42P01' || code === '42883' || code === '42703' || code === '3F000') return new BackendSchemaError(backend, err);
  return err;
}

/** A backend call still waiting for its answer, with the moment it must give up. */
interface Pending {
  deadline: number;
  reject: (err: unknown) => void;
  backend: string;
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
      p.reject(new BackendUnavailableError(p.backend, p.operation, cause, p.subject, outcomeOf(p.operation, cause)));
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
 * backend turns into {@link BackendUnavailableError} in bounded time (ioredis alone waits ~10 s).
 * `map` turns the answer into the result in the same step (an error it throws rejects the call).
 */
export function callBackend<T, R = T>(
  backend: string,
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

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
