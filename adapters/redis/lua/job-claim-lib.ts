/**
 * The claim step shared by job-claim (a worker asks) and job-complete (a busy worker's finished
 * runs are replaced in the same round trip). Appended after JOB_LIB; not a script on its own.
 *
 * `claimJobs(names, limit, maxTo, token, leaseEnd, now)` promotes due delayed jobs, merges the
 * due sets of `names` in (priority, runAt, insertion) order, skips jobs whose timeout exceeds
 * `maxTo` (they stay due), and makes up to `limit` jobs active under `token`. Returns one HGETALL
 * per claimed job.
 *
 * @module
 */
export const JOB_CLAIM_LIB = `
local function claimJobs(names, limit, maxTo, token, leaseEnd, now)
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
  -- Members are removed only after the scan, so the ZRANGE offsets stay valid meanwhile.
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
    local to = tonumber(redis.call('HGET', jkey(id), 'to'))
    if not to then stale[#stale + 1] = { from.key, best[1] }
    elseif to <= maxTo then taken[#taken + 1] = { from.key, best[1], id } end
  end
  for _, m in ipairs(stale) do redis.call('ZREM', m[1], m[2]) end
  local out = {}
  for i, t in ipairs(taken) do
    local id = t[3]
    redis.call('ZREM', t[1], t[2])
    local k = jkey(id)
    local h = redis.call('HMGET', k, 's', 'ca', 'sq')
    redis.call('HSET', k, 's', 'active', 'lt', token, 'lu', leaseEnd, 'sa', now, 'ua', now)
    redis.call('HINCRBY', k, 'at', 1)
    redis.call('ZADD', T .. 'a', leaseEnd, id)
    setState(id, h[3], h[2], h[1], 'active')
    out[i] = redis.call('HGETALL', k)
  end
  return out
end
`;
