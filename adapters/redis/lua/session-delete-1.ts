import { luaScript } from '../script.js';

/**
 * Delete a record, optionally only at an expected version.
 *
 * KEYS[1] record `<prefix>{<key>}` (string `<expiresAt:15>:<version>:<json>`)
 * ARGV[1] expected version, or '' for an unconditional delete
 *
 * Returns the version deleted (0 = nothing was there), or `-1 - actualVersion` (< 0) on mismatch.
 */
export const sessionDelete = luaScript('session-delete', 1, `
local cur = tonumber(string.match(redis.call('GETRANGE', KEYS[1], 16, 40), '^%d+')) or 0
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= cur then return -1 - cur end
if cur > 0 then redis.call('DEL', KEYS[1]) end
return cur
`);
