import { luaScript } from '../script.js';

/**
 * Read one record with its remaining TTL, atomically.
 *
 * KEYS[1] record hash `<prefix>{<key>}` (fields `d` = JSON text, `v` = version)
 *
 * Returns nil when absent, else `{ data, version, pttl }` (pttl -1 = no expiry).
 */
export const sessionGet = luaScript('session-get', 1, `
local r = redis.call('HMGET', KEYS[1], 'd', 'v')
if not r[1] then return nil end
return { r[1], tonumber(r[2]) or 0, redis.call('PTTL', KEYS[1]) }
`);
