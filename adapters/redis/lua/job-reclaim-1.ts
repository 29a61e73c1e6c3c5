import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Take over up to `limit` active jobs whose lease lapsed (their worker died) under a new token, so
 * the core can record the lost run and retry or fail it. Attempts are unchanged.
 *
 * A job claimed ahead that its worker never started (no start time, `sa` = '') is not taken over:
 * it goes back to its place in line uncounted (attempts − 1, no error), at most 3 times per job
 * (`ar`), so a job that kills its worker before the start is written cannot loop for ever.
 *
 * KEYS[1] active set `{<prefix>}a`
 * ARGV[1] key base; ARGV[2] token; ARGV[3] leaseMs; ARGV[4] limit; ARGV[5] now
 *
 * Returns one row array per job taken over.
 */
export const jobReclaim = luaScript('job-reclaim', 1, `${JOB_LIB}
local now = tonumber(ARGV[5])
local leaseEnd = now + tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  local h = load(id)
  if h and h.s == 'active' then
    local returns = tonumber(redis.call('HGET', jkey(id), 'ar')) or 0
    if h.sa == '' and returns < 3 then
      endLease(id, h)
      local at = (tonumber(h.at) or 1) - 1
      if at < 0 then at = 0 end
      redis.call('HSET', jkey(id), 'at', at, 'ar', returns + 1)
      local runAt = h.ra
      if not tonumber(runAt) or tonumber(runAt) > now then runAt = ARGV[5] end
      requeue(id, h, 'waiting', runAt, ARGV[5])
    else
      redis.call('HSET', jkey(id), 'lt', ARGV[2], 'lu', leaseEnd, 'ua', now)
      redis.call('ZADD', KEYS[1], leaseEnd, id)
      redis.call('ZADD', T .. 'an:' .. h.n, 'XX', leaseEnd, id)
      if h.g then redis.call('ZADD', T .. 'ga:' .. h.g, 'XX', leaseEnd, id) end
      out[#out + 1] = row(id)
    end
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
`);
