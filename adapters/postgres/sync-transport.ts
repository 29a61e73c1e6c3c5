/**
 * SyncBus over Postgres LISTEN/NOTIFY, for a `pg.Pool`, a connection string, or PGlite in-process.
 * Envelopes under NOTIFY's 8,000-byte limit go out as one `pg_notify`; larger ones are spilled to
 * `<schema>.sync_spill` by one function call that notifies a reference, and read back by receivers
 * (in order: later small messages wait for an earlier spilled one).
 *
 * @module
 */
import type { SyncBus, SyncBusOptions, SyncTransport, SyncTransportEvents } from 'botwire/sync';
import { BotwireConfigError, classifyBackendError, createSyncBus } from 'botwire/adapter-kit';
import { POSTGRES } from './errors.js';
import { isPGlite, isPool, type PgQueryable } from './client.js';
import { DEFAULT_SCHEMA, quoteSchema } from './identifier.js';
import { poolSource, urlSource, withTimeout, type ConnectionSource, type DedicatedConnection } from './sync-connection.js';
import { ResilientListener } from './sync-listener.js';
import { NotifyBatcher, notifySql } from './sync-publisher.js';

/** Options of {@link postgresSyncBus} / {@link postgresSyncTransport}. Pass exactly one of `client` and `connectionString`. */
export interface PostgresSyncTransportOptions {
  /**
   * A `pg.Pool` (two connections are checked out and held: one LISTENs, one publishes in order) or a
   * PGlite instance. A single `pg.Client` cannot both listen and reconnect: pass a Pool or a URL.
   */
  client?: PgQueryable;
  /** Connect with `pg` (imported on first use); botwire opens and closes its own two connections. */
  connectionString?: string;
  /** Schema holding `sync_spill` (from `migrate()`); also names the channel `<schema>_sync`. @default 'botwire' */
  schema?: string;
  /**
   * Largest envelope in bytes. Over 7,999 bytes envelopes spill to the table (needs `migrate()`);
   * set `7_999` to never spill (larger payloads then fail with `SyncPayloadTooLargeError`).
   * @default 1_048_576
   */
  maxPayloadBytes?: number;
  /**
   * How often a LISTEN connection that has been silent that long is probed with `SELECT 1`; no answer
   * within `probeTimeoutMs` reconnects. `0` disables it.
   * @default 10_000
   */
  probeIntervalMs?: number;
  /** How long the probe may take before the connection counts as dead. @default 5_000 */
  probeTimeoutMs?: number;
  /** Bound on connect, LISTEN, probe and publish calls, in ms. @default 2_000 */
  operationTimeoutMs?: number;
  /** Longest wait between reconnect attempts, in ms. Reconnecting never stops. @default 1_000 */
  maxBackoffMs?: number;
  /**
   * The connection goes through a session-mode pooler (one server connection per client for the
   * client's lifetime, e.g. PgBouncer `pool_mode = session` or Supavisor on port 5432), where LISTEN
   * works. Without it a connection through any pooler is refused with a `BotwireConfigError` (one
   * `SELECT pg_backend_pid()` on the first connection compares the pid announced at connect).
   * @default false
   */
  sessionPooler?: boolean;
}

/** Options of {@link postgresSyncBus}: the transport's and the bus's (its `maxPayloadBytes` is the transport's). */
export interface PostgresSyncBusOptions extends PostgresSyncTransportOptions, Omit<SyncBusOptions, 'transport' | 'maxPayloadBytes'> {}

/** NOTIFY payloads must be shorter than 8000 bytes. */
const NOTIFY_LIMIT = 7_999;
const SPILL_PREFIX = '~spill:';
const encoder = new TextEncoder();

