import { BotwireConfigError } from '../errors.js';
import { newToken } from '../internal/token.js';
import { queueInternals, type JobQueue } from './job-queue.js';
import { resolveHandlers, runJob, type RunOutcome } from './run-job.js';
import { claimTiming } from './job-telemetry.js';
import type { JobHandlers } from './types.js';
import { notify, type LifecycleListener } from '../lifecycle.js';

/** Options of {@link Worker}. */
export interface WorkerOptions {
  /** Jobs run at the same time. @default 1 */
  concurrency?: number;
  /**
   * Longest pause between looks at the queue. New jobs usually wake the worker at once (when the
   * backend offers wake-ups); this bounds the delay for delayed jobs coming due and missed wake-ups.
   * @default 1_000
   */
  pollIntervalMs?: number;
  /** How often lapsed leases are reclaimed and schedules enqueued. @default 5_000 */
  maintenanceIntervalMs?: number;
  /** How often finished jobs past their retention are deleted. @default 60_000 */
  retentionIntervalMs?: number;
  /** Start at once; otherwise call `start()`. @default true */
  autostart?: boolean;
  /**
   * How many finished jobs' outcomes may still be on their way to the backend while the worker
   * starts more jobs. Outcomes written meanwhile go together in one statement/script, which also
   * claims the next jobs ahead (Postgres, Redis). Measured on no-op jobs: Postgres concurrency 1
   * drained ~1,300 jobs/s when each outcome was written before the next job, ~5,600 with 16 and
   * ~10,500 with 64 trailing; Redis concurrency 10 went from ~11,000 (16) to ~15,000 (80). A process
   * that dies loses at most this many unrecorded outcomes: those jobs run again once their lease
   * lapses (delivery stays at-least-once).
   * @default Math.max(64, 4 * concurrency)
   */
  maxPendingWrites?: number;
  /** Called after every run with its outcome (metrics, tests). */
  onOutcome?: (outcome: RunOutcome, jobId: string) => void;
  /**
   * Lifecycle notices: `worker.started` once the worker looked at the queue for the first time,
   * `worker.stopped` when `stop()` is done. Errors it throws are ignored.
   */
  onLifecycle?: LifecycleListener;
}

/** Options of {@link Worker.stop}. */
export interface StopOptions {
  /**
   * How long running jobs may take to finish before their signal aborts and they are handed back
   * to the queue (not counted as an attempt). @default 10_000
   */
  graceMs?: number;
}

/** A waitable flag: `wait(ms)` resolves on `notify()` or after `ms`. */
class Wakeup {
  #resolve: (() => void) | undefined;
  #pending = false;
  notify(): void {
    if (this.#resolve) { this.#resolve(); this.#resolve = undefined; } else this.#pending = true;
  }
  wait(ms: number): Promise<void> {
    if (this.#pending) { this.#pending = false; return Promise.resolve(); }
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.#resolve = undefined; resolve(); }, ms);
      this.#resolve = () => { clearTimeout(timer); resolve(); };
    });
  }
}

/**
 * A long-running job processor: claims due jobs up to `concurrency`, wakes on new jobs where the
 * backend offers wake-ups, recovers jobs of crashed workers, and stops gracefully.
 *
 * @example
 * ```ts
 * const worker = new Worker(queue, { report: async ({ job, progress }) => { await progress(50); return 'ok'; } }, { concurrency: 4 });
 * process.on('SIGTERM', () => worker.stop());
 * ```
 */
export class Worker {
  /** The queue worked on. */
  readonly queue: JobQueue;
  readonly #handlers: JobHandlers;
  readonly #names: string[];
  readonly #concurrency: number;
  readonly #maxPending: number;
  readonly #poll: number;
  readonly #maintEvery: number;
  readonly #retentionEvery: number;
  readonly #onOutcome: WorkerOptions['onOutcome'];
  readonly #onLifecycle: LifecycleListener | undefined;
  /** Every run not fully recorded yet (for stop()). */
  readonly #inflight = new Set<Promise<void>>();
  /** Handlers still running: what `concurrency` bounds. */
  #handling = 0;
  /** Outcomes being written after their handler finished. */
  #recording = 0;
  readonly #wake = new Wakeup();
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;
  #stopping = false;
  #stopped = false;
  #waitingForSlot = false;
  readonly #id = crypto.randomUUID();

