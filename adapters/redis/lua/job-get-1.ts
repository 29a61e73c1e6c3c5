import { luaScript } from '../script.js';

/**
 * Read one job.
 *
 * KEYS[1] job hash `{<prefix>}j:<id>`
 * ARGV[1] key base (unused; every job script takes it first)
 *
 * Returns HGETALL of the job (empty when absent).
 */
export const jobGet = luaScript('job-get', 1, `return redis.call('HGETALL', KEYS[1])`);
