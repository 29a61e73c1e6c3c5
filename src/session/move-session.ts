import { SessionConflictError } from '../errors.js';
import type { SessionStore } from './session-store.js';

/** Options of {@link moveSession}. */
export interface MoveSessionOptions {
  /** TTL of the record at its new key. @default none (kept indefinitely) */
  ttlMs?: number;
  /** How long to wait for updates that hold either key. @default 10_000 */
  waitMs?: number;
}

/**
 * Move a session record from one key to another under both leases, so no update for either key
 * runs in between. The new record is written before the old one is deleted: a crash in between
 * leaves a copy, never a loss. Returns false when there was nothing to move. Throws
 * {@link SessionConflictError} — and changes nothing — if the target already has a session.
 */
export async function moveSession(store: SessionStore<unknown>, fromKey: string, toKey: string, options: MoveSessionOptions = {}): Promise<boolean> {
  if (fromKey === toKey) return false;
  const waitMs = options.waitMs ?? 10_000;
  // Leases in key order, like the middleware takes them, so a move never deadlocks with a multi-session.
  const [first, second] = fromKey < toKey ? [fromKey, toKey] : [toKey, fromKey];
  const a = await store.acquire(first, { waitMs });
  let b;
  try {
    b = await store.acquire(second, { waitMs });
  } catch (err) {
    await a.release();
    throw err;
  }
  const [from, to] = first === fromKey ? [a, b] : [b, a];
  try {
    if (!from.record) {
      await Promise.all([from.release(), to.release()]);
      return false;
    }
    if (to.record) {
      await Promise.all([from.release(), to.release()]);
      throw new SessionConflictError(toKey, 0, to.record.version);
    }
    await to.commit(from.record.data, options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs });
    await from.commit(undefined, { delete: true });
    return true;
  } catch (err) {
    await Promise.allSettled([from.release(), to.release()]);
    throw err;
  }
}
