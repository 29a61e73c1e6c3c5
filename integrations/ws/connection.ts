/**
 * One browser connection on the gateway: its allowed and subscribed patterns, frame handling, replay
 * on resume, and the strikes that end a misbehaving connection.
 *
 * @module
 */
import type { WebSocket } from 'ws';
import { anyPatternCovers } from '../../src/sync/pattern-covers.js';
import {
  encodeFrame, parseClientFrame, SyncCloseCode, type ResumeFrame, type ServerFrame, type SubscribeFrame,
  type SyncErrorCode, type SyncResyncReason, type UnsubscribeFrame,
} from '../../src/sync/protocol.js';
import { compilePattern, type TopicMatcher } from '../../src/sync/topic-pattern.js';
import type { ReplayBuffer } from './replay-buffer.js';

/** What a connection needs from its gateway. */
export interface GatewayCore {
  readonly epoch: string;
  /** Current gateway seq (last event or resync marker). */
  seq(): number;
  /** Seq of the last bus `$resync`; clients resuming from before it must resync. */
  busResyncSeq(): number;
  readonly buffer: ReplayBuffer;
  readonly maxFrameBytes: number;
  readonly maxSubscriptions: number;
  readonly maxBufferedBytes: number;
  readonly maxBadFrames: number;
  /** Most bytes one resume replays; more → `resync` instead. */
  readonly maxResumeBytes: number;
  /** Resumes allowed per connection within `resumeWindowMs`; one more closes it (4430). */
  readonly maxResumes: number;
  readonly resumeWindowMs: number;
  readonly heartbeatMs: number;
  report(error: unknown): void;
}

interface Subscription { matches: TopicMatcher; since: number }

const OPEN = 1;
const CLOSE_FOR: Partial<Record<SyncErrorCode, number>> = {
  forbidden: SyncCloseCode.FORBIDDEN,
  too_many_subscriptions: SyncCloseCode.TOO_MANY_SUBSCRIPTIONS,
};
const MATCH_CACHE_LIMIT = 512;
const TEXT = { binary: false } as const;

/** Server side of one WebSocket. */
export class Connection {
  /** Set by a pong or any frame; cleared by each heartbeat tick. */
  alive = true;
  private readonly subs = new Map<string, Subscription>();
  /** topic → delivered? Reset whenever the subscriptions change. */
  private matchCache = new Map<string, boolean>();
  private strikes = 0;
  private closing = false;
  /** When this connection's recent resumes arrived (at most `maxResumes + 1` kept). */
  private resumedAt: number[] = [];

  constructor(
    readonly ws: WebSocket,
    /** The caller's id from `authorize`, for `gateway.disconnect(id)`. */
    readonly id: string | undefined,
    private readonly allow: readonly string[],
    private readonly core: GatewayCore,
  ) {
    ws.on('pong', () => { this.alive = true; });
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    this.send({
      type: 'hello', v: 1, epoch: core.epoch, seq: core.seq(), heartbeatMs: core.heartbeatMs,
      limits: { maxFrameBytes: core.maxFrameBytes, maxSubscriptions: core.maxSubscriptions },
    });
  }

  /** Whether an event on `topic` goes to this connection. */
  wants(topic: string): boolean {
    let hit = this.matchCache.get(topic);
    if (hit === undefined) {
      hit = false;
      for (const s of this.subs.values()) if (s.matches(topic)) { hit = true; break; }
      if (this.matchCache.size >= MATCH_CACHE_LIMIT) this.matchCache = new Map();
      this.matchCache.set(topic, hit);
    }
    return hit;
  }

  /**
   * Send frame text (a Buffer when fanned out: encoded once for every connection), unless the peer
   * reads too slowly: then drop it (it may resume later).
   */
  sendText(text: string | Buffer): void {
    if (this.closing || this.ws.readyState !== OPEN) return;
    if (this.ws.bufferedAmount > this.core.maxBufferedBytes) {
      this.kill(SyncCloseCode.SLOW_CONSUMER, 'slow consumer');
      return;
    }
    this.ws.send(text, TEXT);
  }

  /** Tell the client events may have been missed; it resumes from `seq` of `epoch` afterwards. */
  resync(reason: SyncResyncReason): void {
    this.send({ type: 'resync', epoch: this.core.epoch, seq: this.core.seq(), reason });
  }

