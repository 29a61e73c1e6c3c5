/**
 * SyncBus publishing through the Data API: envelopes go to `<schema>.sync_publish`, which sends them
 * on the channel `postgresSyncBus` listens on (`<schema>_sync`, the same envelope text, payloads over
 * NOTIFY's 8,000 bytes spilled to `sync_spill` exactly as that bus spills them). So a long-running
 * process subscribed with `postgresSyncBus` on Supabase's direct connection receives what serverless
 * and edge functions publish here.
 *
 * Publish-only: PostgREST cannot LISTEN, so this transport receives nothing from other instances.
 * Local subscribers still get every local event (the core delivers those before the transport
 * sees them). Supabase Realtime is not used: its Broadcast does not guarantee delivery.
 *
 * @module
 */
import type { SyncBus, SyncBusOptions, SyncTransport } from 'botwire/sync';
import { BotwireConfigError, classifyBackendError, createSyncBus } from 'botwire/adapter-kit';
import { schemaClient, type SupabaseClientLike } from './client.js';
import { SUPABASE } from './errors.js';
import { Rpc } from './rpc.js';

/** Options of {@link supabaseSyncTransport}. */
export interface SupabaseSyncTransportOptions {
  /** A `SupabaseClient` made with the **service-role** key; botwire never closes it. */
  client: SupabaseClientLike;
  /** Schema created by `npx botwire migrate` (one of the exposed schemas); also names the channel `<schema>_sync`. @default 'botwire' */
  schema?: string;
  /**
   * Largest envelope in bytes (over 7,999 bytes an envelope is spilled to `sync_spill`, as on Postgres).
   * @default 1_048_576
   */
  maxPayloadBytes?: number;
  /** Bound on one publish request, in ms. @default 2_000 */
  operationTimeoutMs?: number;
}

/** Options of {@link supabaseSyncBus}: the transport's and the bus's (its `maxPayloadBytes` is the transport's). */
export interface SupabaseSyncBusOptions extends SupabaseSyncTransportOptions, Omit<SyncBusOptions, 'transport' | 'maxPayloadBytes'> {}

/** Most envelopes in one request, and most characters of them (one larger envelope still goes alone). */
const MAX_BATCH = 256;
const MAX_BATCH_CHARS = 1_048_576;

interface Pending { text: string; resolve: () => void; reject: (err: unknown) => void }

/**
 * A publish-only {@link SyncTransport} over `rpc('sync_publish')`. Envelopes go out in publish order:
 * one request at a time, and those published while it is in flight go together in the next one.
 */
export function supabaseSyncTransport(options: SupabaseSyncTransportOptions): SyncTransport {
  const { db, schema } = schemaClient('supabaseSyncBus', options);
  const channel = `${schema}_sync`;
  if (channel.length > 63) throw new BotwireConfigError(`Supabase schema "${schema}" is too long for a sync channel name (max 58 characters).`);
  const rpc = new Rpc(db, schema, options.operationTimeoutMs ?? 2_000);
  const queue: Pending[] = [];
  let busy = false;
  let closed = false;

  const take = (): Pending[] => {
    let n = 0;
    let chars = 0;
    while (n < queue.length && n < MAX_BATCH) {
      chars += queue[n]!.text.length;
      if (n > 0 && chars > MAX_BATCH_CHARS) break;
      n++;
    }
    return queue.splice(0, n);
  };

  const drain = async (): Promise<void> => {
    busy = true;
    try {
      while (queue.length) {
        const batch = take();
        try {
          await rpc.call<number>('sync_publish', { p_channel: channel, p_payloads: batch.map((p) => p.text) }, 'number');
          for (const p of batch) p.resolve();
        } catch (err) {
          const classified = classifyBackendError(SUPABASE, 'sync publish', err);
          for (const p of batch) p.reject(classified);
        }
      }
    } finally {
      busy = false;
    }
  };

  return {
    name: SUPABASE.name,
    maxPayloadBytes: options.maxPayloadBytes ?? 1_048_576,
    open(events) {
      // Nothing to subscribe to: ready at once, and never a gap to report.
      if (!closed) events.up(false);
    },
    send(text) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ text, resolve, reject });
        if (!busy) void drain();
      });
    },
    async close() {
      closed = true;
    },
  };
}

/**
 * A publish-only SyncBus on Supabase: `publish` reaches local subscribers at once and, through one
 * `rpc()`, every `postgresSyncBus` subscribed to the same schema on the database's direct connection
 * (a long-running bot process, the botwire gateway). It receives nothing from other instances;
 * subscribe in a long-running process with `postgresSyncBus({ connectionString })` instead.
 *
 * @example
 * ```ts
 * // Vercel function: publish
 * const bus = supabaseSyncBus<Topics>({ client: supabase });
 * await bus.publish('order.paid', { orderId });
 * // long-running process (e.g. the WebSocket gateway): receive
 * const listener = postgresSyncBus<Topics>({ connectionString: process.env.SUPABASE_DB_URL! });
 * ```
 */
export function supabaseSyncBus<TM extends object = Record<string, unknown>>(options: SupabaseSyncBusOptions): SyncBus<TM> {
  const { client, schema, maxPayloadBytes, operationTimeoutMs, ...bus } = options ?? ({} as SupabaseSyncBusOptions);
  const transport = supabaseSyncTransport({ client, schema, maxPayloadBytes, operationTimeoutMs });
  return createSyncBus<TM>({ ...bus, maxPayloadBytes: transport.maxPayloadBytes, transport });
}
