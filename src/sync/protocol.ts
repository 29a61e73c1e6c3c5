/**
 * The wire protocol between the sync gateway (`botwire/ws`) and its clients (`botwire/client`):
 * JSON text frames, one object per frame, with a `type` field. Edge-safe: used by the Node gateway
 * and by browsers alike.
 *
 * Version 1 is negotiated with the WebSocket subprotocol {@link SYNC_SUBPROTOCOL} (`botwire-sync.v1`);
 * a client frame may also carry `v: 1`, and the server's first frame (`hello`) states the version.
 *
 * Client → server:
 * - `{ type: 'subscribe', id?, patterns: string[] }` → `ack` (with the accepted patterns) and/or
 *   `error` (`forbidden`, `invalid_pattern`, `too_many_subscriptions`) listing the refused ones;
 * - `{ type: 'unsubscribe', id?, patterns: string[] }` → `ack`;
 * - `{ type: 'resume', id?, epoch, lastSeq }` → the missed events, then `ack`; or `resync` when they are
 *   no longer in the gateway's replay buffer, would take more than the gateway's `maxResumeBytes`
 *   (both `buffer`), or the gateway restarted (another `epoch`). More than `maxResumes` resumes within
 *   `resumeWindowMs` close the connection with {@link SyncCloseCode}`.TOO_MANY_RESUMES` (4430);
 * - `{ type: 'ping', id? }` → `pong`.
 *
 * Server → client: `hello`, `event { seq, envelope }`, `ack`, `error { code, message }`,
 * `resync`, `pong`. Every `ack`/`pong`/`resync` carries the gateway's current `seq`: every event up
 * to it that matches the connection's subscriptions has been sent before that frame, so a client
 * may resume from there.
 *
 * Parsing never throws: hostile input becomes a `{ ok: false, code, message }` result.
 *
 * @module
 */
import type { SyncEnvelope } from './types.js';

/** Protocol version spoken by this build. */
export const SYNC_PROTOCOL_VERSION = 1;

/** WebSocket subprotocol naming the protocol version. Clients must offer it; the gateway selects it. */
export const SYNC_SUBPROTOCOL = 'botwire-sync.v1';

/**
 * Prefix of the subprotocol that carries a bearer token from browsers (which cannot set an
 * `Authorization` header on a WebSocket): `bearer.<token>`. Only RFC 7230 token characters fit.
 */
export const SYNC_TOKEN_SUBPROTOCOL_PREFIX = 'bearer.';

/** Longest pattern accepted in a frame (the bus's topic limit). */
export const MAX_PATTERN_LENGTH = 256;
/** Most patterns in one `subscribe`/`unsubscribe` frame. */
export const MAX_PATTERNS_PER_FRAME = 100;
/** Longest request `id`. */
export const MAX_FRAME_ID_LENGTH = 64;

/**
 * WebSocket close codes the gateway and client use (4000–4999 is the application range).
 * An HTTP-level refusal (401/403/404 during the upgrade) is not a close code: browsers only see 1006.
 */
export const SyncCloseCode = {
  /** Normal close (`client.close()`). */
  NORMAL: 1000,
  /** The gateway is shutting down (`gateway.close()`); clients reconnect with backoff. */
  GOING_AWAY: 1001,
  /** The connection sent too many malformed frames (each one was answered with an `error` frame first). */
  MALFORMED: 4400,
  /** The gateway revoked the connection's authentication (`gateway.disconnect(…, 'unauthenticated')`); the client fetches a fresh token and reconnects. */
  UNAUTHENTICATED: 4401,
  /** The gateway banned the connection (`gateway.disconnect(…, 'forbidden')`); the client does not reconnect. */
  FORBIDDEN: 4403,
  /** No sign of life within the heartbeat window: sent by the gateway for a silent client and used by the client for a silent gateway. */
  HEARTBEAT_TIMEOUT: 4408,
  /** A frame was larger than the gateway's `maxFrameBytes`. */
  TOO_LARGE: 4413,
  /** The connection kept asking for subscriptions past `maxSubscriptions` after being told so. */
  TOO_MANY_SUBSCRIPTIONS: 4429,
  /**
   * The connection sent more than `maxResumes` `resume` frames within `resumeWindowMs` (a client
   * resumes once per connection). The client reconnects with backoff without resuming and emits
   * `'$resync'`, since what it missed is not replayed.
   */
  TOO_MANY_RESUMES: 4430,
  /** The client read too slowly: more than `maxBufferedBytes` were waiting to be sent. It may resume after reconnecting. */
  SLOW_CONSUMER: 4503,
} as const;

