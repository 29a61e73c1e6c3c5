/**
 * SyncBus over Redis pub/sub. Envelopes are PUBLISHed on `<channelPrefix><topic>`; one dedicated
 * subscriber connection PSUBSCRIBEs `<channelPrefix>*` and the core does the topic matching, so the
 * semantics equal every other adapter's (and `redis-cli PSUBSCRIBE 'botwire:sync:*'` shows the traffic).
 *
 * @module
 */
import type { SyncBus, SyncBusOptions, SyncTransport, SyncTransportEvents } from 'botwire/sync';
import { BotwireConfigError, createSyncBus } from 'botwire/adapter-kit';
import { PublishBatcher } from './publish-batcher.js';
import { RedisConnection } from './connection.js';
import { duplicateFor, isRedisLike, type RedisLike, type RedisSubscriberLike } from './redis-like.js';

/** Options of {@link redisSyncBus} / {@link redisSyncTransport}. Pass exactly one of `client` and `url`. */
export interface RedisSyncTransportOptions {
  /**
   * A ready ioredis client (or anything {@link RedisLike} with `publish` and `duplicate`). It is used
   * for PUBLISH; the subscriber is its `duplicate()`. botwire never closes your client.
   */
  client?: RedisLike;
  /** Connect by URL (`redis://…`); `ioredis` is imported on first use and quit on `close()`. */
  url?: string;
  /**
   * Prepended to each topic to form the channel; all apps sharing a prefix share events.
   * Must not contain glob characters (`* ? [ ] \`).
   * @default 'botwire:sync:'
   */
  channelPrefix?: string;
  /**
   * Upper bound for connecting in ms (the bus's `sendTimeoutMs` bounds how long `publish` waits).
   * @default 2_000
   */
  operationTimeoutMs?: number;
  /**
   * How often a subscriber connection that has been silent that long is PINGed; no answer within
   * `probeTimeoutMs` makes it reconnect (a connection dropped without a FIN, e.g. by a NAT, would
   * otherwise look alive forever). `0` disables the probe.
   * @default 10_000
   */
  probeIntervalMs?: number;
  /** How long the PING may take before the connection counts as dead. @default 5_000 */
  probeTimeoutMs?: number;
}

/** Options of {@link redisSyncBus}: the transport's and the bus's. */
export interface RedisSyncBusOptions extends RedisSyncTransportOptions, Omit<SyncBusOptions, 'transport'> {}

/** Redis accepts 512 MB; the bus's own `maxPayloadBytes` (1 MiB by default) is the real bound. */
const REDIS_MAX_PAYLOAD = 32 * 1024 * 1024;
const RETRY_MS = 1_000;

type Subscriber = RedisSubscriberLike & Required<Pick<RedisSubscriberLike, 'psubscribe'>> & {
  on(event: 'close' | 'reconnecting' | 'end', listener: () => void): unknown;
};

/**
 * A {@link SyncTransport} on Redis pub/sub. Publishing fails fast while Redis is down (no offline
 * queue with `url`; with your own client the bus stops sending as soon as the subscriber sees the
 * connection drop). The subscriber reconnects forever and resubscribes; the bus then emits `$resync`.
 */
