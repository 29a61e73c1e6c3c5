import { luaScript } from '../script.js';
import { JOB_BASE } from './job-lib.js';

/**
 * Store a new job unless its id exists (idempotent add), indexing it and waking idle workers when
 * it is due now.
 *
 * KEYS[1] job hash `{<prefix>}j:<id>`
 * ARGV[1] key base `{<prefix>}`; ARGV[2] id; ARGV[3] name; ARGV[4] payload (JSON text)
 * ARGV[5] priority; ARGV[6] runAt; ARGV[7] maxAttempts; ARGV[8] backoff (JSON text)
 * ARGV[9] timeoutMs; ARGV[10] retryUntil or ''; ARGV[11] now
 *
 * Returns `{ 1, seq }` when created (the caller knows every field it wrote), or `{ 0, row }`
 * with the existing job.
 */
export const jobAdd = luaScript('job-add', 1, `${JOB_BASE}
if redis.call('EXISTS', KEYS[1]) == 1 then return { 0, row(ARGV[2]) } end
local id, name, now, runAt = ARGV[2], ARGV[3], ARGV[11], ARGV[6]
local sq = redis.call('INCR', T .. 'seq')
local state = 'delayed'
if tonumber(runAt) <= tonumber(now) then state = 'waiting' end
redis.call('HSET', KEYS[1], 'id', id, 'n', name, 's', state, 'p', ARGV[4], 'pr', ARGV[5], 'ra', runAt, 'at', 0,
  'ma', ARGV[7], 'bo', ARGV[8], 'to', ARGV[9], 'pg', 0, 'ca', now, 'ua', now, 'sq', sq)
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'ru', ARGV[10]) end
local im = imember(sq, id)
redis.call('ZADD', T .. 'all', now, im)
redis.call('ZADD', T .. 'n:' .. name, now, im)
redis.call('ZADD', T .. 's:' .. state, now, im)
if state == 'waiting' then toReady(id, name, ARGV[5], runAt, sq)
else redis.call('ZADD', T .. 'd', runAt, id) end
return { 1, sq }
`);
