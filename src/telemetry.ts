/**
 * The tracing and metrics hooks botwire calls, as botwire's own small interface: the core never
 * imports `@opentelemetry/api`. `otelTelemetry()` from `botwire/otel` implements it over
 * OpenTelemetry; objects given no `telemetry` option make no call at all. Types only.
 *
 * @module
 */
import type { SyncTransport } from './sync/backend.js';
import type { SyncBusStats } from './sync/types.js';

/** Attribute values of a span or metric point. */
export type TelemetryAttributes = Record<string, string | number | boolean>;

/** Role of a span, as OpenTelemetry's `SpanKind`. */
export type TelemetrySpanKind = 'internal' | 'producer' | 'consumer' | 'client' | 'server';

/** A span that is being recorded. */
export interface TelemetrySpan {
  /** Add one attribute. */
  setAttribute(key: string, value: string | number | boolean): void;
  /** The span's W3C `traceparent` header value, to continue its trace elsewhere (e.g. in a job's run). */
  traceparent(): string;
  /**
   * End the span; with `error`, record it as an exception and mark the span failed. `endTime` (a
   * `performance.now()` value) ends it in the past.
   */
  end(error?: unknown, endTime?: number): void;
}

/**
 * What botwire reports to a tracer and a meter. Implemented by `otelTelemetry()` (`botwire/otel`);
 * implement it yourself for another tracing system.
 */
export interface Telemetry {
  /**
   * Start a span, a child of `parent` when given (a span, or a W3C `traceparent` header value from
   * another process), else of the active span. Returns `undefined` when the span is not recorded
   * (sampled out): callers then skip building its attributes. `startTime` (a `performance.now()`
   * value) starts it in the past, for spans made once an operation is over.
   *
   * Spans of kind `'internal'` and `'producer'` (session load and save, a job's add, claim and outcome
   * write, a sync publish) are only ever children: without a recorded parent none is started, so
   * code that is not traced (or sampled out) pays nothing for them. The other kinds (an update, a
   * job's run, a sync delivery, a gateway connection) may start a trace.
   */
  startSpan(name: string, kind: TelemetrySpanKind, parent?: string | TelemetrySpan, startTime?: number): TelemetrySpan | undefined;
  /** Run `fn` with `span` as the active span, so spans started inside it become its children. */
  withSpan<R>(span: TelemetrySpan, fn: () => R): R;
  /**
   * Add `value` (default 1) to the counter `name`. Called on hot paths (once per job run, once per
   * waiting update): pass the same `attributes` object for the same values where you can, and
   * keep it cheap (`otelTelemetry` sums in memory and reports when the meter collects).
   */
  count(name: string, attributes: TelemetryAttributes, value?: number): void;
  /**
   * Instrument a SyncBus's transport (publish and deliver spans) and observe its `stats()`
   * (drops, rejects, resyncs), called once when a bus is created with this telemetry.
   */
  syncTransport?(transport: SyncTransport, stats: () => SyncBusStats, instanceId: string): SyncTransport;
}
