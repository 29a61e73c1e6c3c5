import { luaScript } from '../script.js';
import { JOB_ROW_ARGS } from './job-lib.js';

/**
 * Read one job.
 *
 * KEYS[1] job hash `{<prefix>}j:<id>`
 * ARGV[1] key base (unused; every job script takes it first)
 *
 * Returns the job's row (see JOB_ROW_FIELDS; every value nil when absent).
 */
export const jobGet = luaScript('job-get', 1, `return redis.call('HMGET', KEYS[1], ${JOB_ROW_ARGS})`);
