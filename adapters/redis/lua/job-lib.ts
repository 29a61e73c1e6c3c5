/**
 * Lua helpers shared by the job scripts, prepended to each script's body (Redis has no includes).
 * Not a script on its own.
 *
 * Every job script takes the queue's key base as ARGV[1]: `{<prefix>}`, a Redis Cluster hash tag,
 * so every key a script derives from it lives in the same slot as the KEYS it declares.
 *
 * Layout under the base `T`:
 * - `T j:<id>`      hash: one job (short field names, see adapters/redis/job-codec.ts); `sa` is ''
 *                   while a job claimed ahead waits unstarted, `ar` counts its uncounted hand-backs,
 *                   `g` is its group, `dk` the debounce key it was created under
 * - `T w:<name>`    zset: due jobs of one name without a group; score `-priority`, member
 *                   `runAt(15) seq(15) id`, so ZRANGE order is priority, then runAt, then insertion
 * - `T d`           zset: jobs due later (delayed, partial, retry backoff); score runAt
 * - `T a`           zset: active jobs; score leaseUntil (lapsed leases are a range query)
 * - `T f:<state>`   zset: finished jobs; score finishedAt (retention)
 * - `T s:<state>`   zset: jobs by state; score createdAt, member `seq(15) id` (list: ties by insertion)
 * - `T n:<name>`    zset: jobs by name; same scores and members (list)
 * - `T all`         zset: every job; same scores and members (list)
 * - `T c:<name>`    hash: state → how many jobs of the name are in it (counts)
 * - `T seq`         counter for insertion order
 * - `T wake`        pub/sub channel: a job name, when its due set goes from empty to non-empty or a
 *                   limit or group slot frees while it has due jobs
 * - limits (lua/job-limits-lib.ts): `T lim`, `T an:<name>`, `T rs:<name>`
 * - groups (lua/job-group-lib.ts): `T gw:<name>|<group>`, `T ga:<group>`, `T gn:<group>`, `T gdn`,
 *   `T gu`, `T gt`, `T rot`, `T turn`, `T ut`
 * - debounce: `T db` hash: `<name>\n<debounce id>` → the job most recently created under it
 *
 * Scripts answer a job as a *row*: HMGET of {@link JOB_ROW_FIELDS} in that order (no field names
 * on the wire, half the bulk strings of HGETALL), decoded by position in adapters/redis/job-codec.ts.
 *
 * @module
 */
import { JOB_GROUP_LIB } from './job-group-lib.js';

/** The hash fields of a job row, in reply order (1-based in Lua: id = 1 … sq = 23, g = 24). */
export const JOB_ROW_FIELDS = [
  'id', 'n', 's', 'p', 'pr', 'ra', 'at', 'ma', 'bo', 'to', 'ru', 'pg', 'pm', 'r', 'm', 'e', 'lt', 'lu', 'ca', 'ua', 'sa', 'fa', 'sq', 'g',
] as const;

/**
 * Lua: the field list as HMGET arguments (`'id', 'n', …`), written out in each call rather than
 * kept in a table: a table would be built on every script run, even by scripts that never read a row.
 */
export const JOB_ROW_ARGS = JOB_ROW_FIELDS.map((f) => `'${f}'`).join(', ');

/**
 * The helpers `add` needs, which every job script starts with (see the module comment). `add` takes
 * only these because each helper is a closure created on every script run.
 */
export const JOB_BASE = `
local T = ARGV[1]
local function jkey(id) return T .. 'j:' .. id end
-- One job as a row (every value false when the job does not exist).
local function row(id) return redis.call('HMGET', jkey(id), ${JOB_ROW_ARGS}) end
-- One command over many arguments, in chunks that stay far below Lua's unpack limit (~8000);
-- answers the sum of the replies (ZADD and ZREM count what they changed).
local function bulk(cmd, key, list)
  local n = 0
  for i = 1, #list, 1000 do
    n = n + redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
  end
  return n
end
local function member(ra, sq, id)
  local r = tonumber(ra) or 0
  if r < 0 then r = 0 end
  return string.format('%015d%015d', r, tonumber(sq) or 0) .. id
end
local function imember(sq, id) return string.format('%015d', tonumber(sq) or 0) .. id end
local function setState(id, name, sq, ca, old, new)
  local m = imember(sq, id)
  local c = T .. 'c:' .. name
  if old then
    redis.call('ZREM', T .. 's:' .. old, m)
    redis.call('HINCRBY', c, old, -1)
  end
  redis.call('ZADD', T .. 's:' .. new, ca, m)
  redis.call('HINCRBY', c, new, 1)
end
${JOB_GROUP_LIB}
-- Into the due set of its name (its group's lane for a grouped job); the first job in an empty set
-- wakes idle workers (they claimed everything there was, so only this transition can leave them
-- asleep with work to do).
local function toReady(id, name, pr, ra, sq, g)
  if g then return toLane(id, name, pr, ra, sq, g) end
  local key = T .. 'w:' .. name
  redis.call('ZADD', key, -(tonumber(pr) or 0), member(ra, sq, id))
  if redis.call('ZCARD', key) == 1 then redis.call('PUBLISH', T .. 'wake', name) end
end
`;

