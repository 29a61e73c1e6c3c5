import { luaScript } from '../script.js';

/**
 * Read a record and its lease together, changing nothing (the dashboard's look at a session).
 *
 * KEYS[1] record `<prefix>{<key>}` (string `<expiresAt:15>:<version>:<json>`); its lease `…:lease`
 *   (value `<acquiredAt:15>:<token>`) is derived (same hash tag, same slot).
 *
 * Returns `{ record or false, lease value or false, lease PTTL in ms }` (false reaches the client as
 * null; PTTL is -2 without a lease).
 */
export const sessionInspect = luaScript('session-inspect', 1, `
local lease = KEYS[1] .. ':lease'
return { redis.call('GET', KEYS[1]) or false, redis.call('GET', lease) or false, redis.call('PTTL', lease) }
`);
