import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * Write limits per job name (fleet feature `'limits'`), in order. A name that gets its first limit
 * has its active set `T an:<name>` filled from the active jobs (`T a`, one pass however many names);
 * a name whose limit is removed loses it. Recorded starts are kept. Each name written that has a
 * due job is woken (a limit raised or removed may let its held-back jobs run).
 *
 * KEYS[1] limits hash `{<prefix>}lim`
 * ARGV[1] key base; ARGV[2] now; then pairs: name, limit as `<concurrency>,<max>,<perMs>` or '' (remove)
 *
 * Returns 1.
 */
export const jobSetLimits = luaScript('job-set-limits', 1, `${JOB_LIB}
local now = ARGV[2]
local active = nil
for i = 3, #ARGV, 2 do
  local name, v = ARGV[i], ARGV[i + 1]
  if v == '' then
    redis.call('HDEL', KEYS[1], name)
    redis.call('DEL', T .. 'an:' .. name)
  else
    if redis.call('HSET', KEYS[1], name, v) == 1 then
      if not active then
        active = {}
        local r = redis.call('ZRANGE', T .. 'a', 0, -1, 'WITHSCORES')
        for j = 1, #r, 2 do active[#active + 1] = { r[j], r[j + 1], redis.call('HGET', jkey(r[j]), 'n') } end
      end
      local live = {}
      for _, a in ipairs(active) do
        if a[3] == name then live[#live + 1] = a[2] live[#live + 1] = a[1] end
      end
      bulk('ZADD', T .. 'an:' .. name, live)
    end
  end
  if dueCount(name) > 0 or laterDue(now) then redis.call('PUBLISH', T .. 'wake', name) end
end
return 1
`);
