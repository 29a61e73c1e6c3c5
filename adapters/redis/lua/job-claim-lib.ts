/**
 * The claim step shared by job-claim (a tick asks) and job-complete (a subscribed worker's claims:
 * its finished runs replaced in the same round trip, or its own claim). Appended after JOB_LIB;
 * not a script on its own.
 *
 * `claimJobs(names, limit, maxTo, token, leaseEnd, now, ahead)` promotes due delayed jobs, merges
 * the due sets of `names` in (priority, runAt, insertion) order, skips jobs whose timeout exceeds
 * `maxTo` (they stay due), and makes up to `limit` jobs active under `token`. With `ahead` (a
 * subscribed worker's claims, run later or from its buffer) `startedAt` stays unset (`sa` = ''):
 * the worker writes the start once the job's handler began, and a lease lapsing before that hands
 * the job back uncounted (job-reclaim).
 * Returns one row (see JOB_ROW_FIELDS) per claimed job.
 *
 * @module
 */
export const JOB_CLAIM_LIB = `
local function claimJobs(names, limit, maxTo, token, leaseEnd, now, ahead)
  if limit < 1 then return {} end
  promote(math.max(limit, 100), now)
  local streams = {}
  for _, name in ipairs(names) do
    streams[#streams + 1] = { key = T .. 'w:' .. name, buf = {}, pos = 1, off = 0, done = false, chunk = limit }
  end
  -- Reads a due set in chunks: \`limit\` first (the usual case: nothing skipped), growing after.
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
  local taken, stale, scanned = {}, {}, 0
  -- Members are removed only after the scan, so the ZRANGE offsets stay valid meanwhile. A
  -- candidate's whole row is read at once: it is the reply when taken (the common case).
  while #taken < limit and scanned < 1000 do
    local best, from
    for _, s in ipairs(streams) do
      local c = peek(s)
      if c and (not best or c[2] < best[2] or (c[2] == best[2] and c[1] < best[1])) then best, from = c, s end
    end
    if not best then break end
    from.pos = from.pos + 1
    scanned = scanned + 1
    local id = string.sub(best[1], 31)
    local v = row(id)
    local to = tonumber(v[10])
    if not v[1] or not to then stale[#stale + 1] = { from.key, best[1] }
    elseif to <= maxTo then taken[#taken + 1] = { from.key, best[1], id, v } end
  end
  -- Index changes go out as one command per key (ZREM/ZADD of many members), not one per job.
  local rem = {}
  local function drop(key, m)
    local l = rem[key]
    if not l then l = {} rem[key] = l end
    l[#l + 1] = m
  end
  for _, m in ipairs(stale) do drop(m[1], m[2]) end
  local out, leases, states = {}, {}, {}
  local sa = now
  if ahead then sa = '' end
  for i, t in ipairs(taken) do
    local id, v = t[3], t[4]
    local m = imember(v[23], id)
    local at = (tonumber(v[7]) or 0) + 1
    drop(t[1], t[2])
    drop(T .. 's:' .. v[3], m)
    redis.call('HSET', jkey(id), 's', 'active', 'lt', token, 'lu', leaseEnd, 'sa', sa, 'ua', now, 'at', at)
    leases[#leases + 1] = leaseEnd
    leases[#leases + 1] = id
    states[#states + 1] = v[19]
    states[#states + 1] = m
    v[3], v[7], v[17], v[18], v[20], v[21] = 'active', at, token, leaseEnd, now, ahead and false or now
    out[i] = v
  end
  for key, l in pairs(rem) do bulk('ZREM', key, l) end
  bulk('ZADD', T .. 'a', leases)
  bulk('ZADD', T .. 's:active', states)
  return out
end
`;
