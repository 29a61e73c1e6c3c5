import { luaScript } from '../script.js';

/**
 * Delete a record, optionally only at an expected version.
 *
 * KEYS[1] record hash `<prefix>{<key>}`
 * ARGV[1] expected version, or '' for an unconditional delete
 *
 * Returns `{ 1, versionDeleted }` (0 = nothing was there) or `{ 0, actualVersion }` on mismatch.
 */
export const sessionDelete = luaScript('session-delete', 1, `
local cur = tonumber(redis.call('HGET', KEYS[1], 'v')) or 0
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= cur then return { 0, cur } end
if cur > 0 then redis.call('DEL', KEYS[1]) end
return { 1, cur }
`);
