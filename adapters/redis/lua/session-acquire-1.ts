import { luaScript } from '../script.js';

/**
 * Take the lease (if free or already ours) and read the record, in one step. When someone else
 * holds it, mark the key as having waiters so that releases publish a wake-up for as long as any
 * waiter may still be waiting (the marker is only ever lengthened).
 *
 * KEYS[1] record `<prefix>{<key>}` (string `<expiresAt:15>:<version>:<json>`). Its lease
 *   `…:lease` (value `<acquiredAt:15>:<token>`, see session-record.ts) and waiter marker `…:w` are
 *   derived here: they carry the same hash tag, so they live in the same Cluster slot, and one
 *   declared key per call keeps the command (and its batched form) small.
 * ARGV[1] the lease value `<now:15>:<token>` (the time is kept while the token holds on)
 * ARGV[2] lease duration in ms
 *
 * Returns the stored string (taken, with record), 0 (taken, no record) or `-leasePttl` (busy, < 0).
 */
export const sessionAcquire = luaScript('session-acquire', 1, `
local lease, marker = KEYS[1] .. ':lease', KEYS[1] .. ':w'
-- The usual case (nobody holds it) costs one command: SET NX.
if not redis.call('SET', lease, ARGV[1], 'NX', 'PX', ARGV[2]) then
  -- Tokens compare from byte 17, past the acquisition time.
  if string.sub(redis.call('GET', lease) or '', 17) ~= string.sub(ARGV[1], 17) then
    local left = redis.call('PTTL', lease)
    if left < 1 then left = 1 end
    -- the marker outlives the lease by a second: long enough for the waiter's retry
    local mark = left + 1000
    if redis.call('PTTL', marker) < mark then redis.call('SET', marker, '1', 'PX', mark) end
    return -left
  end
  -- Already ours: it runs ARGV[2] ms from now, with its first acquisition time.
  redis.call('PEXPIRE', lease, ARGV[2])
end
return redis.call('GET', KEYS[1]) or 0
`);
