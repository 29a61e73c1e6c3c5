import type { BackendErrorKind, BackendInfo } from 'botwire/adapter-kit';

/**
 * What ioredis's errors mean, for the core's typed errors (see `BackendInfo.classifyError`). Node's
 * socket codes (`ECONNREFUSED` …) are recognised by the core itself.
 *
 * @module
 */

/** The connection broke or gave up while a command may have been on its way. */
const UNAVAILABLE_MESSAGES = [
  'Connection is closed', 'Reached the max retries per request limit',
  // ioredis Cluster during a failover: redirected (MOVED, TRYAGAIN, CLUSTERDOWN, closed connections)
  // until it gave up; an earlier attempt may have run.
  'Too many Cluster redirections', 'Failed to refresh slots cache',
];
/** Refused before the command was written: no offline queue (`enableOfflineQueue: false`), no sentinel. */
const UNSENT_MESSAGES = ["Stream isn't writeable", 'All sentinels are unreachable', "Cluster isn't ready and enableOfflineQueue options is false"];

/**
 * A Cluster node refused the command before running it: the slot lives elsewhere now (`MOVED`,
 * `ASK`) or the cluster is failing over (`CLUSTERDOWN`, `TRYAGAIN`). ioredis follows these itself
 * for single commands; they reach botwire raw only from a pipeline (the `durability` option's).
 */
export function isClusterRefusal(err: unknown): boolean {
  return /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN) /.test(String((err as Error | null)?.message ?? err));
}

/** The kind of an ioredis error, or undefined for a reply error (a script's own failure, WRONGTYPE …). */
export function classifyRedisError(err: unknown): BackendErrorKind | undefined {
  if (isClusterRefusal(err)) return 'unsent';
  const message = err instanceof Error ? err.message : String(err);
  if (UNSENT_MESSAGES.some((m) => message.includes(m))) return 'unsent';
  if (UNAVAILABLE_MESSAGES.some((m) => message.includes(m))) return 'unavailable';
  return undefined;
}

/** The Redis backend as the kit's bounded calls see it. */
export const REDIS: BackendInfo = { name: 'Redis', classifyError: classifyRedisError };

/** True when Redis refused a command because it does not have the script cached (restart, failover, SCRIPT FLUSH). */
export function isNoScript(err: unknown): boolean {
  return String((err as Error | null)?.message ?? err).includes('NOSCRIPT');
}

/** True when a multi-key command spanned Cluster slots (a cluster node behind a plain client). */
export function isCrossSlot(err: unknown): boolean {
  return String((err as Error | null)?.message ?? err).includes('CROSSSLOT');
}