/** {@link JOB_BASE} plus the helpers of the state changes after `add`. */
export const JOB_LIB = `${JOB_BASE}
-- Out of wherever a not-finished job waits (due set, later set, active sets). Returns whether it
-- was in the name's active set (the name has a limit).
local function unqueue(id, h)
  local m = member(h.ra, h.sq, id)
  if h.g then fromLane(m, h.n, h.g) else redis.call('ZREM', T .. 'w:' .. h.n, m) end
  redis.call('ZREM', T .. 'd', id)
  redis.call('ZREM', T .. 'a', id)
  if h.g then redis.call('ZREM', T .. 'ga:' .. h.g, id) end
  return redis.call('ZREM', T .. 'an:' .. h.n, id) == 1
end
local function load(id)
  local r = redis.call('HMGET', jkey(id), 's', 'n', 'pr', 'ra', 'sq', 'ca', 'lt', 'at', 'sa', 'g')
  if not r[1] then return nil end
  return { s = r[1], n = r[2], pr = r[3], ra = r[4], sq = r[5], ca = r[6], lt = r[7], at = r[8], sa = r[9], g = r[10] }
end
-- A job claimed ahead waits in its worker's buffer with 'sa' = '' (not started); whatever write
-- of its run comes first (start mark, heartbeat, outcome) records the start.
local function markStart(id, h, now)
  if h.sa == '' then redis.call('HSET', jkey(id), 'sa', now) end
end
-- The run under this lease token, or nil when the lease was lost (reclaimed, cancelled, finished).
local function leased(id, token)
  local h = load(id)
  if not h or h.s ~= 'active' or h.lt ~= token then return nil end
  return h
end
-- The run ends: out of the active sets (the name's, when it has a limit; the group's). Returns
-- whether it was in the name's (see freed).
local function endLease(id, h)
  redis.call('HDEL', jkey(id), 'lt', 'lu')
  redis.call('ZREM', T .. 'a', id)
  if h.g then redis.call('ZREM', T .. 'ga:' .. h.g, id) end
  return redis.call('ZREM', T .. 'an:' .. h.n, id) == 1
end
-- Back to runnable: due now into the due set, else into the later set.
local function requeue(id, h, state, runAt, now)
  redis.call('HSET', jkey(id), 's', state, 'ra', runAt, 'ua', now)
  setState(id, h.n, h.sq, h.ca, h.s, state)
  if tonumber(runAt) <= tonumber(now) then toReady(id, h.n, h.pr, runAt, h.sq, h.g)
  else redis.call('ZADD', T .. 'd', runAt, id) end
end
local function finish(id, h, state, now)
  redis.call('HSET', jkey(id), 's', state, 'fa', now, 'ua', now)
  setState(id, h.n, h.sq, h.ca, h.s, state)
  redis.call('ZADD', T .. 'f:' .. state, now, id)
  if h.g then leaveLane(h.g) end
end
local function promote(limit, now)
  local ids = redis.call('ZRANGEBYSCORE', T .. 'd', '-inf', now, 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    redis.call('ZREM', T .. 'd', id)
    local h = load(id)
    if h then
      if h.s == 'delayed' then
        redis.call('HSET', jkey(id), 's', 'waiting')
        setState(id, h.n, h.sq, h.ca, 'delayed', 'waiting')
      end
      toReady(id, h.n, h.pr, h.ra, h.sq, h.g)
    end
  end
  return #ids
end
-- How many jobs of a name are due (without and with a group).
local function dueCount(name)
  return redis.call('ZCARD', T .. 'w:' .. name) + (tonumber(redis.call('HGET', T .. 'gdn', name)) or 0)
end
-- A due job may be waiting in the later set (its time came, no claim promoted it yet).
local function laterDue(now)
  local top = redis.call('ZRANGE', T .. 'd', 0, 0, 'WITHSCORES')
  return top[2] ~= nil and tonumber(top[2]) <= tonumber(now)
end
-- A job of name/group stopped holding a slot in this call (decided at the end of the call):
-- wake its name when it has a concurrency limit, due jobs and a free slot; and the names of its
-- group's due jobs. \`limited\`: the job was in the name's active set (the name has a limit).
local function freed(name, g, limited, now)
  if limited then
    local l = redis.call('HGET', T .. 'lim', name)
    local c = l and tonumber(string.match(l, '^(%d*)'))
    if c and (dueCount(name) > 0 or laterDue(now)) and redis.call('ZCOUNT', T .. 'an:' .. name, now, '+inf') < c then
      redis.call('PUBLISH', T .. 'wake', name)
    end
  end
  if g then
    for _, n in ipairs(redis.call('HKEYS', T .. 'gn:' .. g)) do redis.call('PUBLISH', T .. 'wake', n) end
  end
end
`;
