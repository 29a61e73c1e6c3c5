import type { StorageAdapter } from 'grammy';
import type { SessionStore } from '../../src/session/session-store.js';

/** Options of {@link grammyStorage}. */
export interface GrammyStorageOptions {
  /** Expire records this long after each write. @default none */
  ttlMs?: number;
}

/**
 * A botwire {@link SessionStore} as grammY's own `StorageAdapter`, for bots that keep grammY's
 * `session()` plugin. Note that grammY's plugin reads and writes without leases: concurrent updates
 * for one chat can still overwrite each other — `session()` from `botwire/grammy` does not.
 *
 * @example
 * ```ts
 * import { session } from 'grammy';
 * bot.use(session({ initial: () => ({}), storage: grammyStorage(redisSessionStore({ url })) }));
 * ```
 */
export function grammyStorage<T>(store: SessionStore<T>, options: GrammyStorageOptions = {}): StorageAdapter<T> {
  const setOptions = options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs };
  return {
    read: async (key) => (await store.get(key))?.data,
    write: async (key, value) => { await store.set(key, value, setOptions); },
    delete: async (key) => { await store.delete(key); },
  };
}
