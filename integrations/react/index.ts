/**
 * React bindings for live bus events (React 18/19, an optional peer): `SyncProvider`, `useSync`,
 * `useSyncRefetch`, `useSyncState`.
 *
 * @module botwire/react
 */
export { SyncProvider, useSyncClient, type SyncProviderProps, type AnySyncClient } from './sync-provider.js';
export {
  useSync, useSyncRefetch, useSyncState, type UseSyncOptions, type UseSyncRefetchOptions, type UseSyncResult, type PatternInput,
} from './use-sync.js';
