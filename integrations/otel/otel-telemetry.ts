import {
  context, metrics, SpanKind, SpanStatusCode, trace, TraceFlags,
  type Context, type Meter, type Span, type SpanContext, type SpanOptions, type Tracer,
} from '@opentelemetry/api';
import type { Telemetry, TelemetryAttributes, TelemetrySpan, TelemetrySpanKind } from '../../src/telemetry.js';
import { instrumentSyncTransport } from './sync-transport.js';

/** Options of {@link otelTelemetry}. */
export interface OtelTelemetryOptions {
  /**
   * The tracer spans come from.
   * @default trace.getTracer('botwire') (the global tracer provider: the one `NodeSDK` registers)
   */
  tracer?: Tracer;
  /**
   * The meter the counters are made on.
   * @default metrics.getMeter('botwire'), asked when the first counter is made (the global meter
   *   provider has no proxy: it must be registered by then, as `NodeSDK.start()` does)
   */
  meter?: Meter;
}

const KINDS: Record<TelemetrySpanKind, SpanKind> = {
  internal: SpanKind.INTERNAL, producer: SpanKind.PRODUCER, consumer: SpanKind.CONSUMER, client: SpanKind.CLIENT, server: SpanKind.SERVER,
};
/** One options object per kind, shared by every span started now (no allocation per span). */
const NOW_OPTIONS = Object.fromEntries(Object.entries(KINDS).map(([k, kind]) => [k, { kind }])) as Record<TelemetrySpanKind, SpanOptions>;
const TRACEPARENT = /^00-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/;

/** What each counter measures, for exporters and dashboards. */
const DESCRIPTIONS: Record<string, [description: string, unit?: string]> = {
  'botwire.job.outcomes': ['Job runs by outcome (completed, partial, retry, failed, released, lost, lapsed)'],
  'botwire.job.run_time': ['Total run time of jobs, from claim to recorded outcome (÷ botwire.job.outcomes = mean)', 'ms'],
  'botwire.session.conflicts': ['Session saves refused because another writer got there first'],
  'botwire.session.lease_waits': ['Session loads that waited for another holder of the lease (or timed out)'],
  'botwire.session.lease_wait_time': ['Total time session loads waited for the lease (÷ lease_waits = mean)', 'ms'],
  'botwire.gateway.connections': ['WebSocket upgrades by outcome (accepted, unauthorized, origin, full, timeout, closing, error)'],
};

/** One counter's running sums by attribute set, reported when the meter collects. */
class LocalCounter {
  readonly #byObject = new WeakMap<object, { value: number }>();
  readonly #byKey = new Map<string, { attributes: TelemetryAttributes; value: number }>();

  constructor(meter: Meter, name: string) {
    const [description, unit] = DESCRIPTIONS[name] ?? [name];
    meter.createObservableCounter(name, unit ? { description, unit } : { description }).addCallback((result) => {
      for (const cell of this.#byKey.values()) result.observe(cell.value, cell.attributes);
    });
  }

  add(attributes: TelemetryAttributes, value: number): void {
    // Callers on hot paths pass the same attributes object each time: one WeakMap lookup.
    let cell = this.#byObject.get(attributes);
    if (!cell) {
      let key = '';
      for (const k in attributes) key += `${k}=${String(attributes[k])}\u0000`;
      let shared = this.#byKey.get(key);
      if (!shared) this.#byKey.set(key, (shared = { attributes: { ...attributes }, value: 0 }));
      this.#byObject.set(attributes, (cell = shared));
    }
    cell.value += value;
  }
}

/** A W3C `traceparent` header value as a remote span context, or undefined when malformed. */
export function parseTraceparent(header: string): SpanContext | undefined {
  const m = TRACEPARENT.exec(header);
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
}

/** A recorded OpenTelemetry span behind botwire's {@link TelemetrySpan}. */
class OtelSpan implements TelemetrySpan {
  constructor(readonly span: Span) {}

  setAttribute(key: string, value: string | number | boolean): void {
    this.span.setAttribute(key, value);
  }

  traceparent(): string {
    const c = this.span.spanContext();
    return `00-${c.traceId}-${c.spanId}-0${(c.traceFlags & TraceFlags.SAMPLED).toString(16)}`;
  }

  end(error?: unknown, endTime?: number): void {
    if (error !== undefined) {
      // An Error, a job's stored `{ name, message }`, or a word such as 'lost'.
      const e = Object(error) as { code?: unknown; name?: unknown; message?: unknown };
      if (error instanceof Error) this.span.recordException(error);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: typeof e.message === 'string' ? e.message : String(error) });
      const type = typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : undefined;
      if (type !== undefined) this.span.setAttribute('error.type', type);
    }
    this.span.end(endTime);
  }
}

/**
 * botwire's tracing and metrics over OpenTelemetry. Pass the result as `telemetry` to the objects you
 * want traced (`session()`, job queues, sync buses, the gateway, `updateLog()`); they report to the
 * global tracer and meter providers (what `NodeSDK` or `registerGlobal` installed) unless you give
 * `tracer`/`meter`. A span the sampler drops costs one `startSpan` call; child-only spans (see
 * `Telemetry.startSpan`) under no recorded parent cost one context lookup; counters are summed in
 * memory and reported when the meter collects (observable counters), so they cost a map lookup.
 *
 * @example
 * ```ts
 * import { otelTelemetry } from 'botwire/otel';
 * import { redisJobQueue } from 'botwire/redis';
 * const telemetry = otelTelemetry();
 * const queue = redisJobQueue({ url: process.env.REDIS_URL!, telemetry });
 * ```
 */
export function otelTelemetry(options: OtelTelemetryOptions = {}): Telemetry {
  const tracer = options.tracer ?? trace.getTracer('botwire');
  // Asked late: a meter taken from the global API before the SDK registered its provider stays a no-op.
  let meter = options.meter;
  const meterNow = (): Meter => (meter ??= metrics.getMeter('botwire'));
  const counters = new Map<string, LocalCounter>();

  const telemetry: Telemetry = {
    startSpan(name, kind, parent, startTime) {
      let ctx: Context = context.active();
      if (typeof parent === 'string') {
        const remote = parseTraceparent(parent);
        if (remote) ctx = trace.setSpanContext(ctx, remote);
      } else if (parent instanceof OtelSpan) {
        ctx = trace.setSpan(ctx, parent.span);
      } else if ((kind === 'internal' || kind === 'producer') && trace.getSpan(ctx)?.isRecording() !== true) {
        return undefined; // children only: no recorded parent, no span (and no sampler call)
      }
      const span = tracer.startSpan(name, startTime === undefined ? NOW_OPTIONS[kind] : { kind: KINDS[kind], startTime }, ctx);
      return span.isRecording() ? new OtelSpan(span) : undefined;
    },
    withSpan(span, fn) {
      if (!(span instanceof OtelSpan)) return fn();
      return context.with(trace.setSpan(context.active(), span.span), fn);
    },
    count(name: string, attributes: TelemetryAttributes, value = 1) {
      let counter = counters.get(name);
      if (!counter) counters.set(name, (counter = new LocalCounter(meterNow(), name)));
      counter.add(attributes, value);
    },
    syncTransport: (transport, stats, instanceId) => instrumentSyncTransport(telemetry, meterNow(), transport, stats, instanceId),
  };
  return telemetry;
}
