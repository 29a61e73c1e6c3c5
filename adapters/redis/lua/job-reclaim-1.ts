import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Take over up to `limit` active jobs whose lease lapsed (their worker died) under a new token, so
 * the core can record the lost run and retry or fail it. Attempts are unchanged.
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
  if redis.call('HGET', jkey(id), 's') == 'active' then
    redis.call('HSET', jkey(id), 'lt', ARGV[2], 'lu', leaseEnd, 'ua', now)
    redis.call('ZADD', KEYS[1], leaseEnd, id)
    out[#out + 1] = row(id)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
`);
