/**
 * In-process adapters: the zero-setup default, with the same semantics as the durable backends.
 *
 * @module botwire/memory
 */
export {
  memorySessionStore, memorySessionBackend, type MemorySessionStoreOptions, type MemorySessionBackendOptions,
  type MemorySessionBackend, type MemorySessionStats,
} from './session-backend.js';
export { memoryJobQueue, memoryJobBackend, type MemoryJobQueueOptions } from './job-backend.js';
export { memorySemaphoreBackend } from './semaphore.js';
export { memoryRateLimitStore, type MemoryRateLimitStoreOptions } from './rate-limit.js';
export {
  memorySyncBus, memorySyncTransport, createMemorySyncHub, type MemorySyncBusOptions, type MemorySyncTransportOptions,
  type MemorySyncHub,
} from './sync-transport.js';
