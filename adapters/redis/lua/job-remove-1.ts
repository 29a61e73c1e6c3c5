import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Delete one job that is not active, with every entry that names it: its due/later/finished set,
 * its group lane (the lane ends with its group's last unfinished job), the state, name and
 * every-job indexes, its per-name count and its debounce key (when that still names it). An active
 * job is left to its worker.
 *
 * KEYS[1] job hash
 * ARGV[1] key base; ARGV[2] id
 *
 * Returns 1, or 0 when the job is absent or active.
 */
export const jobRemove = luaScript('job-remove', 1, `${JOB_LIB}
local id = ARGV[2]
local h = load(id)
if not h or h.s == 'active' then return 0 end
if h.s == 'completed' or h.s == 'failed' or h.s == 'cancelled' then
  redis.call('ZREM', T .. 'f:' .. h.s, id)
else
  unqueue(id, h)
  if h.g then leaveLane(h.g) end
end
local dk = redis.call('HGET', KEYS[1], 'dk')
if dk and redis.call('HGET', T .. 'db', dk) == id then redis.call('HDEL', T .. 'db', dk) end
local m = imember(h.sq, id)
redis.call('ZREM', T .. 's:' .. h.s, m)
redis.call('ZREM', T .. 'n:' .. h.n, m)
redis.call('ZREM', T .. 'all', m)
redis.call('HINCRBY', T .. 'c:' .. h.n, h.s, -1)
redis.call('DEL', KEYS[1])
return 1
`);
