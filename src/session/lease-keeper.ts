import type { SessionLease } from './types.js';

/**
 * Keeps the leases of running updates alive while their handlers run. One timer per lease length
 * renews every lease held longer than a third of it, instead of one `setInterval` per update
 * (a timer per update was a measurable share of the middleware's per-update cost). A renewal that
 * fails stops renewing that lease; the loss surfaces at commit as `SessionLeaseLostError`.
 *
 * @module
 */

interface Keeper {
  /** Lease → when it was last taken or renewed (epoch ms). */
  held: Map<SessionLease<unknown>, number>;
  timer: ReturnType<typeof setInterval> | undefined;
}

const keepers = new Map<number, Keeper>();

function period(leaseMs: number): number {
  return Math.max(5, Math.floor(leaseMs / 3));
}

function tick(leaseMs: number, keeper: Keeper): void {
  if (keeper.held.size === 0) {
    // Idle for a whole period: stop ticking until the next lease arrives.
    clearInterval(keeper.timer);
    keeper.timer = undefined;
    return;
  }
  const now = Date.now();
  const due = now - period(leaseMs);
  for (const [lease, since] of keeper.held) {
    if (since > due) continue;
    keeper.held.set(lease, now);
    lease.extend(leaseMs).catch(() => keeper.held.delete(lease));
  }
}

/**
 * Start renewing `lease` (every `leaseMs / 3`, so a renewal lands at the latest two thirds into the
 * lease, before it lapses).
 */
export function keepAlive(lease: SessionLease<unknown>, leaseMs: number): void {
  let keeper = keepers.get(leaseMs);
  if (!keeper) keepers.set(leaseMs, (keeper = { held: new Map(), timer: undefined }));
  keeper.held.set(lease, Date.now());
  if (keeper.timer === undefined) {
    const k = keeper;
    k.timer = setInterval(() => tick(leaseMs, k), period(leaseMs));
    (k.timer as { unref?: () => void }).unref?.();
  }
}

/** Stop renewing `lease` (it is being committed, handed over or released). */
export function letGo(lease: SessionLease<unknown>, leaseMs: number): void {
  keepers.get(leaseMs)?.held.delete(lease);
}
