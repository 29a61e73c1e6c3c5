import type { NewJob, StoredJob } from '../jobs/backend.js';

/**
 * The stored form of a job that `add` (or one job of `addMany`) just created from `job` at `now`:
 * what a backend answers without reading the row back. Built field by field: spreading `job` into
 * a new object cost ~4 µs per add, a tenth of the client's whole add on Redis.
 */
export function createdJob(job: NewJob, now: number): StoredJob {
  const stored: StoredJob = {
    id: job.id, name: job.name, state: job.runAt <= now ? 'waiting' : 'delayed', payload: job.payload, priority: job.priority,
    runAt: job.runAt, attempts: 0, maxAttempts: job.maxAttempts, backoff: job.backoff, timeoutMs: job.timeoutMs,
    retryUntil: job.retryUntil, progress: 0, createdAt: now, updatedAt: now,
  };
  if (job.group !== undefined) stored.group = job.group;
  return stored;
}
