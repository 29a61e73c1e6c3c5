import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Manual retry: a failed, cancelled, partial or delayed job becomes due now with its attempts
 * reset; result, missing parts and error are kept for the next run to see.
 *
 * KEYS[1] job hash
 * ARGV[1] key base; ARGV[2] id; ARGV[3] now
 *
 * Returns 1, or 0 when the job is absent or in another state.
 */
export const jobRetry = luaScript('job-retry', 1, `${JOB_LIB}
local id, now = ARGV[2], ARGV[3]
local h = load(id)
if not h then return 0 end
if h.s == 'failed' or h.s == 'cancelled' then
  redis.call('ZREM', T .. 'f:' .. h.s, id)
  if h.g then joinLane(h.g) end
elseif h.s == 'partial' or h.s == 'delayed' then
  unqueue(id, h)
else
  return 0
end
redis.call('HSET', KEYS[1], 'at', 0)
redis.call('HDEL', KEYS[1], 'fa')
requeue(id, h, 'waiting', now, now)
return 1
`);
