/**
 * In-process SyncBus: every bus on the same {@link MemorySyncHub} behaves like a separate instance
 * connected to one broker, which makes multi-instance behaviour testable without servers. The hub
 * can also simulate an outage and lost messages.
 *
 * @module
 */
import type { SyncBus, SyncBusOptions, SyncTransport, SyncTransportEvents, TopicMap } from 'botwire/sync';
import { BotwireConfigError, createSyncBus } from 'botwire/adapter-kit';

/** A shared in-memory "broker" for {@link memorySyncBus} instances. */
export interface MemorySyncHub {
  /** Number of transports currently attached. */
  readonly size: number;
  /** True while {@link MemorySyncHub.setDown} simulates an outage. */
  readonly down: boolean;
  /**
   * Simulate a broker outage (`true`) or its end (`false`): attached buses see `down`, sends fail
   * at once, and on recovery every bus resubscribes and emits `$resync`.
   */
  setDown(down: boolean): void;
  /** Silently lose the next `count` messages sent through the hub (receivers detect the gap). */
  loseNext(count: number): void;
}

interface Attached {
  events: SyncTransportEvents;
}

class Hub implements MemorySyncHub {
  readonly attached = new Set<Attached>();
  down = false;
  private toLose = 0;

  get size(): number {
    return this.attached.size;
  }

  setDown(down: boolean): void {
    if (down === this.down) return;
    this.down = down;
    for (const a of this.attached) {
      if (down) a.events.down(new Error('memory hub is down (simulated outage)'));
      else a.events.up(true);
    }
  }

  loseNext(count: number): void {
    this.toLose += count;
  }

  broadcast(text: string): void {
    if (this.toLose > 0) { this.toLose--; return; }
    for (const a of this.attached) {
      // A real broker answers asynchronously; keep that so no test relies on same-tick delivery.
      queueMicrotask(() => { if (this.attached.has(a) && !this.down) a.events.message(text); });
    }
  }
}

/** Create a hub that several {@link memorySyncBus} instances share, to simulate instances of one app. */
export function createMemorySyncHub(): MemorySyncHub {
  return new Hub();
}

/** Options of {@link memorySyncTransport}. */
export interface MemorySyncTransportOptions {
  /**
   * The hub to join. Buses on the same hub see each other's events.
   * @default a private hub: the bus only delivers to its own subscribers
   */
  hub?: MemorySyncHub;
}

/** Options of {@link memorySyncBus}. */
export interface MemorySyncBusOptions extends MemorySyncTransportOptions, Omit<SyncBusOptions, 'transport'> {}

/** A {@link SyncTransport} over a {@link MemorySyncHub}. */
export function memorySyncTransport(options: MemorySyncTransportOptions = {}): SyncTransport {
  const hub = options?.hub ?? createMemorySyncHub();
  if (!(hub instanceof Hub)) throw new BotwireConfigError('memorySyncTransport needs a hub from createMemorySyncHub().');
  let me: Attached | undefined;
  return {
    name: 'memory',
    maxPayloadBytes: 16 * 1024 * 1024,
    open(events) {
      me = { events };
      hub.attached.add(me);
      queueMicrotask(() => { if (me && hub.attached.has(me) && !hub.down) events.up(false); });
    },
    send(text) {
      if (hub.down) return Promise.reject(new Error('memory hub is down (simulated outage)'));
      hub.broadcast(text);
      return Promise.resolve();
    },
    async close() {
      if (me) hub.attached.delete(me);
      me = undefined;
    },
  };
}

/**
 * An in-process SyncBus. Alone it is a typed local event bus with the same semantics as the
 * durable ones; with a shared `hub` it simulates several instances.
 *
 * @example
 * ```ts
 * const hub = createMemorySyncHub();
 * const a = memorySyncBus({ hub }), b = memorySyncBus({ hub });
 * b.subscribe('buttons.*', (e) => console.log(e.topic));
 * await a.publish('buttons.updated', { id: 1 });
 * ```
 */
export function memorySyncBus<TM extends object = TopicMap>(options: MemorySyncBusOptions = {}): SyncBus<TM> {
  const { hub, ...rest } = options ?? {};
  return createSyncBus<TM>({ ...rest, transport: memorySyncTransport({ hub }) });
}
