import type { ClaimArgs, StoredJob } from '../jobs/backend.js';
import type { StartMark } from './worker-batch.js';

/** What a claim asked for; jobs claimed ahead are only handed to claims with the same shape. */
export interface ClaimShape {
  readonly key: string;
  readonly names: readonly string[];
  readonly leaseMs: number;
  readonly maxTimeoutMs: number;
  readonly groupConcurrency: number | undefined;
}

/** How long a job claimed ahead may wait for its worker's next claim before it is handed back. */
const IDLE_RELEASE_MS = 200;
/**
 * Longest wait (ms) before the starts of runs are written in a call of their own. While the worker
 * is busy they ride its completion and claim calls long before this, and a job that ends sooner
 * records its start with its outcome; so only jobs running longer than this, on a worker that
 * sends nothing meanwhile, cost a call (at most one per this interval, for all of them). Until its
 * start is written, a job whose worker dies goes back uncounted and may run once more: the
 * shorter, the smaller that window.
 */
export const START_MARK_MS = 50;
/**
 * Starts younger than this stay off the calls they could ride: most runs end sooner and record
 * their start with their outcome, so writing it first is one write per job for nothing (measured
 * on no-op jobs at concurrency 10: +2–3 µs client and +1 µs Redis CPU per job, 5 % of the drain).
 */
const START_MIN_AGE_MS = 10;
/** Bound on remembered claim tokens (runs lost without a final call never settle). */
const MAX_TOKENS = 10_000;

/**
 * The shape of a claim; made once per claim and passed to the buffer's methods. The budget
 * (maxTimeoutMs) is not part of the key: a tick's budget shrinks claim by claim, so `take` checks
 * each job's timeout against the claim's budget instead.
 */
export function shapeOf(a: Pick<ClaimArgs, 'names' | 'leaseMs' | 'maxTimeoutMs' | 'groupConcurrency'>): ClaimShape {
  return {
    key: `${a.leaseMs}|${a.groupConcurrency ?? ''}|${a.names.join('\n')}`, names: a.names, leaseMs: a.leaseMs,
    maxTimeoutMs: a.maxTimeoutMs, groupConcurrency: a.groupConcurrency,
  };
}

/**
 * The memory of `withClaimAhead`: jobs claimed ahead, token aliases, and starts not written yet.
 * When a busy worker completes jobs, the completion call also claims as many replacements (under a
 * token of its own), so the worker's next claim is answered from here: one round trip per job
 * instead of two at concurrency 1.
 *
 * Only while a process is subscribed to wake-ups (a `Worker`; serverless ticks never subscribe),
 * so a tick never leaves a claimed-but-unstarted job locked. Jobs not taken within 200 ms, or when
 * the last subscription ends, are released (handed back uncounted). Because the core fences every
 * call with the token of *its* claim, each job handed out keeps an alias from that token to the
 * token stored in the backend.
 *
 * While a worker is subscribed, every job its backend claims — ahead, or in a claim that was not
 * answered from the buffer — is stored without `startedAt`; the backend hands it back uncounted
 * when its lease lapses in that state (the worker died before running it). The runner reports the
 * start as it calls the handler ({@link begin}); the start is then written with the worker's next
 * call ({@link takeStarts}), or with the job's own outcome or a heartbeat when one of those goes
 * first ({@link recording}), or after {@link START_MARK_MS} in a call of its own.
 */
export class ClaimAheadBuffer {
  #subscribers = 0;
  readonly #shapes = new Map<string, { shape: ClaimShape; open: number }>();
  /**
   * Shapes whose last claim at the backend was held back by a limit or group cap (no retryAt) →
   * their names, when that answer came, and whether it came from a worker's own claim (see isHeld).
   */
  readonly #held = new Map<string, { names: readonly string[]; at: number; own: boolean }>();
  readonly #buffer = new Map<string, Array<{ job: StoredJob; at: number }>>();
  readonly #aliases = new Map<string, { alias: string; real: string }>();
  /** Runs begun whose start the backend has not recorded yet: id → start. */
  readonly #starts = new Map<string, StartMark & { since: number }>();
  readonly #release: (jobs: StoredJob[]) => Promise<void>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #startTimer: ReturnType<typeof setTimeout> | undefined;
  #flushStarts: (() => void) | undefined;

