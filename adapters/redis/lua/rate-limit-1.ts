/**
 * rate-limit-1: count one hit in the current window unless the limit is reached (fixed or sliding
 * two-counter window), on the server's clock so every instance shares the same windows.
 *
 * KEYS[1]  counter hash `<prefix>{<key>}`: w = window number, c = hits in window w, p = hits in w-1
 * ARGV[1]  limit (integer >= 1)
 * ARGV[2]  window length in ms (integer >= 1)
 * ARGV[3]  '1' = sliding, '0' = fixed
 * Returns  { allowed (1/0), count, resetMs }; denied hits are not counted.
 */
export const RATE_LIMIT_1 = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local win = tonumber(ARGV[2])
local w = math.floor(now / win)
local st = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')
local sw = tonumber(st[1])
local cur, prev = 0, 0
if sw == w then
  cur = tonumber(st[2]) or 0
  prev = tonumber(st[3]) or 0
elseif sw == w - 1 then
  prev = tonumber(st[2]) or 0
end
local elapsed = now - w * win
local est = cur
if ARGV[3] == '1' then est = math.floor(prev * (win - elapsed) / win) + cur end
local reset = win - elapsed
if est >= limit then return {0, est, reset} end
redis.call('HSET', KEYS[1], 'w', string.format('%d', w), 'c', cur + 1, 'p', prev)
redis.call('PEXPIRE', KEYS[1], win * 2)
return {1, est + 1, reset}
`;
