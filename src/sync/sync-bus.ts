/**
 * The SyncBus core: local-first delivery, envelopes with per-origin `seq`, echo suppression, gap and
 * reconnect detection (`$resync`), payload limits and a bounded, never-throwing broker send. Adapters
 * only provide a {@link SyncTransport}.
 *
 * @module
 */
import {
  BackendUnavailableError, BotwireConfigError, BotwireError, SyncBusClosedError, SyncPayloadTooLargeError, SyncSerializationError,
  SyncSignatureError, SyncTopicError,
} from '../errors.js';
import { intInRange } from '../internal/validate.js';
import { errorFields, type Logger } from '../logger.js';
import type { Telemetry } from '../telemetry.js';
import { createEnvelopeSigner, isSignedText, SIGNATURE_OVERHEAD, type EnvelopeSigner } from './envelope-signing.js';
import { OriginSequences } from './origin-sequences.js';
import { pathOf } from '../internal/json-value.js';
import { assertPlainJson } from '../internal/plain-json.js';
import { SubscriptionIndex, type AnyHandler } from './subscription-index.js';
import { assertTopic } from './topic-pattern.js';
import {
  RESYNC_TOPIC, type PublishArgs, type ResyncEnvelope, type ResyncInfo, type SyncBus, type SyncBusState,
  type SyncBusStats, type SyncEnvelope, type SyncEventFor, type SyncHandler, type TopicMap, type Unsubscribe,
} from './types.js';
import type { SyncTransport } from './backend.js';
import { probeHealth, type HealthReport } from '../health.js';
import { BackendHealthError } from '../errors.js';

/** Options of {@link createSyncBus} (adapters accept the same, minus `transport`). */
export interface SyncBusOptions {
  /** The broker primitive (from an adapter, or your own). */
  transport: SyncTransport;
  /**
   * Unique id of this bus, the `origin` of its envelopes. Must differ between running instances.
   * @default crypto.randomUUID()
   */
  instanceId?: string;
  /**
   * Largest encoded envelope accepted by `publish`, in UTF-8 bytes; capped by the transport's own limit.
   * @default 1_048_576 (1 MiB)
   */
  maxPayloadBytes?: number;
  /**
   * Longest time `publish` waits for the broker to take an event before resolving anyway (the event
   * is then counted as dropped). While the broker is known to be down `publish` does not wait at all.
   * @default 1000
   */
  sendTimeoutMs?: number;
  /**
   * Most broker sends outstanding at once; beyond that events are delivered locally and dropped for
   * the broker (receivers see a gap and resync) instead of piling up in memory.
   * @default 10_000
   */
  maxInFlight?: number;
  /**
   * Receives non-fatal problems: handler errors, broker drops, unreadable messages, refused
   * signatures (`SyncSignatureError`). Never throws back.
   * @default `logger.warn`, else `console.warn`
   */
  onError?: (error: unknown) => void;
  /**
   * Receives the non-fatal problems as `warn` lines (`topic`, `error: { code, message }`) when no
   * `onError` is given (the broker going down is one line, not one per event), and an `info` line
   * when the broker is back (with `dropped`, the events lost so far).
   * @default none
   */
  logger?: Logger;
  /**
   * Spans `botwire.sync.publish` and `botwire.sync.deliver` around the broker, and the observed
   * counters `botwire.sync.dropped`, `botwire.sync.rejected`, `botwire.sync.resyncs`: pass
   * `otelTelemetry()` from `botwire/otel`.
   * @default none
   */
  telemetry?: Telemetry;
  /**
   * Shared secret that signs every envelope this bus sends (HMAC-SHA-256) and that every envelope it
   * receives must be signed with; anything else is dropped, counted in `stats().rejected` and
   * reported as `SyncSignatureError`. Give every instance of the app the same secret (at least 32
   * characters: `openssl rand -hex 32`). It stops forged events, not eavesdropping: payloads still
   * travel readable. The wire format is described in the module doc of `src/sync/types.ts`.
   * @default undefined (unsigned: anyone who can publish on the broker channel can inject events)
   * @example
   * ```ts
   * // the same value on every instance, generated once with `openssl rand -hex 32`
   * const bus = redisSyncBus({ url: process.env.REDIS_URL!, secret: process.env.SYNC_SECRET });
   * ```
   */
  secret?: string;
  /**
   * Largest forward jump in an origin's `seq` taken as events lost on the way. A larger jump is
   * treated as a gap (`$resync`) after which the origin's sequence starts over from its next event,
   * so one envelope with an absurd `seq` (a forgery, without `secret`) cannot make that origin's
   * later events look old.
   * @default 10_000
   */
  maxSeqJump?: number;
}

