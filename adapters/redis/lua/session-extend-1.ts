import { luaScript } from '../script.js';

/**
 * Push a lease's expiry out, only while it is still ours.
 *
 * KEYS[1] lease `<prefix>{<key>}:lease` (value `<acquiredAt:15>:<token>`)
 * ARGV[1] token
 * ARGV[2] new duration from now, in ms
 *
 * Returns 1 when extended, 0 when the lease lapsed or changed hands.
 */
export const sessionExtend = luaScript('session-extend', 1, `
if string.sub(redis.call('GET', KEYS[1]) or '', 17) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`);
