/**
 * Web-standard HTTP endpoints for jobs: enqueue, status (ETag, Retry-After), result, retry, missing
 * parts, and a secret-protected, budgeted cron tick; a `/health` route for load balancers, a
 * `/cron/cleanup` route, and Mini App (`initData`) authentication. Every job route asks your `authorize` (or runs
 * with an explicit `public: true`). Mount in any framework that speaks `Request`/`Response`; use
 * `botwire/http/node` for Express and `node:http`.
 *
 * @module botwire/http
 */
export {
  type JobsHttpOptions, type JobsHttpAction, type JobsHttpAuthorize, type JobsHttpSubject,
  type JobsHttpEnqueueSubject,
} from './jobs-options.js';
export { jobsHttpHandler } from './jobs-handler.js';
export { healthHandler, type HealthHandlerOptions, type HealthCheckView } from './health-handler.js';
export { cleanupHandler, type CleanupHandlerOptions, type CleanupTargets, type CleanupSummary } from './cleanup-handler.js';
export {
  initDataAuth, initDataJobsAuthorize, type InitDataAuthOptions, type InitDataJobsAuthorizeOptions,
} from './init-data-auth.js';
