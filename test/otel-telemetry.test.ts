import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { memoryJobQueue } from '../adapters/memory/index.js';
import { otelTelemetry, parseTraceparent } from '../integrations/otel/index.js';
import { runDue } from '../src/jobs/run-due.js';
import { useAsyncContext } from './support/otel.js';

class Reader extends MetricReader {
  protected onForceFlush(): Promise<void> { return Promise.resolve(); }
  protected onShutdown(): Promise<void> { return Promise.resolve(); }
}

describe('otelTelemetry()', () => {
  it('uses the global providers by default, the meter asked for when the first counter is made', async () => {
    useAsyncContext();
    // Made before any provider is registered, as an app may do at import time.
    const telemetry = otelTelemetry();
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    const reader = new Reader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    const queue = memoryJobQueue({ telemetry });
    await queue.add('n', {});
    await runDue(queue, { n: () => 1 }, { budgetMs: 60_000 });
    expect(exporter.getFinishedSpans().map((s) => s.name)).toContain('botwire.job.run');
    const { resourceMetrics } = await reader.collect();
    const names = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));
    expect(names).toContain('botwire.job.outcomes');
  });

  it('reads W3C traceparent headers and refuses malformed or all-zero ones', () => {
    expect(parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, isRemote: true,
    });
    for (const bad of ['', '00-xyz', '00-00000000000000000000000000000000-b7ad6b7169203331-01', '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']) {
      expect(parseTraceparent(bad), bad).toBeUndefined();
    }
  });
});
