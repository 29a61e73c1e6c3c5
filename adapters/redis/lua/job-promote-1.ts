import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Move up to `limit` jobs whose time has come from the later set into their due sets.
 *
 * KEYS[1] later set `{<prefix>}d`
 * ARGV[1] key base; ARGV[2] limit; ARGV[3] now
 *
 * Returns how many moved.
 */
export const jobPromote = luaScript('job-promote', 1, `${JOB_LIB}
return promote(tonumber(ARGV[2]), ARGV[3])
`);
