import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Complete runs fenced by their lease tokens; a stale completion writes nothing. Takes several
 * jobs at once so concurrent completions share one round trip.
 *
 * KEYS[1] active set `{<prefix>}a`
 * ARGV[1] key base; ARGV[2] now; then triples ARGV[3+3i] id, ARGV[4+3i] token, ARGV[5+3i] result
 *
 * Returns one 1/0 per job (0: lease lost, nothing written).
 */
export const jobComplete = luaScript('job-complete', 1, `${JOB_LIB}
local now = ARGV[2]
local out = {}
for i = 3, #ARGV, 3 do
  local id = ARGV[i]
  local h = leased(id, ARGV[i + 1])
  if h then
    endLease(id)
    redis.call('HSET', jkey(id), 'r', ARGV[i + 2], 'pg', 100)
    redis.call('HDEL', jkey(id), 'm')
    finish(id, h, 'completed', now)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
`);
