/**
 * The few atomic primitives a job adapter makes durable. Everything else — ids, JSON and size
 * checks, backoff math, attempts and deadlines, timeouts, budgets, schedules, events — lives once in
 * the core (`JobQueue`, `Worker`, `runDue`).
 *
 * Rules every adapter follows:
 * - Each method is ONE round trip (one Lua script, one SQL function call, one RPC).
 * - Time comes from the caller: every method that needs "now" takes `now` (epoch ms) from the core's
 *   clock and never reads the server's clock, so tests can inject a clock and all backends agree.
 * - JSON fields (`payload`, `result`, `missing`, `error`, `backoff`) are opaque text: store and return
 *   them byte for byte, never parse them.
 * - A method that finds nothing to do returns `false` / `0` / `[]` / `undefined`; it never throws for
 *   "not found" or "wrong state". Throw only for infrastructure errors (the core classifies them).
 *
 * Compatibility: this file is the contract between the core and the adapters. Changes after its
 * first commit are additive and backward compatible only (new optional members), each noted here:
 * - `partial(...)` gained an optional trailing `final` argument (finish as `failed`, keeping the result).
 * - `ClaimArgs` gained an optional `waiter` (backends may ignore it).
 * - Optional `started(id, token, now)`: the runner reports that a claimed job's handler begins.
 *   Backends that use it (those wrapped by `withClaimAhead` from `botwire/adapter-kit`, while a
 *   long-running worker is subscribed) store claims without `startedAt` and hand a job back
 *   uncounted when its lease lapses before its start was written (see {@link JobBackend.reclaim}).
 *   Backends without it set `startedAt` at claim as before.
 * - Optional `classifyError(err)` (from {@link BackendInfo}): the adapter names its driver's errors.
 * - Fleet features (`./fleet-backend.ts`, listed in optional `features`): `StoredJob.group`,
 *   `NewJob.group`/`debounce`, `ClaimArgs.groupConcurrency`, the `heldBack`/`retryAt` hint of
 *   {@link ClaimedJobs}, `replaced` in {@link AddResult}, and optional `setLimits`, `getLimits`,
 *   `addMany`, `counts`.
 * - Optional `remove(id, now)`: delete one job that is not `active`, with its data (`JobQueue.remove`).
 *
 * @module
 */
import type { BackendInfo } from '../adapter-kit/backend-call.js';
import type { BackendHealth } from '../health.js';
import type { JobCounts, JobFeature, JobLimitEntry } from './fleet-backend.js';

/**
 * Every state a job can be in.
 * - `waiting`: due now (or since `runAt`), ready to be claimed.
 * - `delayed`: will be due at `runAt` (first run delayed, or a retry after a failure).
 * - `active`: claimed by a worker under a lease.
 * - `partial`: ran, stored part of its result, will run again at `runAt` for the `missing` parts.
 * - `completed`, `failed`, `cancelled`: finished; removed by retention after a TTL.
 */
export type JobState = 'waiting' | 'delayed' | 'active' | 'partial' | 'completed' | 'failed' | 'cancelled';

/** States a job can be claimed from (when `runAt <= now`). */
export const RUNNABLE_STATES: readonly JobState[] = ['waiting', 'delayed', 'partial'];
/** States a job never leaves on its own. */
export const FINISHED_STATES: readonly JobState[] = ['completed', 'failed', 'cancelled'];

/** A job as the backend stores it. Times are epoch milliseconds; JSON fields are undecoded text. */
export interface StoredJob {
  /** Unique id; also the idempotency key at `add`. */
  id: string;
  /** Job name (which handler runs it). */
  name: string;
  state: JobState;
  /** JSON text of the payload, exactly as the core produced it. */
  payload: string;
  /** Integer in [-1000, 1000]; among due jobs the highest runs first. */
  priority: number;
  /** When the job is (or was) due. Runnable jobs are claimed only when `runAt <= now`. */
  runAt: number;
  /** How many times the job was claimed (started). Incremented by `claim`, decremented by `release`. */
  attempts: number;
  /** Most runs allowed; `0` = unlimited (then `retryUntil` bounds the retries). Interpreted by the core. */
  maxAttempts: number;
  /**
   * Opaque JSON text describing the backoff (and, for jobs added under a traced span, the W3C
   * `traceparent` their runs continue); interpreted by the core only.
   */
  backoff: string;
  /** How long one run may take; `claim` skips jobs whose `timeoutMs` exceeds its `maxTimeoutMs`. */
  timeoutMs: number;
  /** Deadline after which the core stops retrying, if any. */
  retryUntil?: number | undefined;
  /** 0–100, set by heartbeats and by completion (100). */
  progress: number;
  /** Optional human-readable progress message. */
  progressMessage?: string | undefined;
  /** JSON text: the final result (completed) or the merged result so far (partial). */
  result?: string | undefined;
  /** JSON text: the parts still missing after a partial run (an array of strings). */
  missing?: string | undefined;
  /**
   * JSON text: the last error (`{ name, message, … }`), which also carries the errors of earlier
   * attempts (the core writes it; backends store it as they get it).
   */
  error?: string | undefined;
  /** Fencing token of the current lease (only while `active`). */
  leaseToken?: string | undefined;
  /** When the current lease lapses (only while `active`). */
  leaseUntil?: number | undefined;
  createdAt: number;
  updatedAt: number;
  /**
   * When the latest run started. Backends with {@link JobBackend.started} leave it unset from a
   * long-running worker's claim until the worker writes the start; see {@link JobBackend.reclaim}.
   */
  startedAt?: number | undefined;
  /** When the job reached a finished state. */
  finishedAt?: number | undefined;
  /** The job's group (feature `'groups'`), absent for jobs without one. */
  group?: string | undefined;
}

