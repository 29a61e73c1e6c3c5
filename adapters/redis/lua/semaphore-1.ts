import { luaScript } from '../script.js';

/*
 * The fleet-wide semaphore (`SemaphoreBackend` of botwire/jobs): holders of one name in a zset
 * `<prefix>{<name>}` (member the holder's token, score its lease end on the caller's clock), so
 * dropping lapsed holders is one range removal and the first lease to lapse is the lowest score.
 * The key's TTL (server clock) only cleans up names nobody uses: it is never shortened and lasts a
 * minute beyond the longest lease written. A failed acquire marks `<key>:w` for a few seconds (a
 * waiter retries within 2 s and marks it again), and a release publishes the key on
 * `<prefix>released` only while that marker lives.
 */

const KEEP = `
local function keep(key, lease)
  local ttl = lease + 60000
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
`;

/**
 * KEYS[1] holders; ARGV[1] token; ARGV[2] limit; ARGV[3] leaseMs; ARGV[4] now.
 * Returns 0 (acquired or renewed) or retryInMs ≥ 1 (full).
 */
export const semaphoreAcquire = luaScript('semaphore-acquire', 1, `${KEEP}
local key, token = KEYS[1], ARGV[1]
local lease, now = tonumber(ARGV[3]), tonumber(ARGV[4])
if not redis.call('ZSCORE', key, token) then
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. ARGV[4])
  if redis.call('ZCARD', key) >= tonumber(ARGV[2]) then
    local first = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
    local wait = math.max(1, first + 1 - now)
    local mark = math.min(wait, 10000) + 2000
    if redis.call('PTTL', key .. ':w') < mark then redis.call('SET', key .. ':w', '1', 'PX', mark) end
    return wait
  end
end
redis.call('ZADD', key, now + lease, token)
keep(key, lease)
return 0
`);

/** KEYS[1] holders; ARGV[1] token; ARGV[2] leaseMs; ARGV[3] now. Returns 1, or 0 when not a holder. */
export const semaphoreExtend = luaScript('semaphore-extend', 1, `${KEEP}
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[2]), ARGV[1])
keep(KEYS[1], tonumber(ARGV[2]))
return 1
`);

/** KEYS[1] holders; ARGV[1] token. Returns 1 when it was a holder, else 0. */
export const semaphoreRelease = luaScript('semaphore-release', 1, `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[1] .. ':w') == 1 then
  redis.call('PUBLISH', string.match(KEYS[1], '^[^{]*') .. 'released', KEYS[1])
end
return 1
`);
