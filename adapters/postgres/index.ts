/**
 * Postgres adapters, for a `pg` Pool/Client or an embedded PGlite instance. Tables and functions
 * live in one schema created by {@link migrate} (or `npx botwire migrate`).
 *
 * @module botwire/postgres
 */
export {
  postgresSessionStore, postgresSessionBackend, type PostgresSessionStoreOptions, type PostgresSessionBackendOptions,
} from './session-backend.js';
export { migrate, migrationSql, type MigrateOptions, type MigrateResult } from './migrate.js';
export type { PgQueryable } from './client.js';
export {
  postgresJobQueue, postgresJobBackend, JOBS_CHANNEL, type PostgresJobQueueOptions, type PostgresJobBackendOptions,
} from './job-backend.js';
export { postgresSyncBus, postgresSyncTransport, type PostgresSyncBusOptions, type PostgresSyncTransportOptions } from './sync-transport.js';
export {
  postgresSemaphoreBackend, SEMAPHORE_CHANNEL, type PostgresSemaphoreBackendOptions,
} from './semaphore.js';
export { postgresRateLimitStore, type PostgresRateLimitStoreOptions } from './rate-limit.js';
