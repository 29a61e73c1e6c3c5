/**
 * The add step shared by job-add (one job) and job-add-many (a chunk of jobs in one call),
 * appended after JOB_BASE; not a script on its own.
 *
 * `addJob(id, name, payload, pr, ra, ma, bo, to, ru, g, db, now)` (every value as sent: '' for an
 * absent retryUntil, group or debounce id) applies debounce first (the fleet contract: the job most
 * recently created under `<name>\n<db>`, kept in the hash `T db`, is updated in place while it
 * never ran), else stores the job unless its id exists. Returns `1` when created (the caller knows
 * every field it wrote), `{ 0, row }` with the existing job, or `{ 2, row }` with the replaced one.
 *
 * @module
 */
export const JOB_ADD_LIB = `
-- Update the unstarted job \`did\` (old fields h) in place with the new job's fields.
local function replaceJob(did, h, name, payload, pr, ra, ma, bo, to, ru, g, now)
  local key = jkey(did)
  local m = member(h[4], h[5], did)
  if h[7] then fromLane(m, name, h[7]) else redis.call('ZREM', T .. 'w:' .. name, m) end
  redis.call('ZREM', T .. 'd', did)
  local state = 'delayed'
  if tonumber(ra) <= tonumber(now) then state = 'waiting' end
  redis.call('HSET', key, 'p', payload, 'pr', pr, 'ra', ra, 'ma', ma, 'bo', bo, 'to', to, 's', state, 'ua', now)
  if ru ~= '' then redis.call('HSET', key, 'ru', ru) else redis.call('HDEL', key, 'ru') end
  if h[7] ~= g then
    if g then redis.call('HSET', key, 'g', g) joinLane(g) else redis.call('HDEL', key, 'g') end
    if h[7] then leaveLane(h[7]) end
  end
  if state ~= h[1] then setState(did, name, h[5], h[6], h[1], state) end
  if state == 'waiting' then
    toReady(did, name, pr, ra, h[5], g)
    redis.call('PUBLISH', T .. 'wake', name)
  else
    redis.call('ZADD', T .. 'd', ra, did)
  end
end
local function addJob(id, name, payload, pr, ra, ma, bo, to, ru, g, db, now)
  if g == '' then g = false end
  local dk = false
  if db ~= '' then
    dk = name .. '\\n' .. db
    local did = redis.call('HGET', T .. 'db', dk)
    if did then
      local h = redis.call('HMGET', jkey(did), 's', 'at', 'n', 'ra', 'sq', 'ca', 'g')
      if (h[1] == 'waiting' or h[1] == 'delayed') and tonumber(h[2]) == 0 then
        replaceJob(did, h, name, payload, pr, ra, ma, bo, to, ru, g, now)
        return { 2, row(did) }
      end
    end
  end
  local key = jkey(id)
  if redis.call('EXISTS', key) == 1 then return { 0, row(id) } end
  local sq = redis.call('INCR', T .. 'seq')
  local state = 'delayed'
  if tonumber(ra) <= tonumber(now) then state = 'waiting' end
  redis.call('HSET', key, 'id', id, 'n', name, 's', state, 'p', payload, 'pr', pr, 'ra', ra, 'at', 0,
    'ma', ma, 'bo', bo, 'to', to, 'pg', 0, 'ca', now, 'ua', now, 'sq', sq)
  if ru ~= '' then redis.call('HSET', key, 'ru', ru) end
  if g then
    redis.call('HSET', key, 'g', g)
    joinLane(g)
  end
  if dk then
    redis.call('HSET', key, 'dk', dk)
    redis.call('HSET', T .. 'db', dk, id)
  end
  local im = imember(sq, id)
  redis.call('ZADD', T .. 'all', now, im)
  redis.call('ZADD', T .. 'n:' .. name, now, im)
  setState(id, name, sq, now, false, state)
  if state == 'waiting' then toReady(id, name, pr, ra, sq, g)
  else redis.call('ZADD', T .. 'd', ra, id) end
  return 1
end
`;