export function redisSyncTransport(options: RedisSyncTransportOptions): SyncTransport {
  if ((options?.client === undefined) === (options?.url === undefined)) {
    throw new BotwireConfigError('redisSyncBus needs exactly one of `client` (an ioredis instance) or `url` (redis://…).');
  }
  if (options.client !== undefined && (!isRedisLike(options.client) || typeof options.client.publish !== 'function' ||
      typeof options.client.duplicate !== 'function')) {
    throw new BotwireConfigError('redisSyncBus `client` must be an ioredis client (it needs publish() and duplicate()).');
  }
  const prefix = options.channelPrefix ?? 'botwire:sync:';
  if (/[*?[\]\\]/.test(prefix)) throw new BotwireConfigError(`Redis channelPrefix "${prefix}" must not contain glob characters (* ? [ ] \\).`);
  const timeoutMs = options.operationTimeoutMs ?? 2_000;
  const connection = new RedisConnection(options.client, options.url, timeoutMs);
  const pattern = `${prefix}*`;
  let subscriber: Subscriber | undefined;
  let publisher: RedisLike | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let probeTimer: ReturnType<typeof setInterval> | undefined;
  const probeMs = options.probeIntervalMs ?? 10_000;
  const probeTimeoutMs = options.probeTimeoutMs ?? 5_000;
  let closed = false;
  // Whether a subscription was ever live: a later one is a resumption (the bus then emits `$resync`).
  let everLive = false;
  // Cluster: the node whose subscriber connection just ended, avoided when picking the next one.
  let lastNode: RedisLike | undefined;
  // Skip the async connection lookup on the hot path once the client is known and ready.
  const batcher = new PublishBatcher(() => {
    const ready = publisher;
    if (ready && (ready.status === undefined || ready.status === 'ready')) return ready;
    return connection.get().then((client) => (publisher = client));
  }, timeoutMs, `{${prefix}}`);

  const start = (events: SyncTransportEvents): void => {
    if (closed) return;
    connection.get().then((client) => {
      if (closed) return;
      // Reconnect forever (1 s at most between attempts); we resubscribe ourselves on `ready` so we
      // know when the subscription is live again, and queue nothing while offline.
      const subOptions = {
        lazyConnect: false, enableOfflineQueue: true, autoResubscribe: false, autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: null, connectTimeout: Math.min(timeoutMs, 10_000),
        retryStrategy: (attempt: number) => Math.min(50 * attempt, RETRY_MS),
      };
      let sub: Subscriber;
      const nodes = client.isCluster === true && typeof client.nodes === 'function' ? client.nodes('all') : undefined;
      if (nodes) {
        // Not the Cluster's own subscriber: it moves to another node silently when its node dies,
        // so the bus would never learn that events were missed (a SyncCache kept stale entries).
        // A plain connection to one node (classic pub/sub reaches every node) reports its drops;
        // after 3 failed reconnects it ends and the next node is tried.
        const pool = nodes.filter((x) => x !== lastNode && typeof x.duplicate === 'function');
        const node = pool[Math.floor(Math.random() * pool.length)];
        if (!node) { retryTimer = setTimeout(() => start(events), 100); return; } // no node known yet
        sub = node.duplicate!({ ...subOptions, retryStrategy: (attempt: number) => (attempt > 3 ? null : 50 * attempt) }) as Subscriber;
        sub.on('end', () => {
          if (closed || subscriber !== sub) return;
          lastNode = node;
          clearInterval(probeTimer);
          start(events);
        });
      } else {
        sub = duplicateFor(client, subOptions) as Subscriber;
      }
      subscriber = sub;
      let live = false;
      let lostSinceLive = false;
      sub.on('error', (err) => { if (live) events.error(err); });
      sub.on('close', () => {
        if (closed) return;
        if (live || !everLive) events.down(new Error('Redis subscriber connection closed'));
        live = false;
        lostSinceLive = true;
      });
      let lastHeard = Date.now();
      sub.on('pmessage', (_pattern, channel, message) => {
        lastHeard = Date.now();
        if (channel.startsWith(prefix)) events.message(message);
      });
      const subscribe = (): void => {
        sub.psubscribe(pattern).then(() => {
          if (closed || live) return;
          live = true;
          const resumed = everLive || lostSinceLive;
          everLive = true;
          lostSinceLive = false;
          events.up(resumed);
        }, (err: unknown) => { if (!closed) events.error(err); });
      };
      sub.on('ready', subscribe);
      if ((sub as { status?: string }).status === 'ready') subscribe();
      if (probeMs > 0 && typeof sub.ping === 'function') {
        let probing = false;
        probeTimer = setInterval(() => {
          // Only a silent connection is probed: behind a flood of messages a loaded process could
          // read the PONG late and mistake a healthy connection for a dead one.
          if (!live || probing || Date.now() - lastHeard < probeMs / 2) return;
          probing = true;
          let timer: ReturnType<typeof setTimeout> | undefined;
          const noAnswer = new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`Redis PING: no answer within ${probeTimeoutMs} ms`)), probeTimeoutMs);
          });
          Promise.race([sub.ping!(), noAnswer])
            .then(() => { lastHeard = Date.now(); }, (err: unknown) => { if (!closed && live) { events.error(err); sub.disconnect(true); } })
            .finally(() => { clearTimeout(timer); probing = false; });
        }, probeMs);
        (probeTimer as { unref?: () => void }).unref?.();
      }
    }, (err: unknown) => {
      // First connect failed (Redis down at start): keep trying without a reconnect storm.
      if (closed) return;
      events.down(err);
      retryTimer = setTimeout(() => start(events), RETRY_MS);
    }).catch((err: unknown) => events.error(err)); // a client that threw while duplicating: report, never reject unhandled
  };

  return {
    name: 'Redis',
    maxPayloadBytes: REDIS_MAX_PAYLOAD,
    open: start,
    send(text, topic) {
      return batcher.publish(prefix + topic, text);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(probeTimer);
      try { subscriber?.disconnect(); } catch { /* already gone */ }
      subscriber = undefined;
      await connection.close();
    },
  };
}

/**
 * A SyncBus on Redis pub/sub.
 *
 * @example
 * ```ts
 * import { redisSyncBus } from 'botwire/redis';
 * const bus = redisSyncBus<Topics>({ url: process.env.REDIS_URL! });
 * bus.subscribe('buttons.*', () => cache.invalidate({ tag: 'buttons' }));
 * await bus.publish('buttons.updated', { id: 7 });
 * ```
 */
export function redisSyncBus<TM extends object = Record<string, unknown>>(options: RedisSyncBusOptions): SyncBus<TM> {
  const { client, url, channelPrefix, operationTimeoutMs, probeIntervalMs, probeTimeoutMs, ...bus } = options ?? {};
  const transport = redisSyncTransport({ client, url, channelPrefix, operationTimeoutMs, probeIntervalMs, probeTimeoutMs });
  return createSyncBus<TM>({ ...bus, transport });
}