/** A {@link SyncTransport} on LISTEN/NOTIFY. */
export function postgresSyncTransport(options: PostgresSyncTransportOptions): SyncTransport {
  const { client, connectionString } = options ?? {};
  if ((client === undefined) === (connectionString === undefined)) {
    throw new BotwireConfigError('postgresSyncBus needs exactly one of `client` (a pg.Pool or PGlite) or `connectionString`.');
  }
  if (client !== undefined && typeof (client as Partial<PgQueryable> | null)?.query !== 'function') {
    throw new BotwireConfigError('postgresSyncBus `client` must be a pg.Pool or a PGlite instance (anything with query(text, params)).');
  }
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const quoted = quoteSchema(schema);
  const channel = `${schema}_sync`;
  if (channel.length > 63) throw new BotwireConfigError(`Postgres schema "${schema}" is too long for a sync channel name (max 58 characters).`);
  const timeoutMs = options.operationTimeoutMs ?? 2_000;
  const maxPayloadBytes = options.maxPayloadBytes ?? 1_048_576;
  const pglite = client !== undefined && isPGlite(client) ? client : undefined;
  let source: ConnectionSource | undefined;
  if (connectionString !== undefined) source = urlSource(connectionString, timeoutMs);
  else if (!pglite) {
    if (!isPool(client!)) throw new BotwireConfigError('postgresSyncBus `client` must be a pg.Pool or a PGlite instance (a single pg.Client cannot hold a separate LISTEN connection); or pass `connectionString`.');
    source = poolSource(client as Parameters<typeof poolSource>[0]);
  }

  let closed = false;
  let listener: ResilientListener | undefined;
  let unlisten: (() => Promise<void>) | undefined;
  let publisher: DedicatedConnection | undefined;
  let opening: Promise<DedicatedConnection> | undefined;

  // One connection for publishing keeps NOTIFY order equal to publish order.
  const publishConnection = (): Promise<PgQueryable> => {
    if (pglite) return Promise.resolve(pglite);
    if (publisher) return Promise.resolve(publisher);
    opening ??= withTimeout(source!(), timeoutMs, 'Postgres connect', (late) => void late.close()).then((conn) => {
      if (closed) { void conn.close(); throw new Error('SyncBus closed'); }
      publisher = conn;
      conn.onLost(() => { if (publisher === conn) publisher = undefined; void conn.close(); });
      return conn;
    }).finally(() => { opening = undefined; });
    return opening;
  };

  const batcher = new NotifyBatcher(channel, notifySql(quoted), publishConnection, (err) => classifyBackendError(POSTGRES, 'sync publish', err));

  // Receivers handle spilled messages in arrival order: while one is being read, later ones queue.
  let chain: Promise<void> | undefined;
  let queued = 0;
  const receive = (events: SyncTransportEvents, payload: string): void => {
    if (chain === undefined && !payload.startsWith(SPILL_PREFIX)) { events.message(payload); return; }
    queued++;
    chain = (chain ?? Promise.resolve()).then(async () => {
      if (!payload.startsWith(SPILL_PREFIX)) { events.message(payload); return; }
      try {
        const conn = await publishConnection();
        const { rows } = await withTimeout(conn.query(`SELECT ${quoted}.sync_spill_read($1) AS payload`, [payload.slice(SPILL_PREFIX.length)]), timeoutMs, 'sync_spill_read');
        const text = rows[0]?.payload as string | null | undefined;
        // A missing row means the event is lost; the bus notices the seq gap on the next one.
        if (typeof text === 'string') events.message(text);
        else events.error(new Error(`spilled sync event ${payload} is gone (cleaned up before it was read)`));
      } catch (err) {
        events.error(classifyBackendError(POSTGRES, 'sync_spill_read', err));
      }
    }).finally(() => { if (--queued === 0) chain = undefined; });
  };

  return {
    name: pglite ? 'PGlite' : 'Postgres',
    maxPayloadBytes,
    open(events) {
      if (closed) return;
      if (pglite) {
        pglite.listen(channel, (payload) => receive(events, payload)).then((stop) => {
          if (closed) { void stop(); return; }
          unlisten = stop;
          events.up(false);
        }, (err: unknown) => events.down(err));
        return;
      }
      listener = new ResilientListener(source!, channel, {
        payload: (text) => receive(events, text),
        up: (resumed) => events.up(resumed),
        down: (error) => events.down(error),
        error: (error) => events.error(error),
        refused: (error) => events.down(error),
      }, {
        refusePooler: options.sessionPooler !== true,
        maxBackoffMs: options.maxBackoffMs ?? 1_000, probeIntervalMs: options.probeIntervalMs ?? 10_000,
        probeTimeoutMs: options.probeTimeoutMs ?? 5_000, timeoutMs,
      });
      listener.start();
    },
    send(text) {
      const bytes = text.length * 3 < NOTIFY_LIMIT ? text.length : encoder.encode(text).length;
      return batcher.send(text, bytes, bytes > NOTIFY_LIMIT);
    },
    async close() {
      if (closed) return;
      closed = true;
      await listener?.close();
      await unlisten?.().catch(() => undefined);
      const conn = publisher;
      publisher = undefined;
      await conn?.close();
    },
  };
}

/**
 * A SyncBus on Postgres LISTEN/NOTIFY. Run `migrate()` once so payloads over 8 KB can spill.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { migrate, postgresSyncBus } from 'botwire/postgres';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool);
 * const bus = postgresSyncBus<Topics>({ client: pool });
 * ```
 */
export function postgresSyncBus<TM extends object = Record<string, unknown>>(options: PostgresSyncBusOptions): SyncBus<TM> {
  const {
    client, connectionString, schema, maxPayloadBytes, probeIntervalMs, probeTimeoutMs, operationTimeoutMs, maxBackoffMs, sessionPooler, ...bus
  } = options ?? {};
  const transport = postgresSyncTransport({
    client, connectionString, schema, maxPayloadBytes, probeIntervalMs, probeTimeoutMs, operationTimeoutMs, maxBackoffMs, sessionPooler,
  });
  return createSyncBus<TM>({ ...bus, maxPayloadBytes: transport.maxPayloadBytes, transport });
}
