/**
 * Public types of the cross-instance event bus: {@link SyncBus}, its wire {@link SyncEnvelope}, the
 * `$resync` system event and typed topics ({@link TopicMap}); the `SyncTransport` primitive an
 * adapter implements is in `backend.ts`. Semantics (topic matching, seq/gap detection, echo
 * suppression, limits) live once in the core (`createSyncBus`); a transport only moves envelope
 * text to and from a broker.
 *
 * Topic rules (enforced by the core):
 * - a topic is dot-separated segments of `[A-Za-z0-9_:-]`, at most 256 characters: `buttons.updated`;
 * - a pattern may use `*` for exactly one segment, and a trailing `**` or `#` for "one or more
 *   remaining segments"; `'*'` alone and `'**'` alone match every (non-system) topic;
 * - topics starting with `$` are system topics: wildcards never match them, only an exact
 *   subscription does (`subscribe('$resync', …)`). `$resync` itself is local-only and cannot be published.
 *
 * Wire format (what a transport carries): without `secret`, the envelope JSON
 * `{"id":…,"topic":…,"data":…,"at":…,"origin":…,"seq":n}` (always in that key order, so a bus
 * recognises its own echo by the end of the text). With `secret`:
 * `s1.<signature>.<envelope JSON>` — `s1` names the format, `<signature>` is the HMAC-SHA-256 of the
 * envelope JSON's UTF-8 bytes keyed with the secret's UTF-8 bytes, as 43 base64url characters, and
 * the envelope JSON follows unchanged. The signature takes 47 bytes of the transport's payload limit.
 *
 * @module
 */
import type { HealthReport } from '../health.js';

/** Name of the local-only system event telling subscribers that events may have been missed. */
export const RESYNC_TOPIC = '$resync';

/**
 * Maps topic names to their payload types, for type-checked `publish` / `subscribe`.
 *
 * @example
 * ```ts
 * interface Topics {
 *   'buttons.updated': { id: number };
 *   'users.balance_updated': { userId: number; balance: number };
 *   'settings.updated': void;
 * }
 * const bus: SyncBus<Topics> = redisSyncBus({ url });
 * await bus.publish('users.balance_updated', { userId: 1, balance: 10 }); // checked
 * ```
 */
export type TopicMap = Record<string, unknown>;

/**
 * One event as it travels between instances and as handlers receive it.
 * Treat it (and `data`) as read-only: local subscribers get the very object that was published.
 */
export interface SyncEnvelope<T = unknown, K extends string = string> {
  /** Unique per event: `${origin}:${seq}`. */
  readonly id: string;
  /** The concrete topic, never a pattern. */
  readonly topic: K;
  /** The payload (JSON-compatible). `undefined` when published without data. */
  readonly data: T;
  /** Epoch milliseconds at the publisher. */
  readonly at: number;
  /** `instanceId` of the publishing bus. */
  readonly origin: string;
  /** Per-origin counter starting at 1, +1 per published event (also for events the broker never got). */
  readonly seq: number;
}

/** Why a `$resync` was emitted. */
export type ResyncReason =
  /** The broker connection came back after a drop: anything published meanwhile was missed. */
  | 'reconnect'
  /**
   * An origin's `seq` skipped numbers: the broker lost events (or the publisher could not send them).
   * Also for a jump of more than `maxSeqJump`, after which the origin's sequence starts over.
   */
  | 'gap';

/** Payload of the `$resync` event. */
export interface ResyncInfo {
  /** What happened. */
  reason: ResyncReason;
  /** For `gap`: the origin whose events are missing. */
  origin?: string;
  /** For `gap`: how many events of that origin were skipped. */
  missed?: number;
}

/** The `$resync` event as handlers receive it (`origin` = this bus, `seq` = 0). */
export type ResyncEnvelope = SyncEnvelope<ResyncInfo, typeof RESYNC_TOPIC>;

/** Removes a subscription. Calling it twice is harmless. */
export type Unsubscribe = () => void;

/**
 * An event handler. Runs synchronously for local publishes; a thrown error or rejected promise is
 * reported to the bus's `onError` and never reaches the publisher or other handlers.
 */
export type SyncHandler<E = SyncEnvelope> = (event: E) => void | Promise<void>;

/**
 * The topics a dotted pattern stands for, as a template literal type (`users.*` → `users.${string}`).
 * Not exported: a step of {@link MatchingTopics}, which is the type users meet.
 */
type Segments<P extends string> = P extends `${infer H}.${infer R}`
  ? `${H extends '*' ? string : H}.${Segments<R>}`
  : P extends '*' | '**' | '#' ? string : P;

