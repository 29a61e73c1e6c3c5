/**
 * The claim of a queue with groups (`ClaimArgs.groupConcurrency`), by the lanes of the fleet
 * contract: one job at a time from the lane with the lowest turn that holds an eligible job — the
 * lane without a group (`T w:<name>`, turn `T ut`) or a group's (`T gw:<name>|<group>`, in the
 * rotation `T rot`) below its cap — each served lane moving to the tail. Appended after
 * JOB_CLAIM_STREAMS (./job-claim-lib.ts); not a script on its own.
 *
 * `claimLanes(c)` takes the claim's context `c` (names, limit, maxTo, now, cap, lims, take, skip,
 * out, left) and returns whether a full group held due jobs back, and the lanes served (group →
 * new turn) for {@link serveLanes} once the claim's index writes are done.
 *
 * @module
 */
export const JOB_CLAIM_LANES_LIB = `
local function claimLanes(c)
  local scanned, held, served = 0, false, {}
  -- The first job of stream s that fits the budget (rows read once, cached in the buffer entry).
  local function fits(s)
    while scanned < 1000 do
      local x = peek(s)
      if not x then return nil end
      if not x[3] then x[3] = string.sub(x[1], 31) x[4] = row(x[3]) end
      local to = tonumber(x[4][10])
      if x[4][1] and to and to <= c.maxTo then return x end
      if not (x[4][1] and to) then c.skip(s.key, x[1]) end
      s.pos = s.pos + 1
      scanned = scanned + 1
    end
  end
  local function firstIn(lane)
    local best, from
    for _, s in ipairs(lane.streams) do
      if not s.lim or s.lim.room > 0 then
        local x = fits(s)
        if x and (not best or x[2] < best[2] or (x[2] == best[2] and x[1] < best[1])) then best, from = x, s end
      end
    end
    return best, from
  end
  local u = { streams = {}, turn = tonumber(redis.call('GET', T .. 'ut')) or 0 }
  for _, name in ipairs(c.names) do
    u.streams[#u.streams + 1] = stream(T .. 'w:' .. name, 16, name, c.lims and c.lims[name])
  end
  -- Group lanes in rotation order (read in chunks), then the lanes this claim served (their new
  -- turns are above every turn read), in the order served.
  local orig, opos, off, done, tail, tpos = {}, 1, 0, false, {}, 1
  local function head()
    if opos > #orig and not done then
      local r = redis.call('ZRANGE', T .. 'rot', off, off + 63, 'WITHSCORES')
      off = off + 64
      if #r < 128 then done = true end
      for j = 1, #r, 2 do orig[#orig + 1] = { g = r[j], turn = tonumber(r[j + 1]) } end
    end
    if opos <= #orig then return orig[opos] end
    return tail[tpos]
  end
  local function pop()
    if opos <= #orig then opos = opos + 1 else tpos = tpos + 1 end
  end
  local function nextLane()
    while scanned < 1000 do
      local lane = head()
      if not lane then return nil end
      lane.live = lane.live or redis.call('ZCOUNT', T .. 'ga:' .. lane.g, c.now, '+inf')
      if not lane.streams then
        lane.streams = {}
        local counts = redis.call('HMGET', T .. 'gn:' .. lane.g, unpack(c.names))
        for i, name in ipairs(c.names) do
          if tonumber(counts[i]) then
            lane.streams[#lane.streams + 1] = stream(T .. 'gw:' .. name .. '|' .. lane.g, 4, name, c.lims and c.lims[name])
          end
        end
      end
      if lane.live < c.cap then
        local best, from = firstIn(lane)
        if best then return lane, best, from end
      elseif not held then
        -- Full: its due jobs of the names (past those this claim took) are held back.
        for _, s in ipairs(lane.streams) do
          if peek(s) then held = true end
        end
      end
      pop()
      scanned = scanned + 1
    end
  end
  while #c.out < c.limit and scanned < 1000 do
    local ub, uf = firstIn(u)
    local lane, gb, gf = nextLane()
    if lane and (not ub or lane.turn < u.turn) then
      gf.pos = gf.pos + 1
      c.take(gf.key, gb[1], gb[3], gb[4], gf.lim)
      c.left[#c.left + 1] = { gf.name, lane.g }
      lane.live = lane.live + 1
      lane.turn = redis.call('INCR', T .. 'turn')
      served[lane.g] = lane.turn
      pop()
      tail[#tail + 1] = lane
    elseif ub then
      uf.pos = uf.pos + 1
      c.take(uf.key, ub[1], ub[3], ub[4], uf.lim)
      u.turn = redis.call('INCR', T .. 'turn')
      redis.call('SET', T .. 'ut', u.turn)
    else
      break
    end
    scanned = scanned + 1
  end
  return held, served
end
-- The served lanes' new turns (a lane whose last due job was taken left the rotation already).
local function serveLanes(served)
  for g, turn in pairs(served) do
    redis.call('HSET', T .. 'gt', g, turn)
    redis.call('ZADD', T .. 'rot', 'XX', turn, g)
  end
end
`;
