import { luaScript } from '../script.js';

/**
 * Slide a record's expiry without rewriting its data: PEXPIRE, then overwrite the fixed-width
 * expiry at the start of the header in place.
 *
 * KEYS[1] record `<prefix>{<key>}` (string `<expiresAt:15>:<version>:<json>`)
 * ARGV[1] ttl in ms
 * ARGV[2] new expiresAt as 15 digits
 *
 * Returns 1 when the record exists, else 0.
 */
export const sessionTouch = luaScript('session-touch', 1, `
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SETRANGE', KEYS[1], 0, ARGV[2])
return 1
`);
