/**
 * The adapter kit: what every backend adapter needs, the same for botwire's own adapters (memory,
 * Redis, Postgres) and for yours. Edge-safe, like the core.
 *
 * - The core classes an adapter's factories wrap its backend in ({@link SessionStore},
 *   {@link JobQueue}, {@link RateLimitStore}, {@link createSyncBus}) and every error class:
 *   the same bindings as in `botwire` and `botwire/jobs`, re-exported so that an adapter module takes
 *   all its run-time values from here and only types from those two (see below).
 * - Bounded calls: {@link callBackend} (one shared timer for all calls in flight) and
 *   {@link classifyBackendError}, which turn timeouts and driver errors into `BackendUnavailableError`,
 *   `BackendForbiddenError` and `BackendSchemaError`. The core knows no driver: an adapter tells it
 *   what its driver's errors mean with `classifyError` on its backend ({@link BackendInfo}).
 * - Claim-ahead for job backends: {@link withClaimAhead} over a {@link WorkerBatchBackend}.
 * - Batching and waiting: {@link WriteBatcher}, {@link ReleaseWaiters}, {@link sleep}.
 * - Rules shared with the Lua/SQL versions: {@link decideHit} (rate-limit windows).
 * - Small helpers: {@link newToken}, {@link createdJob} (the job an `add` created, without a read
 *   back), {@link importPeer}, and the validators that refuse bad options
 *   with `BotwireConfigError` ({@link positiveMs}, {@link nonNegativeMs}, {@link intInRange}).
 *
 * An adapter imports only these modules: types (the backend contracts, option types) from
 * `botwire` and `botwire/jobs`, values from here. Built in one package with code splitting, as botwire's own adapters
 * are, a value import of `botwire` would make the adapter's entry reach every module of the core
 * (esbuild groups modules into chunks by the entries that reach them, whatever each uses), so
 * `botwire/redis` would load the Worker, SyncCache and the rest; this module reaches only what
 * adapters use. A separately published adapter may import either.
 *
 * @example
 * ```ts
 * import type { JobQueueOptions } from 'botwire/jobs';
 * import { JobQueue, withClaimAhead, type WorkerBatchBackend } from 'botwire/adapter-kit';
 *
 * class MyJobBackend implements WorkerBatchBackend { ... }
 * export const myJobQueue = (options: JobQueueOptions) => new JobQueue(withClaimAhead(new MyJobBackend()), options);
 * ```
 *
 * @module botwire/adapter-kit
 */
export {
  callBackend, classifyBackendError, errorKind, sleep, type BackendErrorKind, type BackendInfo,
} from './backend-call.js';
export { withClaimAhead, type ClaimAheadOptions } from './claim-ahead.js';
export { probeHealth, type BackendHealth, type HealthDetails, type HealthReport } from '../health.js';
export { START_MARK_MS } from './claim-ahead-buffer.js';
export type {
  StartMark, WorkerBatch, WorkerBatchBackend, WorkerBatchResult, WorkerClaim, WorkerCompletion,
} from './worker-batch.js';
export { WriteBatcher } from './write-batcher.js';
export { ReleaseWaiters } from './release-waiters.js';
export { importPeer } from './import-peer.js';
export { decideHit, type WindowCounter } from '../rate-limit/rate-limit-backend.js';
export { newToken } from '../internal/token.js';
export { createdJob } from './created-job.js';
export { MAX_DURATION_MS, intInRange, nonNegativeMs, positiveMs } from '../internal/validate.js';
export * from '../errors.js';
export { SessionStore } from '../session/session-store.js';
export { JobQueue } from '../jobs/job-queue.js';
export { RateLimitStore } from '../rate-limit/rate-limit-store.js';
export { createSyncBus } from '../sync/sync-bus.js';