/** Codes of `error` frames. */
export type SyncErrorCode =
  /** Not JSON, not an object, unknown `type`, or a field of the wrong type. */
  | 'malformed'
  /** The frame states a protocol version this gateway does not speak. */
  | 'unsupported_version'
  /** A pattern is not valid topic-pattern syntax. */
  | 'invalid_pattern'
  /** A pattern is outside what `authorize` allowed for this connection. Nothing is delivered for it. */
  | 'forbidden'
  /** The subscription would exceed `maxSubscriptions`. */
  | 'too_many_subscriptions'
  /** The frame exceeded `maxFrameBytes` (the connection is closed with 4413 right after). */
  | 'too_large';

/** Ask for the events matching `patterns`. */
export interface SubscribeFrame { type: 'subscribe'; id?: string; patterns: string[] }
/** Stop receiving `patterns`. */
export interface UnsubscribeFrame { type: 'unsubscribe'; id?: string; patterns: string[] }
/** After a reconnect: send what was missed since `lastSeq` of gateway `epoch`. */
export interface ResumeFrame { type: 'resume'; id?: string; epoch: string; lastSeq: number }
/** Liveness probe; answered with `pong`. */
export interface PingFrame { type: 'ping'; id?: string }
/** Any frame a client may send. */
export type ClientFrame = SubscribeFrame | UnsubscribeFrame | ResumeFrame | PingFrame;

/** First frame on every connection. */
export interface HelloFrame {
  type: 'hello';
  /** Protocol version. */
  v: number;
  /** Identifies this gateway run; seqs of another epoch mean nothing here. */
  epoch: string;
  /** The gateway's current seq. */
  seq: number;
  /** How often the gateway pings; a client may expect traffic at least this often. */
  heartbeatMs: number;
  /** Limits this connection is held to. */
  limits: { maxFrameBytes: number; maxSubscriptions: number };
}
/** One bus event; `seq` is the gateway's sequence number (not the envelope's per-origin one). */
export interface EventFrame { type: 'event'; seq: number; envelope: SyncEnvelope }
/** A request succeeded; `seq` is a watermark (see the module doc). */
export interface AckFrame { type: 'ack'; id?: string; seq: number; patterns?: string[] }
/** A request (or a frame) was refused. */
export interface ErrorFrame { type: 'error'; code: SyncErrorCode; message: string; id?: string; patterns?: string[] }
/** Events may have been missed: refetch. Resume from `epoch`/`seq` afterwards. */
export interface ResyncFrame { type: 'resync'; epoch: string; seq: number; reason: SyncResyncReason }
/** Answer to `ping`; `seq` is a watermark. */
export interface PongFrame { type: 'pong'; id?: string; seq: number }
/** Any frame the gateway may send. */
export type ServerFrame = HelloFrame | EventFrame | AckFrame | ErrorFrame | ResyncFrame | PongFrame;

/**
 * Why a client is told to resync: `buffer` — what it missed is no longer in the replay buffer, or
 * is more than the gateway replays at once (`maxResumeBytes`);
 * `epoch` — it resumes against another gateway run (restart, another instance); `bus` — the bus
 * itself reported lost events (`$resync`).
 */
export type SyncResyncReason = 'buffer' | 'epoch' | 'bus';

/** Result of parsing one frame: never an exception. */
export type ParseResult<F> =
  | { ok: true; frame: F }
  | { ok: false; code: SyncErrorCode; message: string; id?: string };

