import { BotwireConfigError } from 'botwire/adapter-kit';
import { isPGlite, isPool, type PgPoolConnection, type PgQueryable } from './client.js';
import { goesThroughPooler, pooledListenError } from './pooler.js';

/**
 * What a {@link ChannelListener} does when its first connection goes through a pooler: `refuse`
 * (`start()` rejects with a `BotwireConfigError` naming `what`), `poll` (never listen; `start()`
 * resolves false) or `allow` (a session-mode pooler, where LISTEN works: no check).
 */
export type PoolerPolicy = { mode: 'refuse'; what: string } | { mode: 'poll' | 'allow' };

/** Whether `client` can give us a LISTEN subscription of our own (a pool connection or PGlite). */
export function canListen(client: PgQueryable): boolean {
  // A one-connection pool would be starved by a listener holding its only connection.
  if (isPool(client)) return (client.options?.max ?? 10) > 1;
  return isPGlite(client);
}

/**
 * One lazily opened LISTEN on `channel`. On a pool it holds a dedicated connection; when that
 * connection drops, `onDrop` fires and the next `start()` listens again — it never throws.
 */
export class ChannelListener {
  #stop: (() => Promise<void>) | undefined;
  #starting: Promise<boolean> | undefined;
  #closed = false;
  /** Set once the first connection turned out to go through a pooler. */
  #pooled: BotwireConfigError | undefined;
  #checked = false;

  constructor(
    private readonly client: PgQueryable,
    private readonly channel: string,
    private readonly onPayload: (payload: string) => void,
    private readonly onDrop: () => void,
    private readonly pooler: PoolerPolicy = { mode: 'poll' },
  ) {}

  /** True while notifications are being delivered. */
  get listening(): boolean {
    return this.#stop !== undefined;
  }

  /** True once the first connection turned out to go through a pooler: it will never listen. */
  get pooled(): boolean {
    return this.#pooled !== undefined;
  }

  /** Start listening if not already; resolves false (never rejects) when that failed or took too long. */
  start(timeoutMs: number): Promise<boolean> {
    if (this.#stop) return Promise.resolve(true);
    if (this.#pooled) return this.pooler.mode === 'refuse' ? Promise.reject(this.#pooled) : Promise.resolve(false);
    if (this.#closed) return Promise.resolve(false);
    this.#starting ??= this.#open(timeoutMs).finally(() => { this.#starting = undefined; });
    return this.#starting;
  }

  async #open(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let gaveUp = false;
    const opening = this.#subscribe(() => gaveUp);
    const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => { gaveUp = true; resolve(undefined); }, timeoutMs); });
    try {
      const stop = await Promise.race([opening.catch((err: unknown) => {
        if (err === this.#pooled && this.pooler.mode === 'refuse') throw err;
        return undefined;
      }), timeout]);
      if (!stop) return false;
      if (this.#closed) { await stop().catch(() => undefined); return false; }
      this.#stop = stop;
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  // Resolves to an unsubscribe function. `abandoned()` tells a late-arriving connection to go away.
  async #subscribe(abandoned: () => boolean): Promise<() => Promise<void>> {
    const client = this.client;
    if (isPGlite(client)) {
      const unlisten = await client.listen(this.channel, this.onPayload);
      if (abandoned()) { await unlisten(); throw new Error('listener abandoned'); }
      return unlisten;
    }
    if (!isPool(client)) throw new Error('client cannot listen');
    const conn: PgPoolConnection = await client.connect();
    let released = false;
    const release = (err?: Error): void => {
      if (released) return;
      released = true;
      conn.removeListener('notification', onNotification);
      // Destroy rather than return it: a connection that LISTENed (or failed) is not for reuse.
      try { conn.release(err ?? true); } catch { /* already gone */ }
    };
    const onNotification = (msg: { channel?: string; payload?: string }): void => {
      if (msg.channel === this.channel) this.onPayload(msg.payload ?? '');
    };
    const onError = (err?: Error): void => {
      const wasCurrent = this.#stop === stop;
      if (wasCurrent) this.#stop = undefined;
      release(err instanceof Error ? err : new Error('listener connection ended'));
      if (wasCurrent) this.onDrop();
    };
    const stop = async (): Promise<void> => { release(); };
    // Without an 'error' handler a terminated connection would crash the process.
    conn.on('error', onError);
    conn.on('end', onError);
    conn.on('notification', onNotification);
    try {
      // One statement on the first connection only: whether a pooler sits in between.
      if (this.pooler.mode !== 'allow' && !this.#checked) {
        if (await goesThroughPooler(conn as PgPoolConnection & { processID?: unknown })) {
          const what = this.pooler.mode === 'refuse' ? this.pooler.what : 'LISTEN';
          this.#pooled = pooledListenError(what, ', or set `listen: false` so that it polls');
          throw this.#pooled;
        }
        this.#checked = true;
      }
      await conn.query(`LISTEN ${this.channel}`);
    } catch (err) {
      release(err instanceof Error ? err : undefined);
      throw err;
    }
    if (abandoned()) { release(); throw new Error('listener abandoned'); }
    return stop;
  }

  /** Stop listening for good and give the connection back. */
  async close(): Promise<void> {
    this.#closed = true;
    const stop = this.#stop;
    this.#stop = undefined;
    await stop?.().catch(() => undefined);
  }
}
