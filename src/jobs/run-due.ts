import { BotwireConfigError } from '../errors.js';
import { newToken } from '../internal/token.js';
import { queueInternals, type JobQueue } from './job-queue.js';
import { resolveHandlers, runJob } from './run-job.js';
import { claimTiming } from './job-telemetry.js';
import { logs } from '../logger.js';
import type { JobHandlers, TickSummary } from './types.js';

/** Options of {@link runDue}. */
export interface RunDueOptions {
  /**
   * Wall time the tick may use. Only jobs whose `timeoutMs` fits in what is left (minus
   * `safetyMs`) are claimed, so every started job ends — or is aborted — before the budget is over.
   * @default 50_000
   */
  budgetMs?: number;
  /** Jobs run at the same time. @default 4 */
  concurrency?: number;
  /** Kept free at the end of the budget for recording outcomes and answering the request. @default 1_000 */
  safetyMs?: number;
  /** Also delete finished jobs past their retention during this tick. @default true */
  retention?: boolean;
}

// Overlap guard within one process: a second tick while one runs returns at once. Across
// processes the per-job leases already keep two ticks from running the same job.
const runningTicks = new WeakSet<JobQueue>();

/**
 * One budgeted pass over the queue for serverless cron endpoints: recover lapsed jobs, enqueue
 * schedule slots, then claim and run due jobs until none are left or the budget would be exceeded.
 * It never blocks on the backend and never claims a job it cannot start at once. Jobs held back
 * by the queue's `limits` or group caps are claimed as the tick's own runs free their slots, and
 * after a rate window that opens within the budget.
 *
 * @example
 * ```ts
 * // app/api/cron/route.ts (Vercel)
 * export async function GET() {
 *   return Response.json(await runDue(queue, handlers, { budgetMs: 50_000 }));
 * }
 * ```
 */
export async function runDue(queue: JobQueue, handlers?: JobHandlers, options: RunDueOptions = {}): Promise<TickSummary> {
  const started = Date.now();
  const budget = options.budgetMs ?? 50_000;
  const safety = options.safetyMs ?? 1_000;
  const concurrency = options.concurrency ?? 4;
  if (!(Number.isFinite(budget) && budget > 0)) throw new BotwireConfigError(`budgetMs must be a positive number, got ${String(budget)}.`);
  if (!(Number.isFinite(safety) && safety >= 0)) throw new BotwireConfigError(`safetyMs must be >= 0, got ${String(safety)}.`);
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new BotwireConfigError(`concurrency must be an integer >= 1, got ${String(options.concurrency)}.`);
  }
  const h = resolveHandlers(queue, handlers);
  const internals = queueInternals(queue);
  const names = Object.keys(h);
  const summary: TickSummary = {
    claimed: 0, completed: 0, partial: 0, failed: 0, released: 0, reclaimed: 0, left: 0, skipped: false, elapsedMs: 0,
  };
  if (runningTicks.has(queue)) {
    summary.skipped = true;
    return summary;
  }
  runningTicks.add(queue);
  const deadline = started + budget - safety;
  const inflight = new Set<Promise<void>>();
  try {
    summary.reclaimed = await queue.maintain({ retention: options.retention ?? true });
    await internals.ensureLimits();
    let drained = false;
    while (!drained || inflight.size > 0) {
      const left = deadline - Date.now();
      const free = concurrency - inflight.size;
      /** Wall time at which a rate window holding jobs back opens. */
      let windowAt: number | undefined;
      if (!drained && free > 0 && left > 0) {
        const token = newToken();
        const now = queue.now();
        const since = internals.telemetry ? performance.now() : 0;
        const jobs = await internals.call('claim', undefined, () => queue.backend.claim({
          names, limit: free, maxTimeoutMs: Math.floor(left), token, leaseMs: queue.leaseMs, now, ...internals.claimExtras,
        }));
        summary.claimed += jobs.length;
        const timing = claimTiming(internals.telemetry, since, jobs.length);
        // Started right away, so a claimed job is never left locked without running.
        for (const raw of jobs) {
          internals.publish(raw, 'active');
          const run: Promise<void> = runJob(queue, h[raw.name]!, raw, token, undefined, undefined, timing).then((outcome) => {
            if (outcome === 'completed') summary.completed++;
            else if (outcome === 'partial') summary.partial++;
            else if (outcome === 'failed') summary.failed++;
            else if (outcome === 'released') summary.released++;
          }).finally(() => inflight.delete(run));
          inflight.add(run);
        }
        // Short: nothing else is due, or limits hold jobs back — then one of our own runs ending
        // (freeing a slot) or the rate window opening lets more in; slots held elsewhere do not.
        if (jobs.length < free) {
          if (jobs.retryAt !== undefined) windowAt = Date.now() + Math.max(1, jobs.retryAt - now);
          else if (!jobs.heldBack || inflight.size === 0) drained = true;
        }
      }
      if (windowAt !== undefined && (windowAt >= deadline || Date.now() >= deadline)) {
        windowAt = undefined;
        drained = true;
      }
      if (inflight.size === 0 && windowAt === undefined) break;
      // Each run ends by its own timeout, which fit in the budget when it was claimed.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const opens = windowAt === undefined ? [] : [new Promise<void>((r) => { timer = setTimeout(r, windowAt! - Date.now()); })];
      await Promise.race([...inflight, ...opens]);
      clearTimeout(timer);
      if (Date.now() >= deadline) drained = true;
    }
    summary.left = await internals.call('countDue', undefined, () => queue.backend.countDue(names, queue.now()));
  } finally {
    await Promise.allSettled(inflight);
    runningTicks.delete(queue);
    summary.elapsedMs = Date.now() - started;
  }
  // A tick that did something is worth a line; an idle one (every minute, say) only at debug.
  const level = summary.claimed > 0 || summary.reclaimed > 0 ? 'info' : 'debug';
  if (logs(internals.logger, level)) internals.logger[level]({ durationMs: summary.elapsedMs, ...summary }, 'botwire tick');
  return summary;
}
