/**
 * Web-standard HTTP endpoints for jobs: enqueue, status (ETag, Retry-After), result, retry, missing
 * parts, and a secret-protected, budgeted cron tick. Every job route asks your `authorize` (or runs
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
