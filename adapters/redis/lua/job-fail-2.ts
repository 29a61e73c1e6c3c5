import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * End a run with an error: retry at `retryAt` (`waiting` when already due, else `delayed`) or,
 * without `retryAt`, fail for good. Results of earlier partial runs are kept.
 *
 * KEYS[1] job hash; KEYS[2] active set
 * ARGV[1] key base; ARGV[2] id; ARGV[3] token; ARGV[4] error (JSON text); ARGV[5] retryAt or '';
 * ARGV[6] now
 *
 * Returns 1, or 0 when the lease was lost (nothing written).
 */
export const jobFail = luaScript('job-fail', 2, `${JOB_LIB}
local id, now, retryAt = ARGV[2], ARGV[6], ARGV[5]
local h = leased(id, ARGV[3])
if not h then return 0 end
local limited = endLease(id, h)
markStart(id, h, now)
redis.call('HSET', KEYS[1], 'e', ARGV[4])
if retryAt == '' then
  finish(id, h, 'failed', now)
elseif tonumber(retryAt) <= tonumber(now) then
  requeue(id, h, 'waiting', retryAt, now)
else
  requeue(id, h, 'delayed', retryAt, now)
end
freed(h.n, h.g, limited, now)
return 1
`);
