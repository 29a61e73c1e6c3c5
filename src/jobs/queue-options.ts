import { errorFields, type Logger } from '../logger.js';
import type { Telemetry } from '../telemetry.js';
import { intInRange, positiveMs } from '../internal/validate.js';
import { DEFAULT_BACKOFF, validateBackoff } from './backoff.js';
import { assertJobName } from './codec.js';
import type { JobFeature, JobLimit, JobLimitEntry } from './fleet-backend.js';
import { limitEntries } from './limits.js';
import { unsupported, type JobDefaults } from './new-job.js';
import type { Backoff, JobEventBus, JobHandlers } from './types.js';

/** How long finished jobs are kept before `removeFinished` deletes them, per state. */
export interface RetentionOptions {
  /** @default 86_400_000 (1 day) */
  completedMs?: number;
  /** @default 604_800_000 (7 days) */
  failedMs?: number;
  /** @default 86_400_000 (1 day) */
  cancelledMs?: number;
}

/** Options of {@link JobQueue}. */
export interface JobQueueOptions {
  /**
   * The handlers this app has. When given, `add` and `schedule` refuse unknown names with
   * `UnknownJobError`, and `Worker`/`runDue` use them when called without handlers.
   */
  handlers?: JobHandlers;
  /** Largest JSON payload accepted by `add`, in UTF-8 bytes. @default 262_144 (256 KiB) */
  maxPayloadBytes?: number;
  /** `timeoutMs` of jobs added without one. @default 30_000 */
  defaultTimeoutMs?: number;
  /** `attempts` of jobs added without one (and without `retryUntil`). @default 3 */
  defaultAttempts?: number;
  /** `backoff` of jobs added without one. @default exponential, 1 s doubling up to 1 h, 20 % jitter */
  defaultBackoff?: Backoff;
  /**
   * Lease of a running job, renewed by heartbeats every third of it. A crashed worker's job is
   * reclaimed (and retried with backoff) this long after its last heartbeat. @default 30_000
   */
  leaseMs?: number;
  /** How long finished jobs are kept. */
  retention?: RetentionOptions;
  /** Upper bound for any single backend call. @default 5_000 */
  operationTimeoutMs?: number;
  /** Clock in epoch ms; inject one in tests to move time without waiting. @default Date.now */
  now?: () => number;
  /** Random source in [0, 1) for backoff jitter. @default Math.random */
  random?: () => number;
  /** Receives `jobs.<name>.<state>` events on every state change this process makes (e.g. a SyncBus). */
  bus?: JobEventBus;
  /**
   * Where background errors go (bus failures, maintenance hiccups).
   * @default `logger.error`, else console.error
   */
  onError?: (error: unknown) => void;
  /**
   * Receives this queue's lines and those of its `Worker`s and `runDue` ticks: failed runs (`warn`
   * while retries are left, `error` once none are), partial runs, lost leases and lapsed leases
   * recovered (`warn`), jobs handed back at shutdown, worker start and stop, tick summaries
   * (`info`), and added and completed jobs (`debug`). Fields: `jobId`, `name`, `attempt`,
   * `durationMs`, `error: { code, message }`.
   * @default silent
   */
  logger?: Logger;
  /**
   * Spans `botwire.job.add` → `botwire.job.run` (the run continues the add's trace, even in another
   * process) with its `botwire.job.claim` and `botwire.job.complete`, and the counters
   * `botwire.job.outcomes` and `botwire.job.run_time`: pass `otelTelemetry()` from `botwire/otel`.
   * @default none
   */
  telemetry?: Telemetry;
  /**
   * Limits per job name, enforced fleet-wide when jobs are claimed: at most `concurrency` running
   * at once across all workers and instances, at most `rate.max` starts per sliding `rate.perMs`.
   * Stored in the backend, which every instance reads: they are written (replacing the stored
   * limit of each name given) when a `Worker` or `runDue` starts on this queue, and
   * `queue.setLimit()` changes them at run time. Held-back jobs wait (no attempt counted).
   *
   * @example
   * ```ts
   * const queue = redisJobQueue({ client, limits: { 'ai.image': { concurrency: 3 } } });
   * ```
   */
  limits?: Record<string, JobLimit>;
  /**
   * Fair shares for jobs added with `group` (e.g. the chat id): at most `concurrency` jobs of one
   * group run at a time fleet-wide, and claims rotate across groups (least recently served first).
   * Give every instance the same value.
   */
  groups?: {
    /** Most jobs of one group running at once. @default 1 */
    concurrency?: number;
  };
}

/**
 * A queue's options checked, with their defaults filled in: what `JobQueue` keeps of them.
 * @internal
 */
export interface QueueSettings {
  now: () => number;
  /** Random source for backoff jitter. */
  random: () => number;
  leaseMs: number;
  /** `operationTimeoutMs`. */
  timeoutMs: number;
  defaultBackoff: Backoff;
  retention: Required<RetentionOptions>;
  onError: (error: unknown) => void;
  limits: JobLimitEntry[];
  /** `groups.concurrency`, when the `groups` option is given. */
  groupConcurrency: number | undefined;
  /** Defaults of `add` (the backoff encoded once, not per add) and the backend's features. */
  defaults: JobDefaults;
}

/**
 * Check `options` (throwing `BotwireConfigError` for the first bad one, and for `limits`/`groups`
 * a backend without those `features` cannot honour) and fill in their defaults.
 * @internal
 */
export function resolveQueueOptions(options: JobQueueOptions, features: readonly JobFeature[]): QueueSettings {
  for (const name of Object.keys(options.handlers ?? {})) assertJobName(name);
  const leaseMs = positiveMs('leaseMs', options.leaseMs ?? 30_000);
  const timeoutMs = positiveMs('operationTimeoutMs', options.operationTimeoutMs ?? 5_000);
  const defaultBackoff = validateBackoff(options.defaultBackoff ?? DEFAULT_BACKOFF);
  const r = options.retention ?? {};
  const retention = {
    completedMs: positiveMs('retention.completedMs', r.completedMs ?? 86_400_000),
    failedMs: positiveMs('retention.failedMs', r.failedMs ?? 604_800_000),
    cancelledMs: positiveMs('retention.cancelledMs', r.cancelledMs ?? 86_400_000),
  };
  const { logger } = options;
  const onError = options.onError ?? (logger
    ? (e: unknown) => logger.error({ error: errorFields(e) }, 'botwire jobs: background error')
    : (e: unknown) => console.error('[botwire jobs]', e));
  const limits = limitEntries(options.limits);
  if (limits.length > 0 && !features.includes('limits')) throw unsupported('limits option');
  let groupConcurrency: number | undefined;
  if (options.groups !== undefined) {
    groupConcurrency = intInRange('groups.concurrency', options.groups?.concurrency ?? 1, 1, 1_000_000);
    if (!features.includes('groups')) throw unsupported('groups option');
  }
  const defaults: JobDefaults = {
    maxPayloadBytes: intInRange('maxPayloadBytes', options.maxPayloadBytes ?? 262_144, 1),
    timeoutMs: positiveMs('defaultTimeoutMs', options.defaultTimeoutMs ?? 30_000),
    attempts: intInRange('defaultAttempts', options.defaultAttempts ?? 3, 1),
    backoffText: JSON.stringify(defaultBackoff), groups: groupConcurrency !== undefined, features,
  };
  return {
    now: options.now ?? Date.now, random: options.random ?? Math.random, leaseMs, timeoutMs, defaultBackoff, retention, onError,
    limits, groupConcurrency, defaults,
  };
}
