/**
 * The sync gateway: relays SyncBus events to browsers over WebSockets (`ws`), with per-connection
 * authorization, heartbeats, a replay buffer for resuming clients, and limits.
 *
 * @module
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { importPeer } from '../../src/adapter-kit/import-peer.js';
import { BotwireConfigError } from '../../src/errors.js';
import { errorFields } from '../../src/logger.js';
import { encodeEventFrame, SYNC_SUBPROTOCOL, SyncCloseCode } from '../../src/sync/protocol.js';
import { compilePattern } from '../../src/sync/topic-pattern.js';
import { RESYNC_TOPIC } from '../../src/sync/types.js';
import { extractToken } from './auth.js';
import { Connection, type GatewayCore } from './connection.js';
import { observeConnect } from './observe.js';
import type { ConnectOutcome, SyncAuthorization, SyncGateway, SyncGatewayOptions } from './options.js';
import { ReplayBuffer } from './replay-buffer.js';

type WsModule = typeof import('ws');

function loadWs(): Promise<WsModule> {
  return importPeer('ws', 'botwire/ws', () => import('ws'));
}

function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new BotwireConfigError(`createSyncGateway: \`${name}\` must be an integer ≥ ${min}, got ${String(value)}`);
  return v;
}

/** A peer that vanished mid-write is routine for a WebSocket server, not worth an `onError`. */
function routine(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED';
}

