import type { SessionBackend } from '../../src/session/backend.js';
import { SessionStore } from '../../src/session/session-store.js';

/** Round trips per backend method, and how many of them wrote data. */
export interface CallCounts {
  calls: Record<string, number>;
  /** Round trips of any kind. */
  total: number;
  /** set/delete, and commits whose write is not `none`. */
  writes: number;
  /** touch, and commits that only slide the expiry. */
  touches: number;
  reset(): void;
}

/** Wrap a store's backend so every primitive call is counted; the returned store shares the data. */
export function countingStore<T>(store: SessionStore<T>): { store: SessionStore<T>; counts: CallCounts } {
  const counts: CallCounts = {
    calls: {}, total: 0, writes: 0, touches: 0,
    reset() { this.calls = {}; this.total = 0; this.writes = 0; this.touches = 0; },
  };
  const inner = store.backend;
  const wrapped = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'waitForRelease' || prop === 'close' || prop === 'classifyError') {
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      return (...args: unknown[]) => {
        const name = String(prop);
        counts.calls[name] = (counts.calls[name] ?? 0) + 1;
        counts.total++;
        if (name === 'set' || name === 'delete') counts.writes++;
        if (name === 'touch') counts.touches++;
        if (name === 'commit') {
          const write = (args[0] as { write: { kind: string; ttlMs?: number } }).write;
          if (write.kind !== 'none') counts.writes++;
          else if (write.ttlMs !== undefined) counts.touches++;
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as SessionBackend;
  return { store: new SessionStore<T>(wrapped, { prefix: store.prefix }), counts };
}
