/**
 * Job progress for the live streams. Progress is written by heartbeats, not published on the bus,
 * so while at least one stream is open the handler reads the running jobs of each queue once per
 * interval and tells the streams what moved — one backend call per queue and interval, however
 * many pages are open.
 *
 * @module
 */
import type { JobQueue } from '../../src/jobs/job-queue.js';

/** A running job's progress as the streams send it (`event: progress`). */
export interface ProgressEvent {
  queue: string;
  id: string;
  name: string;
  pct: number;
  message: string | null;
}

/** Running jobs read per queue and interval; more are left to the page's polling. */
const MAX_WATCHED = 200;

/** Reads progress while someone listens. */
export class ProgressWatch {
  readonly #queues: ReadonlyMap<string, JobQueue>;
  readonly #intervalMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #listeners = new Set<(e: ProgressEvent) => void>();
  /** Last progress sent per `queue\0id`. */
  #last = new Map<string, string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** A read is under way (it schedules the next one itself). */
  #reading = false;

  constructor(queues: ReadonlyMap<string, JobQueue>, intervalMs: number, onError: (error: unknown) => void) {
    this.#queues = queues;
    this.#intervalMs = intervalMs;
    this.#onError = onError;
  }

  /** Listen until the returned function is called; the reading stops with the last listener. */
  listen(listener: (e: ProgressEvent) => void): () => void {
    this.#listeners.add(listener);
    if (this.#timer === undefined && !this.#reading) this.#timer = setTimeout(() => void this.#tick(), 0);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) { clearTimeout(this.#timer); this.#timer = undefined; this.#last = new Map(); }
    };
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    this.#reading = true;
    const seen = new Map<string, string>();
    for (const [queue, q] of this.#queues) {
      try {
        const { jobs } = await q.list({ state: 'active', limit: MAX_WATCHED });
        for (const job of jobs) {
          const key = `${queue}\u0000${job.id}`;
          const now = `${job.progress.pct}\u0000${job.progress.message ?? ''}`;
          seen.set(key, now);
          if (this.#last.get(key) === now) continue;
          const event: ProgressEvent = { queue, id: job.id, name: job.name, pct: job.progress.pct, message: job.progress.message ?? null };
          for (const l of this.#listeners) l(event);
        }
      } catch (err) {
        this.#onError(err);
      }
    }
    this.#reading = false;
    if (this.#listeners.size === 0) return;
    this.#last = seen;
    this.#timer = setTimeout(() => void this.#tick(), this.#intervalMs);
  }
}
