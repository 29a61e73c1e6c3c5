import { luaScript } from '../script.js';
import { JOB_CLAIM_LIB } from './job-claim-lib.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Complete runs fenced by their lease tokens (a stale completion writes nothing), several at once
 * so concurrent completions share one round trip; then, for a long-running worker, claim up to
 * `prefetch` jobs to replace them, saving the worker's next claim round trip.
 *
 * KEYS[1] active set `{<prefix>}a`
 * ARGV[1] key base; ARGV[2] now; ARGV[3] prefetch limit (0 = none); ARGV[4] leaseMs;
 * ARGV[5] maxTimeoutMs; ARGV[6] token for prefetched jobs; ARGV[7] number of names (k);
 * ARGV[8 .. 7+k] job names; then triples: id, token, result (JSON text)
 *
 * Returns `{ { 1|0 per completion }, { HGETALL per prefetched job } }`. The prefetch claims at
 * most as many jobs as completions succeeded.
 */
export const jobComplete = luaScript('job-complete', 1, `${JOB_LIB}${JOB_CLAIM_LIB}
local now = tonumber(ARGV[2])
local k = tonumber(ARGV[7])
local names = {}
for i = 8, 7 + k do names[#names + 1] = ARGV[i] end
local flags, ok = {}, 0
for i = 8 + k, #ARGV, 3 do
  local id = ARGV[i]
  local h = leased(id, ARGV[i + 1])
  if h then
    endLease(id)
    redis.call('HSET', jkey(id), 'r', ARGV[i + 2], 'pg', 100)
    redis.call('HDEL', jkey(id), 'm')
    finish(id, h, 'completed', now)
    flags[#flags + 1] = 1
    ok = ok + 1
  else
    flags[#flags + 1] = 0
  end
end
local prefetch = math.min(tonumber(ARGV[3]), ok)
return { flags, claimJobs(names, prefetch, tonumber(ARGV[5]), ARGV[6], now + tonumber(ARGV[4]), now) }
`);
