import { luaScript } from '../script.js';

/**
 * Write a record, optionally as a compare-and-set on its version.
 *
 * KEYS[1] record hash `<prefix>{<key>}`
 * ARGV[1] data (JSON text)
 * ARGV[2] ttl in ms, or '' for no expiry (an earlier expiry is removed)
 * ARGV[3] expected version ('0' = must not exist), or '' for an unconditional write
 *
 * Returns `{ 1, newVersion }` or `{ 0, actualVersion }` on a version mismatch.
 */
export const sessionSet = luaScript('session-set', 1, `
local cur = tonumber(redis.call('HGET', KEYS[1], 'v')) or 0
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= cur then return { 0, cur } end
local v = cur + 1
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'v', v)
if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) else redis.call('PERSIST', KEYS[1]) end
return { 1, v }
`);
