/**
 * Telegraf integration: `session()` with zero lost updates across instances, `rateLimit()`, `updateLog()` (one log line per update), and
 * `telegrafStore()` for Telegraf's own session middleware.
 *
 * @module botwire/telegraf
 */
export {
  session, type SessionFlavor, type LazySessionFlavor, type TelegrafSessionOptions, type TelegrafMultiSessionOptions,
  type TelegrafSessionPartOptions,
} from './session.js';
export { telegrafStore, type TelegrafStoreOptions } from './store.js';
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
