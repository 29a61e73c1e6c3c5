import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Renew a lease (and record progress) while the token still holds it. The token fences, not the
 * clock: a lapsed lease nobody took over is still renewed. A job claimed ahead is running once it
 * beats: its start is recorded if it was not yet.
 *
 * KEYS[1] job hash; KEYS[2] active set
 * ARGV[1] key base; ARGV[2] id; ARGV[3] token; ARGV[4] leaseMs; ARGV[5] now;
 * ARGV[6] progress pct or '' (no progress update); ARGV[7] progress message or '' (none)
 *
 * Returns 1, or 0 when the lease was lost.
 */
export const jobHeartbeat = luaScript('job-heartbeat', 2, `${JOB_LIB}
local id = ARGV[2]
local h = leased(id, ARGV[3])
if not h then return 0 end
local leaseEnd = tonumber(ARGV[5]) + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'lu', leaseEnd, 'ua', ARGV[5])
markStart(id, h, ARGV[5])
redis.call('ZADD', KEYS[2], leaseEnd, id)
redis.call('ZADD', T .. 'an:' .. h.n, 'XX', leaseEnd, id)
if h.g then redis.call('ZADD', T .. 'ga:' .. h.g, 'XX', leaseEnd, id) end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'pg', ARGV[6])
  if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'pm', ARGV[7]) else redis.call('HDEL', KEYS[1], 'pm') end
end
return 1
`);
