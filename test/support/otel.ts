import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader, type DataPoint, type MetricData } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { otelTelemetry } from '../../integrations/otel/index.js';
import type { Telemetry } from '../../src/telemetry.js';

/**
 * A context manager over AsyncLocalStorage, as `@opentelemetry/context-async-hooks` (which NodeSDK
 * installs) provides: the active span follows promises and timers. Registered once per test file.
 */
class AlsContextManager implements ContextManager {
  readonly #als = new AsyncLocalStorage<Context>();
  active(): Context { return this.#als.getStore() ?? ROOT_CONTEXT; }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#als.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const run = (...args: unknown[]): unknown => this.with(ctx, () => (target as (...a: unknown[]) => unknown)(...args));
    return run as T;
  }
  enable(): this { return this; }
  disable(): this { this.#als.disable(); return this; }
}

let registered = false;
/** Install the async context manager (once per process). */
export function useAsyncContext(): void {
  if (registered) return;
  registered = true;
  context.setGlobalContextManager(new AlsContextManager());
}

/** A metric reader that collects on demand. */
class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> { return Promise.resolve(); }
  protected onShutdown(): Promise<void> { return Promise.resolve(); }
}

/** One in-memory OpenTelemetry setup: a tracer provider with an in-memory exporter and a meter provider read on demand. */
export interface OtelHarness {
  telemetry: Telemetry;
  exporter: InMemorySpanExporter;
  tracer: ReturnType<BasicTracerProvider['getTracer']>;
  spans(name?: string): ReadableSpan[];
  /** Data points of metric `name` after a collection. */
  points(name: string): Promise<Array<DataPoint<unknown>>>;
  /** Sum of a counter's points whose attributes include `match`. */
  sum(name: string, match?: Record<string, unknown>): Promise<number>;
}

/** A fresh tracer + meter provider pair; `sampled: false` installs an AlwaysOff sampler (spans are never recorded). */
export function otelHarness(options: { sampled?: boolean } = {}): OtelHarness {
  useAsyncContext();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    sampler: options.sampled === false ? new AlwaysOffSampler() : new AlwaysOnSampler(),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const tracer = provider.getTracer('test');
  const telemetry = otelTelemetry({ tracer: provider.getTracer('botwire'), meter: meterProvider.getMeter('botwire') });
  const points = async (name: string): Promise<Array<DataPoint<unknown>>> => {
    const { resourceMetrics } = await reader.collect();
    const metric: MetricData | undefined = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
    if (!metric) return [];
    return metric.dataPointType === DataPointType.SUM || metric.dataPointType === DataPointType.GAUGE || metric.dataPointType === DataPointType.HISTOGRAM
      ? (metric.dataPoints as Array<DataPoint<unknown>>) : [];
  };
  return {
    telemetry, exporter, tracer,
    spans: (name) => exporter.getFinishedSpans().filter((s) => name === undefined || s.name === name),
    points,
    async sum(name, match = {}) {
      const list = await points(name);
      return list.filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
        .reduce((n, p) => n + (typeof p.value === 'number' ? p.value : 0), 0);
    },
  };
}

/** The parent span id of a finished span (SDK 2.x keeps it in `parentSpanContext`). */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
