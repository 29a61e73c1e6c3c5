import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Cancel a job that has not finished. Clearing the lease fences off a worker still running it: its
 * heartbeat and completion are rejected.
 *
 * KEYS[1] job hash
 * ARGV[1] key base; ARGV[2] id; ARGV[3] now
 *
 * Returns 1, or 0 when the job is absent or already finished.
 */
export const jobCancel = luaScript('job-cancel', 1, `${JOB_LIB}
local id, now = ARGV[2], ARGV[3]
local h = load(id)
if not h or h.s == 'completed' or h.s == 'failed' or h.s == 'cancelled' then return 0 end
local limited = unqueue(id, h)
redis.call('HDEL', KEYS[1], 'lt', 'lu')
finish(id, h, 'cancelled', now)
if h.s == 'active' then freed(h.n, h.g, limited, now) end
return 1
`);
