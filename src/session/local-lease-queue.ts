import { SessionLockTimeoutError } from '../errors.js';
import { acquireHeld, type SessionStore } from './session-store.js';
import type { CommitOptions, HeldLease } from './types.js';

/**
 * In-process queue of updates waiting for the same session key. Only the head of the queue holds
 * (or waits for) the fleet-wide lease; when it finishes while others wait here, it hands the lease
 * on with `lease.handOver()` — the write and the keep-lease are one round trip, and the next update
 * continues from the committed record with no release/acquire in between.
 *
 * Queues are kept per {@link SessionStore} object, so two middlewares sharing a store in one
 * process also share the queue.
 *
 * @module
 */

/** After this many hand-overs in a row the lease is released once, so other processes get a turn. */
export const MAX_HAND_OVERS = 16;

interface Waiter {
  leaseMs: number;
  /** Set once the waiter was picked: its wait-timeout no longer applies. */
  chosen: boolean;
  /** `null` = "acquire it yourself". */
  resolve: (lease: HeldLease<unknown> | null) => void;
}

interface KeyQueue {
  waiters: Waiter[];
  handOvers: number;
}

const queues = new WeakMap<SessionStore<unknown>, Map<string, KeyQueue>>();

function queuesOf(store: SessionStore<unknown>): Map<string, KeyQueue> {
  let map = queues.get(store);
  if (!map) queues.set(store, (map = new Map()));
  return map;
}

/** The local slot was freed without a hand-over: the next local waiter acquires remotely itself. */
function passOn(map: Map<string, KeyQueue>, key: string, q: KeyQueue): void {
  const next = q.waiters.shift();
  if (!next) {
    if (map.get(key) === q) map.delete(key);
    return;
  }
  next.chosen = true;
  next.resolve(null);
}

/**
 * Take the lease on `key`: from the update ahead of us in this process if there is one, else from
 * the backend. Throws {@link SessionLockTimeoutError} after `waitMs` in total.
 */
export function takeLease(
  store: SessionStore<unknown>,
  key: string,
  options: { leaseMs: number; waitMs: number },
): Promise<HeldLease<unknown>> {
  const map = queuesOf(store);
  const q = map.get(key);
  if (q) return waitInLine(store, map, key, q, options);
  // Nobody ahead of us here: the common case, with no extra async frame.
  const mine: KeyQueue = { waiters: [], handOvers: 0 };
  map.set(key, mine);
  return acquireRemote(store, map, key, mine, options, undefined);
}

function acquireRemote(
  store: SessionStore<unknown>, map: Map<string, KeyQueue>, key: string, q: KeyQueue,
  options: { leaseMs: number; waitMs: number }, started: number | undefined,
): Promise<HeldLease<unknown>> {
  // `started`: when the wait began in the local line; undefined = just now (the options as given).
  const left = started === undefined ? options : { leaseMs: options.leaseMs, waitMs: Math.max(0, options.waitMs - (Date.now() - started)) };
  return acquireHeld(store, key, left).then(
    undefined,
    (err: unknown) => {
      passOn(map, key, q);
      throw err;
    },
  );
}

/** Queue behind the local update(s) already holding or waiting for `key`. */
async function waitInLine(
  store: SessionStore<unknown>, map: Map<string, KeyQueue>, key: string, queue: KeyQueue,
  options: { leaseMs: number; waitMs: number },
): Promise<HeldLease<unknown>> {
  const started = Date.now();
  const handed = await new Promise<HeldLease<unknown> | null>((resolve, reject) => {
    const waiter: Waiter = {
      leaseMs: options.leaseMs,
      chosen: false,
      resolve: (lease) => { clearTimeout(timer); resolve(lease); },
    };
    const timer = setTimeout(() => {
      if (waiter.chosen) return;
      const i = queue.waiters.indexOf(waiter);
      if (i >= 0) queue.waiters.splice(i, 1);
      reject(new SessionLockTimeoutError(key, Date.now() - started));
    }, options.waitMs);
    queue.waiters.push(waiter);
  });
  if (handed) {
    handed.handedOver = true;
    handed.waitedMs = Date.now() - started;
    return handed;
  }
  const lease = await acquireRemote(store, map, key, queue, options, started);
  lease.waitedMs = Date.now() - started;
  return lease;
}

/**
 * Finish with a lease: hand it (with the write) to the next local waiter, or commit and release.
 * `text` is the new data already JSON-encoded (undefined = no new data). Returns the stored version.
 */
export function giveLease(
  store: SessionStore<unknown>,
  lease: HeldLease<unknown>,
  text: string | undefined,
  options: CommitOptions,
): Promise<number> {
  const map = queuesOf(store);
  const q = map.get(lease.key);
  if (!q) return lease.commitText(text, options); // not taken through takeLease
  const next = q.handOvers < MAX_HAND_OVERS ? q.waiters.shift() : undefined;
  if (next) return handOver(lease, q, next, text, options);
  q.handOvers = 0;
  return lease.commitText(text, options).finally(() => passOn(map, lease.key, q));
}

/** Write and keep the lease for `next`, the local update waiting behind this one. */
async function handOver(lease: HeldLease<unknown>, q: KeyQueue, next: Waiter, text: string | undefined, options: CommitOptions): Promise<number> {
  next.chosen = true;
  let handed: HeldLease<unknown>;
  try {
    // Not a spread of `options`: V8's generic object spread cost ~1 µs per update on this hot path.
    handed = await lease.handOverText(text, { ttlMs: options.ttlMs, delete: options.delete, keepLeaseMs: next.leaseMs });
  } catch (err) {
    q.handOvers = 0;
    await lease.release().catch(() => undefined); // only does something if the write never started
    next.resolve(null);
    throw err;
  }
  q.handOvers++;
  next.resolve(handed);
  return handed.record?.version ?? 0;
}

/** Give up a lease without writing (load failed half-way, or the update is abandoned). */
export async function dropLease(store: SessionStore<unknown>, lease: HeldLease<unknown>): Promise<void> {
  const map = queuesOf(store);
  const q = map.get(lease.key);
  try {
    await lease.release();
  } finally {
    if (q) {
      q.handOvers = 0;
      passOn(map, lease.key, q);
    }
  }
}
