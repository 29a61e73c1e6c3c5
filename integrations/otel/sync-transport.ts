import type { Meter } from '@opentelemetry/api';
import type { SyncTransport } from '../../src/sync/backend.js';
import type { SyncBusStats } from '../../src/sync/types.js';
import type { Telemetry } from '../../src/telemetry.js';

const TOPIC = /"topic":"((?:[^"\\]|\\.)*)"/;

/**
 * A SyncBus transport with spans: `botwire.sync.publish` around each broker send (a child of the
 * span that published) and `botwire.sync.deliver` around the delivery of each text received from the
 * broker (the handlers run inside it). The bus's `stats()` become observed counters, read only
 * when the meter collects.
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
    open(events) {
      transport.open({
        ...events,
        message(text) {
          const span = telemetry.startSpan('botwire.sync.deliver', 'consumer');
          if (!span) return events.message(text);
          const topic = TOPIC.exec(text)?.[1];
          if (topic !== undefined) span.setAttribute('botwire.sync.topic', topic);
          try {
            telemetry.withSpan(span, () => events.message(text));
          } finally {
            span.end();
          }
        },
      });
    },
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
  };
}
