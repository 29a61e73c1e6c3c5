/** One completion waiting to be written. */
interface Pending {
  id: string;
  token: string;
  result: string;
  now: number;
  done: (ok: boolean) => void;
  fail: (err: unknown) => void;
}

/** At most this many completions per statement (bounds its run time and parameter size). */
const MAX_BATCH = 200;

/**
 * Writes job completions Nagle-style: the first goes out at once; those arriving while a write is
 * in flight go together in the next one. No added latency when idle, and under load one commit
 * (one WAL flush) for many jobs. Each item stays fenced by its own lease token.
 */
export class CompletionBatcher {
  readonly #send: (ids: string[], tokens: string[], results: string[], now: number) => Promise<Set<string>>;
  #pending: Pending[] = [];
  #flushing = false;

  /** `send` writes the batch and returns the ids whose completion was accepted. */
  constructor(send: (ids: string[], tokens: string[], results: string[], now: number) => Promise<Set<string>>) {
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
        // Sorted by id: concurrent batches then lock their rows in the same order.
        const batch = this.#pending.splice(0, MAX_BATCH).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        // One `now` per write (the latest): finishedAt differs from each caller's clock by the wait only.
        const now = Math.max(...batch.map((c) => c.now));
        try {
          const accepted = await this.#send(batch.map((c) => c.id), batch.map((c) => c.token), batch.map((c) => c.result), now);
          for (const c of batch) c.done(accepted.has(`${c.id}\u0000${c.token}`));
        } catch (err) {
          for (const c of batch) c.fail(err);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }
}
