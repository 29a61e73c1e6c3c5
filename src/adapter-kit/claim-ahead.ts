/**
 * Claim-ahead as a {@link JobBackend} wrapper: a backend implements the plain contract plus one
 * batched primitive ({@link WorkerBatchBackend.workerBatch}), and {@link withClaimAhead} adds what a
 * busy long-running worker needs to spend about one round trip per job — buffering of jobs claimed
 * ahead, token aliases, start marks, and Nagle-style batching of completions.
 *
 * @module
 */
import type { BackendHealth } from '../health.js';
import type {
  AddResult, ClaimArgs, ClaimedJobs, JobBackend, JobState, ListArgs, ListPage, NewJob, ProgressUpdate, StoredJob,
} from '../jobs/backend.js';
import type { JobCounts, JobFeature, JobLimitEntry } from '../jobs/fleet-backend.js';
import { newToken } from '../internal/token.js';
import { intInRange } from '../internal/validate.js';
import type { BackendErrorKind } from './backend-call.js';
import { ClaimAheadBuffer, shapeOf, type ClaimShape } from './claim-ahead-buffer.js';
import type { WorkerBatch, WorkerBatchBackend, WorkerClaim, WorkerBatchResult } from './worker-batch.js';
import { WriteBatcher } from './write-batcher.js';

/** Options of {@link withClaimAhead}. */
export interface ClaimAheadOptions {
  /**
   * Most completions in one {@link WorkerBatchBackend.workerBatch} call: bounds one call's run time
   * on the server (a script holds Redis, a statement holds its row locks).
   * @default 200
   */
  maxCompletions?: number;
}

/** One completion waiting to be sent. */
interface Completion { id: string; token: string; result: string; now: number }

/**
 * How long a held-back answer spares a claim that the buffer cannot serve at all its round trip.
 * Measured on a name limited to 3 across 4 workers × concurrency 5 (Redis, no-op jobs): without
 * it 0.58 of those claims per job asked and came back empty.
 */
const HELD_FRESH_MS = 100;

/**
 * Whether jobs claimed by a call sent at `sentAt` came back too late to run: after half their
 * lease. A reply can arrive long after the backend wrote the claim (a connection held by a
 * replication `WAIT`, a failover): by then the lease may have lapsed and the job been handed to
 * another worker, and running it here would run it twice at once. Such jobs go back uncounted
 * instead (a hand-back fenced by their token, a no-op when the job moved on).
 */
function lateFor(sentAt: number, leaseMs: number): boolean {
  return performance.now() - sentAt > leaseMs / 2;
}

/** A batch entry that only asks for a call, so that pending starts get written. */
const FLUSH_STARTS = Symbol('flush starts');

/**
 * The wrapped backend. Methods that need no claim-ahead state go straight to the inner backend
 * (no `async` frame of their own: one promise per call, as unwrapped).
 */
class ClaimAheadBackend implements JobBackend {
  readonly name: string;
  readonly features: readonly JobFeature[] | undefined;
  classifyError?: (err: unknown) => BackendErrorKind | undefined;
  subscribe?: (listener: (name: string) => void) => Promise<() => Promise<void>>;
  addMany?: (jobs: readonly NewJob[], now: number) => Promise<AddResult[]>;
  counts?: (name: string | undefined, now: number) => Promise<JobCounts>;
  setLimits?: (entries: readonly JobLimitEntry[], now: number) => Promise<void>;
  getLimits?: () => Promise<JobLimitEntry[]>;
  health?: () => Promise<BackendHealth>;
  remove?: (id: string, now: number) => Promise<boolean>;
  readonly #inner: WorkerBatchBackend;
  /** This process's subscribed workers: told when jobs claimed ahead for them arrive. */
  readonly #listeners = new Set<(name: string) => void>();
  readonly #buffer = new ClaimAheadBuffer((jobs) => this.#handBack(jobs));
  readonly #batcher: WriteBatcher<Completion | typeof FLUSH_STARTS, boolean>;

