import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Hand a claimed job back uncounted (claimed but not started, or interrupted by shutdown): due now,
 * one attempt fewer.
 *
 * KEYS[1] job hash; KEYS[2] active set
 * ARGV[1] key base; ARGV[2] id; ARGV[3] token; ARGV[4] now;
 * ARGV[5] 'keep' to keep runAt (a job claimed ahead goes back to its place in line), else ''
 *
 * Returns 1, or 0 when the lease was lost.
 */
export const jobRelease = luaScript('job-release', 2, `${JOB_LIB}
local id, now = ARGV[2], ARGV[4]
local h = leased(id, ARGV[3])
if not h then return 0 end
local limited = endLease(id, h)
local at = (tonumber(h.at) or 1) - 1
if at < 0 then at = 0 end
redis.call('HSET', KEYS[1], 'at', at)
local runAt = now
if ARGV[5] == 'keep' then runAt = h.ra end
requeue(id, h, 'waiting', runAt, now)
freed(h.n, h.g, limited, now)
return 1
`);
