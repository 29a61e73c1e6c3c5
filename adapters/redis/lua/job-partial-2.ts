import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * End a run with part of its result: store the merged result and the missing parts, then run again
 * at `retryAt` (state `partial`), or, with a final error, finish as `failed` keeping the result.
 *
 * KEYS[1] job hash; KEYS[2] active set
 * ARGV[1] key base; ARGV[2] id; ARGV[3] token; ARGV[4] result; ARGV[5] missing;
 * ARGV[6] retryAt; ARGV[7] now; ARGV[8] final error (JSON text) or '' (retry)
 *
 * Returns 1, or 0 when the lease was lost (nothing written).
 */
export const jobPartial = luaScript('job-partial', 2, `${JOB_LIB}
local id, now = ARGV[2], ARGV[7]
local h = leased(id, ARGV[3])
if not h then return 0 end
local limited = endLease(id, h)
markStart(id, h, now)
redis.call('HSET', KEYS[1], 'r', ARGV[4], 'm', ARGV[5])
if ARGV[8] ~= '' then
  redis.call('HSET', KEYS[1], 'e', ARGV[8])
  finish(id, h, 'failed', now)
else
  requeue(id, h, 'partial', ARGV[6], now)
end
freed(h.n, h.g, limited, now)
return 1
`);
