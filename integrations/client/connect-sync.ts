/**
 * Browser (and any runtime with a WebSocket) client of the sync gateway. No Node APIs.
 *
 * @module
 */
import { BotwireConfigError, SyncGatewayError } from '../../src/errors.js';
import {
  encodeFrame, isSubprotocolSafe, parseServerFrame, SYNC_SUBPROTOCOL, SYNC_TOKEN_SUBPROTOCOL_PREFIX, SyncCloseCode,
  MAX_PATTERNS_PER_FRAME, type ClientFrame, type ServerFrame,
} from '../../src/sync/protocol.js';
import { compilePattern, type TopicMatcher } from '../../src/sync/topic-pattern.js';
import { RESYNC_TOPIC, type SyncEnvelope, type TopicMap } from '../../src/sync/types.js';
import { reconnectDelay } from './reconnect-delay.js';
import type {
  ConnectSyncOptions, SyncClient, SyncClientHandler, SyncClientState, WebSocketConstructor, WebSocketLike,
} from './types.js';

export type {
  ConnectSyncOptions, SyncClient, SyncClientHandler, SyncClientState, WebSocketConstructor, WebSocketLike, ClientResyncInfo,
  ClientEventFor,
} from './types.js';

interface Entry { handler: SyncClientHandler; matches: TopicMatcher }

const OPEN = 1;

/**
 * Connect to a sync gateway (`createSyncGateway` from `botwire/ws`).
 *
 * @example
 * ```ts
 * interface Topics { 'users.balance_updated': { userId: number; balance: number } }
 * const sync = connectSync<Topics>('wss://api.example.com/sync', { token: () => auth.accessToken });
 * sync.on('users.balance_updated', (e) => showBalance(e.data.balance)); // typed
 * const off = sync.on('users.*', (e) => console.log(e.topic, e.data));
 * sync.on('$resync', () => reloadEverything());
 * ```
 */
export function connectSync<TM extends object = TopicMap>(url: string, options: ConnectSyncOptions = {}): SyncClient<TM> {
  return new Client(url, options) as unknown as SyncClient<TM>;
}

class Client {
  state: SyncClientState = 'connecting';
  lastSeq = 0;
  private epoch: string | undefined;
  private readonly byPattern = new Map<string, Set<Entry>>();
  private readonly stateListeners = new Set<(s: SyncClientState) => void>();
  private ws: WebSocketLike | undefined;
  /** Patterns the server has been asked for on the current connection. */
  private serverPatterns = new Set<string>();
  /** Patterns the server refused on this connection: not asked again until the next one. */
  private refused = new Set<string>();
  private resumePending = false;
  /** Set when the gateway refused to replay (4430): the next `hello` starts afresh with a `'$resync'`. */
  private resyncOnHello = false;
  private pendingMax = 0;
  private attempt = 0;
  private openedAt = 0;
  private lastHeard = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setTimeout> | undefined;
  private flushQueued = false;
  private generation = 0;
  private readonly Ctor: WebSocketConstructor;
  private readonly pingIntervalMs: number;
  private readonly pongTimeoutMs: number;
  private readonly report: (e: unknown) => void;
  private readonly wake = (): void => this.onWake();

