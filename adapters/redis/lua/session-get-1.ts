import { luaScript } from '../script.js';

/**
 * Read one record's stored string. Only used for clients that offer no `get` method: with ioredis
 * a read is a plain `GET`, which costs the server a fraction of a script call.
 *
 * KEYS[1] record `<prefix>{<key>}` (string `<expiresAt:15>:<version>:<json>`)
 *
 * Returns the stored string, or nil when absent.
 */
export const sessionGet = luaScript('session-get', 1, `
return redis.call('GET', KEYS[1])
`);
