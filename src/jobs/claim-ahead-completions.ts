import { newToken } from '../internal/token.js';
import { WriteBatcher } from '../internal/write-batcher.js';
import type { StoredJob } from './backend.js';
import type { ClaimShape, JobPrefetch } from './job-prefetch.js';

/** One completion waiting to be sent. */
export interface Completion { id: string; token: string; result: string; now: number }

/**
 * Job completions with claim-ahead, shared by the adapters that support it (Redis, Postgres).
 *
 * @module
 */

/** One job-complete call: completions (real tokens) plus an optional refill claim. */
export interface CompleteCall {
  now: number;
  items: Array<{ id: string; token: string; result: string }>;
  refill: { shape: ClaimShape; limit: number; token: string } | undefined;
}


/**
 * Completions coalesced into one call (the first goes at once, later ones wait for the call in
 * flight; one script run or one statement and commit for many), which also claims ahead (refills) the next jobs for
 * the workers whose claimed-ahead jobs these were, so a busy worker needs about one call per job.
 * `maxBatch` bounds the completions per call (and so one call's run time on the server).
 */
export function completionBatcher(
  prefetch: JobPrefetch,
  send: (call: CompleteCall) => Promise<{ flags: number[]; refilled: StoredJob[] }>,
  maxBatch: number,
): WriteBatcher<Completion, boolean> {
  return new WriteBatcher(maxBatch, async (batch) => {
    // One `now` per call (the latest): finishedAt differs from the caller's clock by the wait only.
    const now = Math.max(...batch.map((c) => c.now));
    let refill: CompleteCall['refill'];
    for (const c of batch) {
      const shape = prefetch.shapeFor(c.token);
      if (!shape) continue;
      if (!refill) refill = { shape, limit: 0, token: newToken() };
      if (shape.key === refill.shape.key) refill.limit++;
    }
    const items = batch.map((c) => ({ id: c.id, token: prefetch.real(c.id, c.token), result: c.result }));
    const { flags, refilled } = await send({ now, items, refill });
    if (refill) prefetch.offer(refill.shape, refilled);
    return batch.map((c, i) => { prefetch.settle(c.id, c.token); return flags[i] === 1; });
  });
}
