import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Retention: delete up to `limit` finished jobs of the given states that finished before `before`,
 * with their index entries.
 *
 * KEYS[1] every-job index `{<prefix>}all`
 * ARGV[1] key base; ARGV[2] before; ARGV[3] limit; ARGV[4..] states
 *
 * Returns how many were deleted.
 */
export const jobRemoveFinished = luaScript('job-remove-finished', 1, `${JOB_LIB}
local left = tonumber(ARGV[3])
local removed = 0
for i = 4, #ARGV do
  if left <= 0 then break end
  local state = ARGV[i]
  local ids = redis.call('ZRANGEBYSCORE', T .. 'f:' .. state, '-inf', '(' .. ARGV[2], 'LIMIT', 0, left)
  for _, id in ipairs(ids) do
    local h = redis.call('HMGET', jkey(id), 'n', 'sq', 'dk')
    local m = imember(h[2], id)
    -- Forget a debounce key only when it still names this job.
    if h[3] and redis.call('HGET', T .. 'db', h[3]) == id then redis.call('HDEL', T .. 'db', h[3]) end
    redis.call('DEL', jkey(id))
    redis.call('ZREM', T .. 'f:' .. state, id)
    redis.call('ZREM', T .. 's:' .. state, m)
    redis.call('ZREM', KEYS[1], m)
    if h[1] then
      redis.call('ZREM', T .. 'n:' .. h[1], m)
      redis.call('HINCRBY', T .. 'c:' .. h[1], state, -1)
    end
  end
  removed = removed + #ids
  left = left - #ids
end
return removed
`);
