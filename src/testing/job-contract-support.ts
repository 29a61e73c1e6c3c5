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

