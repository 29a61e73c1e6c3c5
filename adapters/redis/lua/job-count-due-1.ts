import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Count the due jobs of some names, promoting due delayed jobs first (bounded) so they count.
 *
 * KEYS[1] later set `{<prefix>}d`
 * ARGV[1] key base; ARGV[2] now; ARGV[3..] job names
 *
 * Returns the count.
 */
export const jobCountDue = luaScript('job-count-due', 1, `${JOB_LIB}
promote(1000, ARGV[2])
local n = 0
for i = 3, #ARGV do n = n + dueCount(ARGV[i]) end
return n
`);
