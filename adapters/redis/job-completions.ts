import type { StoredJob } from '../../src/jobs/backend.js';
import type { ClaimShape, JobPrefetch } from './job-prefetch.js';

interface Pending {
  id: string;
  token: string;
  result: string;
  now: number;
  done: (ok: boolean) => void;
  fail: (err: unknown) => void;
}

/** One job-complete script call: completions (real tokens) plus an optional refill claim. */
export interface CompleteCall {
  now: number;
  items: Array<{ id: string; token: string; result: string }>;
  refill: { shape: ClaimShape; limit: number; token: string } | undefined;
}

/** At most this many completions per script call (bounds the script's run time). */
const MAX_BATCH = 500;

/**
 * Sends completions Nagle-style: the first goes out at once; those arriving while a call is in
 * flight go together in the next call. No added latency when idle, far fewer round trips when busy.
 */
export class CompletionBatcher {
  readonly #send: (call: CompleteCall) => Promise<{ flags: number[]; refilled: StoredJob[] }>;
  readonly #prefetch: JobPrefetch;
  #pending: Pending[] = [];
  #flushing = false;

  constructor(prefetch: JobPrefetch, send: (call: CompleteCall) => Promise<{ flags: number[]; refilled: StoredJob[] }>) {
    this.#prefetch = prefetch;
    this.#send = send;
  }

  complete(id: string, token: string, result: string, now: number): Promise<boolean> {
    return new Promise((done, fail) => {
      this.#pending.push({ id, token, result, now, done, fail });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, MAX_BATCH);
        // One `now` per call (the latest): finishedAt differs from the caller's clock by the wait only.
        const now = Math.max(...batch.map((c) => c.now));
        let refill: CompleteCall['refill'];
        for (const c of batch) {
          const shape = this.#prefetch.shapeFor(c.token);
          if (!shape) continue;
          if (!refill) refill = { shape, limit: 0, token: crypto.randomUUID() };
          if (shape.key === refill.shape.key) refill.limit++;
        }
        const items = batch.map((c) => ({ id: c.id, token: this.#prefetch.real(c.id, c.token), result: c.result }));
        try {
          const { flags, refilled } = await this.#send({ now, items, refill });
          if (refill) this.#prefetch.offer(refill.shape, refilled);
          batch.forEach((c, i) => { this.#prefetch.settle(c.id, c.token); c.done(flags[i] === 1); });
        } catch (err) {
          for (const c of batch) c.fail(err);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }
}
