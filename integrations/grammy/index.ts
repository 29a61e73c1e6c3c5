/**
 * grammY integration: `session()` with zero lost updates across instances, `rateLimit()`, `updateLog()` (one log line per update),
 * `grammyStorage()` for grammY's own session plugin, and `migrateChat()`.
 *
 * @module botwire/grammy
 */
export {
  session, type SessionFlavor, type LazySessionFlavor, type GrammySessionOptions, type GrammyMultiSessionOptions,
  type GrammySessionPartOptions,
} from './session.js';
export { grammyStorage, type GrammyStorageOptions } from './storage.js';
export { migrateChat, type MigrateChatOptions } from './migrate-chat.js';
export { rateLimit } from './rate-limit.js';
export { updateLog } from './update-log.js';
export type { UpdateLogOptions } from '../../src/logging/update-log.js';
export type { RateLimitOptions } from '../../src/rate-limit/rate-limit-middleware.js';
export type { RateLimitHit, RateLimitBackend } from '../../src/rate-limit/rate-limit-backend.js';
export { RateLimitStore, type RateLimitStoreOptions } from '../../src/rate-limit/rate-limit-store.js';
export type { SessionConcurrency, SessionPartOptions } from '../../src/session/session-options.js';
export type { Logger, LogFields, LogLevel } from '../../src/logger.js';
export type { Telemetry } from '../../src/telemetry.js';
export type { SessionMigrations } from '../../src/session/session-migrations.js';
