/**
 * botwire core: edge-safe (web-standard APIs only): errors, sessions, codecs and rate limits.
 * Durable jobs live in `botwire/jobs`, events across instances in `botwire/sync`, the opt-in
 * `richJsonCodec` in `botwire/codec`; adapters in
 * `botwire/memory`, `botwire/redis`, `botwire/postgres`; the shared contract suites in `botwire/testing`;
 * what an adapter of your own needs besides this module in `botwire/adapter-kit`.
 *
 * @module botwire
 */
export * from './errors.js';
export type {
  SessionBackend, RawSessionRecord, CasResult, AcquireAttempt, CommitArgs, CommitWrite, CommitResult,
  RawSessionLease, RawSessionInspection,
} from './session/backend.js';
export { SessionStore, type SessionStoreOptions } from './session/session-store.js';
export type {
  SessionRecord, SetOptions, AcquireOptions, CommitOptions, SessionLease, HandOverOptions,
  SessionInspection, SessionLeaseInfo,
} from './session/types.js';
export { MAX_KEY_BYTES } from './session/codec.js';
export { leaseHolder } from './session/lease-holder.js';
export { jsonCodec, type ValueCodec } from './codec/value-codec.js';
export { RateLimitStore, type RateLimitStoreOptions } from './rate-limit/rate-limit-store.js';
export type { RateLimitBackend, RateLimitHit } from './rate-limit/rate-limit-backend.js';
export { verifyInitData, type VerifiedInitData, type VerifyInitDataOptions, type InitDataUser, type InitDataChat } from './telegram/init-data.js';
export type { BackendErrorKind, BackendInfo } from './adapter-kit/backend-call.js';
export type { Logger, LogFields, LogLevel } from './logger.js';
export type { Telemetry, TelemetrySpan, TelemetrySpanKind, TelemetryAttributes } from './telemetry.js';
export {
  probeHealth, boundedHealth, type HealthReport, type HealthCheckable, type HealthDetails, type BackendHealth,
} from './health.js';
export { shutdown, type ShutdownTarget, type ShutdownOptions, type ShutdownResult } from './shutdown.js';
export type {
  LifecycleEvent, LifecycleListener, ShutdownStepReport, WorkerStartedEvent, WorkerStoppedEvent, ShutdownStartedEvent, ShutdownFinishedEvent,
} from './lifecycle.js';
