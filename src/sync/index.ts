/**
 * Events across instances: `createSyncBus` (publish/subscribe with wildcards over any
 * {@link SyncTransport}), `SyncCache` (entries every instance drops when a matching event arrives)
 * and the topic pattern helpers. A subpath of its own, so bots that only keep sessions load none
 * of it; the adapters' `<x>SyncBus` factories return the same bus.
 *
 * @example
 * ```ts
 * import { createSyncBus, SyncCache, type TopicMap } from 'botwire/sync';
 * import { memorySyncTransport } from 'botwire/memory';
 * ```
 *
 * @module botwire/sync
 */
export {
  RESYNC_TOPIC, type SyncBus, type SyncEnvelope, type TopicMap, type SyncHandler, type Unsubscribe, type ResyncInfo,
  type ResyncReason, type ResyncEnvelope, type SyncEventFor, type MatchingTopics, type PublishArgs, type SyncBusState,
  type SyncBusStats,
} from './types.js';
export type { SyncTransport, SyncTransportEvents } from './backend.js';
export { createSyncBus, type SyncBusOptions } from './sync-bus.js';
export { compilePattern, topicMatches, isValidTopic, assertTopic, MAX_TOPIC_LENGTH, type CompiledPattern, type TopicMatcher } from './topic-pattern.js';
export { SyncCache, CACHE_INVALIDATE_TOPIC, type SyncCacheOptions, type CacheEntryOptions, type CacheInvalidation, type InvalidationRule } from './sync-cache.js';
