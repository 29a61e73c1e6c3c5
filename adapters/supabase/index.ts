/**
 * Supabase adapters through the Data API (supabase-js `rpc()` only): sessions, jobs, rate limits and
 * publishing sync events, each operation one HTTP request to the same SQL functions that
 * `botwire/postgres` calls (created by `npx botwire migrate`), so both adapters can share one
 * database. Edge-safe: runs wherever supabase-js runs. Give it a client made with the service-role
 * key, and add botwire's schema to the project's exposed schemas; docs/guides/supabase.md walks
 * through the setup.
 *
 * @module botwire/supabase
 */
export {
  supabaseSessionStore, supabaseSessionBackend, type SupabaseSessionStoreOptions, type SupabaseSessionBackendOptions,
} from './session-backend.js';
export { supabaseJobQueue, supabaseJobBackend, type SupabaseJobQueueOptions, type SupabaseJobBackendOptions } from './job-backend.js';
export { supabaseSyncBus, supabaseSyncTransport, type SupabaseSyncBusOptions, type SupabaseSyncTransportOptions } from './sync-transport.js';
export { supabaseSemaphoreBackend, type SupabaseSemaphoreBackendOptions } from './semaphore.js';
export { supabaseRateLimitStore, type SupabaseRateLimitStoreOptions } from './rate-limit.js';
export type {
  SupabaseClientLike, SupabaseSchemaClient, SupabaseRpcCall, SupabaseRpcResponse, SupabaseRpcErrorBody,
} from './client.js';
export type { SupabaseRpcError } from './errors.js';
