import { luaScript } from '../script.js';

/**
 * Take the lease (if free or already ours) and read the record, in one step. When someone else
 * holds it, mark the key as having waiters so that releases publish a wake-up for as long as any
 * waiter may still be waiting (the marker is only ever lengthened).
 *
 * KEYS[1] record `<prefix>{<key>}` (string `<expiresAt:15>:<version>:<json>`)
 * KEYS[2] lease `<prefix>{<key>}:lease` (value = holder's token)
 * KEYS[3] waiter marker `<prefix>{<key>}:w`
 * ARGV[1] token
 * ARGV[2] lease duration in ms
 * ARGV[3] how long the waiter marker outlives the current lease, in ms
 *
 * Returns the stored string (taken, with record), 0 (taken, no record) or `-leasePttl` (busy, < 0).
 */
export const sessionAcquire = luaScript('session-acquire', 3, `
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then
  local left = redis.call('PTTL', KEYS[2])
  if left < 1 then left = 1 end
  local mark = left + tonumber(ARGV[3])
  if redis.call('PTTL', KEYS[3]) < mark then redis.call('SET', KEYS[3], '1', 'PX', mark) end
  return -left
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return redis.call('GET', KEYS[1]) or 0
`);
