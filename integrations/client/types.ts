/**
 * Types and options of the sync client.
 *
 * @module
 */
import type { SyncResyncReason } from '../../src/sync/protocol.js';
import type { RESYNC_TOPIC, SyncEnvelope, SyncEventFor, TopicMap } from '../../src/sync/types.js';
import type { ReconnectDelayOptions } from './reconnect-delay.js';

/** The few members of a WebSocket the client uses (the browser's, undici's, or the `ws` package's). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** A WebSocket constructor. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Connection state of a {@link SyncClient}. */
export type SyncClientState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Payload of the `'$resync'` event a client emits when the gateway says events may have been missed. */
export interface ClientResyncInfo {
  /** Why (see `SyncResyncReason`). */
  reason: SyncResyncReason;
}

/** Handler of {@link SyncClient.on}; `'$resync'` handlers get `data: ClientResyncInfo`. */
export type SyncClientHandler<E = SyncEnvelope> = (event: E) => void | Promise<void>;

/** The event a handler of pattern `P` receives from a client typed with topic map `TM`. */
export type ClientEventFor<TM extends object, P extends string> = P extends typeof RESYNC_TOPIC
  ? SyncEnvelope<ClientResyncInfo, typeof RESYNC_TOPIC>
  : SyncEventFor<TM, P>;

/** Options of {@link connectSync}. */
export interface ConnectSyncOptions {
  /**
   * Credential for the gateway's `authorize`, or a function returning a fresh one before every
   * (re)connect. Sent as the `bearer.<token>` subprotocol when it consists of token characters
   * (JWTs do), otherwise as `?token=` (visible in server logs: prefer the former).
   */
  token?: string | (() => string | null | undefined | Promise<string | null | undefined>);
  /** How the token travels. @default 'auto' (subprotocol when possible, else query) */
  tokenTransport?: 'auto' | 'protocol' | 'query';
  /** WebSocket implementation, for runtimes without a global one (Node 20: pass `WebSocket` from `ws`). @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** Reconnect delays: exponential with jitter. */
  backoff?: ReconnectDelayOptions;
  /**
   * Send a `ping` after this long without traffic, and reconnect (close code 4408) when nothing
   * arrives within `pongTimeoutMs` after it — catches connections silently killed by sleep or NAT.
   * @default 25_000
   */
  pingIntervalMs?: number;
  /** @default 10_000 */
  pongTimeoutMs?: number;
  /** Reconnect promptly when the tab becomes visible or the network comes back. @default true */
  reconnectOnFocus?: boolean;
  /** Refusals from the gateway (`SyncGatewayError`) and errors thrown by handlers. @default console.error */
  onError?: (error: unknown) => void;
}

/** A live connection to a sync gateway that reconnects on its own. */
export interface SyncClient<TM extends object = TopicMap> {
  /** Current connection state. */
  readonly state: SyncClientState;
  /** The gateway seq up to which this client has everything it subscribed to (resume point). */
  readonly lastSeq: number;
  /**
   * Call `handler` for events matching `pattern` (bus pattern syntax). `'$resync'` is called when the
   * gateway says events may have been missed: refetch then. Returns a function that removes the handler.
   * Throws `SyncTopicError` for an invalid pattern.
   */
  on<P extends string>(pattern: P, handler: SyncClientHandler<ClientEventFor<TM, P>>): () => void;
  /** Listen to state changes. Returns a function that removes the listener. */
  onState(listener: (state: SyncClientState) => void): () => void;
  /** Drop the current connection (if any) and connect again now. */
  reconnect(): void;
  /** Close for good. Idempotent. */
  close(): void;
}
