/**
 * Durable jobs: `JobQueue` (add/get/retry/cancel/list/schedule), `Worker` (long-running) and
 * `runDue` (budgeted cron tick), over any {@link JobBackend}. A subpath of its own, so bots that
 * only keep sessions or sync events load none of it.
 *
 * @example
 * ```ts
 * import { Worker, runDue } from 'botwire/jobs';
 * import { redisJobQueue } from 'botwire/redis';
 * ```
 *
 * @module botwire/jobs
 */
export type {
  JobBackend, JobState, StoredJob, NewJob, ClaimArgs, ClaimedJobs, AddResult, ListArgs, ListPage, ProgressUpdate,
} from './backend.js';
export type { JobCounts, JobFeature, JobLimit, JobLimitEntry } from './fleet-backend.js';
export { RUNNABLE_STATES, FINISHED_STATES } from './backend.js';
export type {
  AddManyResult, AddOptions, Backoff, BulkJob, Job, JobAttemptError, JobContext, JobError, JobEvent, JobEventBus, JobHandler, JobHandlers, JobPage,
  ListOptions, PartialOptions, TickSummary,
} from './types.js';
export { JobQueue, type JobQueueOptions, type RetentionOptions } from './job-queue.js';
export { Worker, type WorkerOptions, type StopOptions } from './worker.js';
export { runDue, type RunDueOptions } from './run-due.js';
export type { RunOutcome } from './run-job.js';
export { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export type { ScheduleInfo, ScheduleOptions } from './schedule.js';
export { MAX_JOB_ID_LENGTH, MAX_JOB_NAME_LENGTH } from './codec.js';
export { semaphore, type Semaphore, type SemaphoreOptions, type SemaphoreAcquireOptions, type SemaphorePermit } from './semaphore.js';
export type { SemaphoreBackend, SemaphoreAttempt } from './semaphore-backend.js';
