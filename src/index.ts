/**
 * botwire core: edge-safe (web-standard APIs only): errors, sessions, codecs, sync and rate limits.
 * Durable jobs live in `botwire/jobs`, the opt-in `richJsonCodec` in `botwire/codec`; adapters in
 * `botwire/memory`, `botwire/redis`, `botwire/postgres`; the shared contract suites in `botwire/testing`;
 * what an adapter of your own needs besides this module in `botwire/adapter-kit`.
 *
 * @module botwire
 */
export * from './errors.js';
export type {
  SessionBackend, RawSessionRecord, CasResult, AcquireAttempt, CommitArgs, CommitWrite, CommitResult,
} from './session/backend.js';
export { SessionStore, type SessionStoreOptions } from './session/session-store.js';
export type {
  SessionRecord, SetOptions, AcquireOptions, CommitOptions, SessionLease, HandOverOptions,
} from './session/types.js';
export { MAX_KEY_BYTES } from './session/codec.js';
export { jsonCodec, type ValueCodec } from './codec/value-codec.js';
export {
  RESYNC_TOPIC, type SyncBus, type SyncEnvelope, type TopicMap, type SyncHandler, type Unsubscribe, type ResyncInfo,
  type ResyncReason, type ResyncEnvelope, type SyncEventFor, type MatchingTopics, type PublishArgs, type SyncBusState,
  type SyncBusStats,
} from './sync/types.js';
export type { SyncTransport, SyncTransportEvents } from './sync/backend.js';
export { createSyncBus, type SyncBusOptions } from './sync/sync-bus.js';
export { compilePattern, topicMatches, isValidTopic, assertTopic, MAX_TOPIC_LENGTH, type CompiledPattern, type TopicMatcher } from './sync/topic-pattern.js';
export { SyncCache, CACHE_INVALIDATE_TOPIC, type SyncCacheOptions, type CacheEntryOptions, type CacheInvalidation, type InvalidationRule } from './sync/sync-cache.js';
export { RateLimitStore, type RateLimitStoreOptions } from './rate-limit/rate-limit-store.js';
export type { RateLimitBackend, RateLimitHit } from './rate-limit/rate-limit-backend.js';
export { verifyInitData, type VerifiedInitData, type VerifyInitDataOptions, type InitDataUser, type InitDataChat } from './telegram/init-data.js';
export { initDataToken, initDataFromToken, initDataFromAuthorization, INIT_DATA_TOKEN_PREFIX } from './telegram/init-data-token.js';
export type { BackendErrorKind, BackendInfo } from './adapter-kit/backend-call.js';
export {
  probeHealth, boundedHealth, type HealthReport, type HealthCheckable, type HealthDetails, type BackendHealth,
} from './health.js';
export { shutdown, type ShutdownTarget, type ShutdownOptions, type ShutdownResult } from './shutdown.js';
export type {
  LifecycleEvent, LifecycleListener, ShutdownStepReport, WorkerStartedEvent, WorkerStoppedEvent, ShutdownStartedEvent, ShutdownFinishedEvent,
} from './lifecycle.js';
