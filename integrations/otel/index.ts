/**
 * OpenTelemetry for botwire: `otelTelemetry()` turns the global (or a given) tracer and meter into
 * the `telemetry` option every botwire object accepts. Needs `@opentelemetry/api` (an optional peer:
 * `npm i @opentelemetry/api`) and an SDK of your choice; nothing else in botwire imports it.
 *
 * @example
 * ```ts
 * import { otelTelemetry } from 'botwire/otel';
 * import { session } from 'botwire/grammy';
 * import { redisSessionStore } from 'botwire/redis';
 * bot.use(session({ store: redisSessionStore({ url: process.env.REDIS_URL! }), telemetry: otelTelemetry() }));
 * ```
 *
 * @module botwire/otel
 */
export { otelTelemetry, parseTraceparent, type OtelTelemetryOptions } from './otel-telemetry.js';
export type { Telemetry, TelemetrySpan, TelemetrySpanKind, TelemetryAttributes } from '../../src/telemetry.js';
