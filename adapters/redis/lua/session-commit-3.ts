import { luaScript } from '../script.js';

/**
 * Fenced write + release (or keep) of a lease. The write happens only while the lease is ours, or
 * when it lapsed, nobody took it and the record is still at the version read at acquire.
 *
 * KEYS[1] record `<prefix>{<key>}` (string `<expiresAt:15>:<version>:<json>`)
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
 * ARGV[9] expiresAt as 15 digits (all zeros = none) followed by ':' (the new header's start)
 *
 * Returns the version (0 after a delete or when there is no record), or -1 when fenced off
 * (nothing written).
 */
export const sessionCommit = luaScript('session-commit', 3, `
local holder = redis.call('GET', KEYS[2])
local cur = tonumber(string.match(redis.call('GETRANGE', KEYS[1], 16, 40), '^%d+')) or 0
if holder then
  if holder ~= ARGV[1] then return -1 end
elseif cur ~= tonumber(ARGV[2]) then
  return -1
end
local v = cur
if ARGV[3] == 'set' then
  v = cur + 1
  if ARGV[5] ~= '' then
    redis.call('SET', KEYS[1], ARGV[9] .. v .. ':' .. ARGV[4], 'PX', ARGV[5])
  else
    redis.call('SET', KEYS[1], ARGV[9] .. v .. ':' .. ARGV[4])
  end
elseif ARGV[3] == 'delete' then
  redis.call('DEL', KEYS[1])
  v = 0
elseif ARGV[5] ~= '' and cur > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  redis.call('SETRANGE', KEYS[1], 0, string.sub(ARGV[9], 1, 15))
end
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[6])
else
  if holder then redis.call('DEL', KEYS[2]) end
  if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('PUBLISH', ARGV[7], ARGV[8]) end
end
return v
`);