type Obj = Record<string, unknown>;

function fail<F>(code: SyncErrorCode, message: string, id?: string): ParseResult<F> {
  return id === undefined ? { ok: false, code, message } : { ok: false, code, message, id };
}

function parseObject(text: unknown): Obj | string {
  if (typeof text !== 'string') return 'frames must be JSON text, not binary';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'frame is not valid JSON';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'frame must be a JSON object';
  return value as Obj;
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function optionalId(o: Obj): string | undefined | false {
  const id = o.id;
  if (id === undefined) return undefined;
  if (typeof id !== 'string' || id.length > MAX_FRAME_ID_LENGTH) return false;
  return id;
}

function patternList(o: Obj): string[] | string {
  const p = o.patterns;
  if (!Array.isArray(p)) return '`patterns` must be an array of strings';
  if (p.length === 0) return '`patterns` must not be empty';
  if (p.length > MAX_PATTERNS_PER_FRAME) return `at most ${MAX_PATTERNS_PER_FRAME} patterns per frame`;
  for (const item of p) {
    if (typeof item !== 'string' || item.length === 0 || item.length > MAX_PATTERN_LENGTH) {
      return `each pattern must be a non-empty string of at most ${MAX_PATTERN_LENGTH} characters`;
    }
  }
  return p as string[];
}

/**
 * Parse and validate a frame sent by a client. Unknown extra fields are ignored (forward
 * compatibility); missing or mistyped known fields are `malformed`.
 */
export function parseClientFrame(text: unknown): ParseResult<ClientFrame> {
  const o = parseObject(text);
  if (typeof o === 'string') return fail('malformed', o);
  const id = optionalId(o);
  if (id === false) return fail('malformed', `\`id\` must be a string of at most ${MAX_FRAME_ID_LENGTH} characters`);
  if (o.v !== undefined && o.v !== SYNC_PROTOCOL_VERSION) {
    return fail('unsupported_version', `protocol version ${String(o.v)} is not supported; this gateway speaks v${SYNC_PROTOCOL_VERSION}`, id);
  }
  switch (o.type) {
    case 'subscribe':
    case 'unsubscribe': {
      const patterns = patternList(o);
      if (typeof patterns === 'string') return fail('malformed', `${o.type}: ${patterns}`, id);
      const frame = { type: o.type, patterns } as SubscribeFrame | UnsubscribeFrame;
      if (id !== undefined) frame.id = id;
      return { ok: true, frame };
    }
    case 'resume':
      if (typeof o.epoch !== 'string' || o.epoch.length > MAX_FRAME_ID_LENGTH) {
        return fail('malformed', 'resume: `epoch` must be the string from the hello frame');
      }
      if (!isSeq(o.lastSeq)) return fail('malformed', 'resume: `lastSeq` must be a non-negative integer');
      return { ok: true, frame: id === undefined ? { type: 'resume', epoch: o.epoch, lastSeq: o.lastSeq } : { type: 'resume', id, epoch: o.epoch, lastSeq: o.lastSeq } };
    case 'ping':
      return { ok: true, frame: id === undefined ? { type: 'ping' } : { type: 'ping', id } };
    default:
      return fail('malformed', `unknown frame type ${JSON.stringify(o.type)?.slice(0, 40) ?? 'undefined'}`, id);
  }
}

const ERROR_CODES: ReadonlySet<string> = new Set<SyncErrorCode>([
  'malformed', 'unsupported_version', 'invalid_pattern', 'forbidden', 'too_many_subscriptions', 'too_large',
]);
const RESYNC_REASONS: ReadonlySet<string> = new Set<SyncResyncReason>(['buffer', 'epoch', 'bus']);

function isEnvelope(v: unknown): v is SyncEnvelope {
  if (v === null || typeof v !== 'object') return false;
  const e = v as Obj;
  return typeof e.id === 'string' && typeof e.topic === 'string' && typeof e.origin === 'string' &&
    typeof e.at === 'number' && typeof e.seq === 'number';
}

function optionalStrings(v: unknown): v is string[] | undefined {
  return v === undefined || (Array.isArray(v) && v.every((s) => typeof s === 'string'));
}

/** Parse and validate a frame sent by the gateway (clients must not trust the wire either). */
export function parseServerFrame(text: unknown): ParseResult<ServerFrame> {
  const o = parseObject(text);
  if (typeof o === 'string') return fail('malformed', o);
  const id = optionalId(o);
  if (id === false) return fail('malformed', '`id` must be a short string');
  const bad = (what: string): ParseResult<ServerFrame> => fail('malformed', `${String(o.type)} frame: ${what}`);
  switch (o.type) {
    case 'hello': {
      const limits = o.limits as Obj | undefined;
      if (typeof o.v !== 'number' || typeof o.epoch !== 'string' || !isSeq(o.seq) || typeof o.heartbeatMs !== 'number') {
        return bad('needs v, epoch, seq, heartbeatMs');
      }
      if (o.v !== SYNC_PROTOCOL_VERSION) return fail('unsupported_version', `gateway speaks v${String(o.v)}, client v${SYNC_PROTOCOL_VERSION}`);
      if (!limits || typeof limits.maxFrameBytes !== 'number' || typeof limits.maxSubscriptions !== 'number') return bad('needs limits');
      return {
        ok: true,
        frame: {
          type: 'hello', v: o.v, epoch: o.epoch, seq: o.seq, heartbeatMs: o.heartbeatMs,
          limits: { maxFrameBytes: limits.maxFrameBytes, maxSubscriptions: limits.maxSubscriptions },
        },
      };
    }
    case 'event':
      if (!isSeq(o.seq) || !isEnvelope(o.envelope)) return bad('needs seq and an envelope');
      return { ok: true, frame: { type: 'event', seq: o.seq, envelope: o.envelope } };
    case 'ack': {
      if (!isSeq(o.seq) || !optionalStrings(o.patterns)) return bad('needs seq');
      const frame: AckFrame = { type: 'ack', seq: o.seq };
      if (id !== undefined) frame.id = id;
      if (o.patterns) frame.patterns = o.patterns;
      return { ok: true, frame };
    }
    case 'error': {
      if (typeof o.code !== 'string' || !ERROR_CODES.has(o.code) || typeof o.message !== 'string' || !optionalStrings(o.patterns)) {
        return bad('needs a known code and a message');
      }
      const frame: ErrorFrame = { type: 'error', code: o.code as SyncErrorCode, message: o.message };
      if (id !== undefined) frame.id = id;
      if (o.patterns) frame.patterns = o.patterns;
      return { ok: true, frame };
    }
    case 'resync':
      if (typeof o.epoch !== 'string' || !isSeq(o.seq) || typeof o.reason !== 'string' || !RESYNC_REASONS.has(o.reason)) {
        return bad('needs epoch, seq and a known reason');
      }
      return { ok: true, frame: { type: 'resync', epoch: o.epoch, seq: o.seq, reason: o.reason as SyncResyncReason } };
    case 'pong': {
      if (!isSeq(o.seq)) return bad('needs seq');
      const frame: PongFrame = { type: 'pong', seq: o.seq };
      if (id !== undefined) frame.id = id;
      return { ok: true, frame };
    }
    default:
      return fail('malformed', `unknown frame type ${JSON.stringify(o.type)?.slice(0, 40) ?? 'undefined'}`);
  }
}

/** Serialize a frame. */
export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return JSON.stringify(frame);
}

/**
 * Serialize an `event` frame around an envelope that is already JSON text, so a gateway fanning one
 * event out to many connections stringifies it once.
 */
export function encodeEventFrame(seq: number, envelopeJson: string): string {
  return `{"type":"event","seq":${seq},"envelope":${envelopeJson}}`;
}

/** Whether `token` can travel as a `bearer.<token>` subprotocol (RFC 7230 token characters only). */
export function isSubprotocolSafe(token: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(token);
}
