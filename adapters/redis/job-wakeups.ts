import { duplicateFor, type RedisLike, type RedisSubscriberLike } from './redis-like.js';

/**
 * Wake-ups for long-running workers without blocking commands: job scripts PUBLISH a job name when
 * its due set goes from empty to non-empty, and one lazily opened subscriber connection (a
 * `duplicate()` of the client) fans the names out to local listeners. Serverless ticks never
 * subscribe, so they open no extra connection. Best effort: workers still poll.
 */
export class JobWakeups {
  readonly #channel: string;
  readonly #client: () => Promise<RedisLike>;
  readonly #listeners = new Set<(name: string) => void>();
  #subscriber: RedisSubscriberLike | undefined;
  #subscribing: Promise<void> | undefined;

  constructor(channel: string, client: () => Promise<RedisLike>) {
    this.#channel = channel;
    this.#client = client;
  }

  /**
   * Add a listener; resolves once the subscription is confirmed, or after `waitMs` while Redis is
   * slow to answer (the subscription then completes in the background: a worker must not hang at
   * start because its wake-ups are late). The result removes the listener.
   */
  async subscribe(listener: (name: string) => void, waitMs = 2_000): Promise<() => Promise<void>> {
    this.#listeners.add(listener);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const opening = (this.#subscribing ??= this.#open());
      await Promise.race([opening, new Promise((r) => { timer = setTimeout(r, waitMs); })]);
    } catch (err) {
      this.#listeners.delete(listener);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return async () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.close();
    };
  }

  async #open(): Promise<void> {
    const client = await this.#client();
    if (typeof client.duplicate !== 'function') return; // no wake-ups: the worker polls
    // An offline queue lets SUBSCRIBE wait for the connection; ioredis resubscribes on reconnect.
    const sub = duplicateFor(client, { enableOfflineQueue: true, lazyConnect: false, autoResubscribe: true, maxRetriesPerRequest: 1 });
    this.#subscriber = sub;
    sub.on('error', () => {});
    sub.on('message', (channel, name) => {
      if (channel === this.#channel) for (const l of [...this.#listeners]) l(name);
    });
    try {
      await sub.subscribe(this.#channel);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Drop the subscriber connection; the next `subscribe` opens a new one. */
  close(): void {
    const sub = this.#subscriber;
    this.#subscriber = undefined;
    this.#subscribing = undefined;
    try { sub?.disconnect(); } catch { /* already gone */ }
  }
}
