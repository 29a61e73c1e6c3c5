import { luaScript } from '../script.js';

/**
 * Slide a record's expiry without rewriting it.
 *
 * KEYS[1] record hash `<prefix>{<key>}`
 * ARGV[1] ttl in ms
 *
 * Returns 1 when the record exists, else 0.
 */
export const sessionTouch = luaScript('session-touch', 1, `
return redis.call('PEXPIRE', KEYS[1], ARGV[1])
`);
