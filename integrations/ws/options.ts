/**
 * Options and public shape of the sync gateway.
 *
 * @module
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Logger } from '../../src/logger.js';
import type { SyncBus } from '../../src/sync/types.js';
import type { Telemetry } from '../../src/telemetry.js';
import type { HealthReport } from '../../src/health.js';

/** What `authorize` grants a connection. */
export interface SyncAuthorization {
  /** Patterns this connection may subscribe to; a requested pattern must lie within one of them. `['**']` = every topic. */
  allow: string[];
  /** Who this is (user id, session id), for `gateway.disconnect(id)`. */
  id?: string;
}

/** Extra facts `authorize` gets besides the raw request. */
export interface AuthorizeInfo {
  /** Bearer token from the `Authorization` header, the `bearer.<token>` subprotocol, or `?token=`. */
  token: string | undefined;
  /** The parsed request URL. */
  url: URL;
}

/** Options of {@link createSyncGateway}. Give either `server` or `port`. */
export interface SyncGatewayOptions {
  /** The bus whose events are relayed (`subscribe` is all the gateway calls). */
  bus: Pick<SyncBus, 'subscribe'>;
  /** An existing HTTP(S) server to attach to: the gateway only takes upgrades on `path`. */
  server?: Server;
  /** Or a port to listen on with a server of the gateway's own (`0` = any free port; see `gateway.port`). */
  port?: number;
  /** Interface for `port`. @default all interfaces */
  host?: string;
  /** URL path of the endpoint. @default '/sync' */
  path?: string;
  /**
   * Decide at upgrade time who may connect and what they may subscribe to. Return `false` (or
   * nothing) to refuse with HTTP 401. Compare secrets with `safeEqual`. A throw refuses with 500 and
   * goes to `onError`.
   */
  authorize: (request: IncomingMessage, info: AuthorizeInfo) => SyncAuthorization | false | null | undefined | Promise<SyncAuthorization | false | null | undefined>;
  /** Longest wait for `authorize`; slower upgrades are refused with 503 and reported. @default 10_000 */
  authorizeTimeoutMs?: number;
  /** If set, upgrades whose `Origin` header is not listed are refused with 403 (guards cookie-based auth). */
  allowedOrigins?: string[];
  /** Ping interval; a connection that did not answer the previous ping is closed (4408). @default 30_000 */
  heartbeatMs?: number;
  /** Largest client frame in bytes; larger ones close the connection with 4413. @default 16_384 */
  maxFrameBytes?: number;
  /** Subscriptions per connection; more are refused with `too_many_subscriptions`. @default 100 */
  maxSubscriptions?: number;
  /** Events remembered for resuming clients; a client that missed more gets `resync`. @default 1_000 */
  replayBufferSize?: number;
  /** Bytes of event frames the replay buffer may hold; older events are forgotten first. @default 16_777_216 (16 MiB) */
  replayBufferBytes?: number;
  /** Open connections at most; more are refused with HTTP 503. @default 10_000 */
  maxConnections?: number;
  /**
   * Bytes queued for one client before it is dropped as a slow consumer (4503); replayed events
   * count like live ones. @default 1_048_576
   */
  maxBufferedBytes?: number;
  /**
   * Most bytes of event frames one `resume` replays. A resume that would need more is answered with
   * `resync` (reason `buffer`) instead: the client refetches rather than receive a flood.
   * @default 1_048_576 (1 MiB)
   */
  maxResumeBytes?: number;
  /**
   * `resume` frames one connection may send within `resumeWindowMs`; one more closes it with 4430
   * (`SyncCloseCode.TOO_MANY_RESUMES`). `connectSync` resumes once per connection. With
   * `maxResumeBytes`, this bounds what one connection can make the gateway replay to
   * `maxResumes × maxResumeBytes` per window.
   * @default 5
   */
  maxResumes?: number;
  /** The window of `maxResumes`, in ms (sliding). @default 60_000 */
  resumeWindowMs?: number;
  /** Refused frames a connection may send before it is closed (4400/4403/4429). @default 10 */
  maxBadFrames?: number;
  /** Non-fatal problems (authorize throwing, socket errors). @default `logger.error`, else console.error */
  onError?: (error: unknown) => void;
  /**
   * Receives a `warn` line per refused upgrade (`outcome`: `unauthorized`, `origin`, `full`,
   * `timeout`, `closing`, `error`; the client's address, never its token) and a `debug` line per
   * accepted one (with `connections`, the count after it).
   * @default none
   */
  logger?: Logger;
  /**
   * A `botwire.gateway.connect` span per upgrade (authorization included) and the counter
   * `botwire.gateway.connections` by outcome: pass `otelTelemetry()` from `botwire/otel`.
   * @default none
   */
  telemetry?: Telemetry;
}

/** How one upgrade request ended. */
export type ConnectOutcome = 'accepted' | 'unauthorized' | 'origin' | 'full' | 'timeout' | 'closing' | 'error';

/** A running gateway. */
export interface SyncGateway {
  /** The port listened on when the gateway owns its server. */
  readonly port: number | undefined;
  /** Identifies this gateway run; clients resuming with another epoch are told to resync. */
  readonly epoch: string;
  /** Gateway seq of the last relayed event. */
  readonly seq: number;
  /** Open connections. */
  readonly connections: number;
  /**
   * Close every connection `authorize` gave this `id`: `'unauthenticated'` (4401) lets the client
   * reconnect with a fresh token, `'forbidden'` (4403) tells it to stop. Returns how many were closed.
   */
  disconnect(id: string, reason?: 'unauthenticated' | 'forbidden'): number;
  /**
   * `ok` while the gateway accepts connections; `details` carry the open connection count and the
   * limit. Never rejects.
   */
  health(): Promise<HealthReport>;
  /**
   * Refuse new connections from now on (HTTP 503 with `Retry-After`), keeping open ones relaying
   * until `close()`: the first step of `shutdown()`, so clients reconnect to another instance.
   */
  stopIntake(): void;
  /** Stage in which `shutdown()` closes it: with the buses, after workers, before stores. */
  readonly shutdownStage: 'transport';
  /** Stop relaying, close every connection (1001) and the gateway's own server. Idempotent. */
  close(): Promise<void>;
}
