/** Helpers shared by the job contract suite's files. @module */
import type { JobBackend } from '../jobs/backend.js';
import type { JobQueue, JobQueueOptions } from '../jobs/job-queue.js';

/**
 * A settable clock: every stored time in the suite comes from it, so no test waits for delays.
 * @internal
 */
export class Clock {
  t = Date.UTC(2030, 0, 1, 12, 0, 0);
  now = (): number => this.t;
  advance(ms: number): void { this.t += ms; }
}

/** @internal */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** @internal */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** @internal */
export interface Ctx {
  backend: JobBackend;
  clock: Clock;
  /** A queue on the test's backend with the suite's clock and no jitter. */
  make: (options?: JobQueueOptions) => JobQueue;
}


/**
 * The per-test wrapper of the job suites: a fresh backend from `factory`, a settable clock, and
 * queues on both with no jitter and silent background errors.
 * @internal
 */
export function queueRunner(
  factory: () => { backend: JobBackend; teardown?: () => Promise<void> } | Promise<{ backend: JobBackend; teardown?: () => Promise<void> }>,
  construct: (backend: JobBackend, options: JobQueueOptions) => JobQueue,
): (fn: (c: Ctx) => Promise<void>) => () => Promise<void> {
  return (fn) => async () => {
    const h = await factory();
    const clock = new Clock();
    const make = (o: JobQueueOptions = {}): JobQueue => construct(h.backend, { now: clock.now, random: () => 0, onError: () => {}, ...o });
    try { await fn({ backend: h.backend, clock, make }); } finally { await h.teardown?.(); }
  };
}

/**
 * The most runs in progress at once in `runs` (`[start, end)` intervals; an end at the same
 * millisecond as another run's start comes first).
 * @internal
 */
export function peakOverlap(runs: ReadonlyArray<{ start: number; end: number }>): number {
  const edges = runs.flatMap((r) => [[r.start, 1], [r.end, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let peak = 0;
  for (const [, d] of edges) peak = Math.max(peak, (open += d));
  return peak;
}

/**
 * The most `times` within any half-open window `[t, t + windowMs)`.
 * @internal
 */
export function peakInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= windowMs) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}
