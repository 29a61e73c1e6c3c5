/**
 * The app's own records, kept in a botwire `SessionStore` under `app:` keys — the same store that
 * holds sessions, so one backend (PGlite, Postgres, Redis, Supabase or memory) serves everything and
 * the example needs no ORM. Each change runs under the key's lease: read, change, write in one
 * fleet-wide critical section, so two instances completing tasks for one user never lose a credit.
 *
 * A real app with large tables would keep them in its own SQL schema; the lease pattern stays.
 */
import type { SessionStore } from 'botwire';

/** Read and change JSON records by key, each change atomic across every instance. */
export class Records {
  constructor(private readonly store: SessionStore) {}

  /** The record at `key`, or `initial` when there is none. */
  async read<T>(key: string, initial: T): Promise<T> {
    const record = await this.store.get(key);
    return (record?.data as T | undefined) ?? initial;
  }

  /**
   * Change the record at `key` under its lease: `change` gets the current value (or `initial`),
   * mutates it and returns what the caller wants back; the value is written when `change` returns.
   * When `change` throws, nothing is written and the lease is released.
   */
  async update<T, R>(key: string, initial: () => T, change: (value: T) => R | Promise<R>): Promise<R> {
    const lease = await this.store.acquire(key, { leaseMs: 10_000, waitMs: 5_000 });
    let result: R;
    let value: T;
    try {
      value = (lease.record?.data as T | undefined) ?? initial();
      result = await change(value);
    } catch (err) {
      await lease.commit().catch(() => undefined);
      throw err;
    }
    await lease.commit(value);
    return result;
  }
}