  constructor(queue: JobQueue, handlers?: JobHandlers, options: WorkerOptions = {}) {
    this.queue = queue;
    this.#handlers = resolveHandlers(queue, handlers);
    this.#names = Object.keys(this.#handlers);
    this.#concurrency = options.concurrency ?? 1;
    if (!(Number.isInteger(this.#concurrency) && this.#concurrency >= 1)) {
      throw new BotwireConfigError(`concurrency must be an integer >= 1, got ${String(options.concurrency)}.`);
    }
    this.#maxPending = options.maxPendingWrites ?? Math.max(64, 4 * this.#concurrency);
    if (!(Number.isInteger(this.#maxPending) && this.#maxPending >= 1)) {
      throw new BotwireConfigError(`maxPendingWrites must be an integer >= 1, got ${String(options.maxPendingWrites)}.`);
    }
    this.#poll = options.pollIntervalMs ?? 1_000;
    this.#maintEvery = options.maintenanceIntervalMs ?? 5_000;
    this.#retentionEvery = options.retentionIntervalMs ?? 60_000;
    this.#onOutcome = options.onOutcome;
    this.#onLifecycle = options.onLifecycle;
    if (options.autostart ?? true) void this.start();
  }

  /** Jobs running right now. */
  get running(): number {
    return this.#handling;
  }

  // A slot frees when a handler finishes, while its outcome is still being written, so the next jobs
  // run while completions travel, and completions pile up into batches; at most `maxPendingWrites`
  // may trail behind (backpressure when the backend is slow).
  #free(): number {
    return this.#recording >= this.#maxPending ? 0 : this.#concurrency - this.#handling;
  }

  /** Start the loop (idempotent). Resolves once wake-ups are subscribed and the queue was looked at once. */
  async start(): Promise<void> {
    if (this.#loop || this.#stopping) return;
    let ready!: () => void;
    const subscribed = new Promise<void>((r) => { ready = r; });
    this.#loop = this.#run(ready);
    await subscribed;
    if (!this.#stopping) {
      void notify(this.#onLifecycle, {
        type: 'worker.started', at: new Date(), workerId: this.#id, names: [...this.#names], concurrency: this.#concurrency,
      }, 5_000);
    }
  }

  async #run(ready: () => void): Promise<void> {
    const { queue } = this;
    const internals = queueInternals(queue);
    if (queue.backend.subscribe) {
      try {
        this.#unsubscribe = await queue.backend.subscribe((name) => {
          if (this.#names.includes(name) && !this.#waitingForSlot) this.#wake.notify();
        });
      } catch (err) {
        queue.onError(err); // polling still works
      }
    }
    let nextMaint = 0;
    let first = true;
    let limitsWritten = false;
    let nextRetention = Date.now() + this.#retentionEvery;
    internals.logger?.info({ name: this.#names.join(','), concurrency: this.#concurrency, wakeups: this.#unsubscribe !== undefined }, 'botwire worker started');
    while (!this.#stopping) {
      try {
        if (Date.now() >= nextMaint) {
          const retention = Date.now() >= nextRetention;
          await queue.maintain({ retention });
          nextMaint = Date.now() + this.#maintEvery;
          if (retention) nextRetention = Date.now() + this.#retentionEvery;
        }
        // The deploy's limits are in force before this worker claims anything.
        if (!limitsWritten) { await internals.ensureLimits(); limitsWritten = true; }
        const free = this.#free();
        let claimed = 0;
        let pause = this.#poll;
        if (free > 0) {
          const token = newToken();
          const now = queue.now();
          const since = internals.telemetry ? performance.now() : 0;
          const jobs = await internals.call('claim', undefined, () => queue.backend.claim({
            names: this.#names, limit: free, maxTimeoutMs: Number.MAX_SAFE_INTEGER, token, leaseMs: queue.leaseMs, now,
            waiter: this.#unsubscribe ? this.#id : undefined, ...internals.claimExtras,
          }));
          claimed = jobs.length;
          const timing = claimTiming(internals.telemetry, since, claimed);
          // Held back by a rate window: look again when it opens (nothing else wakes a worker then).
          if (jobs.retryAt !== undefined) pause = Math.min(pause, Math.max(1, jobs.retryAt - now));
          for (const raw of jobs) {
            internals.publish(raw, 'active');
            this.#track((settled) => runJob(queue, this.#handlers[raw.name]!, raw, token, this.#stop.signal, settled, timing)
              .then((o) => this.#onOutcome?.(o, raw.id)));
          }
        }
        if (first) { first = false; ready(); }
        if (this.#stopping) break;
        // Full: wait for a slot. Drained: wait for a wake-up or the poll interval.
        this.#waitingForSlot = this.#free() <= 0;
        if (this.#waitingForSlot || claimed < free) await this.#wake.wait(this.#waitingForSlot ? this.#poll : pause);
        this.#waitingForSlot = false;
      } catch (err) {
        queue.onError(err);
        if (first) { first = false; ready(); }
        await this.#wake.wait(this.#poll);
      }
    }
    if (first) ready();
  }

  #track(start: (settled: () => void) => Promise<void>): void {
    this.#handling++;
    let handling = true;
    const settled = (): void => {
      if (!handling) return;
      handling = false;
      this.#handling--;
      this.#recording++;
      if (this.#waitingForSlot) this.#wake.notify();
    };
    const p: Promise<void> = start(settled).catch((err) => this.queue.onError(err)).finally(() => {
      settled();
      this.#recording--;
      this.#inflight.delete(p);
      if (this.#waitingForSlot) this.#wake.notify();
    });
    this.#inflight.add(p);
  }

  /**
   * Stop claiming, let running jobs finish for up to `graceMs`, then abort the rest and hand them
   * back to the queue. Resolves when nothing runs any more.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    const grace = options.graceMs ?? 10_000;
    const since = performance.now();
    const running = this.#inflight.size;
    this.stopIntake();
    await this.#loop;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceOver = new Promise<void>((r) => { timer = setTimeout(r, grace); });
    await Promise.race([Promise.all(this.#inflight), graceOver]);
    clearTimeout(timer);
    const handedBack = this.#handling;
    if (this.#inflight.size > 0) {
      this.#stop.abort();
      await Promise.all(this.#inflight);
    }
    // Last: the final completions may still have claimed jobs ahead, which this hands back.
    if (this.#unsubscribe) await this.#unsubscribe().catch((err) => this.queue.onError(err));
    if (!this.#stopped) {
      this.#stopped = true;
      queueInternals(this.queue).logger?.info(
        { name: this.#names.join(','), running, handedBack, durationMs: Math.round(performance.now() - since) }, 'botwire worker stopped',
      );
      await notify(this.#onLifecycle, { type: 'worker.stopped', at: new Date(), workerId: this.#id, handedBack }, 5_000);
    }
  }

  /**
   * Stop claiming jobs now; running jobs go on. `stop()` does this first; `shutdown()` calls it
   * on every worker and gateway before waiting for any of them.
   */
  stopIntake(): void {
    this.#stopping = true;
    this.#wake.notify();
  }
}
