/**
 * Redis adapters (ioredis): sessions with native expiry, Lua-scripted atomic steps and keys safe
 * for Redis Cluster.
 *
 * @module botwire/redis
 */
export {
  redisSessionStore, redisSessionBackend, type RedisSessionStoreOptions, type RedisSessionBackendOptions, type RedisSessionBackend,
} from './session-backend.js';
export {
  redisJobQueue, redisJobBackend, type RedisJobQueueOptions, type RedisJobBackendOptions,
} from './job-backend.js';
export type { RedisLike, RedisSubscriberLike, RedisArg, RedisPipelineLike } from './redis-like.js';
export type { RedisDurability } from './durability.js';
export { redisSyncBus, redisSyncTransport, type RedisSyncBusOptions, type RedisSyncTransportOptions } from './sync-transport.js';
export { redisRateLimitStore, type RedisRateLimitStoreOptions } from './rate-limit.js';
export { redisSemaphoreBackend, type RedisSemaphoreBackendOptions } from './semaphore.js';
