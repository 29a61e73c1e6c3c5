/**
 * Public types of the job queue: what `add` accepts, what `get` returns, what a handler receives.
 *
 * @module
 */
import type { JobConflictError } from '../errors.js';
import type { JobState } from './backend.js';

export type { JobState } from './backend.js';

/**
 * How long to wait before the next attempt.
 * - `exponential`: `delayMs * 2^(attempt-1)`, capped at `maxDelayMs`, then scaled by a random factor in
 *   `[1 - jitter, 1]` so many failing jobs do not retry in lockstep.
 * - `fixed`: always `delayMs` (with the same optional jitter).
 */
export type Backoff =
  | {
      type: 'exponential';
      /** Delay before the 2nd run. @default 1_000 */
      delayMs?: number;
      /** Upper bound for one delay. @default 3_600_000 */
      maxDelayMs?: number;
      /** Fraction of the delay that is randomized, 0–1. @default 0.2 */
      jitter?: number;
    }
  | {
      type: 'fixed';
      /** Delay between runs. */
      delayMs: number;
      /** Fraction of the delay that is randomized, 0–1. @default 0 */
      jitter?: number;
    };

/** Options of `JobQueue.add`. */
export interface AddOptions {
  /**
   * Idempotency key: adding a job with an id that exists returns the existing job unchanged.
   * 1–200 characters. @default a random UUID
   */
  id?: string;
  /** Run no earlier than this many milliseconds from now. Exclusive with `runAt`. */
  delayMs?: number;
  /** Run no earlier than this time (Date or epoch ms). Exclusive with `delayMs`. */
  runAt?: Date | number;
  /**
   * Most runs in total (first run + retries). Failures, timeouts, lost workers and partial results
   * all count. @default 3, or unlimited when `retryUntil` is given
   */
  attempts?: number;
  /** Delay between attempts (also between partial runs unless `partial(..., { retryInMs })`). @default exponential 1 s … 1 h */
  backoff?: Backoff;
  /**
   * How long one run may take; after it the handler's `signal` aborts and the run counts as failed.
   * A tick (`runDue`) only claims jobs whose timeout fits its remaining budget. @default the queue's `defaultTimeoutMs`
   */
  timeoutMs?: number;
  /** Integer in [-1000, 1000]; higher runs first among due jobs. @default 0 */
  priority?: number;
  /** Deadline (Date or epoch ms): never retried after it, whatever `attempts` says. */
  retryUntil?: Date | number;
  /**
   * Fair share: jobs of one group (typically the chat id) run at most the queue's
   * `groups.concurrency` at a time fleet-wide, and claims rotate across groups, so a group with
   * 1,000 jobs does not delay a group with one. Letters, digits, `_ . : -`, at most 100 characters.
   * Needs the queue's `groups` option.
   */
  group?: string;
  /**
   * Replace the not-yet-started job added with the same `id` (for this job name): its payload and
   * options become this call's and its start moves to `ms` from now. When that job already started
   * (or finished), a new job is created. Exclusive with `id`, `delayMs` and `runAt`.
   *
   * @example
   * ```ts
   * // One search per chat, 1.5 s after the user stopped typing:
   * await queue.add('search', { chatId, text }, { debounce: { id: `chat:${chatId}`, ms: 1_500 } });
   * ```
   */
  debounce?: { id: string; ms: number };
}

/** One job of `JobQueue.addMany`. */
export interface BulkJob<P = unknown> {
  name: string;
  payload: P;
  options?: AddOptions;
}

/**
 * One entry of `JobQueue.addMany`'s answer, in the order of its input: the stored job and whether
 * this call created it, or — when its `id` belongs to a job of another name — the
 * `JobConflictError` (nothing was written for that entry; the others were added).
 */
export type AddManyResult<P = unknown> =
  | { job: Job<P>; created: boolean; error?: undefined }
  | { job?: undefined; created: false; error: JobConflictError };

/** The last error a run recorded. */
export interface JobError {
  /** Error class name (`Error` for non-Error throws). */
  name: string;
  /** Readable message, also for thrown strings/objects. */
  message: string;
  /**
   * Stack of a thrown `Error` (at most 4,000 characters), kept with the job for dashboards and logs;
   * absent for other throws and for the errors the core records itself (timeouts, lost leases).
   * Not part of `jobs.<name>.<state>` events.
   */
  stack?: string | undefined;
  /**
   * The `code` of a thrown `Error` when it has a string or number one (`ECONNRESET`, `429`), as a
   * string. Not part of `jobs.<name>.<state>` events.
   */
  code?: string | undefined;
}

/**
 * The error one attempt of a job ended with, as kept in {@link Job.errors}. Earlier attempts keep
 * at most 1,000 characters of their message and 2,000 of their stack; the latest keeps what
 * {@link JobError} does.
 */
