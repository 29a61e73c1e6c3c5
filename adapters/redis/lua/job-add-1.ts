import { luaScript } from '../script.js';
import { JOB_ADD_LIB } from './job-add-lib.js';
import { JOB_BASE } from './job-lib.js';

/**
 * Store a new job unless its id exists (idempotent add), indexing it and waking idle workers when
 * it is due now; with a debounce id, update the unstarted job created under it instead.
 *
 * KEYS[1] job hash `{<prefix>}j:<id>`
 * ARGV[1] key base `{<prefix>}`; ARGV[2] id; ARGV[3] name; ARGV[4] payload (JSON text)
 * ARGV[5] priority; ARGV[6] runAt; ARGV[7] maxAttempts; ARGV[8] backoff (JSON text)
 * ARGV[9] timeoutMs; ARGV[10] retryUntil or ''; ARGV[11] now; ARGV[12] group or '';
 * ARGV[13] debounce id or ''
 *
 * Returns `1` when created (the caller knows every field it wrote), `{ 0, row }` with the existing
 * job, or `{ 2, row }` with the job a debounced add replaced.
 */
export const jobAdd = luaScript('job-add', 1, `${JOB_BASE}${JOB_ADD_LIB}
return addJob(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[12], ARGV[13], ARGV[11])
`);