/** Topics of `TM` a pattern may match (a slight over-approximation: `*` is treated as any text). */
export type MatchingTopics<TM extends object, P extends string> = P extends keyof TM
  ? P
  : P extends '*' | '**' ? keyof TM & string : Extract<keyof TM & string, Segments<P>>;

/** The envelope type a handler of pattern `P` receives. */
export type SyncEventFor<TM extends object, P extends string> = P extends typeof RESYNC_TOPIC
  ? ResyncEnvelope
  : string extends keyof TM
    ? SyncEnvelope<TM[string], string>
    : [MatchingTopics<TM, P>] extends [never]
      ? SyncEnvelope<unknown, string>
      : { [K in MatchingTopics<TM, P>]: SyncEnvelope<TM[K], K> }[MatchingTopics<TM, P>];

/** `publish` arguments after the topic: payload optional when the topic's type allows `undefined`/`void`. */
export type PublishArgs<T> = [T] extends [undefined | void] ? [data?: T] : undefined extends T ? [data?: T] : [data: T];

/** Connection state of a bus (mirrors its transport). */
export type SyncBusState = 'connecting' | 'up' | 'down' | 'closed';

/**
 * Counters since the bus was created. Each counts exactly one kind of thing; an event or text is in
 * at most one of `received`, `rejected` and `duplicates`. This bus's own echoes from the broker are
 * skipped and counted nowhere.
 */
export interface SyncBusStats {
  /** Events `publish` accepted (delivered locally, and handed to the broker unless counted in `dropped`). */
  published: number;
  /** Events from other instances delivered to this bus's handlers (counted even when no handler matched). */
  received: number;
  /**
   * Published events the broker did not take: it refused them, the bus was over `maxInFlight`, or it
   * did not answer within `sendTimeoutMs` (taken off the count again if it answers later that it took the event).
   */
  dropped: number;
  /**
   * Texts from the broker refused without delivery: a missing or wrong signature (with `secret`), a
   * signed text on a bus without `secret`, text that is not a botwire envelope, or a `$resync` from
   * outside. Each is also reported to `onError`.
   */
  rejected: number;
  /** Envelopes from other instances ignored as copies of events already delivered (at or below the origin's highest seq). */
  duplicates: number;
  /** `$resync` events emitted. */
  resyncs: number;
}

/**
 * A cross-instance publish/subscribe bus. Create one with `memorySyncBus()`, `redisSyncBus()`,
 * `postgresSyncBus()` or `createSyncBus({ transport })`.
 *
 * Delivery: local subscribers get an event synchronously inside `publish`; other instances get it
 * through the broker at most once and in order per origin. When the broker may have lost events
 * (gap in `seq`, reconnect), subscribers of `'$resync'` are told so they can refetch.
 */
export interface SyncBus<TM extends object = TopicMap> {
  /** Unique id of this bus; the `origin` of every envelope it publishes. */
  readonly instanceId: string;
  /** Current broker connection state. Publishing works (locally) in every state but `closed`. */
  readonly state: SyncBusState;
  /**
   * Deliver to local subscribers now, then hand the event to the broker without waiting long.
   *
   * Resolves once the broker took the event, or at once when the broker is known to be down, or
   * after the bus's `sendTimeoutMs` — it never rejects because of the broker (the loss shows up as a
   * `dropped` count, an `onError` report, and a `gap` `$resync` on the receivers).
   * Rejects only for caller mistakes: invalid topic (`SyncTopicError`), payload not JSON
   * (`SyncSerializationError`), too large (`SyncPayloadTooLargeError`), or a closed bus.
   */
  publish<K extends keyof TM & string>(topic: K, ...data: PublishArgs<TM[K]>): Promise<void>;
  /**
   * Call `handler` for every event whose topic matches `pattern` (see the module doc for syntax).
   * A handler subscribed twice with overlapping patterns still runs once per event.
   * Throws `SyncTopicError` for an invalid pattern.
   */
  subscribe<P extends string>(pattern: P, handler: SyncHandler<SyncEventFor<TM, P>>): Unsubscribe;
  /** Resolves when the broker subscription is live (immediately for memory); rejects after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  /** Counters since creation. */
  stats(): SyncBusStats;
  /**
   * Connection state as a health report: `ok` while subscribed (`up`), plus one round trip to the
   * broker when the transport offers a check; `details` carry the state and the counters. Never rejects.
   */
  health(): Promise<HealthReport>;
  /**
   * Resolve once every event handed to the broker so far was taken or given up (each send is bounded
   * by `sendTimeoutMs`): what `shutdown()` waits for before closing the bus.
   */
  flush(): Promise<void>;
  /** Stage in which `shutdown()` closes it: after workers and gateways, before stores. */
  readonly shutdownStage: 'transport';
  /** Stop receiving, drop all subscriptions, close connections the bus opened itself. Idempotent. */
  close(): Promise<void>;
}
