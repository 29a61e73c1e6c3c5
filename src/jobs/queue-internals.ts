import type { Logger } from '../logger.js';
import type { Telemetry } from '../telemetry.js';
import type { ClaimArgs, JobBackend, JobState, StoredJob } from './backend.js';
import type { JobError } from './types.js';

/**
 * The public fields of a `JobQueue` that the helpers holding its method bodies read
 * (job-actions.ts, queue-maintenance.ts), named here so they need not import job-queue.ts.
 * @internal
 */
export interface QueueFields {
  readonly backend: JobBackend;
  readonly now: () => number;
  readonly leaseMs: number;
}

/**
 * What `Worker`, `runDue` and the runner use of a queue beyond its public API; reached through
 * `queueInternals` (job-queue.ts), never exported from the package.
 * @internal
 */
export interface QueueInternals {
  /** Run one backend call with the queue's time bound and error classification. */
  call<R>(operation: string, subject: string | undefined, run: () => Promise<R>): Promise<R>;
  /** Publish `jobs.<name>.<state>` to the bus, never letting the bus break the queue. */
  publish(raw: Pick<StoredJob, 'id' | 'name' | 'attempts'>, state: JobState, extra?: { missing?: string[]; error?: JobError }): void;
  /**
   * When to run next after a run of `raw` ended without success: epoch ms, or undefined when
   * attempts or the `retryUntil` deadline are exhausted.
   */
  retryAt(raw: StoredJob, now: number, delayMs?: number): number | undefined;
  /** Write `options.limits` once per queue object (again after a failure); resolves when written. */
  ensureLimits(): Promise<void>;
  /** The claim fields the queue's options add (`groupConcurrency`). */
  readonly claimExtras: Pick<ClaimArgs, 'groupConcurrency'>;
  /** The queue's `logger` option. */
  readonly logger: Logger | undefined;
  /** The queue's `telemetry` option. */
  readonly telemetry: Telemetry | undefined;
}