const DEFAULT_MAX_PAYLOAD = 1_048_576;
const encoder = new TextEncoder();
const RESOLVED: Promise<void> = Promise.resolve();

/** UTF-8 size of `text` when it might exceed `limit`; 0 when it cannot (each UTF-16 unit is ≤ 3 bytes). */
function bytesOver(text: string, limit: number): number {
  if (text.length * 3 <= limit) return 0;
  const bytes = encoder.encode(text).length;
  return bytes > limit ? bytes : 0;
}

function isEnvelope(value: unknown): value is SyncEnvelope {
  const e = value as SyncEnvelope | null;
  return typeof e === 'object' && e !== null && typeof e.topic === 'string' && typeof e.origin === 'string' &&
    typeof e.seq === 'number' && Number.isSafeInteger(e.seq) && e.seq > 0 && typeof e.id === 'string' && typeof e.at === 'number';
}

class SyncBusImpl<TM extends object> implements SyncBus<TM> {
  readonly instanceId: string;
  private readonly transport: SyncTransport;
  private readonly index = new SubscriptionIndex();
  private readonly origins: OriginSequences;
  private readonly maxPayloadBytes: number;
  private readonly sendTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly report: (error: unknown) => void;
  private readonly log: Logger | undefined;
  private readonly telemetry: Telemetry | undefined;
  private readonly counters: SyncBusStats = { published: 0, received: 0, dropped: 0, rejected: 0, duplicates: 0, resyncs: 0 };
  private readonly signer: EnvelopeSigner | undefined;
  private readonly waiters = new Set<{ resolve: () => void; reject: (e: unknown) => void }>();
  /** flush() callers waiting for `inFlight` to reach 0 (no per-publish bookkeeping on the hot path). */
  private flushWaiters: Array<() => void> = [];
  readonly shutdownStage = 'transport' as const;
  private current: SyncBusState = 'connecting';
  private seq = 0;
  private inFlight = 0;
  private wasDown = false;
  /** Set when the transport refused its configuration for good: what `ready()` rejects with. */
  private refusal: BotwireConfigError | undefined;

  constructor(options: SyncBusOptions) {
    if (!options?.transport || typeof options.transport.send !== 'function') {
      throw new BotwireConfigError('createSyncBus needs a `transport` (from an adapter such as redisSyncBus, or your own SyncTransport).');
    }
    this.log = options.logger;
    this.telemetry = options.telemetry;
    this.instanceId = options.instanceId ?? crypto.randomUUID();
    if (typeof this.instanceId !== 'string' || this.instanceId.length === 0 || this.instanceId.length > 128) {
      throw new BotwireConfigError('SyncBus `instanceId` must be a non-empty string of at most 128 characters, unique per running instance.');
    }
    this.transport = options.telemetry?.syncTransport?.(options.transport, () => this.counters, this.instanceId) ?? options.transport;
    this.signer = options.secret === undefined ? undefined : createEnvelopeSigner(options.secret);
    this.origins = new OriginSequences(options.maxSeqJump === undefined ? 10_000 : intInRange('SyncBus `maxSeqJump`', options.maxSeqJump, 1));
    // The signature travels in front of the envelope, inside what the transport can carry.
    const room = this.transport.maxPayloadBytes - (this.signer ? SIGNATURE_OVERHEAD : 0);
    this.maxPayloadBytes = Math.min(options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD, room);
    this.sendTimeoutMs = options.sendTimeoutMs ?? 1000;
    this.maxInFlight = options.maxInFlight ?? 10_000;
    const log = this.log;
    const onError = options.onError ?? (log
      ? (e: unknown) => log.warn({ topic: (e as BotwireError).subject, error: errorFields(e) }, 'botwire sync')
      : (e: unknown) => console.warn('[botwire sync]', e instanceof Error ? e.message : e));
    this.report = (e) => { try { onError(e); } catch { /* a throwing logger must not break delivery */ } };
    this.transport.open({
      message: (text) => this.receive(text),
      up: (resumed) => this.onUp(resumed),
      down: (error) => this.onDown(error),
      error: (error) => this.report(error),
    });
  }

  get state(): SyncBusState {
    return this.current;
  }

