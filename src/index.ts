/**
 * botwire core: edge-safe (web-standard APIs only). Adapters live in `botwire/memory`,
 * `botwire/redis`, `botwire/postgres`; the shared contract suites in `botwire/testing`.
 *
 * @module botwire
 */
export * from './errors.js';
export type {
  SessionBackend, RawSessionRecord, CasResult, AcquireAttempt, CommitArgs, CommitWrite, CommitResult,
} from './session/backend.js';
export {
  SessionStore, type SessionRecord, type SetOptions, type AcquireOptions, type CommitOptions, type SessionLease,
  type SessionStoreOptions,
} from './session/session-store.js';
export { MAX_KEY_BYTES } from './session/codec.js';
