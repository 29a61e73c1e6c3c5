/**
 * The claim step shared by job-claim (a tick asks) and job-complete (a subscribed worker's claims:
 * its finished runs replaced in the same round trip, or its own claim). Appended after JOB_LIB;
 * not a script on its own.
 *
 * `claimJobs(names, limit, maxTo, token, leaseEnd, now, ahead, cap, refill)` promotes due delayed jobs,
 * merges the due sets of `names` in (priority, runAt, insertion) order, skips jobs whose timeout
 * exceeds `maxTo` (they stay due), and makes up to `limit` jobs active under `token`. With `ahead`
 * (a subscribed worker's claims, run later or from its buffer) `startedAt` stays unset (`sa` = ''):
 * the worker writes the start once the job's handler began, and a lease lapsing before that hands
 * the job back uncounted (job-reclaim). Names with a limit (./job-limits-lib.ts) get only the room
 * their limit leaves (none for a rate-limited name in a `refill`: jobs that wait in a worker's
 * buffer before they start); with `cap` (groupConcurrency) the lanes of ./job-claim-lanes-lib.ts decide the
 * order. Without limits and groups the cost over a plain claim is one HMGET of `T lim`.
 * Returns the rows (see JOB_ROW_FIELDS) of the claimed jobs, the heldBack flag and retryAt (or nil).
 *
 * @module
 */
import { JOB_CLAIM_LANES_LIB } from './job-claim-lanes-lib.js';
import { JOB_LIMITS_LIB } from './job-limits-lib.js';

/** Streams over due sets, read in chunks; used by both claim orders. */
const JOB_CLAIM_STREAMS = `
local function stream(key, chunk, name, lim)
  return { key = key, name = name, lim = lim, buf = {}, pos = 1, off = 0, done = false, chunk = chunk }
end
-- Reads a due set in chunks: \`chunk\` first (the usual case: nothing skipped), growing after.
-- Members are removed only after the claim's scan, so the ZRANGE offsets stay valid meanwhile.
local function peek(s)
  if s.pos > #s.buf then
    if s.done then return nil end
    local r = redis.call('ZRANGE', s.key, s.off, s.off + s.chunk - 1, 'WITHSCORES')
    s.off = s.off + s.chunk
    s.buf, s.pos = {}, 1
    for j = 1, #r, 2 do s.buf[#s.buf + 1] = { r[j], tonumber(r[j + 1]) } end
    if #s.buf < s.chunk then s.done = true end
    s.chunk = math.min(s.chunk * 4, 256)
    if #s.buf == 0 then return nil end
  end
  return s.buf[s.pos]
end
`;

export const JOB_CLAIM_LIB = `${JOB_LIMITS_LIB}${JOB_CLAIM_STREAMS}${JOB_CLAIM_LANES_LIB}
local function claimJobs(names, limit, maxTo, token, leaseEnd, now, ahead, cap, refill)
  if limit < 1 then return {}, false, nil end
  promote(math.max(limit, 100), now)
  local lims = nameRooms(names, now, refill)
  -- Index changes go out as one command per key (ZREM/ZADD of many members), not one per job.
  local rem, add, counts, left, out = {}, {}, {}, {}, {}
  local function push(tbl, key, a, b)
    local l = tbl[key]
    if not l then l = {} tbl[key] = l end
    l[#l + 1] = a
    if b then l[#l + 1] = b end
  end
  local sa = now
  if ahead then sa = '' end
  -- Make one job active: its row v (updated to the reply), its due-set key and member.
  local function take(key, m, id, v, lim)
    local im = imember(v[23], id)
    local at = (tonumber(v[7]) or 0) + 1
    push(rem, key, m)
    push(rem, T .. 's:' .. v[3], im)
    push(add, T .. 'a', leaseEnd, id)
    push(add, T .. 's:active', v[19], im)
    local ck = v[2] .. '\\n' .. v[3]
    counts[ck] = (counts[ck] or 0) + 1
    redis.call('HSET', jkey(id), 's', 'active', 'lt', token, 'lu', leaseEnd, 'sa', sa, 'ua', now, 'at', at)
    if lim then
      push(add, T .. 'an:' .. v[2], leaseEnd, id)
      if lim.max then
        push(add, T .. 'rs:' .. v[2], now, token .. id)
        lim.took = true
      end
      lim.room = lim.room - 1
      if lim.croom then lim.croom = lim.croom - 1 end
      if lim.rroom then lim.rroom = lim.rroom - 1 end
    end
    if v[24] then push(add, T .. 'ga:' .. v[24], leaseEnd, id) end
    v[3], v[7], v[17], v[18], v[20], v[21] = 'active', at, token, leaseEnd, now, ahead and false or now
    out[#out + 1] = v
  end
  local held, served = false, nil
  if cap then
    held, served = claimLanes({ names = names, limit = limit, maxTo = maxTo, now = now, cap = cap, lims = lims, take = take,
      skip = function(key, m) push(rem, key, m) end, out = out, left = left })
  else
    local streams = {}
    for _, name in ipairs(names) do streams[#streams + 1] = stream(T .. 'w:' .. name, limit, name, lims and lims[name]) end
    local scanned = 0
    -- A candidate's whole row is read at once: it is the reply when taken (the common case).
    while #out < limit and scanned < 1000 do
      local best, from
      for _, s in ipairs(streams) do
        if not s.lim or s.lim.room > 0 then
          local c = peek(s)
          if c and (not best or c[2] < best[2] or (c[2] == best[2] and c[1] < best[1])) then best, from = c, s end
        end
      end
      if not best then break end
      from.pos = from.pos + 1
      scanned = scanned + 1
      local id = string.sub(best[1], 31)
      local v = row(id)
      local to = tonumber(v[10])
      if not v[1] or not to then push(rem, from.key, best[1])
      elseif to <= maxTo then take(from.key, best[1], id, v, from.lim) end
    end
  end
  for key, l in pairs(rem) do bulk('ZREM', key, l) end
  for key, l in pairs(add) do bulk('ZADD', key, l) end
  for ck, n in pairs(counts) do
    local name, state = string.match(ck, '^(.*)\\n(.*)$')
    redis.call('HINCRBY', T .. 'c:' .. name, state, -n)
    redis.call('HINCRBY', T .. 'c:' .. name, 'active', n)
  end
  for _, l in ipairs(left) do laneLeft(l[1], l[2]) end
  if served then serveLanes(served) end
  if lims then
    -- Starts live on the server's clock only for their cleanup: long after any window ends.
    for name, L in pairs(lims) do
      if L.took then redis.call('PEXPIRE', T .. 'rs:' .. name, 2 * L.per + 3600000) end
    end
  end
  if #out >= limit then return out, false, nil end
  local retryAt = nil
  if lims then
    local due = function(name) return redis.call('ZCARD', T .. 'w:' .. name) end
    if cap then due = dueCount end
    local h
    h, retryAt = limitHints(lims, now, refill, due)
    held = held or h
  end
  return out, held, retryAt
end
`;