  /** Close with `code`, and cut the socket if the peer does not finish the close handshake soon. */
  kill(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    try { this.ws.close(code, reason); } catch { /* already gone */ }
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  private send(frame: ServerFrame): void {
    this.sendText(encodeFrame(frame));
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.alive = true;
    if (this.closing) return;
    if (data.length > this.core.maxFrameBytes) {
      this.send({ type: 'error', code: 'too_large', message: `frame of ${data.length} bytes exceeds maxFrameBytes (${this.core.maxFrameBytes})` });
      this.kill(SyncCloseCode.TOO_LARGE, 'frame too large');
      return;
    }
    const parsed = parseClientFrame(isBinary ? data : data.toString('utf8'));
    if (!parsed.ok) {
      this.refuse(parsed.code, parsed.message, parsed.id);
      return;
    }
    const f = parsed.frame;
    switch (f.type) {
      case 'subscribe': return this.subscribe(f);
      case 'unsubscribe': return this.unsubscribe(f);
      case 'resume': return this.resume(f);
      case 'ping': return this.send(f.id === undefined ? { type: 'pong', seq: this.core.seq() } : { type: 'pong', id: f.id, seq: this.core.seq() });
    }
  }

  /** Answer with an `error` frame; too many of them end the connection. */
  private refuse(code: SyncErrorCode, message: string, id?: string, patterns?: string[]): void {
    const frame: ServerFrame = { type: 'error', code, message };
    if (id !== undefined) frame.id = id;
    if (patterns) frame.patterns = patterns;
    this.send(frame);
    if (++this.strikes > this.core.maxBadFrames) {
      this.kill(CLOSE_FOR[code] ?? SyncCloseCode.MALFORMED, `more than ${this.core.maxBadFrames} refused frames`);
    }
  }

  private subscribe(f: SubscribeFrame): void {
    const accepted: string[] = [];
    const invalid: string[] = [];
    const forbidden: string[] = [];
    const over: string[] = [];
    for (const pattern of f.patterns) {
      if (this.subs.has(pattern)) { accepted.push(pattern); continue; }
      let matches: TopicMatcher;
      try {
        if (pattern.startsWith('$')) throw new Error('system topics are not relayed');
        matches = compilePattern(pattern).matches;
      } catch {
        invalid.push(pattern);
        continue;
      }
      if (!anyPatternCovers(this.allow, pattern)) forbidden.push(pattern);
      else if (this.subs.size >= this.core.maxSubscriptions) over.push(pattern);
      else {
        this.subs.set(pattern, { matches, since: this.core.seq() });
        accepted.push(pattern);
      }
    }
    if (accepted.length) this.matchCache = new Map();
    if (invalid.length) this.refuse('invalid_pattern', 'invalid pattern (`*` one segment, trailing `**`/`#`, no `$` system topics)', f.id, invalid);
    if (forbidden.length) this.refuse('forbidden', 'not allowed for this connection', f.id, forbidden);
    if (over.length) this.refuse('too_many_subscriptions', `at most ${this.core.maxSubscriptions} subscriptions per connection`, f.id, over);
    this.ack(f.id, accepted);
  }

  private unsubscribe(f: UnsubscribeFrame): void {
    for (const p of f.patterns) this.subs.delete(p);
    this.matchCache = new Map();
    this.ack(f.id, f.patterns);
  }

  private ack(id: string | undefined, patterns?: string[]): void {
    const frame: ServerFrame = { type: 'ack', seq: this.core.seq() };
    if (id !== undefined) frame.id = id;
    if (patterns) frame.patterns = patterns;
    this.send(frame);
  }

  /**
   * Send the buffered events after `lastSeq` that match a subscription and were not already sent
   * live — an event went out live when some matching subscription existed before it (`since < seq`).
   * A resume is cheap to send and can be expensive to answer, so each replays at most
   * `maxResumeBytes` (else `resync`), and a connection gets `maxResumes` per window.
   */
  private resume(f: ResumeFrame): void {
    const { core } = this;
    const now = Date.now();
    const recent = this.resumedAt.filter((t) => now - t < core.resumeWindowMs);
    recent.push(now);
    this.resumedAt = recent;
    if (recent.length > core.maxResumes) {
      return this.kill(SyncCloseCode.TOO_MANY_RESUMES, `more than ${core.maxResumes} resumes within ${core.resumeWindowMs} ms`);
    }
    if (f.epoch !== core.epoch || f.lastSeq > core.seq()) return this.resync('epoch');
    if (f.lastSeq < core.busResyncSeq()) return this.resync('bus');
    if (!core.buffer.covers(f.lastSeq)) return this.resync('buffer');
    const missed: Buffer[] = [];
    let bytes = 0;
    for (const e of core.buffer.after(f.lastSeq)) {
      let match = false;
      let sentLive = false;
      for (const s of this.subs.values()) {
        if (!s.matches(e.topic)) continue;
        match = true;
        if (s.since < e.seq) { sentLive = true; break; }
      }
      if (!match || sentLive) continue;
      bytes += e.frame.length;
      if (bytes > core.maxResumeBytes) return this.resync('buffer');
      missed.push(e.frame);
    }
    // sendText applies the slow-consumer bound to every replayed frame, as to live ones.
    for (const frame of missed) this.sendText(frame);
    this.ack(f.id);
  }
}
