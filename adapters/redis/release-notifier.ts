import { ReleaseWaiters } from 'botwire/adapter-kit';
import { duplicateFor, type RedisLike, type RedisSubscriberLike } from './redis-like.js';

/** Don't try to subscribe again sooner than this after a failure (Redis down: no reconnect storm). */
const RESUBSCRIBE_AFTER_MS = 1_000;

/**
 * Wakes lease waiters when a lease is released anywhere in the fleet. Release scripts PUBLISH the
 * record key on one channel, only while a failed acquire's waiter marker lives; one lazily
 * opened subscriber connection per backend fans the messages out to local waiters. Every wait also
 * has a timeout, so a lost subscription only costs latency, never a hang.
 */
export class ReleaseNotifier {
  readonly #channel: string;
  readonly #client: () => Promise<RedisLike>;
  readonly #releases = new ReleaseWaiters();
  #subscriber: RedisSubscriberLike | undefined;
  #failedAt = -Infinity;
  #closed = false;

  constructor(channel: string, client: () => Promise<RedisLike>) {
    this.#channel = channel;
    this.#client = client;
  }

  /** An acquire sent at `sentAt` (`performance.now()`) found `key` busy; its caller will {@link wait}. */
  failed(key: string, sentAt: number): void {
    this.#releases.notePending(key, sentAt);
  }

  /** Resolve on the next release of `key`, or after `timeoutMs`. Never rejects. */
  wait(key: string, timeoutMs: number): Promise<void> {
    if (this.#releases.released(key)) return Promise.resolve();
    if (!this.#closed) this.#subscribe();
    return this.#releases.park(key, timeoutMs);
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
      sub = duplicateFor(client, { enableOfflineQueue: true, lazyConnect: false, autoResubscribe: true, maxRetriesPerRequest: 1 });
      this.#subscriber = sub;
      sub.on('error', () => {});
      sub.on('message', (channel, key) => { if (channel === this.#channel) this.#releases.heard(key); });
      let subscribed = false;
      // After a reconnect (not the first connect) releases may have been published unheard.
      sub.on('ready', () => { if (subscribed) this.#releases.wakeAll(); });
      sub.subscribe(this.#channel).then(() => { subscribed = true; this.#releases.wakeAll(); }, fail);
    }).catch(() => { this.#failedAt = Date.now(); });
  }

  /** Disconnect the subscriber and wake every waiter (they retry and fail or succeed on their own). */
  close(): void {
    this.#closed = true;
    const sub = this.#subscriber;
    this.#subscriber = undefined;
    try { sub?.disconnect(); } catch { /* already gone */ }
    this.#releases.wakeAll();
  }
}