/** What `add` stores. State is `waiting` when `runAt <= now`, else `delayed`. */
export interface NewJob {
  id: string;
  name: string;
  payload: string;
  priority: number;
  runAt: number;
  maxAttempts: number;
  backoff: string;
  timeoutMs: number;
  retryUntil?: number | undefined;
  /** Group for fair shares (feature `'groups'`; validated like a job name). */
  group?: string | undefined;
  /** Debounce id, scoped by `name` (feature `'debounce'`): replace the unstarted job added under it. */
  debounce?: string | undefined;
}

/** What {@link JobBackend.add} answers (one per job for {@link JobBackend.addMany}). */
export interface AddResult {
  /** The job as stored now. */
  job: StoredJob;
  /** True when this call created it. */
  created: boolean;
  /** True when a debounced add updated the unstarted job `job` instead (then `created` is false). */
  replaced?: boolean | undefined;
}

/**
 * What {@link JobBackend.claim} answers: the jobs taken, plus an optional hint for the caller's
 * next claim (backends with `'limits'` or `'groups'`; see `./fleet-backend.ts`).
 */
export interface ClaimedJobs extends Array<StoredJob> {
  /** Fewer than `limit` jobs came back while due jobs were held back by a limit or a group cap. */
  heldBack?: boolean | undefined;
  /** When a job held back by a rate window alone may be claimed (epoch ms). */
  retryAt?: number | undefined;
}

/** Arguments of {@link JobBackend.claim}. */
export interface ClaimArgs {
  /** Only jobs with one of these names (the handlers the caller has). Never empty. */
  names: readonly string[];
  /** At most this many jobs. */
  limit: number;
  /** Only jobs whose `timeoutMs <= maxTimeoutMs` (what fits the caller's remaining budget). */
  maxTimeoutMs: number;
  /** Fencing token written to every claimed job. */
  token: string;
  /** Lease length: claimed jobs get `leaseUntil = now + leaseMs`. */
  leaseMs: number;
  now: number;
  /**
   * Stable id of a long-running worker that listens for wake-ups (absent for ticks). A backend whose
   * wake-ups are costly (Postgres NOTIFY) may record the worker as idle when the claim returns fewer
   * than `limit` jobs, and wake only while some worker is idle. Optional; backends may ignore it.
   */
  waiter?: string | undefined;
  /**
   * Feature `'groups'`: most live jobs per group (an integer ≥ 1), and groups served round-robin.
   * Absent: only jobs without a group are claimed. See `./fleet-backend.ts`.
   */
  groupConcurrency?: number | undefined;
}

/** Arguments of {@link JobBackend.list}. */
export interface ListArgs {
  state?: JobState | undefined;
  name?: string | undefined;
  /** 1–1000. */
  limit: number;
  /** Opaque cursor returned by the previous page. */
  cursor?: string | undefined;
}

/** One page of {@link JobBackend.list}. */
export interface ListPage {
  jobs: StoredJob[];
  /** Present when there may be more; pass it back to get the next page. */
  cursor?: string | undefined;
}

/** Progress written by a heartbeat. */
export interface ProgressUpdate {
  /** 0–100. */
  pct: number;
  message?: string | undefined;
}

/**
 * The primitive operations a job adapter implements. Implement this to add a backend, then run
 * `jobQueueContract` from `botwire/testing` against `new JobQueue(yourBackend)`. For claim-ahead,
 * implement `WorkerBatchBackend` too and wrap the backend with `withClaimAhead` (both from
 * `botwire/adapter-kit`).
 */
export interface JobBackend extends BackendInfo {
  /** The fleet features this backend implements (see `./fleet-backend.ts`). @default none */
  readonly features?: readonly JobFeature[] | undefined;

