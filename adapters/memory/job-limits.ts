import type { JobLimit, JobLimitEntry } from 'botwire/jobs';

/** How many more jobs of a name one claim may take, and when a rate window holding it opens. */
export interface Room {
  room: number;
  /** Set when the rate window alone keeps `room` at 0: when its next start is allowed. */
  opensAt?: number | undefined;
}

/**
 * The memory backend's limits per job name, and the recent starts of rate-limited names (ascending
 * claim times, pruned as windows slide), as the fleet contract (`botwire/jobs` fleet-backend) defines.
 */
export class NameLimits {
  readonly #limits = new Map<string, JobLimit>();
  readonly #starts = new Map<string, number[]>();

  set(entries: readonly JobLimitEntry[]): void {
    for (const { name, limit } of entries) {
      if (limit) this.#limits.set(name, structuredClone(limit));
      else this.#limits.delete(name);
    }
  }

  entries(): JobLimitEntry[] {
    return [...this.#limits].map(([name, limit]) => ({ name, limit: structuredClone(limit) }));
  }

  get(name: string): JobLimit | undefined {
    return this.#limits.get(name);
  }

  /** Room for `name` given its `live` jobs; a claim made ahead gets none for a rate-limited name. */
  room(name: string, live: number, now: number, ahead: boolean): Room {
    const limit = this.#limits.get(name);
    if (!limit) return { room: Infinity };
    const byConcurrency = limit.concurrency === undefined ? Infinity : limit.concurrency - live;
    if (!limit.rate) return { room: byConcurrency };
    if (ahead) return { room: 0 };
    const starts = this.#window(name, limit.rate.perMs, now);
    const byRate = limit.rate.max - starts.length;
    if (byRate > 0 || byConcurrency <= 0) return { room: Math.min(byConcurrency, byRate) };
    // Below max once the (count - max + 1) oldest starts have left the window.
    return { room: 0, opensAt: starts[starts.length - limit.rate.max]! + limit.rate.perMs };
  }

  /** Record a start of `name` at `now` when it has a rate limit. */
  started(name: string, now: number): void {
    if (!this.#limits.get(name)?.rate) return;
    let starts = this.#starts.get(name);
    if (!starts) this.#starts.set(name, (starts = []));
    let i = starts.length;
    while (i > 0 && starts[i - 1]! > now) i--; // an injected clock may go back
    starts.splice(i, 0, now);
  }

  /** The starts of `name` inside the window ending at `now` (older ones dropped). */
  #window(name: string, perMs: number, now: number): number[] {
    const starts = this.#starts.get(name) ?? [];
    let old = 0;
    while (old < starts.length && starts[old]! <= now - perMs) old++;
    if (old) starts.splice(0, old);
    return starts;
  }
}
