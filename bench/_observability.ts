/**
 * The "observed" variant of the benches (`--observe`): a pino logger at its default level `info`
 * writing to a stream that drops the bytes, and OpenTelemetry SDK providers whose sampler records
 * nothing (AlwaysOff) with a metric reader attached — what a production bot has installed while
 * its traces are sampled out. The budget: ≤ 5 % slower than the same run without.
 */
import { Writable } from 'node:stream';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { AlwaysOffSampler, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import type { Logger, Telemetry } from 'botwire';
import { otelTelemetry } from 'botwire/otel';

class PullReader extends MetricReader {
  protected onForceFlush(): Promise<void> { return Promise.resolve(); }
  protected onShutdown(): Promise<void> { return Promise.resolve(); }
}

/** Whether this bench run adds the observed variants. */
export const observe = process.argv.includes('--observe');

/** A logger and telemetry as a production deploy has them, with sampling off. */
export function observability(): { logger: Logger; telemetry: Telemetry } {
  const sink = new Writable({ write(_chunk, _enc, done) { done(); } });
  const tracer = new BasicTracerProvider({ sampler: new AlwaysOffSampler() }).getTracer('botwire');
  const meter = new MeterProvider({ readers: [new PullReader()] }).getMeter('botwire');
  return { logger: pino({ level: 'info' }, sink), telemetry: otelTelemetry({ tracer, meter }) };
}
