import { luaScript } from '../script.js';

/**
 * Fenced write + release (or keep) of a lease. The write happens only while the lease is ours, or
 * when it lapsed, nobody took it and the record is still at the version read at acquire.
 *
 * KEYS[1] record hash `<prefix>{<key>}`
 * KEYS[2] lease `<prefix>{<key>}:lease`
 * KEYS[3] waiter marker `<prefix>{<key>}:w`
 * ARGV[1] token
 * ARGV[2] version read at acquire (0 = none)
 * ARGV[3] 'set' | 'delete' | 'none'
 * ARGV[4] data (JSON text) for 'set', else ''
 * ARGV[5] ttl in ms, or '' (for 'set': no expiry; for 'none': leave the expiry alone)
 * ARGV[6] keep the lease this many ms instead of releasing it, or ''
 * ARGV[7] release channel; ARGV[8] message (the key) published there while the waiter marker lives
 *   (it is kept, not deleted: waiters not woken by this release still need the next one)
 *
 * Returns `{ 1, version }` (0 after a delete) or `{ 0 }` when fenced off (nothing written).
 */
export const sessionCommit = luaScript('session-commit', 3, `
local holder = redis.call('GET', KEYS[2])
local cur = tonumber(redis.call('HGET', KEYS[1], 'v')) or 0
if holder then
  if holder ~= ARGV[1] then return { 0 } end
elseif cur ~= tonumber(ARGV[2]) then
  return { 0 }
end
local v = cur
if ARGV[3] == 'set' then
  v = cur + 1
  redis.call('HSET', KEYS[1], 'd', ARGV[4], 'v', v)
  if ARGV[5] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[5]) else redis.call('PERSIST', KEYS[1]) end
elseif ARGV[3] == 'delete' then
  redis.call('DEL', KEYS[1])
  v = 0
elseif ARGV[5] ~= '' and cur > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[6])
else
  if holder then redis.call('DEL', KEYS[2]) end
  if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('PUBLISH', ARGV[7], ARGV[8]) end
end
return { 1, v }
`);
