import { WriteBatcher } from '../../src/internal/write-batcher.js';

/** One completion waiting to be written. */
export interface Completion { id: string; token: string; result: string; now: number }

/** At most this many completions per statement (bounds its run time and parameter size). */
const MAX_BATCH = 200;

/**
 * Job completions coalesced into one `job_complete_many` statement (one commit, one WAL flush for
 * many jobs); each item stays fenced by its own lease token.
 *
 * @param send writes the arrays and returns the `id\0token` pairs whose completion was accepted
 */
export function completionBatcher(
  send: (ids: string[], tokens: string[], results: string[], now: number) => Promise<Set<string>>,
): WriteBatcher<Completion, boolean> {
  return new WriteBatcher(MAX_BATCH, async (batch) => {
    // Sorted by id: concurrent batches then lock their rows in the same order.
    const sorted = [...batch].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // One `now` per write (the latest): finishedAt differs from each caller's clock by the wait only.
    const now = Math.max(...batch.map((c) => c.now));
    const accepted = await send(sorted.map((c) => c.id), sorted.map((c) => c.token), sorted.map((c) => c.result), now);
    return batch.map((c) => accepted.has(`${c.id}\u0000${c.token}`));
  });
}
