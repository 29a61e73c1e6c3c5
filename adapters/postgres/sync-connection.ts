/**
 * Dedicated Postgres connections for the sync bus: one for LISTEN, one for publishing (a single
 * connection keeps each origin's NOTIFYs in order; pool.query could spread them over several).
 * A source hands out fresh connections from a `pg.Pool` or from a connection string.
 *
 * @module
 */
import { importPeer } from 'botwire/adapter-kit';
import type { PgQueryable } from './client.js';

/** One connection that is ours alone until `close()`. */
export interface DedicatedConnection {
  query(text: string, params?: unknown[]): Promise<{ rows: any[] }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Called once when the connection breaks (terminated backend, network error, server restart). */
  onLost(listener: (error: unknown) => void): void;
  /** Receives NOTIFY messages delivered to this connection. */
  onNotification(listener: (channel: string, payload: string) => void): void;
  /** Destroy the connection (never returned to a pool: it may have LISTENed or be broken). */
  close(): Promise<void>;
  /** The backend pid the server (or a pooler) announced at connect, when the driver exposes it. */
  readonly processID?: unknown;
}

/** Opens one new dedicated connection per call. */
export type ConnectionSource = () => Promise<DedicatedConnection>;

interface EventfulClient extends PgQueryable {
  on(event: string, listener: (...args: any[]) => void): unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function wrap(client: EventfulClient, destroy: () => Promise<void>): DedicatedConnection {
  let lost: ((error: unknown) => void) | undefined;
  let notify: ((channel: string, payload: string) => void) | undefined;
  let gone = false;
  const onLost = (error?: unknown): void => {
    if (gone) return;
    gone = true;
    lost?.(error ?? new Error('Postgres connection ended'));
  };
  // Without an 'error' listener a terminated backend would crash the process.
  client.on('error', onLost);
  client.on('end', () => onLost());
  client.on('notification', (msg: { channel?: string; payload?: string }) => notify?.(msg.channel ?? '', msg.payload ?? ''));
  return {
    get processID() { return (client as { processID?: unknown }).processID; },
    query: (text, params) => client.query(text, params),
    onLost: (listener) => { lost = listener; },
    onNotification: (listener) => { notify = listener; },
    close: async () => { gone = true; await destroy().catch(() => undefined); },
  };
}

/** Connections checked out of a `pg.Pool` (and destroyed, not released, when done). */
export function poolSource(pool: PgQueryable & { connect(): Promise<EventfulClient & { release(destroy?: boolean | Error): void }> }): ConnectionSource {
  return async () => {
    const conn = await pool.connect();
    return wrap(conn, async () => { conn.release(true); });
  };
}

/** Connections opened with `pg` (imported on first use) from a connection string. */
export function urlSource(connectionString: string, connectTimeoutMs: number): ConnectionSource {
  let ClientCtor: (new (config: object) => EventfulClient & { connect(): Promise<unknown>; end(): Promise<unknown> }) | undefined;
  return async () => {
    if (!ClientCtor) {
      const mod = (await importPeer('pg', 'botwire/postgres (connecting by `connectionString`; or pass a ready `client`)', () => import('pg'))) as Record<string, unknown>;
      const fallback = mod.default as Record<string, unknown> | undefined;
      ClientCtor = (mod.Client ?? fallback?.Client) as typeof ClientCtor;
    }
    const client = new ClientCtor!({ connectionString, connectionTimeoutMillis: connectTimeoutMs, keepAlive: true });
    const conn = wrap(client, async () => { await client.end(); });
    try {
      await client.connect();
    } catch (err) {
      await conn.close();
      throw err;
    }
    return conn;
  };
}

/** Resolve `promise`, or reject after `ms` (closing a late connection if one arrives). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, onLate?: (value: T) => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  return Promise.race([
    promise.then((v) => { if (timedOut) onLate?.(v); return v; }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => { timedOut = true; reject(new Error(`${what}: no answer within ${ms} ms`)); }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
