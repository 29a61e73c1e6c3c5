import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * How many jobs are in each state (fleet feature `'counts'`): of one name from its counters
 * (`T c:<name>`), of all from the sizes of the state indexes (`T s:<state>`). Delayed jobs whose
 * time has come are promoted first (a range of the later set only), so they count as waiting.
 *
 * KEYS[1] later set `{<prefix>}d`
 * ARGV[1] key base; ARGV[2] now; ARGV[3] name or '' (all)
 *
 * Returns the counts of waiting, delayed, active, partial, completed, failed, cancelled, in order.
 */
export const jobCounts = luaScript('job-counts', 1, `${JOB_LIB}
while promote(1000, ARGV[2]) == 1000 do end
local states = { 'waiting', 'delayed', 'active', 'partial', 'completed', 'failed', 'cancelled' }
if ARGV[3] ~= '' then return redis.call('HMGET', T .. 'c:' .. ARGV[3], unpack(states)) end
local out = {}
for i, s in ipairs(states) do out[i] = redis.call('ZCARD', T .. 's:' .. s) end
return out
`);
