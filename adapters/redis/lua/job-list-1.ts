import { luaScript } from '../script.js';
import { JOB_LIB } from './job-lib.js';

/**
 * One page of jobs, newest `createdAt` first (ties: latest added first), filtered by state and/or
 * name. With both filters it walks the smaller index and checks the other field. The cursor is
 * the (createdAt, index member) of the last job returned.
 *
 * KEYS[1] every-job index `{<prefix>}all`
 * ARGV[1] key base; ARGV[2] state or ''; ARGV[3] name or ''; ARGV[4] limit;
 * ARGV[5] cursor createdAt or ''; ARGV[6] cursor member
 *
 * Returns `{ next createdAt or '', next member or '', row... }`.
 */
export const jobList = luaScript('job-list', 1, `${JOB_LIB}
local state, name, limit = ARGV[2], ARGV[3], tonumber(ARGV[4])
local index, field, want = KEYS[1], nil, nil
if state ~= '' and name ~= '' then
  local byState, byName = T .. 's:' .. state, T .. 'n:' .. name
  if redis.call('ZCARD', byState) <= redis.call('ZCARD', byName) then index, field, want = byState, 'n', name
  else index, field, want = byName, 's', state end
elseif state ~= '' then index = T .. 's:' .. state
elseif name ~= '' then index = T .. 'n:' .. name end
local picked = {}
-- Takes one index member; true once one more than a page is picked (so a cursor is due).
local function take(m, score)
  local id = string.sub(m, 16)
  if field and redis.call('HGET', jkey(id), field) ~= want then return false end
  picked[#picked + 1] = { id, score, m }
  return #picked > limit
end
local max = '+inf'
if ARGV[5] ~= '' then
  local ties = redis.call('ZREVRANGEBYSCORE', index, ARGV[5], ARGV[5])
  for _, m in ipairs(ties) do
    if m < ARGV[6] and take(m, ARGV[5]) then break end
  end
  max = '(' .. ARGV[5]
end
local off = 0
while #picked <= limit do
  local r = redis.call('ZREVRANGEBYSCORE', index, max, '-inf', 'WITHSCORES', 'LIMIT', off, 200)
  if #r == 0 then break end
  local full = false
  for j = 1, #r, 2 do
    if take(r[j], r[j + 1]) then full = true break end
  end
  if full then break end
  off = off + 200
end
local out = { '', '' }
local n = math.min(#picked, limit)
if #picked > limit then out[1], out[2] = picked[n][2], picked[n][3] end
for i = 1, n do out[#out + 1] = row(picked[i][1]) end
return out
`);