  publish<K extends keyof TM & string>(topic: K, ...args: PublishArgs<TM[K]>): Promise<void> {
    if (this.current === 'closed') return Promise.reject(new SyncBusClosedError(this.instanceId));
    try {
      assertTopic(topic);
      if (topic === RESYNC_TOPIC) throw new SyncTopicError(topic, '`$resync` is emitted by the bus itself and cannot be published');
    } catch (e) {
      return Promise.reject(e);
    }
    const seq = this.seq + 1;
    const envelope: SyncEnvelope = { id: `${this.instanceId}:${seq}`, topic, data: args[0], at: Date.now(), origin: this.instanceId, seq };
    let text: string;
    try {
      // Refuses (naming the path, e.g. `data.items[2]`) what JSON would change; then the fast stringify.
      assertPlainJson(envelope.data, 'data');
      text = JSON.stringify(envelope);
    } catch (e) {
      return Promise.reject(new SyncSerializationError(topic, e, pathOf(e)));
    }
    const bytes = bytesOver(text, this.maxPayloadBytes);
    if (bytes > 0) return Promise.reject(new SyncPayloadTooLargeError(topic, bytes, this.maxPayloadBytes, this.transport.name));
    this.seq = seq;
    this.counters.published++;
    this.deliver(envelope);
    return this.send(text, topic);
  }

  subscribe<P extends string>(pattern: P, handler: SyncHandler<SyncEventFor<TM, P>>): Unsubscribe {
    if (typeof handler !== 'function') throw new BotwireConfigError(`subscribe("${pattern}") needs a handler function.`);
    if (this.current === 'closed') return () => {};
    return this.index.add(pattern, handler as AnyHandler);
  }

  ready(timeoutMs = 10_000): Promise<void> {
    if (this.current === 'up') return Promise.resolve();
    if (this.current === 'closed') return Promise.reject(new SyncBusClosedError(this.instanceId));
    if (this.refusal) return Promise.reject(this.refusal);
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (e: unknown) => { clearTimeout(timer); reject(e); },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new BackendUnavailableError(this.transport.name, 'sync subscribe', new Error(`not subscribed within ${timeoutMs} ms`)));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  stats(): SyncBusStats {
    return { ...this.counters };
  }

  health(): Promise<HealthReport> {
    const { transport } = this;
    const state = this.current;
    const { published, dropped, rejected, resyncs } = this.counters;
    const extra = { state, published, dropped, rejected, resyncs };
    return probeHealth(transport, this.sendTimeoutMs, async () => {
      if (state !== 'up') throw new BackendHealthError(transport.name, state === 'closed' ? 'closed' : 'not connected', extra);
      return transport.health ? transport.health() : {};
    }, extra);
  }