  constructor(inner: WorkerBatchBackend, options: ClaimAheadOptions) {
    this.#inner = inner;
    this.name = inner.name;
    this.features = inner.features;
    if (inner.classifyError) this.classifyError = inner.classifyError.bind(inner);
    if (inner.addMany) this.addMany = inner.addMany.bind(inner);
    if (inner.counts) this.counts = inner.counts.bind(inner);
    if (inner.setLimits) this.setLimits = inner.setLimits.bind(inner);
    if (inner.getLimits) this.getLimits = inner.getLimits.bind(inner);
    if (inner.health) this.health = inner.health.bind(inner);
    // A job claimed ahead is active in the backend, so remove refuses it like any running job.
    if (inner.remove) this.remove = inner.remove.bind(inner);
    // Only a backend with wake-ups has long-running subscribers, the only workers that claim ahead.
    if (inner.subscribe) this.subscribe = (listener) => this.#subscribe(listener);
    const max = intInRange('maxCompletions', options.maxCompletions ?? 200, 1);
    // While a limit or group cap holds this process's claims back, each slot's next job comes from
    // the refill of the completion that freed it, so that completion leaves at once beside the
    // one in flight instead of waiting for it: a name limited to 3 on 4 workers × 5 went from 0.72×
    // to 1.14× BullMQ's setGlobalConcurrency(3). Unlimited drains keep one call in flight and
    // their completions in large batches (0.99× against 0.85× at concurrency 10 with two).
    this.#batcher = new WriteBatcher(max, (batch) => this.#sendCompletions(batch), () => (this.#buffer.anyHeld ? 2 : 1));
    // Best effort: a start not written before the worker dies only means that job is handed back
    // uncounted (bounded per job by the backend), so a failed flush needs no report of its own.
    this.#buffer.onStartsDue(() => { this.#batcher.push(FLUSH_STARTS).catch(() => undefined); });
  }

