/**
 * Web-standard HTTP endpoints for jobs: start, status (ETag, Retry-After), result, retry, missing
 * parts, and a secret-protected, budgeted cron tick. Mount in any framework that speaks
 * `Request`/`Response`; use `botwire/http/node` for Express and `node:http`.
 *
 * @module botwire/http
 */
export { jobsHttpHandler, type JobsHttpOptions, type JobsHttpAction } from './jobs-handler.js';