  flush(): Promise<void> {
    if (this.inFlight === 0) return RESOLVED;
    return new Promise<void>((resolve) => { this.flushWaiters.push(resolve); });
  }

  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.current = 'closed';
    this.index.clear();
    for (const w of this.waiters) w.reject(new SyncBusClosedError(this.instanceId));
    this.waiters.clear();
    try {
      await this.transport.close();
    } catch (e) {
      this.report(e);
    }
  }

  private send(text: string, topic: string): Promise<void> {
    if (this.inFlight >= this.maxInFlight) {
      this.counters.dropped++;
      return RESOLVED;
    }
    const sending = this.trySend(this.signer ? this.signer.sign(text) : text, topic);
    // While the broker is known to be down the caller does not wait at all; the send still runs in
    // the background (bounded by sendTimeoutMs and maxInFlight) in case only our subscriber is cut off.
    return this.current === 'down' ? RESOLVED : sending;
  }

  private trySend(text: string, topic: string): Promise<void> {
    this.inFlight++;
    return new Promise<void>((resolve) => {
      let settled = false;
      let timedOut = false;
      const finish = (error?: unknown): void => {
        if (settled) {
          // The broker took it after all, after we had counted it dropped: receivers see no gap.
          if (timedOut && error === undefined) this.counters.dropped--;
          timedOut = false;
          return;
        }
        settled = true;
        clearTimeout(timer);
        if (--this.inFlight === 0 && this.flushWaiters.length > 0) {
          const waiters = this.flushWaiters;
          this.flushWaiters = [];
          for (const w of waiters) w();
        }
        if (error !== undefined) {
          this.counters.dropped++;
          // While down, one report (from onDown) is enough; don't log every event that could not go out.
          if (this.current !== 'down') this.report(new BackendUnavailableError(this.transport.name, 'sync publish', error, topic));
        }
        resolve();
      };
      const timer = setTimeout(() => {
        finish(new Error(`no answer within ${this.sendTimeoutMs} ms`));
        timedOut = true;
      }, this.sendTimeoutMs);
      // A pending send must not keep a process alive that is otherwise done (e.g. after close()).
      (timer as { unref?: () => void }).unref?.();
      try {
        this.transport.send(text, topic).then(() => finish(), (e: unknown) => finish(e ?? new Error('send failed')));
      } catch (e) {
        finish(e ?? new Error('send failed'));
      }
    });
  }

  private deliver(envelope: SyncEnvelope): void {
    const handlers = this.index.handlersFor(envelope.topic);
    for (let i = 0; i < handlers.length; i++) {
      try {
        const result = (handlers[i] as (e: SyncEnvelope) => unknown)(envelope);
        if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
          (result as Promise<unknown>).then(undefined, this.report);
        }
      } catch (e) {
        this.report(e);
      }
    }
  }

  private receive(text: string): void {
    if (this.current === 'closed') return;
    // Skipped unverified: dropping a text that merely looks like our own echo harms no one.
    if (this.isOwnEcho(text)) return;
    let json = text;
    if (this.signer) {
      const body = this.signer.verify(text);
      if (body === null) return this.refuse(new SyncSignatureError(this.transport.name, this.signer.why(text)));
      json = body;
    } else if (isSignedText(text)) {
      return this.refuse(new SyncSignatureError(this.transport.name, 'it is signed but this bus has no `secret`'));
    }
    let envelope: unknown;
    try {
      envelope = JSON.parse(json);
    } catch (e) {
      return this.refuse(new BotwireError('SYNC_MALFORMED', `Ignored an unreadable message from ${this.transport.name}.`, { cause: e }));
    }
    if (!isEnvelope(envelope)) {
      return this.refuse(new BotwireError('SYNC_MALFORMED', `Ignored a message from ${this.transport.name} that is not a botwire envelope.`));
    }
    if (envelope.origin === this.instanceId) return; // our own echo: already delivered locally
    if (envelope.topic === RESYNC_TOPIC) {
      return this.refuse(new BotwireError('SYNC_MALFORMED', `Ignored a \`${RESYNC_TOPIC}\` from ${this.transport.name}: it is local to each bus.`));
    }
    const missed = this.origins.accept(envelope.origin, envelope.seq);
    if (missed < 0) {
      this.counters.duplicates++;
      return;
    }
    if (missed > 0) this.resync({ reason: 'gap', origin: envelope.origin, missed });
    this.counters.received++;
    // The delivery span starts only here, past echoes and refused texts: those are not deliveries.
    const span = this.telemetry?.startSpan('botwire.sync.deliver', 'consumer');
    if (!span) return this.deliver(envelope);
    span.setAttribute('botwire.sync.topic', envelope.topic);
    try {
      this.telemetry!.withSpan(span, () => this.deliver(envelope));
    } finally {
      span.end();
    }
  }

  /** Count and report a received text that was not delivered. */
  private refuse(error: BotwireError): void {
    this.counters.rejected++;
    this.report(error);
  }

  /**
   * Our envelopes end with `,"origin":"<id>","seq":n}` (publish builds them in that key order), so
   * our own echo is recognised without parsing it — half the traffic of a busy publisher.
   */
  private isOwnEcho(text: string): boolean {
    const at = text.lastIndexOf(',"origin":"');
    return at > 0 && text.startsWith(this.instanceId, at + 11) && text.startsWith('","seq":', at + 11 + this.instanceId.length);
  }


  private onUp(resumed: boolean): void {
    if (this.current === 'closed') return;
    const wasDown = this.wasDown || resumed;
    this.current = 'up';
    this.wasDown = false;
    for (const w of this.waiters) w.resolve();
    this.waiters.clear();
    if (wasDown) {
      this.log?.info({ dropped: this.counters.dropped }, 'botwire sync reconnected');
      // Sequences of other origins say nothing useful across a hole we already report as a whole.
      this.origins.clear();
      this.resync({ reason: 'reconnect' });
    }
  }

  private onDown(error: unknown): void {
    if (this.current === 'closed') return;
    const first = this.current !== 'down';
    this.current = 'down';
    this.wasDown = true;
    if (error instanceof BotwireConfigError) {
      this.refusal = error;
      for (const w of this.waiters) w.reject(error);
      this.waiters.clear();
      this.report(error);
      return;
    }
    if (first) this.report(new BackendUnavailableError(this.transport.name, 'sync subscription', error));
  }

  private resync(info: ResyncInfo): void {
    this.counters.resyncs++;
    const envelope: ResyncEnvelope = {
      id: `${this.instanceId}:resync:${this.counters.resyncs}`, topic: RESYNC_TOPIC, data: info, at: Date.now(), origin: this.instanceId, seq: 0,
    };
    this.deliver(envelope);
  }
}

/**
 * Create a bus over any {@link SyncTransport}. Adapters wrap this (`redisSyncBus`, `postgresSyncBus`,
 * `memorySyncBus`); call it directly for a transport of your own.
 *
 * @example
 * ```ts
 * const bus = createSyncBus<Topics>({ transport: myTransport });
 * bus.subscribe('buttons.*', (e) => console.log(e.topic, e.data));
 * await bus.publish('buttons.updated', { id: 7 });
 * ```
 */
export function createSyncBus<TM extends object = TopicMap>(options: SyncBusOptions): SyncBus<TM> {
  return new SyncBusImpl<TM>(options);
}