  async #subscribe(listener: (name: string) => void): Promise<() => Promise<void>> {
    const stop = await this.#inner.subscribe!((name) => {
      this.#buffer.woken(name);
      listener(name);
    });
    const disable = this.#buffer.enable();
    this.#listeners.add(listener);
    return async () => { this.#listeners.delete(listener); await disable(); await stop(); };
  }

  claim(a: ClaimArgs): Promise<ClaimedJobs> {
    // Nothing to claim for: the inner backend answers as it would unwrapped.
    if (a.names.length === 0) return this.#inner.claim(a);
    const shape = shapeOf(a);
    const ahead = this.#buffer.take(a, shape);
    if (ahead.length >= a.limit) {
      this.#buffer.remember(a.token, shape, ahead.length);
      return Promise.resolve(ahead);
    }
    // The slots the rest would need are still taken (see noteHeld): no round trip for nothing. With
    // nothing from the buffer, only for a fresh answer: a worker looks again right after its own
    // outcome went out (whose refill already took the slot it freed) and would ask for nothing,
    // while a slot freed without a wake-up (a crashed holder's lease lapsing) is found by its
    // next poll, once the answer is older than HELD_FRESH_MS.
    if (this.#buffer.isHeld(shape, ahead.length ? Infinity : HELD_FRESH_MS)) {
      const jobs: ClaimedJobs = ahead;
      jobs.heldBack = true;
      this.#buffer.remember(a.token, shape, jobs.length);
      return Promise.resolve(jobs);
    }
    const limit = a.limit - ahead.length;
    // A subscribed worker's claim leaves startedAt to started(); a tick's counts at once.
    const fresh = this.#buffer.enabled ? this.#claimForWorker(a, limit) : this.#inner.claim(limit === a.limit ? a : { ...a, limit });
    return fresh.then((jobs) => {
      if (this.#buffer.enabled) this.#buffer.noteHeld(shape, !!jobs.heldBack && jobs.retryAt === undefined, true);
      if (!ahead.length) {
        this.#buffer.remember(a.token, shape, jobs.length);
        return jobs;
      }
      const all: ClaimedJobs = ahead.concat(jobs);
      if (jobs.heldBack) all.heldBack = true;
      if (jobs.retryAt !== undefined) all.retryAt = jobs.retryAt;
      this.#buffer.remember(a.token, shape, all.length);
      return all;
    });
  }

  /**
   * A subscribed worker's claim that the buffer did not fill: a worker batch with no completions —
   * its jobs are stored without `startedAt`, and it carries the starts waiting to be written. Sent
   * at once, beside any completion batch in flight.
   */
  async #claimForWorker(a: ClaimArgs, limit: number): Promise<ClaimedJobs> {
    const started = this.#buffer.takeStarts();
    const claim: WorkerClaim = {
      names: a.names, limit, maxTimeoutMs: a.maxTimeoutMs, leaseMs: a.leaseMs, token: a.token, waiter: a.waiter,
      groupConcurrency: a.groupConcurrency,
    };
    const reply = await this.#workerBatch({ now: a.now, started, completions: [], claim }, a.leaseMs);
    // The core sees when its claim started the run; the backend learns it from started().
    const jobs: ClaimedJobs = reply.jobs.map((job) => ({ ...job, startedAt: a.now }));
    if (reply.heldBack) jobs.heldBack = true;
    if (reply.retryAt !== undefined) jobs.retryAt = reply.retryAt;
    return jobs;
  }

  /**
   * Completions coalesced into one worker batch (the first goes at once, later ones wait for the
   * call in flight), which also claims ahead the next jobs for the workers whose claimed jobs these
   * were, and carries the starts of the runs begun since the last call.
   */
  async #sendCompletions(batch: Array<Completion | typeof FLUSH_STARTS>): Promise<boolean[]> {
    const buffer = this.#buffer;
    const done = batch.filter((c): c is Completion => c !== FLUSH_STARTS);
    const completions = done.map((c) => ({ id: c.id, token: buffer.real(c.id, c.token), result: c.result }));
    const started = buffer.takeStarts(done.length < batch.length);
    if (completions.length === 0 && started.length === 0) return batch.map(() => true);
    // One `now` per call (the latest): finishedAt differs from the caller's clock by the wait only.
    const now = Math.max(...done.map((c) => c.now), ...started.map((m) => m.at));
    let shape: ClaimShape | undefined;
    let claim: WorkerClaim | undefined;
    for (const c of done) {
      const s = buffer.shapeFor(c.token);
      if (!s) continue;
      if (!claim) {
        shape = s;
        claim = {
          names: s.names, limit: 0, maxTimeoutMs: s.maxTimeoutMs, leaseMs: s.leaseMs, token: newToken(),
          groupConcurrency: s.groupConcurrency, ahead: true,
        };
      }
      if (s.key === shape!.key) claim.limit++;
    }
    const reply = await this.#workerBatch({ now, started, completions, claim }, shape?.leaseMs);
    // A refill left jobs behind: the slots this process freed were all it could get.
    if (shape && reply.heldBack && reply.retryAt === undefined) buffer.noteHeld(shape, true);
    if (shape && reply.jobs.length) {
      buffer.offer(shape, reply.jobs);
      // A worker with free slots sleeps until a wake-up or its poll: tell it its jobs are here, so
      // they start now instead of holding (limited) slots until the buffer hands them back.
      for (const name of new Set(reply.jobs.map((j) => j.name))) {
        for (const listener of this.#listeners) queueMicrotask(() => listener(name));
      }
    }
    let i = 0;
    return batch.map((c) => {
      if (c === FLUSH_STARTS) return true;
      buffer.settle(c.id, c.token);
      return reply.flags[i++] === 1;
    });
  }

  /**
   * One worker batch. Its starts go back to the buffer when the call fails; jobs it claimed whose
   * answer came after half their lease (see {@link lateFor}) are handed back, not returned.
   */
  async #workerBatch(batch: WorkerBatch, leaseMs: number | undefined): Promise<WorkerBatchResult> {
    const sentAt = performance.now();
    let reply: WorkerBatchResult;
    try {
      reply = await this.#inner.workerBatch(batch);
    } catch (err) {
      this.#buffer.restoreStarts(batch.started);
      throw err;
    }
    if (leaseMs === undefined || reply.jobs.length === 0 || !lateFor(sentAt, leaseMs)) return reply;
    void this.#handBack(reply.jobs);
    return { ...reply, jobs: [] };
  }

  started(id: string, token: string, now: number): void {
    this.#buffer.begin(id, token, now);
  }

  complete(id: string, token: string, result: string, now: number): Promise<boolean> {
    this.#buffer.recording(id, token); // the completion records the run's start itself
    return this.#batcher.push({ id, token, result, now });
  }

  heartbeat(id: string, token: string, leaseMs: number, now: number, progress?: ProgressUpdate): Promise<boolean> {
    return this.#inner.heartbeat(id, this.#buffer.recording(id, token), leaseMs, now, progress).then((ok) => {
      if (!ok) this.#buffer.settle(id, token);
      return ok;
    });
  }

  partial(id: string, token: string, result: string, missing: string, retryAt: number, now: number, final?: { error: string }): Promise<boolean> {
    return this.#settled(id, token, this.#inner.partial(id, this.#buffer.recording(id, token), result, missing, retryAt, now, final));
  }

  fail(id: string, token: string, error: string, retryAt: number | undefined, now: number): Promise<boolean> {
    return this.#settled(id, token, this.#inner.fail(id, this.#buffer.recording(id, token), error, retryAt, now));
  }

  release(id: string, token: string, now: number): Promise<boolean> {
    return this.#settled(id, token, this.#inner.release(id, this.#buffer.recording(id, token), now));
  }

  /** The run of `id` under `token` ended with `outcome`'s call (whatever it answered). */
  #settled(id: string, token: string, outcome: Promise<boolean>): Promise<boolean> {
    return outcome.then((ok) => {
      this.#buffer.settle(id, token);
      return ok;
    });
  }

  /** Hand jobs claimed ahead back to the queue, uncounted (best effort: a failure leaves a lease to lapse). */
  async #handBack(jobs: StoredJob[]): Promise<void> {
    await Promise.allSettled(jobs.map((job) => this.#inner.handBack(job.id, job.leaseToken!, Date.now())));
  }

  add(job: NewJob, now: number): Promise<{ job: StoredJob; created: boolean }> { return this.#inner.add(job, now); }
  retry(id: string, now: number): Promise<boolean> { return this.#inner.retry(id, now); }
  cancel(id: string, now: number): Promise<boolean> { return this.#inner.cancel(id, now); }
  get(id: string): Promise<StoredJob | undefined> { return this.#inner.get(id); }
  list(args: ListArgs): Promise<ListPage> { return this.#inner.list(args); }
  reclaim(token: string, leaseMs: number, limit: number, now: number): Promise<StoredJob[]> { return this.#inner.reclaim(token, leaseMs, limit, now); }
  promote(limit: number, now: number): Promise<number> { return this.#inner.promote(limit, now); }
  countDue(names: readonly string[], now: number): Promise<number> { return this.#inner.countDue(names, now); }
  removeFinished(states: readonly JobState[], before: number, limit: number): Promise<number> {
    return this.#inner.removeFinished(states, before, limit);
  }

  async close(): Promise<void> {
    await this.#handBack(this.#buffer.drain());
    await this.#inner.close();
  }
}

/**
 * Add claim-ahead to a job backend: a long-running `Worker`'s completions are written Nagle-style
 * (the first at once, the rest together with the next call) and each such call also claims as many
 * replacement jobs as it completed, so the worker's next claim is answered from memory — about one
 * round trip per job at any concurrency. Serverless ticks (`runDue`, which never subscribe) get the
 * batched completions and plain claims.
 *
 * The wrapper keeps the jobs claimed ahead (handed back uncounted, keeping their place in line,
 * when no claim takes them within 200 ms or the worker unsubscribes), maps the core's claim tokens
 * to the stored ones (so every later call stays fenced), and writes the starts of runs that began
 * (`JobBackend.started`) with the worker's next call — so a job whose worker dies before running it
 * goes back uncounted (see `JobBackend.reclaim`).
 *
 * Fleet features (`JobBackend.features`, `addMany`, `counts`, `setLimits`, `getLimits`) pass
 * through. Workers' claims carry `groupConcurrency`; refills are marked `ahead`, so the backend
 * gives them no job of a rate-limited name (its start would be recorded before it runs). Jobs of
 * concurrency-limited names and groups may be claimed ahead — they hold their slot meanwhile — so
 * the wrapper tells the process's subscribed workers (their `subscribe` listener, with the job
 * names) as soon as refills arrive: a worker with free slots starts them at once instead of
 * leaving the slot idle until the buffer hands them back.
 *
 * When a claim of a worker came back `heldBack` without `retryAt` (the limit's or group's slots are
 * all taken), later claims of the same shape that the buffer answers in part return just those
 * jobs, without a round trip for the rest, until the backend wakes one of the shape's names (a
 * slot freed elsewhere, a limit changed, a job became due). A busy worker on a limited name then
 * pays about one call per job, as on an unlimited one.
 *
 * @param inner the backend: the plain contract plus {@link WorkerBatchBackend.workerBatch} and
 *   {@link WorkerBatchBackend.handBack}
 * @returns the backend to give to `JobQueue` (wrap once, in the adapter's factory)
 *
 * @example
 * ```ts
 * export function myJobBackend(options: MyOptions): JobBackend {
 *   return withClaimAhead(new MyJobBackend(options), { maxCompletions: 200 });
 * }
 * ```
 */
export function withClaimAhead(inner: WorkerBatchBackend, options: ClaimAheadOptions = {}): JobBackend {
  return new ClaimAheadBackend(inner, options);
}