function reject(socket: Duplex, status: number, text: string, extra = ''): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${extra}\r\n${text}`);
  socket.destroy();
}

/**
 * Start a gateway that relays `bus` events to authorized WebSocket clients (`connectSync` from
 * `botwire/client`). Resolves once it is listening.
 *
 * @example
 * ```ts
 * const gateway = await createSyncGateway({
 *   bus, server: httpServer,
 *   authorize: async (req, { token }) => {
 *     const user = token ? await verifyJwt(token) : null;
 *     if (!user) return false;
 *     return user.isAdmin ? { allow: ['**'], id: user.id } : { allow: [`users.${user.id}.*`], id: user.id };
 *   },
 * });
 * ```
 */
export async function createSyncGateway(options: SyncGatewayOptions): Promise<SyncGateway> {
  if (!options || typeof options.authorize !== 'function') throw new BotwireConfigError('createSyncGateway: `authorize(request, { token })` is required — decide who may connect');
  if (!options.bus || typeof options.bus.subscribe !== 'function') throw new BotwireConfigError('createSyncGateway: `bus` must be a SyncBus');
  if (!options.server === (options.port === undefined)) throw new BotwireConfigError('createSyncGateway: pass exactly one of `server` or `port`');
  const path = options.path ?? '/sync';
  const heartbeatMs = positive('heartbeatMs', options.heartbeatMs, 30_000, 10);
  const maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes, 16_384, 256);
  const maxConnections = positive('maxConnections', options.maxConnections, 10_000);
  const { logger } = options;
  const report = options.onError ?? (logger ? (e: unknown) => logger.error({ error: errorFields(e) }, 'botwire gateway') : (e: unknown) => console.error(e));
  const observed = logger !== undefined || options.telemetry !== undefined;
  const { WebSocketServer: Wss } = await loadWs();

  let seq = 0;
  let busResyncSeq = 0;
  const core: GatewayCore = {
    epoch: crypto.randomUUID().slice(0, 8) + Date.now().toString(36),
    seq: () => seq,
    busResyncSeq: () => busResyncSeq,
    buffer: new ReplayBuffer(
      positive('replayBufferSize', options.replayBufferSize, 1_000, 0),
      positive('replayBufferBytes', options.replayBufferBytes, 16_777_216, 0),
    ),
    maxFrameBytes,
    maxSubscriptions: positive('maxSubscriptions', options.maxSubscriptions, 100),
    maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes, 1_048_576),
    maxBadFrames: positive('maxBadFrames', options.maxBadFrames, 10, 0),
    maxResumeBytes: positive('maxResumeBytes', options.maxResumeBytes, 1_048_576),
    maxResumes: positive('maxResumes', options.maxResumes, 5),
    resumeWindowMs: positive('resumeWindowMs', options.resumeWindowMs, 60_000),
    heartbeatMs,
    report,
  };
  const conns = new Set<Connection>();
  let pending = 0;
  const authorizeTimeoutMs = positive('authorizeTimeoutMs', options.authorizeTimeoutMs, 10_000);
  const timeout = new BotwireConfigError(`createSyncGateway: authorize did not answer within authorizeTimeoutMs (${authorizeTimeoutMs} ms); upgrades are refused with 503 until it does`);
  const wss: WebSocketServer = new Wss({
    noServer: true,
    // Frames a little over the limit get a 4413 from us; far larger ones are cut by ws (1009) before buffering.
    maxPayload: Math.max(maxFrameBytes * 4, 65_536),
    handleProtocols: (protocols) => (protocols.has(SYNC_SUBPROTOCOL) ? SYNC_SUBPROTOCOL : false),
    perMessageDeflate: false,
  });
  let closed = false;
  let draining = false;

  const offEvents = options.bus.subscribe('**', (envelope) => {
    let json: string;
    try {
      json = JSON.stringify(envelope);
    } catch (e) {
      report(e);
      return;
    }
    const frame = Buffer.from(encodeEventFrame(++seq, json), 'utf8');
    core.buffer.push({ seq, topic: envelope.topic, frame });
    for (const c of conns) if (c.wants(envelope.topic)) c.sendText(frame);
  });
  const offResync = options.bus.subscribe(RESYNC_TOPIC, () => {
    // The resync takes a seq of its own, so "resumed from before it" is a plain comparison.
    busResyncSeq = ++seq;
    for (const c of conns) c.resync('bus');
  });

  const heartbeat = setInterval(() => {
    for (const c of conns) {
      if (!c.alive) { c.kill(SyncCloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout'); continue; }
      c.alive = false;
      try { c.ws.ping(); } catch { /* closing */ }
    }
  }, heartbeatMs);
  heartbeat.unref();

  const server = options.server ?? createServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' }).end('WebSocket endpoint: upgrade required');
  });
  const ownServer = !options.server;

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL('http://gateway' + (request.url ?? '/'));
    if (url.pathname !== path) {
      // Someone else's endpoint on a shared server: leave the socket to their upgrade listener.
      if (ownServer || server.listenerCount('upgrade') <= 1) reject(socket, 404, 'Not Found');
      return;
    }
    socket.on('error', (e) => { if (!routine(e)) report(e); });
    if (observed) void observeConnect(options, request, () => admit(request, socket, head, url), () => conns.size);
    else void admit(request, socket, head, url);
  };

  async function admit(request: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<ConnectOutcome> {
    const refuse = (outcome: ConnectOutcome, status: number, text: string, headers?: string): ConnectOutcome => {
      reject(socket, status, text, headers);
      return outcome;
    };
    if (closed || draining) return refuse('closing', 503, 'Service Unavailable', 'Retry-After: 1\r\n');
    // Upgrades still being authorized count too, so a flood of slow handshakes cannot pile up.
    if (conns.size + pending >= maxConnections) return refuse('full', 503, 'Service Unavailable', 'Retry-After: 5\r\n');
    if (options.allowedOrigins && !options.allowedOrigins.includes(String(request.headers.origin))) return refuse('origin', 403, 'Forbidden');
    let auth: SyncAuthorization | false | null | undefined;
    let allow: string[];
    let timer: ReturnType<typeof setTimeout> | undefined;
    pending++;
    try {
      auth = await Promise.race([
        options.authorize(request, { token: extractToken(request, url), url }),
        new Promise<never>((_, fail) => {
          timer = setTimeout(() => fail(timeout), authorizeTimeoutMs);
        }),
      ]);
      if (!auth) return refuse('unauthorized', 401, 'Unauthorized', 'WWW-Authenticate: Bearer\r\n');
      allow = [...auth.allow];
      for (const p of allow) compilePattern(p);
    } catch (e) {
      report(e);
      return e === timeout ? refuse('timeout', 503, 'Service Unavailable') : refuse('error', 500, 'Internal Server Error');
    } finally {
      clearTimeout(timer);
      pending--;
    }
    if (closed || draining || socket.destroyed) return refuse('closing', 503, 'Service Unavailable');
    const id = auth.id;
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('error', (e) => { if (!routine(e)) report(e); });
      const conn = new Connection(ws, id, allow, core);
      conns.add(conn);
      ws.on('close', () => conns.delete(conn));
    });
    return 'accepted';
  }

  server.on('upgrade', onUpgrade);
  if (ownServer) {
    await new Promise<void>((resolve, rejectListen) => {
      server.once('error', rejectListen);
      server.listen(options.port, options.host, () => {
        server.off('error', rejectListen);
        resolve();
      });
    });
  }
  const address = server.address();

  return {
    port: ownServer && address && typeof address === 'object' ? address.port : undefined,
    epoch: core.epoch,
    get seq() { return seq; },
    get connections() { return conns.size; },
    disconnect(id, reason = 'unauthenticated') {
      let n = 0;
      for (const c of conns) {
        if (c.id !== id) continue;
        c.kill(reason === 'forbidden' ? SyncCloseCode.FORBIDDEN : SyncCloseCode.UNAUTHENTICATED, reason);
        n++;
      }
      return n;
    },
    shutdownStage: 'transport',
    health() {
      const details = { connections: conns.size, maxConnections, accepting: !closed && !draining };
      if (closed || draining) return Promise.resolve({ ok: false, backend: 'sync gateway', latencyMs: 0, details, error: closed ? 'closed' : 'shutting down' });
      return Promise.resolve({ ok: true, backend: 'sync gateway', latencyMs: 0, details });
    },
    stopIntake() {
      draining = true;
    },
    async close() {
      if (closed) return;
      closed = true;
      offEvents();
      offResync();
      clearInterval(heartbeat);
      server.off('upgrade', onUpgrade);
      const gone = [...conns].map((c) => new Promise<void>((resolve) => {
        if (c.ws.readyState === c.ws.CLOSED) return resolve();
        c.ws.once('close', () => resolve());
        c.kill(SyncCloseCode.GOING_AWAY, 'gateway closing');
      }));
      await Promise.all(gone);
      conns.clear();
      core.buffer.clear();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      if (ownServer) {
        server.closeAllConnections?.();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
