import { luaScript } from '../script.js';

/**
 * Every stored limit per job name (fleet feature `'limits'`), as job-set-limits wrote them.
 *
 * KEYS[1] limits hash `{<prefix>}lim`
 * ARGV[1] key base (unused: every job script takes it)
 *
 * Returns HGETALL: name, limit text, name, limit text, …
 */
export const jobGetLimits = luaScript('job-get-limits', 1, `return redis.call('HGETALL', KEYS[1])`);
