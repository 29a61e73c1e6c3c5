import { isNoScript } from './errors.js';
import type { RedisArg, RedisLike } from './redis-like.js';
import { sha1Hex } from './sha1.js';

/** A Lua script with its SHA1, ready for EVALSHA. */
export interface LuaScript {
  /** Name in errors and timeouts, e.g. `session-commit` (its module, `lua/session-commit-1.ts`, adds the key count). */
  readonly name: string;
  /** How many of the arguments are keys (Cluster routes and checks slots by these). */
  readonly numKeys: number;
  /** Lua source. */
  readonly source: string;
  /** SHA1 of `source`, as SCRIPT LOAD would report it. */
  readonly sha: string;
}

/** Define a script; its SHA is computed once, on first use (a process pays only for the scripts it runs). */
export function luaScript(name: string, numKeys: number, source: string): LuaScript {
  let sha: string | undefined;
  return { name, numKeys, source, get sha() { return (sha ??= sha1Hex(source)); } };
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

/** The highest literal index `n` of `table[n]` in `source` (0 when none). */
function highestIndex(source: string, table: 'KEYS' | 'ARGV'): number {
  return Math.max(0, ...[...source.matchAll(new RegExp(`\\b${table}\\[(\\d+)\\]`, 'g'))].map((m) => Number(m[1])));
}

/** How many arguments a script's calls carry: the highest literal `ARGV[n]` it reads. */
export function scriptArgCount(script: LuaScript): number {
  return highestIndex(script.source, 'ARGV');
}

/**
 * Ends every argument in a batch form's packed `ARGV[1]`. Unit separator: JSON text (what sessions
 * store) never holds it raw, and a call with an argument that does is sent on its own instead.
 */
export const BATCH_SEP = '\x1f';

/**
 * The batch form of a family of single-call scripts: one EVALSHA runs any mix of calls to them.
 * KEYS are every call's keys in order (`numKeys` each, declared, so a Cluster node still refuses
 * keys of other slots with CROSSSLOT). `ARGV[1]` packs everything else, each field ended by
 * {@link BATCH_SEP}: the number of calls, then per call its script's index in `scripts` (1-based)
 * and exactly {@link scriptArgCount} arguments. Answers an array with one reply per call. Each call
 * runs under `pcall`, so one failing call answers its own error and never takes the others'
 * replies (or their already-applied writes) down with it. Only for scripts whose replies are never
 * nil (nil would end a Lua array early; it is sent as false → null).
 *
 * One family rather than one batch per script: a session update's acquire and the commits of
 * others finishing in the same loop turn leave as one command (on this machine each command
 * costs the client ~20–60 µs of CPU, mostly waking Redis, whatever its size). One packed argument
 * rather than one per field: ioredis spends ~0.2 µs of client CPU on every argument (flattening,
 * byte-length, concatenation), ~1.3 µs per middleware update; splitting in Lua costs the server
 * less than that.
 */
export function batchScripts(name: string, scripts: readonly LuaScript[]): LuaScript {
  // Each call's keys and arguments reach the body as function parameters, not as two tables built
  // and filled per call (that cost ~1 µs of server time per call in a batch of five, a fifth of a
  // whole session-acquire call), so a body may index KEYS and ARGV with literal numbers only.
  const fns: string[] = [];
  const runners: string[] = [];
  scripts.forEach((script, f) => {
    const src = script.source;
    const nk = script.numKeys;
    const na = scriptArgCount(script);
    if (/\b(KEYS|ARGV)\[(?!\d+\])|#(KEYS|ARGV)\b/.test(src) || highestIndex(src, 'KEYS') > nk) {
      throw new Error(`batchScripts: ${script.name} must index KEYS (up to its numKeys) and ARGV with literal numbers only.`);
    }
    const params = [...Array.from({ length: nk }, (_, j) => `K${j + 1}`), ...Array.from({ length: na }, (_, j) => `A${j + 1}`)];
    // Fields are read into locals first: Lua leaves the evaluation order of call arguments open.
    const reads = Array.from({ length: na }, (_, j) => `local a${j + 1} = field()`).join(' ');
    const values = [...Array.from({ length: nk }, (_, j) => `KEYS[k + ${j + 1}]`), ...Array.from({ length: na }, (_, j) => `a${j + 1}`)];
    const body = src.replace(/\bKEYS\[(\d+)\]/g, 'K$1').replace(/\bARGV\[(\d+)\]/g, 'A$1');
    fns.push(`local function f${f + 1}(${params.join(', ')})\n${body}\nend`);
    runners.push(`  { ${nk}, function(k) ${reads} return f${f + 1}(${values.join(', ')}) end },`);
  });
  return luaScript(name, 0, `
local packed, pos = ARGV[1], 1
local function field()
  local stop = string.find(packed, '\\31', pos, true)
  local v = string.sub(packed, pos, stop - 1)
  pos = stop + 1
  return v
end
${fns.join('\n')}
local ops = {
${runners.join('\n')}
}
local calls = tonumber(field())
local out = {}
local k = 0
for i = 1, calls do
  local op = ops[tonumber(field())]
  local ok, r = pcall(op[2], k)
  if not ok then
    out[i] = redis.error_reply(type(r) == 'table' and r.err or tostring(r))
  elseif r == nil then
    out[i] = false
  else
    out[i] = r
  end
  k = k + op[1]
end
return out
`);
}
