import { luaScript } from '../script.js';

/**
 * Drop a lease if it is ours, and wake waiters (only while a failed acquire's marker lives).
 *
 * KEYS[1] lease `<prefix>{<key>}:lease`
 * KEYS[2] waiter marker `<prefix>{<key>}:w`
 * ARGV[1] token
 * ARGV[2] release channel; ARGV[3] message (the key)
 *
 * Returns 1 when released, 0 when it had lapsed or changed hands.
 */
export const sessionRelease = luaScript('session-release', 2, `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return 1
`);
