/**
 * Ordered, batched NOTIFY sending on one connection. `pg` runs one query at a time per connection,
 * so a burst of single NOTIFYs queues behind round trips; instead, while one query is in flight the
 * next events gather and go out together as one statement (group commit). One event alone is still
 * one plain `pg_notify` round trip, so paced latency equals the raw driver's.
 *
 * @module
 */
import type { PgQueryable } from './client.js';

/** Largest number of events sent in one statement. */
const MAX_BATCH = 1_000;
/** Largest total payload of one batched statement, in bytes (spilled events always go alone). */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

interface Pending {
  text: string;
  bytes: number;
  spill: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** SQL the batcher runs; `quoted` is the validated, quoted schema. */
export function notifySql(quoted: string): { one: string; many: string; spill: string } {
  return {
    one: 'SELECT pg_notify($1, $2)',
    // A function scan yields array elements in order, and pg_notify queues them in the order called.
    many: 'SELECT pg_notify($1, u.payload) FROM unnest($2::text[]) AS u(payload)',
    spill: `SELECT ${quoted}.sync_spill($1, $2)`,
  };
}

/** Sends envelope texts on `channel` in call order, batching while a statement is in flight. */
export class NotifyBatcher {
  readonly #queue: Pending[] = [];
  #busy = false;

  constructor(
    private readonly channel: string,
    private readonly sql: { one: string; many: string; spill: string },
    private readonly connection: () => Promise<PgQueryable>,
    private readonly classify: (error: unknown) => unknown,
  ) {}

  /** Queue one envelope; resolves once Postgres accepted the statement carrying it. */
  send(text: string, bytes: number, spill: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ text, bytes, spill, resolve, reject });
      if (!this.#busy) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#queue.length) {
        const batch = this.#take();
        try {
          const conn = await this.connection();
          const first = batch[0]!;
          if (first.spill) await conn.query(this.sql.spill, [this.channel, first.text]);
          else if (batch.length === 1) await conn.query(this.sql.one, [this.channel, first.text]);
          else await conn.query(this.sql.many, [this.channel, batch.map((p) => p.text)]);
          for (const p of batch) p.resolve();
        } catch (error) {
          const classified = this.classify(error);
          for (const p of batch) p.reject(classified);
        }
      }
    } finally {
      this.#busy = false;
    }
  }

  // A run of consecutive small events, or one spilled event: order across the two kinds is kept.
  #take(): Pending[] {
    const head = this.#queue[0]!;
    if (head.spill) return this.#queue.splice(0, 1);
    let n = 0;
    let bytes = 0;
    while (n < this.#queue.length && n < MAX_BATCH) {
      const p = this.#queue[n]!;
      if (p.spill || (n > 0 && bytes + p.bytes > MAX_BATCH_BYTES)) break;
      bytes += p.bytes;
      n++;
    }
    return this.#queue.splice(0, n);
  }
}
