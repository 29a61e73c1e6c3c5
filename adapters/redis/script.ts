import { createHash } from 'node:crypto';
import type { RedisArg, RedisLike } from './redis-like.js';

/** A Lua script with its SHA1, ready for EVALSHA. */
export interface LuaScript {
  /** File-style name, e.g. `session-commit-3`. */
  readonly name: string;
  /** How many of the arguments are keys (Cluster routes and checks slots by these). */
  readonly numKeys: number;
  /** Lua source. */
  readonly source: string;
  /** SHA1 of `source`, as SCRIPT LOAD would report it. */
  readonly sha: string;
}

/** Define a script; the SHA is computed once, at module load. */
export function luaScript(name: string, numKeys: number, source: string): LuaScript {
  return { name, numKeys, source, sha: createHash('sha1').update(source).digest('hex') };
}

function isNoScript(err: unknown): boolean {
  return (err instanceof Error ? err.message : String(err)).includes('NOSCRIPT');
}

/**
 * Run `script` with EVALSHA (one round trip: only the hash travels), falling back to EVAL when the
 * server lost its script cache (restart, failover, SCRIPT FLUSH). EVAL caches it again.
 */
export function runScript(client: RedisLike, script: LuaScript, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown>;
/** Same, with `map` applied to the reply in the same step (one promise less on a hot path). */
export function runScript<R>(
  client: RedisLike, script: LuaScript, keys: readonly string[], args: readonly RedisArg[], map: (reply: unknown) => R,
): Promise<R>;
export function runScript<R>(
  client: RedisLike, script: LuaScript, keys: readonly string[], args: readonly RedisArg[], map?: (reply: unknown) => R,
): Promise<unknown> {
  const params = [...keys, ...args];
  return client.evalsha(script.sha, script.numKeys, ...params).then(map, (err: unknown) => {
    if (!isNoScript(err)) throw err;
    const retried = client.eval(script.source, script.numKeys, ...params);
    return map ? retried.then(map) : retried;
  });
}

/**
 * The batch form of a single-call script: one EVALSHA runs it once per call, over consecutive
 * groups of `numKeys` keys and `ARGV[2]` arguments (`ARGV[1]` is the number of calls), and answers
 * an array with one reply per call. Each call runs under `pcall`, so one failing call answers its
 * own error and never takes the others' replies (or their already-applied writes) down with it.
 * Only for scripts whose replies are never nil (nil would end a Lua array early; it is sent as
 * false → null).
 */
export function batchScript(script: LuaScript): LuaScript {
  const src = script.source;
  // Each call's keys and arguments reach the body as function parameters, not as two tables built
  // and filled per call (that cost ~1 µs of server time per call in a batch of five, a fifth of a
  // whole session-acquire call), so the body may index KEYS and ARGV with literal numbers only.
  const used = (name: string): number => Math.max(0, ...[...src.matchAll(new RegExp(`\\b${name}\\[(\\d+)\\]`, 'g'))].map((m) => Number(m[1])));
  if (/\b(KEYS|ARGV)\[(?!\d+\])|#(KEYS|ARGV)\b/.test(src) || used('KEYS') > script.numKeys) {
    throw new Error(`batchScript: ${script.name} must index KEYS (up to its numKeys) and ARGV with literal numbers only.`);
  }
  const nk = script.numKeys;
  const na = used('ARGV');
  const params = [...Array.from({ length: nk }, (_, j) => `K${j + 1}`), ...Array.from({ length: na }, (_, j) => `A${j + 1}`)];
  const values = [
    ...Array.from({ length: nk }, (_, j) => `KEYS[i * nk + ${j + 1}]`),
    // An argument past the call's own count reads as nil, as ARGV would.
    ...Array.from({ length: na }, (_, j) => `(na >= ${j + 1} and ARGV[2 + i * na + ${j + 1}] or nil)`),
  ];
  const body = src.replace(/\bKEYS\[(\d+)\]/g, 'K$1').replace(/\bARGV\[(\d+)\]/g, 'A$1');
  return luaScript(`${script.name}-batch`, 0, `
local function one(${params.join(', ')})
${body}
end
local calls, na, nk = tonumber(ARGV[1]), tonumber(ARGV[2]), ${nk}
local out = {}
for i = 0, calls - 1 do
  local ok, r = pcall(one${values.length ? ', ' : ''}${values.join(', ')})
  if not ok then
    out[i + 1] = redis.error_reply(type(r) == 'table' and r.err or tostring(r))
  elseif r == nil then
    out[i + 1] = false
  else
    out[i + 1] = r
  end
end
return out
`);
}
