import { newToken } from '../internal/token.js';
import { WriteBatcher } from '../internal/write-batcher.js';
import type { ClaimArgs, StoredJob } from './backend.js';
import type { ClaimShape, JobPrefetch, StartMark } from './job-prefetch.js';

/**
 * Job completions with claim-ahead, shared by the adapters that support it (Redis, Postgres).
 *
 * @module
 */

/** One completion waiting to be sent. */
export interface Completion { id: string; token: string; result: string; now: number }

/** A batch entry that only asks for a call, so that pending starts get written (see `JobPrefetch`). */
const FLUSH_STARTS = Symbol('flush starts');

/**
 * One call of a long-running worker: completions (real tokens), starts to record, and an optional
 * claim (refill) whose jobs are stored without `startedAt`.
 */
export interface CompleteCall {
  now: number;
  items: Array<{ id: string; token: string; result: string }>;
  /**
   * Starts of runs the worker began since its last call: record `startedAt = at` while the job is
   * still `active` under `token` and has no `startedAt` yet. (A completion records its own start.)
   */
  started: StartMark[];
  refill: { shape: ClaimShape; limit: number; token: string } | undefined;
}

/**
 * Completions coalesced into one call (the first goes at once, later ones wait for the call in
 * flight; one script run or one statement and commit for many), which also claims ahead (refills)
 * the next jobs for the workers whose claimed-ahead jobs these were, so a busy worker needs about
 * one call per job. Each call also carries the starts of the runs begun since the last call (see
 * `JobPrefetch.begin`). `maxBatch` bounds the completions per call (and so one call's run time on
 * the server). Returns the function that queues one completion.
 */
export function completionBatcher(
  prefetch: JobPrefetch,
  send: (call: CompleteCall) => Promise<{ flags: number[]; refilled: StoredJob[] }>,
  maxBatch: number,
): (completion: Completion) => Promise<boolean> {
  const batcher = new WriteBatcher<Completion | typeof FLUSH_STARTS, boolean>(maxBatch, async (batch) => {
    const done = batch.filter((c): c is Completion => c !== FLUSH_STARTS);
    const items = done.map((c) => ({ id: c.id, token: prefetch.real(c.id, c.token), result: c.result }));
    const started = prefetch.takeStarts(done.length < batch.length);
    if (items.length === 0 && started.length === 0) return batch.map(() => true);
    // One `now` per call (the latest): finishedAt differs from the caller's clock by the wait only.
    const now = Math.max(...done.map((c) => c.now), ...started.map((m) => m.at));
    let refill: CompleteCall['refill'];
    for (const c of done) {
      const shape = prefetch.shapeFor(c.token);
      if (!shape) continue;
      if (!refill) refill = { shape, limit: 0, token: newToken() };
      if (shape.key === refill.shape.key) refill.limit++;
    }
    let reply: { flags: number[]; refilled: StoredJob[] };
    try {
      reply = await send({ now, items, started, refill });
    } catch (err) {
      prefetch.restoreStarts(started);
      throw err;
    }
    if (refill) prefetch.offer(refill.shape, reply.refilled);
    let i = 0;
    return batch.map((c) => {
      if (c === FLUSH_STARTS) return true;
      prefetch.settle(c.id, c.token);
      return reply.flags[i++] === 1;
    });
  });
  // Best effort: a start not written before the worker dies only means that job is handed back
  // uncounted (bounded per job by the backend), so a failed flush needs no report of its own.
  prefetch.onStartsDue(() => { batcher.push(FLUSH_STARTS).catch(() => undefined); });
  return (c) => {
    prefetch.recording(c.id, c.token); // the completion records the run's start itself
    return batcher.push(c);
  };
}

/**
 * A subscribed worker's claim that the buffer did not fill: the same call as a completion batch,
 * with no completions — its jobs are stored without `startedAt` (see `JobPrefetch.begin`), and it
 * carries the starts waiting to be written. Sent at once, beside any completion call in flight
 * (`send` adds what only the worker's own claim needs, e.g. Postgres's idle-waiter registration).
 */
export async function claimForWorker(
  prefetch: JobPrefetch,
  send: (call: CompleteCall) => Promise<{ flags: number[]; refilled: StoredJob[] }>,
  args: ClaimArgs,
  limit: number,
): Promise<StoredJob[]> {
  const started = prefetch.takeStarts();
  const shape: ClaimShape = { key: '', names: args.names, leaseMs: args.leaseMs, maxTimeoutMs: args.maxTimeoutMs };
  let reply: { refilled: StoredJob[] };
  try {
    reply = await send({ now: args.now, items: [], started, refill: { shape, limit, token: args.token } });
  } catch (err) {
    prefetch.restoreStarts(started);
    throw err;
  }
  // The core sees when its claim started the run; the backend learns it from begin().
  return reply.refilled.map((job) => ({ ...job, startedAt: args.now }));
}