  /**
   * Optional: the handler of a job claimed under `token` is being called now. Synchronous and
   * without I/O — the runner calls it in the same step as the handler, so a backend that writes it
   * later (with its next call) can never record a start before the handler began. Backends that set
   * `startedAt` at claim need not implement it. See {@link reclaim}.
   */
  started?(id: string, token: string, now: number): void;

  /**
   * Store a new job unless one with `job.id` exists (any state). State is `waiting` if
   * `job.runAt <= now`, else `delayed`; `attempts = 0`, `progress = 0`, `createdAt = updatedAt = now`.
   * Returns the stored job and `created: false` (nothing changed) when the id already existed.
   * Wakes subscribers (see {@link subscribe}) when the new job is due now. Stores `job.group`
   * (feature `'groups'`) and applies `job.debounce` (feature `'debounce'`, `./fleet-backend.ts`).
   */
  add(job: NewJob, now: number): Promise<AddResult>;

  /**
   * Feature `'addMany'`: exactly what calling {@link add} for each job in order would do (debounce
   * included; a job whose id an earlier job of the same call took gets `created: false` and that
   * job), in ONE round trip. Returns one result per job, in order. The core sends at most 500 jobs
   * and about 1 MiB of payload text per call; a call that fails may have stored a prefix of its jobs.
   * Wakes each name that got a due job once per call.
   */
  addMany?(jobs: readonly NewJob[], now: number): Promise<AddResult[]>;

  /**
   * Atomically take up to `limit` jobs in a runnable state (`waiting`, `delayed`, `partial`) with
   * `runAt <= now`, a name in `names` and `timeoutMs <= maxTimeoutMs`, ordered by priority
   * (highest first), then `runAt`, then insertion order. Each taken job becomes `active` with
   * `leaseToken = token`, `leaseUntil = now + leaseMs`, `attempts + 1`, `startedAt = now`.
   * Concurrent claims never return the same job. Returns the jobs as updated. (Backends with
   * {@link started} store no `startedAt` while a long-running worker is subscribed, and return
   * `startedAt = now` all the same: see {@link reclaim}.)
   * Features `'limits'` and `'groups'` add the rules of `./fleet-backend.ts` (limits per name, caps
   * and round-robin per group) and the `heldBack`/`retryAt` hint on the result.
   */
  claim(args: ClaimArgs): Promise<ClaimedJobs>;

  /**
   * While the job is `active` with `leaseToken === token`: set `leaseUntil = now + leaseMs`, and the
   * progress when given. Returns false (and changes nothing) when the lease was lost — reclaimed,
   * cancelled or finished — so the worker aborts the run. A lapsed lease nobody took over still
   * matches (the token is what fences, not the clock).
   */
  heartbeat(id: string, token: string, leaseMs: number, now: number, progress?: ProgressUpdate): Promise<boolean>;

  /**
   * While `active` with `leaseToken === token`: state `completed`, `result` stored, `missing`
   * cleared, `progress = 100`, `finishedAt = now`, lease cleared. False (nothing written) when the
   * lease was lost: a stale completion never overwrites the job.
   */
  complete(id: string, token: string, result: string, now: number): Promise<boolean>;

  /**
   * While `active` with `leaseToken === token`: state `partial`, `result` and `missing` stored,
   * `runAt = retryAt`, lease cleared. False (nothing written) when the lease was lost.
   * Wakes subscribers when `retryAt <= now`.
   *
   * With `final` (retries exhausted): `result` and `missing` are stored the same way, but the state
   * becomes `failed` with `error = final.error` and `finishedAt = now`; `retryAt` is ignored.
   */
  partial(
    id: string, token: string, result: string, missing: string, retryAt: number, now: number,
    final?: { error: string },
  ): Promise<boolean>;

  /**
   * While `active` with `leaseToken === token`: record `error`, clear the lease, and then either
   * schedule a retry (`retryAt` given: state `waiting` if `retryAt <= now` else `delayed`,
   * `runAt = retryAt`) or fail for good (`retryAt` undefined: state `failed`, `finishedAt = now`).
   * `result`/`missing` of an earlier partial run are kept. False (nothing written) when the lease was lost.
   */
  fail(id: string, token: string, error: string, retryAt: number | undefined, now: number): Promise<boolean>;

  /**
   * While `active` with `leaseToken === token`: back to `waiting` with `runAt = now`, lease cleared,
   * `attempts - 1` (the run is not counted: used for claimed-but-unstarted jobs and for runs
   * interrupted by a graceful shutdown). Wakes subscribers. False when the lease was lost.
   * Backends with {@link started} leave `startedAt` unset when the job never started.
   */
  release(id: string, token: string, now: number): Promise<boolean>;

  /**
   * Manual retry: a job in `failed`, `cancelled`, `partial` or `delayed` becomes `waiting` with
   * `runAt = now`, `attempts = 0`, `finishedAt` cleared; `result`/`missing`/`error` are kept (so the
   * handler sees which parts are still missing). False when the job is absent or in another state.
   * Wakes subscribers.
   */
  retry(id: string, now: number): Promise<boolean>;

