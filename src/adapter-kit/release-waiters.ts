/**
 * Bookkeeping for "wake me when this lease is released", shared by the adapters that hear releases
 * from the server (Redis pub/sub, Postgres LISTEN). Only failed acquires pay for it: a failed
 * attempt notes when it was sent, and a release heard after that send but before the caller began
 * to wait is kept for it instead of being slept through. Edge-safe.
 *
 * @module
 */

/** Entries older than this are dropped when a map grows large (a waiter that never came). */
const STALE_MS = 60_000;
const MAX_ENTRIES = 1_000;

/**
 * Local waiters for lease releases heard from the server, for a `SessionBackend.waitForRelease`.
 * The adapter reports what it hears ({@link heard}, {@link wakeAll}) and what it does
 * ({@link notePending} after a failed acquire, {@link wakeOne} after its own release); a wait is
 * {@link released} (retry at once) or {@link park}.
 *
 * @example
 * ```ts
 * const waiters = new ReleaseWaiters();
 * channel.on('released', (key) => waiters.heard(key));
 * // in waitForRelease(key, timeoutMs):
 * if (!waiters.released(key)) await waiters.park(key, timeoutMs);
 * ```
 */
export class ReleaseWaiters {
  readonly #waiters = new Map<string, Set<() => void>>();
  /** A release heard while nobody here was registered to wait: key → when. */
  readonly #unclaimed = new Map<string, number>();
  /** When each failed, not-yet-waited acquire was sent: key → send times. */
  readonly #pending = new Map<string, number[]>();

  /** A failed acquire for `key` was sent at `sentAt` (`performance.now()`); its caller will wait. */
  notePending(key: string, sentAt: number): void {
    if (this.#pending.size > MAX_ENTRIES) prune(this.#pending, (list) => list[0]!);
    const list = this.#pending.get(key);
    if (list) list.push(sentAt);
    else this.#pending.set(key, [sentAt]);
  }

  /**
   * A release of `key` was heard. One release wakes one local waiter, not all: each woken waiter
   * retries, and a hundred racing for one lease cost a hundred attempts for one winner; a loser's
   * failed attempt marks the key again, so the next release is announced too.
   */
  heard(key: string): void {
    if (this.wakeOne(key)) return;
    if (this.#unclaimed.size > MAX_ENTRIES) prune(this.#unclaimed, (t) => t);
    this.#unclaimed.set(key, performance.now());
  }

  /** Wake the longest-waiting local waiter for `key`, if any (a release made here). */
  wakeOne(key: string): boolean {
    const wake = this.#waiters.get(key)?.values().next().value;
    wake?.();
    return wake !== undefined;
  }

  /** Wake every waiter: releases may have been missed (reconnect, resubscribe, shutdown). */
  wakeAll(): void {
    for (const waiters of [...this.#waiters.values()]) for (const wake of [...waiters]) wake();
  }

  /**
   * Start a wait for `key`: true when a release was already heard since the failed attempt it
   * follows (the caller should retry at once); false when it should {@link park}.
   */
  released(key: string): boolean {
    const list = this.#pending.get(key);
    // The earliest outstanding send: at worst an extra acquire attempt, never a missed release.
    const since = list?.length ? Math.min(...list) : performance.now();
    list?.shift();
    if (list?.length === 0) this.#pending.delete(key);
    const heard = this.#unclaimed.get(key);
    if (heard === undefined || heard < since) return false;
    this.#unclaimed.delete(key);
    return true;
  }

  /** Resolve on the next release of `key` heard here, or after `timeoutMs`. Never rejects. */
  park(key: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.#waiters.get(key);
      if (!set) this.#waiters.set(key, (set = new Set()));
      const waiters = set;
      const wake = (): void => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(1, timeoutMs));
      waiters.add(wake);
    });
  }
}

function prune<V>(map: Map<string, V>, time: (v: V) => number): void {
  const old = performance.now() - STALE_MS;
  for (const [k, v] of map) if (time(v) < old) map.delete(k);
}