  constructor(private readonly url: string, private readonly opts: ConnectSyncOptions) {
    const Ctor = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) {
      throw new BotwireConfigError('connectSync: no WebSocket implementation here; pass `{ WebSocket }` (e.g. from the `ws` package on Node 20).');
    }
    this.Ctor = Ctor;
    this.pingIntervalMs = opts.pingIntervalMs ?? 25_000;
    this.pongTimeoutMs = opts.pongTimeoutMs ?? 10_000;
    this.report = opts.onError ?? ((e) => console.error(e));
    if (opts.reconnectOnFocus !== false) {
      const doc = (globalThis as { document?: EventTarget }).document;
      doc?.addEventListener?.('visibilitychange', this.wake);
      (globalThis as { addEventListener?: EventTarget['addEventListener'] }).addEventListener?.('online', this.wake);
    }
    void this.connect();
  }

  on(pattern: string, handler: SyncClientHandler): () => void {
    if (typeof handler !== 'function') throw new TypeError('on(pattern, handler): handler must be a function');
    const matches = pattern === RESYNC_TOPIC ? (t: string) => t === RESYNC_TOPIC : compilePattern(pattern).matches;
    const entry: Entry = { handler, matches };
    let set = this.byPattern.get(pattern);
    if (!set) {
      set = new Set();
      this.byPattern.set(pattern, set);
      this.queueFlush();
    }
    set.add(entry);
    return () => {
      const s = this.byPattern.get(pattern);
      if (!s?.delete(entry) || s.size > 0) return;
      this.byPattern.delete(pattern);
      this.queueFlush();
    };
  }

  onState(listener: (state: SyncClientState) => void): () => void {
    this.stateListeners.add(listener);
    return () => { this.stateListeners.delete(listener); };
  }

  reconnect(): void {
    if (this.state === 'closed') return;
    this.attempt = 0;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.ws) this.drop(SyncCloseCode.NORMAL, 'reconnect requested');
    else void this.connect();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.setState('closed');
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.pingTimer);
    const doc = (globalThis as { document?: EventTarget }).document;
    doc?.removeEventListener?.('visibilitychange', this.wake);
    (globalThis as { removeEventListener?: EventTarget['removeEventListener'] }).removeEventListener?.('online', this.wake);
    const ws = this.ws;
    this.ws = undefined;
    this.generation++;
    if (ws) try { ws.close(SyncCloseCode.NORMAL, 'client closed'); } catch { /* already closing */ }
  }

  private setState(state: SyncClientState): void {
    if (this.state === state) return;
    this.state = state;
    for (const l of [...this.stateListeners]) {
      try { l(state); } catch (e) { this.report(e); }
    }
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    let token: string | null | undefined;
    try {
      token = typeof this.opts.token === 'function' ? await this.opts.token() : this.opts.token;
    } catch (e) {
      this.report(e);
      if (generation === this.generation && this.state !== 'closed') this.scheduleReconnect();
      return;
    }
    if (generation !== this.generation || this.state === 'closed') return;
    let target = this.url;
    const protocols = [SYNC_SUBPROTOCOL];
    if (token) {
      const how = this.opts.tokenTransport ?? 'auto';
      if (how === 'protocol' || (how === 'auto' && isSubprotocolSafe(token))) protocols.push(SYNC_TOKEN_SUBPROTOCOL_PREFIX + token);
      else target += (target.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token);
    }
    let ws: WebSocketLike;
    try {
      ws = new this.Ctor(target, protocols);
    } catch (e) {
      this.report(e);
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.serverPatterns = new Set();
    this.refused = new Set();
    this.resumePending = false;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.openedAt = this.lastHeard = Date.now();
      // Subscribe before resuming: the gateway replays only for patterns it already knows.
      this.flush();
      if (this.epoch !== undefined) {
        this.resumePending = true;
        this.pendingMax = this.lastSeq;
        this.send({ type: 'resume', id: 'resume', epoch: this.epoch, lastSeq: this.lastSeq });
      }
      this.armPing();
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      const parsed = parseServerFrame(event.data);
      if (!parsed.ok) {
        this.report(new SyncGatewayError(parsed.code, `unreadable frame from the gateway: ${parsed.message}`));
        return;
      }
      this.handle(parsed.frame);
    };
    ws.onerror = () => { /* the close event follows and carries what matters */ };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      clearTimeout(this.pingTimer);
      if (this.state === 'closed') return;
      if (this.openedAt && Date.now() - this.openedAt > 10_000) this.attempt = 0;
      this.openedAt = 0;
      if (event.code === SyncCloseCode.FORBIDDEN) {
        this.report(new SyncGatewayError(`close:${event.code}`, `connection closed for good: ${event.reason || 'forbidden'}`));
        this.close();
        return;
      }
      if (event.code === SyncCloseCode.TOO_MANY_RESUMES) {
        // The gateway will not replay for us: come back without resuming and tell handlers to refetch.
        this.report(new SyncGatewayError(`close:${event.code}`, `the gateway refused to replay: ${event.reason || 'too many resumes'}`));
        this.epoch = undefined;
        this.resyncOnHello = true;
      }
      this.scheduleReconnect();
    };
  }

  private handle(frame: ServerFrame): void {
    switch (frame.type) {
      case 'hello':
        if (this.epoch === undefined) {
          this.epoch = frame.epoch;
          this.lastSeq = frame.seq;
        }
        this.setState('open');
        if (this.resyncOnHello) {
          this.resyncOnHello = false;
          this.dispatch({ id: `resync:${frame.epoch}:${frame.seq}`, topic: RESYNC_TOPIC, data: { reason: 'buffer' }, at: Date.now(), origin: 'gateway', seq: 0 });
        }
        return;
      case 'event':
        if (this.resumePending) this.pendingMax = Math.max(this.pendingMax, frame.seq);
        else this.lastSeq = Math.max(this.lastSeq, frame.seq);
        this.dispatch(frame.envelope);
        return;
      case 'ack':
      case 'pong':
        if (this.resumePending) {
          if (frame.type !== 'ack' || frame.id !== 'resume') return;
          this.resumePending = false;
          this.lastSeq = Math.max(this.pendingMax, frame.seq);
          return;
        }
        this.lastSeq = Math.max(this.lastSeq, frame.seq);
        return;
      case 'resync':
        this.resumePending = false;
        this.epoch = frame.epoch;
        this.lastSeq = frame.seq;
        this.dispatch({ id: `resync:${frame.epoch}:${frame.seq}`, topic: RESYNC_TOPIC, data: { reason: frame.reason }, at: Date.now(), origin: 'gateway', seq: 0 });
        return;
      case 'error':
        for (const p of frame.patterns ?? []) {
          this.serverPatterns.delete(p);
          this.refused.add(p);
        }
        this.report(new SyncGatewayError(frame.code, frame.message, frame.patterns));
        return;
    }
  }

  private dispatch(envelope: SyncEnvelope): void {
    for (const set of [...this.byPattern.values()]) {
      for (const entry of [...set]) {
        if (!entry.matches(envelope.topic)) continue;
        try {
          const r = entry.handler(envelope);
          if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch(this.report);
        } catch (e) {
          this.report(e);
        }
      }
    }
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // Batch the subscriptions a render pass makes into one frame.
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /** Bring the server's view of our patterns in line with the handlers registered here. */
  private flush(): void {
    if (!this.ws || this.ws.readyState !== OPEN) return;
    const add: string[] = [];
    const remove: string[] = [];
    for (const p of this.byPattern.keys()) {
      if (!p.startsWith('$') && !this.serverPatterns.has(p) && !this.refused.has(p)) add.push(p);
    }
    for (const p of this.serverPatterns) if (!this.byPattern.has(p)) remove.push(p);
    for (const p of add) this.serverPatterns.add(p);
    for (const p of remove) this.serverPatterns.delete(p);
    for (let i = 0; i < add.length; i += MAX_PATTERNS_PER_FRAME) this.send({ type: 'subscribe', patterns: add.slice(i, i + MAX_PATTERNS_PER_FRAME) });
    for (let i = 0; i < remove.length; i += MAX_PATTERNS_PER_FRAME) this.send({ type: 'unsubscribe', patterns: remove.slice(i, i + MAX_PATTERNS_PER_FRAME) });
  }

  private send(frame: ClientFrame): void {
    try {
      this.ws?.send(encodeFrame(frame));
    } catch (e) {
      this.report(e);
    }
  }

  private armPing(): void {
    clearTimeout(this.pingTimer);
    const ws = this.ws;
    if (!ws) return;
    const silentFor = Date.now() - this.lastHeard;
    if (silentFor >= this.pingIntervalMs + this.pongTimeoutMs) {
      this.drop(SyncCloseCode.HEARTBEAT_TIMEOUT, 'no answer from the gateway');
      return;
    }
    if (silentFor >= this.pingIntervalMs) this.send({ type: 'ping' });
    const next = silentFor >= this.pingIntervalMs ? this.pingIntervalMs + this.pongTimeoutMs - silentFor : this.pingIntervalMs - silentFor;
    this.pingTimer = setTimeout(() => this.armPing(), Math.max(10, next));
  }

  /** Give up on the current socket without waiting for its close handshake, and reconnect. */
  private drop(code: number, reason: string): void {
    const ws = this.ws;
    this.ws = undefined;
    clearTimeout(this.pingTimer);
    if (ws) try { ws.close(code, reason); } catch { /* already closed */ }
    if (this.state !== 'closed') {
      this.setState('reconnecting');
      this.clearReconnect();
      void this.connect();
    }
  }

  private clearReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private scheduleReconnect(): void {
    if (this.state === 'closed') return;
    this.setState('reconnecting');
    this.clearReconnect();
    const delay = reconnectDelay(this.attempt++, this.opts.backoff);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
  }

  private onWake(): void {
    if (this.state === 'closed') return;
    const doc = (globalThis as { document?: { visibilityState?: string } }).document;
    if (doc?.visibilityState === 'hidden') return;
    if (this.ws) {
      // The socket may be a zombie after sleep: probe it now instead of waiting for the next ping.
      if (this.ws.readyState === OPEN) {
        this.lastHeard = Math.min(this.lastHeard, Date.now() - this.pingIntervalMs);
        this.armPing();
      }
      return;
    }
    this.attempt = 0;
    this.clearReconnect();
    void this.connect();
  }
}
