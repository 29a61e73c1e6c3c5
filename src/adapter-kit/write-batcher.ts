/**
 * Nagle-style write coalescing shared by adapters: the first item goes out at once; items that
 * arrive while a write is in flight go together in the next one. No added latency when idle, one
 * round trip (and on Postgres one commit) for many items under load.
 *
 * @example
 * ```ts
 * const reads = new WriteBatcher<string, string | null>(256, (keys) => client.mget(...keys));
 * const value = await reads.push('k'); // alone when idle, else with the keys that queued meanwhile
 * ```
 */
export class WriteBatcher<I, R> {
  readonly #maxBatch: number;
  readonly #send: (batch: I[]) => Promise<R[]>;
  #pending: Array<{ item: I; done: (r: R) => void; fail: (err: unknown) => void }> = [];
  #inFlight = 0;
  readonly #maxInFlight: () => number;

  /**
   * @param maxBatch most items per write (bounds a statement's or script's run time)
   * @param send writes one batch and returns one result per item, in the batch's order
   * @param maxInFlight how many writes may be under way at once, asked whenever an item arrives
   *   (default one: items wait for the write in flight and leave together with the next)
   */
  constructor(maxBatch: number, send: (batch: I[]) => Promise<R[]>, maxInFlight: () => number = () => 1) {
    this.#maxBatch = maxBatch;
    this.#send = send;
    this.#maxInFlight = maxInFlight;
  }

  /** Queue one item; resolves with its own result, rejects with its batch's error. */
  push(item: I): Promise<R> {
    return new Promise((done, fail) => {
      this.#pending.push({ item, done, fail });
      if (this.#inFlight < this.#maxInFlight()) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#inFlight++;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, this.#maxBatch);
        try {
          const results = await this.#send(batch.map((p) => p.item));
          batch.forEach((p, i) => p.done(results[i]!));
        } catch (err) {
          for (const p of batch) p.fail(err);
        }
      }
    } finally {
      this.#inFlight--;
    }
  }
}