  /**
   * `release` hands jobs claimed ahead back to the queue (their stored token is `leaseToken`); it
   * never rejects (a failed hand-back leaves a lease to lapse).
   */
  constructor(release: (jobs: StoredJob[]) => Promise<void>) {
    this.#release = release;
  }

  /**
   * A long-running worker subscribed; the result ends it and, after the last one, resolves once
   * the buffered jobs are handed back (so a stopped worker leaves nothing claimed).
   */
  enable(): () => Promise<void> {
    this.#subscribers++;
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      if (--this.#subscribers === 0) await this.#release(this.drain());
    };
  }

  /** Whether a long-running worker is subscribed: its claims leave `startedAt` to {@link begin}. */
  get enabled(): boolean {
    return this.#subscribers > 0;
  }

  /**
   * A backend claim of `shape` answered `heldBack` (jobs left behind by a limit or a group
   * cap, `retryAt` unset) or not. While held, a claim partly answered from the buffer need not ask
   * the backend for the rest: the slots it would need are taken until a wake-up says one freed.
   */
  noteHeld(shape: ClaimShape, held: boolean, own = false): void {
    if (held) this.#held.set(shape.key, { names: shape.names, at: performance.now(), own });
    else this.#held.delete(shape.key);
  }

  /**
   * Whether the last backend claim of `shape` was held back and no wake-up for its names
   * came since; with `withinMs`, only when that answer came from a worker's own claim at most that
   * long ago. A refill's held-back answer may stand for a rate window (refills take no job of a
   * rate-limited name and learn no `retryAt`), which a worker must go on asking about.
   */
  isHeld(shape: ClaimShape, withinMs = Infinity): boolean {
    if (this.#held.size === 0) return false;
    const held = this.#held.get(shape.key);
    if (held === undefined) return false;
    return withinMs === Infinity || (held.own && performance.now() - held.at <= withinMs);
  }

  /** Whether the last backend claim of any shape was held back (no wake-up since). */
  get anyHeld(): boolean {
    return this.#held.size > 0;
  }

  /** The backend woke `name` (a slot freed, a limit changed, a job became due): claims of shapes with it ask again. */
  woken(name: string): void {
    for (const [key, held] of this.#held) if (held.names.includes(name)) this.#held.delete(key);
  }

  /** Remember the shape of a claim whose jobs are now running under `token`. */
  remember(token: string, shape: ClaimShape, count: number): void {
    if (count === 0 || this.#subscribers === 0) return;
    if (this.#shapes.size >= MAX_TOKENS) this.#shapes.delete(this.#shapes.keys().next().value!);
    this.#shapes.set(token, { shape, open: count });
  }

  /** The claim shape to refill for a completion under `token`, while prefetching is on. */
  shapeFor(token: string): ClaimShape | undefined {
    return this.#subscribers > 0 ? this.#shapes.get(token)?.shape : undefined;
  }

  /** Up to `args.limit` buffered jobs of `shape` fitting `args`, now fenced by `args.token` (aliased). */
  take(args: ClaimArgs, shape: ClaimShape): StoredJob[] {
    const key = shape.key;
    const list = this.#buffer.get(key);
    if (!list?.length) return [];
    const out: StoredJob[] = [];
    for (let i = 0; i < list.length && out.length < args.limit;) {
      const { job } = list[i]!;
      if (job.timeoutMs > args.maxTimeoutMs) { i++; continue; }
      list.splice(i, 1);
      this.#aliases.set(job.id, { alias: args.token, real: job.leaseToken! });
      // The caller runs it at once (a Worker or tick never holds a claimed job); its runner
      // reports the exact moment through begin().
      out.push({ ...job, leaseToken: args.token, startedAt: args.now });
    }
    if (list.length === 0) this.#buffer.delete(key);
    return out;
  }

  /**
   * The handler of `id` (claimed under the core's `token`) is being called now: write its start
   * with the next call. Called in the same synchronous step as the handler, so no call can carry
   * the start before the handler has begun.
   */
  begin(id: string, token: string, at: number): void {
    if (this.#subscribers === 0) return;
    this.#starts.set(id, { id, token: this.real(id, token), at, since: performance.now() });
    this.#startTimer ??= setTimeout(() => this.#startsDue(), START_MARK_MS);
  }

  /** Called when starts have waited {@link START_MARK_MS} unwritten (see {@link onStartsDue}). */
  #startsDue(): void {
    this.#startTimer = undefined;
    if (this.#starts.size) this.#flushStarts?.();
  }

  /** `flush` writes the pending starts (a call of their own) when no completion call took them in time. */
  onStartsDue(flush: () => void): void {
    this.#flushStarts = flush;
  }

  /**
   * The unwritten starts to send with a call, forgotten here (see {@link restoreStarts}): all of
   * them with `all`, else those at least {@link START_MIN_AGE_MS} old.
   */
  takeStarts(all = false): StartMark[] {
    if (this.#starts.size === 0) return [];
    const out: StartMark[] = [];
    const cutoff = all ? Infinity : performance.now() - START_MIN_AGE_MS;
    for (const [id, m] of this.#starts) {
      // Begun in order, so the map is oldest first: stop at the first young one.
      if (m.since > cutoff) break;
      out.push({ id: m.id, token: m.token, at: m.at });
      this.#starts.delete(id);
    }
    return out;
  }

  /**
   * Starts whose call failed: they go with the next call. No timer of their own: while the backend
   * is unreachable that would only add a failing call every {@link START_MARK_MS}.
   */
  restoreStarts(marks: readonly StartMark[]): void {
    for (const m of marks) if (!this.#starts.has(m.id)) this.#starts.set(m.id, { ...m, since: 0 });
  }

  /**
   * The stored token for a call about the run of `id` under the core's `token` that records the
   * run's start itself (a heartbeat, the run's outcome): no other call needs to carry it now.
   */
  recording(id: string, token: string): string {
    const real = this.real(id, token);
    if (this.#starts.get(id)?.token === real) this.#starts.delete(id);
    return real;
  }

  /** The token stored in the backend for the core's (`id`, `token`). */
  real(id: string, token: string): string {
    const a = this.#aliases.get(id);
    return a && a.alias === token ? a.real : token;
  }

  /** The run of `id` under `token` ended (any outcome): forget its alias and count it off. */
  settle(id: string, token: string): void {
    const a = this.#aliases.get(id);
    if (a && a.alias === token) this.#aliases.delete(id);
    const s = this.#shapes.get(token);
    if (s && --s.open <= 0) this.#shapes.delete(token);
  }

  /** Keep jobs claimed ahead for the next claim of `shape`. */
  offer(shape: ClaimShape, jobs: StoredJob[]): void {
    if (jobs.length === 0) return;
    if (this.#subscribers === 0) { void this.#release(jobs); return; }
    let list = this.#buffer.get(shape.key);
    if (!list) this.#buffer.set(shape.key, (list = []));
    const at = Date.now();
    for (const job of jobs) list.push({ job, at });
    this.#timer ??= setTimeout(() => this.#sweep(), IDLE_RELEASE_MS);
  }

  #sweep(): void {
    this.#timer = undefined;
    const cutoff = Date.now() - IDLE_RELEASE_MS;
    const stale: StoredJob[] = [];
    for (const [key, list] of this.#buffer) {
      while (list.length && list[0]!.at <= cutoff) stale.push(list.shift()!.job);
      if (list.length === 0) this.#buffer.delete(key);
    }
    if (stale.length) void this.#release(stale);
    if (this.#buffer.size) this.#timer = setTimeout(() => this.#sweep(), IDLE_RELEASE_MS);
  }

  /** Empty the buffer (for release at shutdown). */
  drain(): StoredJob[] {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#startTimer);
    this.#startTimer = undefined;
    const all = [...this.#buffer.values()].flat().map((e) => e.job);
    this.#buffer.clear();
    return all;
  }
}