export interface JobAttemptError extends JobError {
  /**
   * Which run it was (`Job.attempts` when it ended). A manual `retry` starts counting again at 1,
   * so numbers may repeat; `at` tells the runs apart.
   */
  attempt: number;
  /** When the attempt's failure was recorded. */
  at: Date;
}

/** A job as `JobQueue.get` returns it. */
export interface Job<P = unknown, R = unknown> {
  id: string;
  name: string;
  /** The state; a `delayed` job whose time has come shows as `waiting`. */
  state: JobState;
  payload: P;
  /** Runs started so far (including the current one while active). */
  attempts: number;
  /** Most runs allowed; `Infinity` when bounded by `retryUntil` only. */
  maxAttempts: number;
  priority: number;
  /** 0–100 plus an optional message. */
  progress: { pct: number; message?: string | undefined };
  /** The final result (completed) or the merged result so far (partial, or failed after partials). */
  result?: R | undefined;
  /** Parts still missing after a partial run; empty when none. */
  missing: string[];
  /** The error of the latest failed attempt (kept after a later success or a manual retry). */
  error?: JobError | undefined;
  /**
   * The errors of the latest failed attempts, oldest first, at most 10 (the last one is `error`):
   * handler throws, timeouts, lost workers and partial runs out of retries. Empty when no attempt
   * failed. Kept after a later success, so a job that failed twice and then completed shows both.
   */
  errors: JobAttemptError[];
  timeoutMs: number;
  retryUntil?: Date | undefined;
  /** When the job is (or was) due. */
  runAt: Date;
  createdAt: Date;
  updatedAt: Date;
  startedAt?: Date | undefined;
  finishedAt?: Date | undefined;
  /** The group given at `add`, if any. */
  group?: string | undefined;
}

/** Options of a handler's `partial(...)` call. */
export interface PartialOptions {
  /** Parts still missing; the job completes when this is empty. */
  missing: readonly string[];
  /** Run again after this long instead of the job's backoff delay. */
  retryInMs?: number;
}

/** What a handler receives. */
export interface JobContext<P = unknown, R = unknown> {
  /** The job as claimed (`attempts` includes this run; `missing`/`result` from an earlier partial run). */
  job: Job<P, R>;
  /** Aborts when the run times out, the job is cancelled or lost, or the worker shuts down. */
  signal: AbortSignal;
  /** Report progress (0–100) and renew the lease; rejected silently once the lease is lost. */
  progress(pct: number, message?: string): Promise<void>;
  /**
   * Store the merged result so far and end this run: the job goes to `partial` and runs again for
   * the `missing` parts (or completes when none are missing). Return right after calling it.
   */
  partial(result: R, options: PartialOptions): Promise<void>;
}

/** A job handler: its return value (JSON) becomes the result. */
export type JobHandler<P = unknown, R = unknown> = (ctx: JobContext<P, R>) => Promise<R> | R;

/** Handlers by job name. */
export type JobHandlers = Record<string, JobHandler<any, any>>;

/** Hook receiving job state changes, e.g. a SyncBus: `publish('jobs.<name>.<state>', event)`. */
export interface JobEventBus {
  publish(topic: string, data: JobEvent): unknown;
}

/** Payload of a `jobs.<name>.<state>` event. */
export interface JobEvent {
  id: string;
  name: string;
  state: JobState;
  attempts: number;
  /** Present for `partial`. */
  missing?: string[];
  /** Present for `failed` and retried failures. */
  error?: JobError;
}

/** Options of `JobQueue.list`. */
export interface ListOptions {
  state?: JobState;
  name?: string;
  /** 1–1000. @default 50 */
  limit?: number;
  /** From the previous page's `cursor`. */
  cursor?: string;
}

/** One page of `JobQueue.list`. */
export interface JobPage {
  jobs: Job[];
  /** Pass back to get the next page; absent on the last page. */
  cursor?: string;
}

/** Summary of one `runDue` tick, JSON-serializable. */
export interface TickSummary {
  /** Jobs claimed (and started) in this tick. */
  claimed: number;
  completed: number;
  partial: number;
  /** Runs that failed (retried later or failed for good), including timeouts. */
  failed: number;
  /** Runs interrupted and handed back (budget or shutdown), not counted as attempts. */
  released: number;
  /** Lost-worker jobs recovered during the tick. */
  reclaimed: number;
  /** Due jobs still waiting when the tick ended. */
  left: number;
  /** True when another tick in this process was still running, so this one did nothing. */
  skipped: boolean;
  /** Wall time spent, ms. */
  elapsedMs: number;
}

/** How one run ended, from the runner's point of view. */
export type RunOutcome = 'completed' | 'partial' | 'failed' | 'released' | 'lost';
