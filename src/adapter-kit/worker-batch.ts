/**
 * The one extra primitive a job backend implements to get claim-ahead from `withClaimAhead`:
 * a long-running worker's batch — record the starts of begun runs, complete runs, and claim the
 * next jobs — in ONE round trip (one Lua script on Redis, one SQL function call on Postgres).
 *
 * @module
 */
import type { JobBackend, StoredJob } from '../jobs/backend.js';

/** The start of a run, to be written: the job's id, its stored token, and the start time (epoch ms). */
export interface StartMark {
  id: string;
  /** The lease token stored in the backend (never an alias). */
  token: string;
  /** When the handler began (epoch ms). */
  at: number;
}

/** One completion in a {@link WorkerBatch}, fenced by the token stored in the backend. */
export interface WorkerCompletion {
  id: string;
  token: string;
  /** JSON text of the result. */
  result: string;
}

/** The claim of a {@link WorkerBatch}: the arguments of `JobBackend.claim`, plus nothing else. */
export interface WorkerClaim {
  /** Only jobs with one of these names. Never empty. */
  names: readonly string[];
  /** At most this many jobs (≥ 1). */
  limit: number;
  /** Only jobs whose `timeoutMs <= maxTimeoutMs`. */
  maxTimeoutMs: number;
  /** Lease length: claimed jobs get `leaseUntil = now + leaseMs`. */
  leaseMs: number;
  /** Fencing token written to every claimed job. */
  token: string;
  /**
   * The worker's own claim (not a refill) carries its `ClaimArgs.waiter`: a backend may register
   * the worker as idle when fewer than `limit` jobs come back. Refills never carry it.
   */
  waiter?: string | undefined;
  /** As `ClaimArgs.groupConcurrency` (feature `'groups'`). */
  groupConcurrency?: number | undefined;
  /**
   * True for a refill: the jobs wait in the worker's memory before they start, so (feature
   * `'limits'`) the claim takes no job of a name that has a rate limit. False/absent for the
   * worker's own claim, whose jobs start at once.
   */
  ahead?: boolean | undefined;
}

/** One call of a long-running worker: see {@link WorkerBatchBackend.workerBatch}. */
export interface WorkerBatch {
  /** The clock of this call (epoch ms): `finishedAt` of the completions, `now` of the claim. */
  now: number;
  /**
   * Runs the worker began since its last call: record `startedAt = at` for each job still `active`
   * under `token` with no `startedAt` yet (else nothing).
   */
  started: readonly StartMark[];
  /**
   * Complete each job still `active` under `token` exactly as `JobBackend.complete` does, recording
   * `startedAt = now` too when the job has none.
   */
  completions: readonly WorkerCompletion[];
  /**
   * Then claim up to `claim.limit` jobs exactly as `JobBackend.claim` does (limits and groups
   * included, seeing the slots the completions freed), except that claimed jobs get no `startedAt`
   * (the worker writes it once their handler began, with a later batch). When the batch has
   * completions, at most as many jobs as completions were accepted. The wake-ups of the
   * completions (`fleet-backend.ts`) are decided after the claim.
   */
  claim: WorkerClaim | undefined;
}

/** The answer to a {@link WorkerBatch}. */
export interface WorkerBatchResult {
  /** One flag per completion, in the batch's order: 1 = completed, 0 = the lease was lost (nothing written). */
  flags: readonly number[];
  /** The jobs claimed, as updated (no `startedAt`); empty without a claim. */
  jobs: StoredJob[];
  /** The claim's hint, as `ClaimedJobs.heldBack` (features `'limits'`, `'groups'`). */
  heldBack?: boolean | undefined;
  /** The claim's hint, as `ClaimedJobs.retryAt` (feature `'limits'`). */
  retryAt?: number | undefined;
}

/**
 * A {@link JobBackend} with the primitives `withClaimAhead` builds on. Its own methods keep the
 * plain contract (real tokens, `startedAt` set at `claim`), so it also works unwrapped.
 */
export interface WorkerBatchBackend extends JobBackend {
  /** Record starts, complete, then claim — in this order, atomically per job, in ONE round trip. */
  workerBatch(batch: WorkerBatch): Promise<WorkerBatchResult>;
  /**
   * Hand back a job a {@link workerBatch} claimed that never started (a worker's buffer at
   * shutdown, or unasked for): while `active` under `token`, back to `waiting` uncounted —
   * `attempts - 1`, `runAt` kept (its place in line), lease cleared, `startedAt` left unset —
   * waking subscribers. False when the lease was lost. One round trip.
   */
  handBack(id: string, token: string, now: number): Promise<boolean>;
}
