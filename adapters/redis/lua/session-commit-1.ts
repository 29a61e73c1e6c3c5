import { luaScript } from '../script.js';

/**
 * Fenced write + release (or keep) of a lease. The write happens only while the lease is ours, or
 * when it lapsed, nobody took it and the record is still at the version read at acquire.
 *
 * KEYS[1] record `<prefix>{<key>}` (string `<expiresAt:15>:<version>:<json>`); the lease `…:lease`
 *   and waiter marker `…:w` are derived (same hash tag, same slot), and so is the release channel
 *   `<prefix>released`, on which the record key is published while the waiter marker lives (it is
 *   kept, not deleted: waiters not woken by this release still need the next one).
 * ARGV[1] `<token> <version read at acquire, 0 = none> <set|delete|none> <ttl ms|-> <keep lease ms|-> <expiresAt:15>:`
 *   (one argument instead of six: every argument costs the client a conversion and a length
 *   prefix, and a merged batch carries dozens of calls). ttl `-`: for 'set' no expiry, for 'none'
 *   leave the expiry alone. keep `-`: release the lease; else `<ms>,<now:15>`, the time starting
 *   the lease value (`<acquiredAt:15>:<token>`) when the lease had lapsed and is taken anew. The
 *   expiry header starts the new value.
 * ARGV[2] data (JSON text) for 'set', else ''
 *
 * Returns the version (0 after a delete or when there is no record), or -1 when fenced off
 * (nothing written).
 */
export const sessionCommit = luaScript('session-commit', 1, `
local token, read, kind, ttl, keep, header = string.match(ARGV[1], '^(%S+) (%d+) (%a+) (%S+) (%S+) (%d+:)$')
local lease, marker = KEYS[1] .. ':lease', KEYS[1] .. ':w'
local holder = redis.call('GET', lease)
local cur = tonumber(string.match(redis.call('GETRANGE', KEYS[1], 16, 40), '^%d+')) or 0
if holder then
  if string.sub(holder, 17) ~= token then return -1 end
elseif cur ~= tonumber(read) then
  return -1
end
local v = cur
if kind == 'set' then
  v = cur + 1
  if ttl ~= '-' then
    redis.call('SET', KEYS[1], header .. v .. ':' .. ARGV[2], 'PX', ttl)
  else
    redis.call('SET', KEYS[1], header .. v .. ':' .. ARGV[2])
  end
elseif kind == 'delete' then
  redis.call('DEL', KEYS[1])
  v = 0
elseif ttl ~= '-' and cur > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('SETRANGE', KEYS[1], 0, string.sub(header, 1, 15))
end
if keep ~= '-' then
  local ms, now = string.match(keep, '^(%d+),(%d+)$')
  if holder then
    redis.call('PEXPIRE', lease, ms)
  else
    redis.call('SET', lease, now .. ':' .. token, 'PX', ms)
  end
else
  if holder then redis.call('DEL', lease) end
  if redis.call('EXISTS', marker) == 1 then redis.call('PUBLISH', string.match(KEYS[1], '^[^{]*') .. 'released', KEYS[1]) end
end
return v
`);
