import type { AsyncSessionStore } from 'telegraf/session';
import type { SessionStore } from '../../src/session/session-store.js';

/** Options of {@link telegrafStore}. */
export interface TelegrafStoreOptions {
  /** Expire records this long after each write. @default none */
  ttlMs?: number;
}

/**
 * A botwire {@link SessionStore} as the `store` of Telegraf's own `session()`. Telegraf's middleware
 * shares one object per key inside a process but does not coordinate processes: concurrent
 * updates on different instances can overwrite each other — `session()` from `botwire/telegraf`
 * does not.
 *
 * @example
 * ```ts
 * import { session } from 'telegraf';
 * bot.use(session({ store: telegrafStore(redisSessionStore({ url })) }));
 * ```
 */
export function telegrafStore<T>(store: SessionStore<T>, options: TelegrafStoreOptions = {}): AsyncSessionStore<T> {
  const setOptions = options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs };
  return {
    get: async (name) => (await store.get(name))?.data,
    set: async (name, value) => store.set(name, value, setOptions),
    delete: async (name) => store.delete(name),
  };
}
