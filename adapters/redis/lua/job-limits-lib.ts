/**
 * Lua helpers of the limits per job name (fleet feature `'limits'`), appended after JOB_LIB by the
 * claim scripts; not a script on its own.
 *
 * Keys under the base `T`:
 * - `T lim`         hash: name → its limit as `<concurrency>,<max>,<perMs>` ('' for a part not set)
 * - `T an:<name>`   zset: active jobs of a name that has a limit; score leaseUntil, so its live
 *                   jobs are `ZCOUNT now +inf` and a lapsed lease stops counting by itself. Kept
 *                   only while the name has a limit (job-set-limits fills it from `T a`).
 * - `T rs:<name>`   zset: recorded starts of a rate-limited name; score the claim's now, member
 *                   `<token><id>`; a start is counted while `at > now - perMs` and dropped by the
 *                   first claim whose `now` is two windows past it
 *
 * @module
 */
export const JOB_LIMITS_LIB = `
local function parseLimit(v)
  local c, mx, per = string.match(v, '^(%d*),(%d*),(%d*)$')
  return tonumber(c), tonumber(mx), tonumber(per)
end
-- The room each of \`names\` has in this claim, or nil when none of them has a limit (the usual
-- case, one HMGET). Per limited name: room (what the claim may take), croom and rroom (what
-- concurrency and the rate window leave), c, max, per.
local function nameRooms(names, now, ahead)
  local vals = redis.call('HMGET', T .. 'lim', unpack(names))
  local lims = nil
  for i, name in ipairs(names) do
    if vals[i] then
      local c, mx, per = parseLimit(vals[i])
      local L = { c = c, max = mx, per = per, room = math.huge }
      if c then
        L.croom = c - redis.call('ZCOUNT', T .. 'an:' .. name, now, '+inf')
        L.room = L.croom
      end
      if mx then
        local rs = T .. 'rs:' .. name
        -- Forgotten only a window behind the window: claims of other processes may arrive with a
        -- slightly earlier now, and must still count every start inside theirs.
        redis.call('ZREMRANGEBYSCORE', rs, '-inf', now - 2 * per)
        L.rroom = mx - redis.call('ZCOUNT', rs, '(' .. (now - per), '+inf')
        -- A claim made ahead takes no job of a rate-limited name (its start would come too early).
        if ahead then L.room = 0 else L.room = math.min(L.room, L.rroom) end
      end
      lims = lims or {}
      lims[name] = L
    end
  end
  return lims
end
-- After a claim that took fewer than it could: whether due jobs of a limited name were held back,
-- and the earliest time a rate window holding one back alone opens. \`due(name)\` counts the due
-- jobs the claim could have taken.
local function limitHints(lims, now, ahead, due)
  local held, retryAt = false, nil
  for name, L in pairs(lims) do
    if L.room <= 0 and due(name) > 0 then
      held = true
      if L.max and not ahead and L.rroom <= 0 and (not L.croom or L.croom > 0) then
        local rs, from = T .. 'rs:' .. name, '(' .. (now - L.per)
        local i = redis.call('ZCOUNT', rs, from, '+inf') - L.max
        local at = redis.call('ZRANGEBYSCORE', rs, from, '+inf', 'WITHSCORES', 'LIMIT', i, 1)[2]
        if at then
          at = tonumber(at) + L.per
          if not retryAt or at < retryAt then retryAt = at end
        end
      end
    end
  end
  return held, retryAt
end
`;
