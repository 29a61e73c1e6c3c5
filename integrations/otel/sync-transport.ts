import type { Meter } from '@opentelemetry/api';
import type { SyncTransport } from '../../src/sync/backend.js';
import type { SyncBusStats } from '../../src/sync/types.js';
import type { Telemetry } from '../../src/telemetry.js';

/**
 * A SyncBus transport with spans: `botwire.sync.publish` around each broker send (a child of the
 * span that published); the bus itself starts `botwire.sync.deliver` around each event it delivers
 * (the handlers run inside it). The bus's `stats()` become observed counters, read only when the
 * meter collects.
 */
export function instrumentSyncTransport(
  telemetry: Telemetry, meter: Meter, transport: SyncTransport, stats: () => SyncBusStats, instanceId: string,
): SyncTransport {
  const attributes = { 'botwire.sync.instance': instanceId };
  for (const [name, field, description] of [
    ['botwire.sync.dropped', 'dropped', 'Published events the broker did not take (receivers resync)'],
    ['botwire.sync.rejected', 'rejected', 'Received texts refused (bad signature, not an envelope)'],
    ['botwire.sync.resyncs', 'resyncs', '$resync events: gaps and reconnects'],
  ] as const) {
    meter.createObservableCounter(name, { description }).addCallback((result) => result.observe(stats()[field], attributes));
  }
  return {
    name: transport.name,
    maxPayloadBytes: transport.maxPayloadBytes,
    open: (events) => transport.open(events),
    send(text, topic) {
      const span = telemetry.startSpan('botwire.sync.publish', 'producer');
      if (!span) return transport.send(text, topic);
      span.setAttribute('botwire.sync.topic', topic);
      return transport.send(text, topic).then(() => span.end(), (error: unknown) => {
        span.end(error ?? new Error('send failed'));
        throw error;
      });
    },
    close: () => transport.close(),
    ...(transport.health ? { health: () => transport.health!() } : {}),
  };
}
