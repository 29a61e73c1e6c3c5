import type { StoredJob } from '../../src/jobs/backend.js';
import { WriteBatcher } from '../../src/internal/write-batcher.js';
import type { ClaimShape, JobPrefetch } from './job-prefetch.js';

/** One completion waiting to be sent. */
export interface Completion { id: string; token: string; result: string; now: number }

/** One job-complete script call: completions (real tokens) plus an optional refill claim. */
export interface CompleteCall {
  now: number;
  items: Array<{ id: string; token: string; result: string }>;
  refill: { shape: ClaimShape; limit: number; token: string } | undefined;
}

/** At most this many completions per script call (bounds the script's run time). */
const MAX_BATCH = 500;

/**
 * Completions coalesced into one script call, which also claims ahead (refills) the next jobs for
 * the workers whose claimed-ahead jobs these were, so a busy worker needs about one call per job.
 */
export function completionBatcher(
  prefetch: JobPrefetch,
  send: (call: CompleteCall) => Promise<{ flags: number[]; refilled: StoredJob[] }>,
): WriteBatcher<Completion, boolean> {
  return new WriteBatcher(MAX_BATCH, async (batch) => {
    // One `now` per call (the latest): finishedAt differs from the caller's clock by the wait only.
    const now = Math.max(...batch.map((c) => c.now));
    let refill: CompleteCall['refill'];
    for (const c of batch) {
      const shape = prefetch.shapeFor(c.token);
      if (!shape) continue;
      if (!refill) refill = { shape, limit: 0, token: crypto.randomUUID() };
      if (shape.key === refill.shape.key) refill.limit++;
    }
    const items = batch.map((c) => ({ id: c.id, token: prefetch.real(c.id, c.token), result: c.result }));
    const { flags, refilled } = await send({ now, items, refill });
    if (refill) prefetch.offer(refill.shape, refilled);
    return batch.map((c, i) => { prefetch.settle(c.id, c.token); return flags[i] === 1; });
  });
}
