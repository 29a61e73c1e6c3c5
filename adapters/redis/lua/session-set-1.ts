import { luaScript } from '../script.js';

/**
 * Write a record, optionally as a compare-and-set on its version. The version is read with
 * GETRANGE from the header, so the old value is never copied whatever its size.
 *
 * KEYS[1] record `<prefix>{<key>}` (string `<expiresAt:15>:<version>:<json>`)
 * ARGV[1] data (JSON text)
 * ARGV[2] ttl in ms, or '' for no expiry (an earlier expiry is removed)
 * ARGV[3] expected version ('0' = must not exist), or '' for an unconditional write
 * ARGV[4] header start: expiresAt as 15 digits (all zeros = none) followed by ':'
 *
 * Returns the new version (> 0), or `-1 - actualVersion` (< 0) on a version mismatch: a plain
 * integer, because building a reply table costs the server more than the rest of the script's glue.
 */
export const sessionSet = luaScript('session-set', 1, `
local cur = tonumber(string.match(redis.call('GETRANGE', KEYS[1], 16, 40), '^%d+')) or 0
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= cur then return -1 - cur end
local v = cur + 1
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[1], ARGV[4] .. v .. ':' .. ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[4] .. v .. ':' .. ARGV[1])
end
return v
`);
