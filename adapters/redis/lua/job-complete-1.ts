import { luaScript } from '../script.js';
import { JOB_CLAIM_LIB } from './job-claim-lib.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Complete runs fenced by their lease tokens (a stale completion writes nothing), several at once
 * so concurrent completions share one round trip; then, for a long-running worker, claim up to
 * `prefetch` jobs to replace them (ahead: without a start time), saving the worker's next claim
 * round trip. First it records the starts of the runs the worker began since its last call (jobs
 * still active under that token, no start yet), so a lapse of their lease now counts. Last, the
 * wake-ups of freed limit and group slots (after the claim, which may have filled them).
 *
 * KEYS[1] active set `{<prefix>}a`
 * ARGV[1] key base; ARGV[2] now; ARGV[3] prefetch limit (0 = none); ARGV[4] leaseMs;
 * ARGV[5] maxTimeoutMs; ARGV[6] token for prefetched jobs; ARGV[7] groupConcurrency or '';
 * ARGV[8] 'ahead' for a refill (no rate-limited names) or ''; ARGV[9] number of names (k);
 * ARGV[10 .. 9+k] job names; ARGV[10+k] number of starts (s); then s triples: id, token, startedAt;
 * then triples: id, token, result (JSON text)
 *
 * Returns `{ { 1|0 per completion }, { row per prefetched job }, heldBack (1|0), retryAt or '' }`
 * (rows: see JOB_ROW_FIELDS). With completions, the prefetch claims at most as many jobs as
 * completions succeeded; without, this is a subscribed worker's own claim (jobs without a start
 * time, like those claimed ahead).
 */
export const jobComplete = luaScript('job-complete', 1, `${JOB_LIB}${JOB_CLAIM_LIB}
local now = tonumber(ARGV[2])
local k = tonumber(ARGV[9])
local names = {}
for i = 10, 9 + k do names[#names + 1] = ARGV[i] end
local first = 11 + k + 3 * tonumber(ARGV[10 + k])
for i = 11 + k, first - 1, 3 do
  local key = jkey(ARGV[i])
  local h = redis.call('HMGET', key, 'lt', 'sa')
  if h[1] == ARGV[i + 1] and h[2] == '' then redis.call('HSET', key, 'sa', ARGV[i + 2]) end
end
local flags, ok = {}, 0
-- The index changes of all completions go out as one command per key (per name: active set of a
-- limited name, counters).
local leases, active, states, finished, byName, groups = {}, {}, {}, {}, {}, nil
for i = first, #ARGV, 3 do
  local id = ARGV[i]
  local key = jkey(id)
  local h = redis.call('HMGET', key, 's', 'lt', 'sq', 'ca', 'sa', 'n', 'g')
  if h[1] == 'active' and h[2] == ARGV[i + 1] then
    local m = imember(h[3], id)
    redis.call('HDEL', key, 'lt', 'lu', 'm')
    if h[5] == '' then
      redis.call('HSET', key, 'r', ARGV[i + 2], 'pg', 100, 's', 'completed', 'fa', now, 'ua', now, 'sa', now)
    else
      redis.call('HSET', key, 'r', ARGV[i + 2], 'pg', 100, 's', 'completed', 'fa', now, 'ua', now)
    end
    leases[#leases + 1] = id
    active[#active + 1] = m
    states[#states + 1] = h[4]
    states[#states + 1] = m
    finished[#finished + 1] = now
    finished[#finished + 1] = id
    local l = byName[h[6]]
    if not l then l = {} byName[h[6]] = l end
    l[#l + 1] = id
    if h[7] then
      groups = groups or {}
      redis.call('ZREM', T .. 'ga:' .. h[7], id)
      leaveLane(h[7])
      groups[h[7]] = true
    end
    flags[#flags + 1] = 1
    ok = ok + 1
  else
    flags[#flags + 1] = 0
  end
end
bulk('ZREM', T .. 'a', leases)
bulk('ZREM', T .. 's:active', active)
bulk('ZADD', T .. 's:completed', states)
bulk('ZADD', T .. 'f:completed', finished)
local limited = {}
for name, ids in pairs(byName) do
  redis.call('HINCRBY', T .. 'c:' .. name, 'active', -#ids)
  redis.call('HINCRBY', T .. 'c:' .. name, 'completed', #ids)
  if bulk('ZREM', T .. 'an:' .. name, ids) > 0 then limited[#limited + 1] = name end
end
-- A refill replaces completed runs only; a worker's own claim (no completions) takes its limit.
local prefetch = tonumber(ARGV[3])
if first <= #ARGV then prefetch = math.min(prefetch, ok) end
local jobs, held, retryAt = claimJobs(names, prefetch, tonumber(ARGV[5]), ARGV[6], now + tonumber(ARGV[4]), now, true,
  tonumber(ARGV[7]), ARGV[8] == 'ahead')
for _, name in ipairs(limited) do freed(name, nil, true, now) end
if groups then for g in pairs(groups) do freed(nil, g, false, now) end end
return { flags, jobs, held and 1 or 0, retryAt or '' }
`);
