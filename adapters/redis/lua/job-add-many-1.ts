import { luaScript } from '../script.js';
import { JOB_ADD_LIB } from './job-add-lib.js';
import { JOB_BASE } from './job-lib.js';

/** How many arguments one job takes in a job-add-many call. */
export const ADD_MANY_FIELDS = 11;

/**
 * Add a chunk of jobs in order, exactly as one job-add per job would (debounce, idempotent ids,
 * an id taken by an earlier job of the same call), in one script call.
 *
 * KEYS[1] every-job index `{<prefix>}all` (declares the queue's slot)
 * ARGV[1] key base; ARGV[2] now; then per job ADD_MANY_FIELDS (11) values: id, name, payload,
 * priority, runAt, maxAttempts, backoff, timeoutMs, retryUntil or '', group or '', debounce id or ''
 *
 * Returns one answer per job, as job-add answers.
 */
export const jobAddMany = luaScript('job-add-many', 1, `${JOB_BASE}${JOB_ADD_LIB}
local now = ARGV[2]
local out = {}
for i = 3, #ARGV, 11 do
  out[#out + 1] = addJob(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7],
    ARGV[i + 8], ARGV[i + 9], ARGV[i + 10], now)
end
return out
`);
