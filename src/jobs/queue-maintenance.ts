import { newToken } from '../internal/token.js';
import { batchSize, positiveMs } from '../internal/validate.js';
import { errorText } from './attempt-errors.js';
import type { JobState } from './backend.js';
import type { QueueFields, QueueInternals } from './queue-internals.js';
import { reportLapsed } from './job-telemetry.js';
import type { JobDefaults } from './new-job.js';
import type { RetentionOptions } from './queue-options.js';
import { dueSlots, slotId, type ScheduleEntry } from './schedule.js';
import type { JobError } from './types.js';

// The housekeeping `JobQueue.maintain` runs for workers and ticks: the bodies of `reclaimLapsed`,
// `removeFinished` and `enqueueScheduled`, kept out of job-queue.ts so it holds the queue's API.

/** Default `batchSize` of `removeFinished`. */
const REMOVE_BATCH = 500;

/**
 * Recover up to `limit` jobs whose lease lapsed: each counts as a failed attempt and is retried
 * with backoff, or fails for good. Returns how many were recovered.
 * @internal
 */
export async function reclaimLapsedJobs(queue: QueueFields, q: QueueInternals, limit: number): Promise<number> {
  const token = newToken();
  const now = queue.now();
  const lapsed = await q.call('reclaim', undefined, () => queue.backend.reclaim(token, queue.leaseMs, limit, now));
  for (const raw of lapsed) {
    const error: JobError = {
      name: 'JobLeaseLapsedError',
      message: `The worker running attempt ${raw.attempts} stopped renewing its lease (crashed or blocked); the run was abandoned.`,
    };
    const at = q.retryAt(raw, now);
    const ok = await q.call('fail', raw.id, () => queue.backend.fail(raw.id, token, errorText(raw, error, now), at, now));
    if (ok) q.publish(raw, at === undefined ? 'failed' : at <= now ? 'waiting' : 'delayed', { error });
    if (ok && (q.logger || q.telemetry)) reportLapsed(q.logger, q.telemetry, raw, error, at);
  }
  return lapsed.length;
}

/**
 * Delete finished jobs older than `retention`, in batches until none are left or `budgetMs` has
 * passed. Returns how many were removed.
 * @internal
 */
export async function removeFinishedJobs(
  queue: QueueFields, q: QueueInternals, retention: Required<RetentionOptions>, options: { batchSize?: number; budgetMs?: number },
): Promise<number> {
  const batch = batchSize(options.batchSize, REMOVE_BATCH);
  const until = options.budgetMs === undefined ? Infinity : Date.now() + positiveMs('budgetMs', options.budgetMs);
  const now = queue.now();
  const rules: Array<[JobState, number]> = [
    ['completed', retention.completedMs], ['failed', retention.failedMs], ['cancelled', retention.cancelledMs],
  ];
  let total = 0;
  for (const [state, ttl] of rules) {
    for (;;) {
      const n = await q.call('removeFinished', undefined, () => queue.backend.removeFinished([state], now - ttl, batch));
      total += n;
      if (Date.now() >= until) return total;
      if (n < batch) break;
    }
  }
  return total;
}

/**
 * Add the jobs of the due (and upcoming) slots of `entries`, each under its slot's id so every
 * instance adding it makes one job. Returns how many were newly created.
 * @internal
 */
export async function enqueueScheduleSlots(
  queue: QueueFields, q: QueueInternals, entries: Iterable<ScheduleEntry>, defaults: JobDefaults,
): Promise<number> {
  let created = 0;
  const now = queue.now();
  for (const entry of entries) {
    for (const slot of dueSlots(entry, now)) {
      const id = slotId(entry, slot);
      const res = await q.call('add', id, () => queue.backend.add({
        id, name: entry.name, payload: entry.payload, priority: 0, runAt: slot, maxAttempts: defaults.attempts,
        backoff: defaults.backoffText, timeoutMs: defaults.timeoutMs,
      }, now));
      if (res.created) { created++; q.publish(res.job, res.job.state); }
    }
  }
  return created;
}
