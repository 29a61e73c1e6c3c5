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
