import { BackendDurabilityError, BotwireConfigError, callBackend } from 'botwire/adapter-kit';
import { isClusterRefusal, isNoScript, REDIS } from './errors.js';
import type { RedisArg, RedisLike } from './redis-like.js';
import type { LuaScript } from './script.js';

/**
 * Replica acknowledgement after each write (Redis `WAIT`). Redis replicates asynchronously: a write
 * the primary acknowledged can be missing on the replica promoted when that primary dies. With this
 * option a write counts as done only once `replicas` replicas confirmed it; otherwise it rejects
 * with `BackendDurabilityError` (outcome unknown: the write is applied on the primary and may or may
 * not survive a failover).
 *
 * @example
 * ```ts
 * import { redisSessionStore } from 'botwire/redis';
 * const store = redisSessionStore({ client: cluster, durability: { replicas: 1, timeoutMs: 500 } });
 * ```
 */
export interface RedisDurability {
  /** How many replicas must confirm each write (at least 1; at most the replicas each primary has). */
  replicas: number;
  /**
   * How long Redis waits for them (`WAIT`'s timeout). Keep it well below `operationTimeoutMs`,
   * which bounds the whole round trip: `WAIT` blocks its connection, so while replicas lag, later
   * commands to the same master queue behind it.
   */
  timeoutMs: number;
}

/** Check a `durability` option: undefined stays undefined, anything odd is a {@link BotwireConfigError}. */
export function checkDurability(owner: string, d: RedisDurability | undefined, client: RedisLike | undefined): RedisDurability | undefined {
  if (d === undefined) return undefined;
  if (d === null || typeof d !== 'object' || !Number.isInteger(d.replicas) || d.replicas < 1 ||
      !Number.isInteger(d.timeoutMs) || d.timeoutMs < 1) {
    throw new BotwireConfigError(`${owner} \`durability\` must be { replicas: integer ≥ 1, timeoutMs: integer ≥ 1 }, got ${JSON.stringify(d)}.`);
  }
  if (client !== undefined && typeof client.pipeline !== 'function') {
    throw new BotwireConfigError(`${owner} \`durability\` needs a client with pipeline() (an ioredis Redis or Cluster) to send WAIT with each write.`);
  }
  return { replicas: d.replicas, timeoutMs: d.timeoutMs };
}

/** Most times a write refused by a Cluster node (moved slot, failover in progress) is sent again. */
const MAX_REFUSALS = 10;
/** Pause before re-sending after CLUSTERDOWN/TRYAGAIN (ioredis's own `retryDelayOnClusterDown`). */
const REFUSED_RETRY_MS = 100;

/** Re-read the Cluster's slot map (resolves either way; a plain client has nothing to refresh). */
function refreshSlots(client: RedisLike): Promise<void> {
  return new Promise((resolve) => {
    if (typeof client.refreshSlotsCache !== 'function') return resolve();
    client.refreshSlotsCache(() => resolve());
  });
}

/**
 * Run `script` and `WAIT` in one pipeline (one round trip; on a Cluster client the pipeline goes
 * to the node of the script's keys, the node that must replicate the write), under one deadline of
 * `timeoutMs` (undefined: the caller bounds the call, as `JobQueue` does). A reply for which
 * `refused` is true means the script wrote nothing, so it is returned whatever `WAIT` answered;
 * otherwise fewer confirmations than required raise {@link BackendDurabilityError}.
 */
export function runDurable(
  client: RedisLike, script: LuaScript, keys: readonly string[], args: readonly RedisArg[], d: RedisDurability,
  timeoutMs: number | undefined, subject?: string, refused?: (reply: unknown) => boolean,
): Promise<unknown> {
  const run = async (): Promise<unknown> => {
    const send = (bySource: boolean): Promise<Array<[Error | null, unknown]> | null> => {
      const p = client.pipeline!();
      if (bySource) p.eval(script.source, script.numKeys, ...keys, ...args);
      else p.evalsha(script.sha, script.numKeys, ...keys, ...args);
      p.call('WAIT', d.replicas, d.timeoutMs);
      return p.exec();
    };
    let bySource = false;
    let replies = await send(bySource);
    for (let refusals = 0; ; refusals++) {
      const first = replies?.[0]?.[0];
      // The server lost its script cache (restart, failover, SCRIPT FLUSH): nothing ran, send the source.
      if (first && isNoScript(first) && !bySource) bySource = true;
      // ioredis re-routes a pipeline only when all its commands failed alike; here WAIT succeeds
      // on the node that refused the script (MOVED after a promotion, CLUSTERDOWN meanwhile), so
      // the refusal came back as is and the slot map stayed stale: refresh it and send again.
      else if (first && isClusterRefusal(first) && refusals < MAX_REFUSALS) {
        if (!String(first.message).startsWith('MOVED')) await new Promise((r) => setTimeout(r, REFUSED_RETRY_MS));
        await refreshSlots(client);
      } else break;
      replies = await send(bySource);
    }
    if (!replies || replies.length < 2) throw new Error(`${script.name}: the pipeline with WAIT was not answered`);
    const [[err, reply], [waitErr, confirmed]] = replies as [[Error | null, unknown], [Error | null, unknown]];
    if (err) throw err;
    if (refused?.(reply)) return reply;
    const n = Number(confirmed);
    if (waitErr || !(n >= d.replicas)) {
      throw new BackendDurabilityError(REDIS.name, script.name, d.replicas, waitErr ? 0 : n, d.timeoutMs, subject, waitErr ?? undefined);
    }
    return reply;
  };
  return timeoutMs === undefined ? run() : callBackend(REDIS, script.name, timeoutMs, run, subject);
}