  /**
   * A job that is not finished (`waiting`, `delayed`, `partial` or `active`) becomes `cancelled`
   * with `finishedAt = now` and its lease cleared (so a running worker's heartbeat and completion
   * are rejected). False when absent or already finished.
   */
  cancel(id: string, now: number): Promise<boolean>;

  /**
   * Optional: delete the job `id` in any state but `active` — with its stored data and its index,
   * counter, group and debounce entries, as if it had never been added. An `active` job (held
   * under a lease, lapsed or not) is left alone: its worker would still write its outcome. False
   * when absent or `active`. Without it, `JobQueue.remove` throws `BotwireConfigError`.
   */
  remove?(id: string, now: number): Promise<boolean>;

  /** The job, or undefined. */
  get(id: string): Promise<StoredJob | undefined>;

  /**
   * Jobs filtered by state and/or name, newest `createdAt` first (ties by id), `limit` per page.
   * The cursor is opaque to the core; a page may be shorter than `limit` only at the end.
   */
  list(args: ListArgs): Promise<ListPage>;

  /**
   * Take over up to `limit` `active` jobs whose `leaseUntil < now` (their worker died): set
   * `leaseToken = token`, `leaseUntil = now + leaseMs` and return them (as updated), so the core
   * can decide retry-with-backoff or final failure and call {@link fail} with `token`.
   * `attempts` is unchanged (the lost run was already counted by its claim).
   *
   * Backends with {@link started}: while a long-running worker is subscribed, its claims — including
   * the jobs its completion calls claim ahead, which wait in its memory — store no `startedAt`. The
   * worker writes a job's start after {@link started} reported it, with its next call: a completion
   * or claim, a heartbeat, the job's own outcome, or a call of its own after at most 50 ms
   * (`START_MARK_MS` in `botwire/adapter-kit`) — never a round trip of its own while busy. A lapsed job
   * still without `startedAt` never ran as far as the backend knows: it is not returned but goes
   * back to `waiting` uncounted — `attempts - 1`, `runAt` kept (its place in line), lease cleared,
   * no error, subscribers woken — at most 3 times per job. After that it is taken over like any
   * other, so a job that kills its worker before its start is written cannot come back uncounted
   * for ever. So a job that never started never uses an attempt, and one whose worker died in the
   * moment between its start and that write may run once more than `attempts`.
   */
  reclaim(token: string, leaseMs: number, limit: number, now: number): Promise<StoredJob[]>;

  /**
   * Make up to `limit` `delayed`/`partial` jobs with `runAt <= now` claimable, for backends that
   * keep due and future jobs apart (Redis). Backends whose `claim` reads `runAt` directly return 0.
   * Does not change the `state` field seen by `get` except `delayed` → `waiting`. Returns how many moved.
   */
  promote(limit: number, now: number): Promise<number>;

  /** How many jobs in `names` are runnable with `runAt <= now` (the "left" of a tick). */
  countDue(names: readonly string[], now: number): Promise<number>;

  /**
   * Feature `'counts'`: how many jobs of `name` (all names when undefined) are in each state, with
   * `delayed` jobs whose `runAt <= now` counted as `waiting` (as `get` shows them). One round trip
   * and no scan over jobs: maintained counters or index sizes (counting the due `delayed` jobs may
   * read an index range of those jobs only).
   */
  counts?(name: string | undefined, now: number): Promise<JobCounts>;

  /**
   * Feature `'limits'`: write limits, in order: each entry replaces its name's whole limit, or
   * removes it (`limit: null`). Wakes each name written that has a due job (`now` tells which).
   */
  setLimits?(entries: readonly JobLimitEntry[], now: number): Promise<void>;

  /** Feature `'limits'`: every stored limit (entries with a non-null `limit`), in any order. */
  getLimits?(): Promise<JobLimitEntry[]>;

  /**
   * Delete up to `limit` jobs in one of `states` (all finished) with `finishedAt < before`.
   * Returns how many were deleted; the core repeats while a full batch comes back.
   */
  removeFinished(states: readonly JobState[], before: number, limit: number): Promise<number>;

  /**
   * Optional wake-ups: call `listener(name)` whenever a job of `name` becomes due now in any
   * process (add, retry, release, immediate partial/fail retry). Best effort — the worker still
   * polls. Resolves once listening; the returned function stops it.
   */
  subscribe?(listener: (name: string) => void): Promise<() => Promise<void>>;

  /**
   * Optional: one round trip proving the backend can serve (see `SessionBackend.health`). Without
   * it, `JobQueue.health()` reads one probe id instead.
   */
  health?(): Promise<BackendHealth>;

  /** Release connections the adapter opened itself (never a client the user passed in). */
  close(): Promise<void>;
}
