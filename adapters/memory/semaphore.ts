import type { SemaphoreAttempt, SemaphoreBackend } from 'botwire/jobs';
import { ReleaseWaiters } from 'botwire/adapter-kit';

/**
 * In-process semaphore storage: holders per name with lease ends, the same rules as the durable
 * backends (`SemaphoreBackend` in `botwire/jobs`). A release wakes one waiter of this process at
 * once; waiters of a lapsed holder wake when its lease ends (the `retryInMs` they are given).
 */
class MemorySemaphoreBackend implements SemaphoreBackend {
  readonly name = 'memory';
  /** name → token → lease end (epoch ms). */
  readonly #holders = new Map<string, Map<string, number>>();
  readonly #waiters = new ReleaseWaiters();

  async tryAcquire(name: string, token: string, limit: number, leaseMs: number, now: number): Promise<SemaphoreAttempt> {
    let holders = this.#holders.get(name);
    if (!holders) this.#holders.set(name, (holders = new Map()));
    if (!holders.has(token)) {
      for (const [t, until] of holders) if (until < now) holders.delete(t);
      if (holders.size >= limit) {
        this.#waiters.notePending(name, performance.now());
        return { ok: false, retryInMs: Math.max(1, Math.min(...holders.values()) + 1 - now) };
      }
    }
    holders.set(token, now + leaseMs);
    return { ok: true };
  }

  async extend(name: string, token: string, leaseMs: number, now: number): Promise<boolean> {
    const holders = this.#holders.get(name);
    if (!holders?.has(token)) return false;
    holders.set(token, now + leaseMs);
    return true;
  }

  async release(name: string, token: string): Promise<boolean> {
    const holders = this.#holders.get(name);
    if (!holders?.delete(token)) return false;
    if (holders.size === 0) this.#holders.delete(name);
    this.#waiters.heard(name);
    return true;
  }

  async waitForRelease(name: string, timeoutMs: number): Promise<void> {
    if (!this.#waiters.released(name)) await this.#waiters.park(name, timeoutMs);
  }

  async close(): Promise<void> {
    this.#waiters.wakeAll();
  }
}

/**
 * A {@link SemaphoreBackend} in this process's memory, for `semaphore()` from `botwire/jobs` in
 * development, tests and single-instance bots. Several processes need Redis or Postgres.
 *
 * @example
 * ```ts
 * import { semaphore } from 'botwire/jobs';
 * const ai = semaphore(memorySemaphoreBackend(), 'openai', { limit: 3 });
 * ```
 */
export function memorySemaphoreBackend(): SemaphoreBackend {
  return new MemorySemaphoreBackend();
}
