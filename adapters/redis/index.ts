/**
 * Redis adapters (ioredis): sessions with native expiry, Lua-scripted atomic steps and keys safe
 * for Redis Cluster.
 *
 * @module botwire/redis
 */
export { redisSessionStore, RedisSessionBackend, type RedisSessionStoreOptions } from './session-backend.js';
export {
  redisJobQueue, RedisJobBackend, type RedisJobQueueOptions, type RedisJobBackendOptions,
} from './job-backend.js';
export type { RedisLike, RedisSubscriberLike, RedisArg } from './redis-like.js';
export { redisSyncBus, redisSyncTransport, type RedisSyncBusOptions, type RedisSyncTransportOptions } from './sync-transport.js';
export { redisRateLimitStore, type RedisRateLimitStoreOptions } from './rate-limit.js';
