import type { RedisLike, RedisSubscriberLike } from './redis-like.js';

/** Don't try to subscribe again sooner than this after a failure (Redis down: no reconnect storm). */
const RESUBSCRIBE_AFTER_MS = 1_000;
/** Bound on remembered "released while an acquire was in flight" keys, so it cannot grow forever. */
const MAX_MISSED = 10_000;

/**
 * Wakes lease waiters when a lease is released anywhere in the fleet. Release scripts PUBLISH the
 * key on one channel, only while a failed acquire's waiter marker lives; one lazily
 * opened subscriber connection per backend fans the messages out to local waiters. Every wait also
 * has a timeout, so a lost subscription only costs latency, never a hang.
 */
export class ReleaseNotifier {
  readonly #channel: string;
  readonly #client: () => Promise<RedisLike>;
  readonly #waiters = new Map<string, Set<() => void>>();
  /** Acquire calls in flight per key: a release seen meanwhile must not be lost before the wait starts. */
  readonly #inflight = new Map<string, number>();
  readonly #missed = new Set<string>();
  #subscriber: RedisSubscriberLike | undefined;
  #failedAt = -Infinity;
  #closed = false;

  constructor(channel: string, client: () => Promise<RedisLike>) {
    this.#channel = channel;
    this.#client = client;
  }

  /** Run one acquire attempt, remembering a release that arrives before its caller starts waiting. */
  async attempt<R extends { ok: boolean }>(key: string, run: () => Promise<R>): Promise<R> {
    this.#inflight.set(key, (this.#inflight.get(key) ?? 0) + 1);
    try {
      const result = await run();
      if (result.ok) this.#missed.delete(key);
      return result;
    } finally {
      const n = this.#inflight.get(key)! - 1;
      if (n > 0) this.#inflight.set(key, n);
      else this.#inflight.delete(key);
    }
  }

  /** Resolve on the next release of `key`, or after `timeoutMs`. Never rejects. */
  wait(key: string, timeoutMs: number): Promise<void> {
    if (this.#missed.delete(key)) return Promise.resolve();
    if (!this.#closed) this.#subscribe();
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

  /**
   * One release lets one holder in, so by default only the longest-waiting local waiter retries
   * (no thundering herd); the others stay queued for the next release, which publishes again.
   */
  #wake(key: string, all = false): void {
    const set = this.#waiters.get(key);
    if (set) for (const wake of [...set]) { wake(); if (!all) break; }
    if (this.#inflight.has(key)) {
      if (this.#missed.size >= MAX_MISSED) this.#missed.clear();
      this.#missed.add(key);
    }
  }

  /** Wake everyone: after (re)subscribing, releases published while we were not listening are unknown. */
  #wakeAll(): void {
    for (const key of [...this.#waiters.keys()]) this.#wake(key, true);
  }

  #subscribe(): void {
    if (this.#subscriber || Date.now() - this.#failedAt < RESUBSCRIBE_AFTER_MS) return;
    let sub: RedisSubscriberLike | undefined;
    const fail = (): void => {
      this.#failedAt = Date.now();
      if (this.#subscriber === sub) this.#subscriber = undefined;
      try { sub?.disconnect(); } catch { /* already gone */ }
    };
    void this.#client().then((client) => {
      if (this.#closed || this.#subscriber || typeof client.duplicate !== 'function') return;
      // An offline queue lets SUBSCRIBE wait for the connection; ioredis resubscribes on reconnect.
      sub = client.duplicate({ enableOfflineQueue: true, lazyConnect: false, autoResubscribe: true, maxRetriesPerRequest: 1 });
      this.#subscriber = sub;
      sub.on('error', () => {});
      sub.on('message', (channel, key) => { if (channel === this.#channel) this.#wake(key); });
      let subscribed = false;
      // After a reconnect (not the first connect) releases may have been published unheard.
      sub.on('ready', () => { if (subscribed) this.#wakeAll(); });
      sub.subscribe(this.#channel).then(() => { subscribed = true; this.#wakeAll(); }, fail);
    }).catch(() => { this.#failedAt = Date.now(); });
  }

  /** Disconnect the subscriber and wake every waiter (they retry and fail or succeed on their own). */
  close(): void {
    this.#closed = true;
    const sub = this.#subscriber;
    this.#subscriber = undefined;
    try { sub?.disconnect(); } catch { /* already gone */ }
    this.#wakeAll();
  }
}
