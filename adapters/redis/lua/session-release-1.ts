import { luaScript } from '../script.js';

/**
 * Drop a lease if it is ours, and wake waiters (only while a failed acquire's marker lives).
 *
 * KEYS[1] record `<prefix>{<key>}`; its lease `…:lease` (value `<acquiredAt:15>:<token>`), waiter
 *   marker `…:w` and the release channel `<prefix>released` are derived (see session-commit), the
 *   message is the record key.
 * ARGV[1] token
 *
 * Returns 1 when released, 0 when it had lapsed or changed hands.
 */
export const sessionRelease = luaScript('session-release', 1, `
local lease = KEYS[1] .. ':lease'
if string.sub(redis.call('GET', lease) or '', 17) ~= ARGV[1] then return 0 end
redis.call('DEL', lease)
if redis.call('EXISTS', KEYS[1] .. ':w') == 1 then
  redis.call('PUBLISH', string.match(KEYS[1], '^[^{]*') .. 'released', KEYS[1])
end
return 1
`);
