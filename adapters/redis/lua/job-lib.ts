/**
 * Lua helpers shared by the job scripts, prepended to each script's body (Redis has no includes).
 * Not a script on its own.
 *
 * Every job script takes the queue's key base as ARGV[1]: `{<prefix>}`, a Redis Cluster hash tag,
 * so every key a script derives from it lives in the same slot as the KEYS it declares.
 *
 * Layout under the base `T`:
 * - `T j:<id>`      hash: one job (short field names, see adapters/redis/job-codec.ts); `sa` is ''
 *                   while a job claimed ahead waits unstarted, `ar` counts its uncounted hand-backs
 * - `T w:<name>`    zset: due jobs of one name; score `-priority`, member `runAt(15) seq(15) id`,
 *                   so ZRANGE order is priority, then runAt, then insertion order
 * - `T d`           zset: jobs due later (delayed, partial, retry backoff); score runAt
 * - `T a`           zset: active jobs; score leaseUntil (lapsed leases are a range query)
 * - `T f:<state>`   zset: finished jobs; score finishedAt (retention)
 * - `T s:<state>`   zset: jobs by state; score createdAt, member `seq(15) id` (list: ties by insertion)
 * - `T n:<name>`    zset: jobs by name; same scores and members (list)
 * - `T all`         zset: every job; same scores and members (list)
 * - `T seq`         counter for insertion order
 * - `T wake`        pub/sub channel: a job name, when its due set goes from empty to non-empty
 *
 * Scripts answer a job as a *row*: HMGET of {@link JOB_ROW_FIELDS} in that order (no field names
 * on the wire, half the bulk strings of HGETALL), decoded by position in adapters/redis/job-codec.ts.
 *
 * @module
 */

/** The hash fields of a job row, in reply order (1-based in Lua: id = 1 … sq = 23). */
export const JOB_ROW_FIELDS = [
  'id', 'n', 's', 'p', 'pr', 'ra', 'at', 'ma', 'bo', 'to', 'ru', 'pg', 'pm', 'r', 'm', 'e', 'lt', 'lu', 'ca', 'ua', 'sa', 'fa', 'sq',
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
-- One command over many arguments, in chunks that stay far below Lua's unpack limit (~8000).
local function bulk(cmd, key, list)
  for i = 1, #list, 1000 do
    redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
  end
end
local function member(ra, sq, id)
  local r = tonumber(ra) or 0
  if r < 0 then r = 0 end
  return string.format('%015d%015d', r, tonumber(sq) or 0) .. id
end
local function imember(sq, id) return string.format('%015d', tonumber(sq) or 0) .. id end
local function setState(id, sq, ca, old, new)
  local m = imember(sq, id)
  if old then redis.call('ZREM', T .. 's:' .. old, m) end
  redis.call('ZADD', T .. 's:' .. new, ca, m)
end
-- Into the due set of its name; the first job in an empty set wakes idle workers (they claimed
-- everything there was, so only this transition can leave them asleep with work to do).
local function toReady(id, name, pr, ra, sq)
  local key = T .. 'w:' .. name
  redis.call('ZADD', key, -(tonumber(pr) or 0), member(ra, sq, id))
  if redis.call('ZCARD', key) == 1 then redis.call('PUBLISH', T .. 'wake', name) end
end
`;

/** {@link JOB_BASE} plus the helpers of the state changes after `add`. */
export const JOB_LIB = `${JOB_BASE}
-- Out of wherever a not-finished job waits (due set, later set, active set).
local function unqueue(id, h)
  redis.call('ZREM', T .. 'w:' .. h.n, member(h.ra, h.sq, id))
  redis.call('ZREM', T .. 'd', id)
  redis.call('ZREM', T .. 'a', id)
end
local function load(id)
  local r = redis.call('HMGET', jkey(id), 's', 'n', 'pr', 'ra', 'sq', 'ca', 'lt', 'at', 'sa')
  if not r[1] then return nil end
  return { s = r[1], n = r[2], pr = r[3], ra = r[4], sq = r[5], ca = r[6], lt = r[7], at = r[8], sa = r[9] }
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
local function endLease(id)
  redis.call('HDEL', jkey(id), 'lt', 'lu')
  redis.call('ZREM', T .. 'a', id)
end
-- Back to runnable: due now into the due set, else into the later set.
local function requeue(id, h, state, runAt, now)
  redis.call('HSET', jkey(id), 's', state, 'ra', runAt, 'ua', now)
  setState(id, h.sq, h.ca, h.s, state)
  if tonumber(runAt) <= tonumber(now) then toReady(id, h.n, h.pr, runAt, h.sq)
  else redis.call('ZADD', T .. 'd', runAt, id) end
end
local function finish(id, h, state, now)
  redis.call('HSET', jkey(id), 's', state, 'fa', now, 'ua', now)
  setState(id, h.sq, h.ca, h.s, state)
  redis.call('ZADD', T .. 'f:' .. state, now, id)
end
local function promote(limit, now)
  local ids = redis.call('ZRANGEBYSCORE', T .. 'd', '-inf', now, 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    redis.call('ZREM', T .. 'd', id)
    local h = load(id)
    if h then
      if h.s == 'delayed' then
        redis.call('HSET', jkey(id), 's', 'waiting')
        setState(id, h.sq, h.ca, 'delayed', 'waiting')
      end
      toReady(id, h.n, h.pr, h.ra, h.sq)
    end
  end
  return #ids
end
`;
