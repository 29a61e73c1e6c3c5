/**
 * The primitive a sync adapter makes work: {@link SyncTransport} moves envelope text to and from one
 * broker channel. Everything else — topic matching, envelopes, sequence numbers and gaps, echoes,
 * signing, limits, timeouts — lives once in the core (`createSyncBus`). The wire format a transport
 * carries is described in `types.ts`.
 *
 * @module
 */
import type { BackendHealth } from '../health.js';

/** What a transport reports to the core. Every callback must be called synchronously-safe and never throws back. */
export interface SyncTransportEvents {
  /** One envelope text as received from the broker, including this instance's own echoes. */
  message(text: string): void;
  /**
   * The subscription is live. `resumed` is true when this follows a lost connection (events published
   * meanwhile were missed); the core then emits `$resync`.
   */
  up(resumed: boolean): void;
  /**
   * The connection to the broker was lost; the transport keeps reconnecting on its own. With a
   * `BotwireConfigError` the transport gave up for good (it was configured with a connection it
   * cannot use): `ready()` then rejects with that error.
   */
  down(error?: unknown): void;
  /** A non-fatal problem worth logging (a failed reconnect attempt, an unreadable message). */
  error(error: unknown): void;
}

/**
 * The primitive a sync adapter implements: move envelope text to and from one broker channel.
 * Everything else (matching, seq, echoes, limits, timeouts) is the core's job. Check an
 * implementation with `syncBusContract` from `botwire/testing`.
 */
export interface SyncTransport {
  /** Human-readable backend name for error messages, e.g. `"Redis"`. */
  readonly name: string;
  /** Largest envelope text in UTF-8 bytes this transport can carry. */
  readonly maxPayloadBytes: number;
  /** Start connecting and subscribing; report through `events`. Must not throw or reject. */
  open(events: SyncTransportEvents): void;
  /**
   * Send one envelope text to every subscriber (this instance included). `topic` is given for brokers
   * that route by channel. Rejects when the broker did not take it; the core bounds the wait, so a
   * late settle is ignored. Should fail fast (no offline queue) while disconnected.
   */
  send(text: string, topic: string): Promise<void>;
  /**
   * Optional: one round trip to the broker (e.g. `PING`) for `bus.health()`; throws when it does
   * not answer. Without it the bus reports its connection state alone.
   */
  health?(): Promise<BackendHealth>;
  /** Stop reconnecting and release what `open` created. Idempotent. */
  close(): Promise<void>;
}
