/**
 * Lua helpers of the fair groups (fleet feature `'groups'`), part of JOB_BASE in ./job-lib.ts.
 * Only grouped jobs pay for them: a job without a group never touches these keys.
 *
 * Keys under the base `T` (a group's lane as the fleet contract defines it):
 * - `T gw:<name>|<group>` zset: due jobs of one name in one group (scores and members as `T w:<name>`)
 * - `T gn:<group>`  hash: name → how many due jobs of the group have it (the lane's names)
 * - `T gdn`         hash: name → how many due jobs of the name have a group (hints, wake-ups)
 * - `T ga:<group>`  zset: active jobs of the group; score leaseUntil (live = ZCOUNT from now)
 * - `T gu`          hash: group → unfinished jobs; the lane exists while this is above 0
 * - `T gt`          hash: group → the lane's turn
 * - `T rot`         zset: lanes holding due jobs; score their turn (the rotation)
 * - `T turn`        the counter turns come from; `T ut` the turn of the lane without a group (0 at first)
 *
 * @module
 */
export const JOB_GROUP_LIB = `
-- A job of group g becomes unfinished: a group that had none joins the rotation at the tail.
local function joinLane(g)
  if redis.call('HINCRBY', T .. 'gu', g, 1) == 1 then
    redis.call('HSET', T .. 'gt', g, redis.call('INCR', T .. 'turn'))
  end
end
-- A job of group g stopped being unfinished: the group's last one ends its lane.
local function leaveLane(g)
  if redis.call('HINCRBY', T .. 'gu', g, -1) <= 0 then
    redis.call('HDEL', T .. 'gu', g)
    redis.call('HDEL', T .. 'gt', g)
    redis.call('ZREM', T .. 'rot', g)
  end
end
local function toLane(id, name, pr, ra, sq, g)
  local key = T .. 'gw:' .. name .. '|' .. g
  redis.call('ZADD', key, -(tonumber(pr) or 0), member(ra, sq, id))
  if redis.call('ZCARD', key) == 1 then redis.call('PUBLISH', T .. 'wake', name) end
  redis.call('HINCRBY', T .. 'gn:' .. g, name, 1)
  redis.call('HINCRBY', T .. 'gdn', name, 1)
  local turn = redis.call('HGET', T .. 'gt', g)
  if turn then redis.call('ZADD', T .. 'rot', 'NX', turn, g) end
end
-- Bookkeeping of a due grouped job whose member left its lane's due set.
local function laneLeft(name, g)
  local gn = T .. 'gn:' .. g
  if redis.call('HINCRBY', gn, name, -1) <= 0 then
    redis.call('HDEL', gn, name)
    if redis.call('HLEN', gn) == 0 then redis.call('ZREM', T .. 'rot', g) end
  end
  if redis.call('HINCRBY', T .. 'gdn', name, -1) <= 0 then redis.call('HDEL', T .. 'gdn', name) end
end
-- Take a due grouped job (member m) out of its lane, if it is there.
local function fromLane(m, name, g)
  if redis.call('ZREM', T .. 'gw:' .. name .. '|' .. g, m) == 1 then laneLeft(name, g) end
end
`;
