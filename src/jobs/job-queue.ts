import {
  BotwireConfigError, JobConflictError, JobNotFoundError, JobPayloadTooLargeError, JobStateError, UnknownJobError,
} from '../errors.js';
import { callBackend } from '../adapter-kit/backend-call.js';
import { newToken } from '../internal/token.js';
import { batchSize, intInRange, nonNegativeMs, positiveMs } from '../internal/validate.js';
import type { JobBackend, JobState, StoredJob } from './backend.js';
import { FINISHED_STATES } from './backend.js';
import { backoffDelay, DEFAULT_BACKOFF, validateBackoff } from './backoff.js';
import { assertCallerJobId, assertJobId, assertJobName, encodeJson, parseBackoff, toEpoch, toJob, utf8Bytes } from './codec.js';
import { dueSlots, slotId, validateCron, type ScheduleEntry, type ScheduleOptions } from './schedule.js';
import type { AddOptions, Backoff, Job, JobError, JobEventBus, JobHandlers, JobPage, ListOptions } from './types.js';

/** How long finished jobs are kept before `removeFinished` deletes them, per state. */
export interface RetentionOptions {
  /** @default 86_400_000 (1 day) */
  completedMs?: number;
  /** @default 604_800_000 (7 days) */
  failedMs?: number;
  /** @default 86_400_000 (1 day) */
  cancelledMs?: number;
}

/** Options of {@link JobQueue}. */
export interface JobQueueOptions {
  /**
   * The handlers this app has. When given, `add` and `schedule` refuse unknown names with
   * {@link UnknownJobError}, and `Worker`/`runDue` use them when called without handlers.
   */
  handlers?: JobHandlers;
  /** Largest JSON payload accepted by `add`, in UTF-8 bytes. @default 262_144 (256 KiB) */
  maxPayloadBytes?: number;
  /** `timeoutMs` of jobs added without one. @default 30_000 */
  defaultTimeoutMs?: number;
  /** `attempts` of jobs added without one (and without `retryUntil`). @default 3 */
  defaultAttempts?: number;
  /** `backoff` of jobs added without one. @default exponential, 1 s doubling up to 1 h, 20 % jitter */
  defaultBackoff?: Backoff;
  /**
   * Lease of a running job, renewed by heartbeats every third of it. A crashed worker's job is
   * reclaimed (and retried with backoff) this long after its last heartbeat. @default 30_000
   */
  leaseMs?: number;
  /** How long finished jobs are kept. */
  retention?: RetentionOptions;
  /** Upper bound for any single backend call. @default 5_000 */
  operationTimeoutMs?: number;
  /** Clock in epoch ms; inject one in tests to move time without waiting. @default Date.now */
  now?: () => number;
  /** Random source in [0, 1) for backoff jitter. @default Math.random */
  random?: () => number;
  /** Receives `jobs.<name>.<state>` events on every state change this process makes (e.g. a SyncBus). */
  bus?: JobEventBus;
  /** Where background errors go (bus failures, maintenance hiccups). @default console.error */
  onError?: (error: unknown) => void;
}

/**
 * What `Worker`, `runDue` and the runner use of a queue beyond its public API; reached through
 * {@link queueInternals}, never exported from the package.
 * @internal
 */
export interface QueueInternals {
  /** Run one backend call with the queue's time bound and error classification. */
  call<R>(operation: string, subject: string | undefined, run: () => Promise<R>): Promise<R>;
  /** Publish `jobs.<name>.<state>` to the bus, never letting the bus break the queue. */
  publish(raw: Pick<StoredJob, 'id' | 'name' | 'attempts'>, state: JobState, extra?: { missing?: string[]; error?: JobError }): void;
  /**
   * When to run next after a run of `raw` ended without success: epoch ms, or undefined when
   * attempts or the `retryUntil` deadline are exhausted.
   */
  retryAt(raw: StoredJob, now: number, delayMs?: number): number | undefined;
}

let internalsOf: (queue: JobQueue) => QueueInternals;

/** The internal operations of `queue` (one object per queue, made with it). @internal */
export function queueInternals(queue: JobQueue): QueueInternals {
  return internalsOf(queue);
}

/** Allowed source states of the manual operations, for error messages. */
const RETRYABLE: readonly JobState[] = ['failed', 'cancelled', 'partial', 'delayed'];
const CANCELLABLE: readonly JobState[] = ['waiting', 'delayed', 'partial', 'active'];
const REMOVE_BATCH = 500;

/**
 * Durable jobs with progress, partial results, retries with backoff and deadlines, on any
 * {@link JobBackend}. Run them with a `Worker` (long-running process) or `runDue` (cron tick).
 *
 * @example
 * ```ts
 * import { memoryJobQueue } from 'botwire/memory';
 * const queue = memoryJobQueue({ handlers: { report: async ({ job }) => buildReport(job.payload) } });
 * const job = await queue.add('report', { chatId: 42 }, { attempts: 5 });
 * ```
 */
export class JobQueue {
  /** The adapter doing the storage. */
  readonly backend: JobBackend;
  /** Handlers given at construction, if any. */
  readonly handlers: JobHandlers | undefined;
  /** The clock every stored time comes from. */
  readonly now: () => number;
  /** Lease length of running jobs. */
  readonly leaseMs: number;
  /** Background error sink. */
  readonly onError: (error: unknown) => void;
  readonly #random: () => number;
  readonly #timeoutMs: number;
  readonly #maxPayload: number;
  readonly #defaultTimeout: number;
  readonly #defaultAttempts: number;
  readonly #defaultBackoff: Backoff;
  /** The default backoff as stored (encoded once, not per add). */
  readonly #defaultBackoffText: string;
  readonly #retention: Required<RetentionOptions>;
  readonly #bus: JobEventBus | undefined;
  readonly #schedules = new Map<string, ScheduleEntry>();
  readonly #internals: QueueInternals = {
    call: (operation, subject, run) => callBackend(this.backend, operation, this.#timeoutMs, run, subject),
    publish: (raw, state, extra) => this.#publish(raw, state, extra),
    retryAt: (raw, now, delayMs) => this.#retryAt(raw, now, delayMs),
  };

  static {
    internalsOf = (queue) => queue.#internals;
  }

  constructor(backend: JobBackend, options: JobQueueOptions = {}) {
    this.backend = backend;
    this.handlers = options.handlers;
    for (const name of Object.keys(options.handlers ?? {})) assertJobName(name);
    this.now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.leaseMs = positiveMs('leaseMs', options.leaseMs ?? 30_000);
    this.#timeoutMs = positiveMs('operationTimeoutMs', options.operationTimeoutMs ?? 5_000);
    this.#maxPayload = intInRange('maxPayloadBytes', options.maxPayloadBytes ?? 262_144, 1);
    this.#defaultTimeout = positiveMs('defaultTimeoutMs', options.defaultTimeoutMs ?? 30_000);
    this.#defaultAttempts = intInRange('defaultAttempts', options.defaultAttempts ?? 3, 1);
    this.#defaultBackoff = validateBackoff(options.defaultBackoff ?? DEFAULT_BACKOFF);
    this.#defaultBackoffText = JSON.stringify(this.#defaultBackoff);
    const r = options.retention ?? {};
    this.#retention = {
      completedMs: positiveMs('retention.completedMs', r.completedMs ?? 86_400_000),
      failedMs: positiveMs('retention.failedMs', r.failedMs ?? 604_800_000),
      cancelledMs: positiveMs('retention.cancelledMs', r.cancelledMs ?? 86_400_000),
    };
    this.#bus = options.bus;
    this.onError = options.onError ?? ((e) => console.error('[botwire jobs]', e));
  }

  #call<R>(operation: string, subject: string | undefined, run: () => Promise<R>): Promise<R> {
    return callBackend(this.backend, operation, this.#timeoutMs, run, subject);
  }

  #publish(raw: Pick<StoredJob, 'id' | 'name' | 'attempts'>, state: JobState, extra: { missing?: string[]; error?: JobError } = {}): void {
    if (!this.#bus) return;
    try {
      const out = this.#bus.publish(`jobs.${raw.name}.${state}`, { id: raw.id, name: raw.name, state, attempts: raw.attempts, ...extra });
      if (out && typeof (out as Promise<unknown>).catch === 'function') (out as Promise<unknown>).catch(this.onError);
    } catch (err) {
      this.onError(err);
    }
  }

  #assertKnown(name: string): void {
    assertJobName(name);
    if (this.handlers && !Object.hasOwn(this.handlers, name)) throw new UnknownJobError(name, Object.keys(this.handlers));
  }

  /**
   * Add a job; returns it as stored. With an `id` that exists already, returns the existing job and
   * changes nothing (idempotent). Throws `JobSerializationError` / `JobPayloadTooLargeError` for bad
   * payloads and `UnknownJobError` for names without a handler (when handlers were given).
   */
  async add<P = unknown>(name: string, payload: P, options: AddOptions = {}): Promise<Job<P>> {
    this.#assertKnown(name);
    const id = options.id ?? crypto.randomUUID();
    assertCallerJobId(id);
    const text = encodeJson(name, 'payload', payload);
    const bytes = text.length * 3 > this.#maxPayload ? utf8Bytes(text) : text.length;
    if (bytes > this.#maxPayload) throw new JobPayloadTooLargeError(name, bytes, this.#maxPayload);
    const now = this.now();
    if (options.delayMs !== undefined && options.runAt !== undefined) {
      throw new BotwireConfigError('Give either delayMs or runAt when adding a job, not both.');
    }
    let runAt = now;
    if (options.delayMs !== undefined) runAt = now + nonNegativeMs('delayMs', options.delayMs);
    if (options.runAt !== undefined) runAt = toEpoch('runAt', options.runAt);
    const retryUntil = options.retryUntil === undefined ? undefined : toEpoch('retryUntil', options.retryUntil);
    const attempts = options.attempts === undefined
      ? (retryUntil === undefined ? this.#defaultAttempts : 0)
      : intInRange('attempts', options.attempts, 1, 1_000_000);
    const priority = options.priority === undefined ? 0 : intInRange('priority', options.priority, -1000, 1000);
    const timeoutMs = positiveMs('timeoutMs', options.timeoutMs ?? this.#defaultTimeout);
    const backoff = options.backoff === undefined ? this.#defaultBackoffText : JSON.stringify(validateBackoff(options.backoff));
    const { job, created } = await this.#call('add', id, () =>
      this.backend.add({ id, name, payload: text, priority, runAt, maxAttempts: attempts, backoff, timeoutMs, retryUntil }, now),
    );
    // Ids are unique across names: an id taken by another name's job must not hand that job out.
    if (!created && job.name !== name) throw new JobConflictError(id, name, job.name);
    if (created) this.#publish(job, job.state);
    return toJob<P>(job, now);
  }

  /** The job, or undefined when it does not exist (never added, or removed by retention). */
  async get<P = unknown, R = unknown>(id: string): Promise<Job<P, R> | undefined> {
    assertJobId(id);
    const raw = await this.#call('get', id, () => this.backend.get(id));
    return raw && toJob<P, R>(raw, this.now());
  }

  async #require(id: string): Promise<StoredJob> {
    const raw = await this.#call('get', id, () => this.backend.get(id));
    if (!raw) throw new JobNotFoundError(id);
    return raw;
  }

  /**
   * Run a `failed`, `cancelled`, `partial` or `delayed` job again now, with a fresh count of attempts.
   * A partial job keeps its result and missing parts, so the handler only fetches what is missing.
   * Throws `JobNotFoundError`, or `JobStateError` for waiting/active/completed jobs.
   */
  async retry(id: string): Promise<Job> {
    assertJobId(id);
    const ok = await this.#call('retry', id, () => this.backend.retry(id, this.now()));
    const raw = await this.#require(id);
    if (!ok) throw new JobStateError(id, 'retry', raw.state, RETRYABLE);
    this.#publish(raw, 'waiting');
    return toJob(raw, this.now());
  }

  /**
   * Cancel a job that has not finished. A running handler's `signal` aborts at its next heartbeat
   * and its result is discarded. Throws `JobNotFoundError`, or `JobStateError` when already finished.
   */
  async cancel(id: string): Promise<Job> {
    assertJobId(id);
    const ok = await this.#call('cancel', id, () => this.backend.cancel(id, this.now()));
    const raw = await this.#require(id);
    if (!ok) throw new JobStateError(id, 'cancel', raw.state, CANCELLABLE);
    this.#publish(raw, 'cancelled');
    return toJob(raw, this.now());
  }

  /** One page of jobs, newest first, filtered by state and/or name (for dashboards). */
  async list(options: ListOptions = {}): Promise<JobPage> {
    const limit = options.limit === undefined ? 50 : intInRange('list limit', options.limit, 1, 1000);
    if (options.name !== undefined) assertJobName(options.name);
    const page = await this.#call('list', undefined, () =>
      this.backend.list({ state: options.state, name: options.name, limit, cursor: options.cursor }),
    );
    const now = this.now();
    const out: JobPage = { jobs: page.jobs.map((j) => toJob(j, now)) };
    if (page.cursor !== undefined) out.cursor = page.cursor;
    return out;
  }

  /**
   * Delete finished jobs older than their retention, in batches of `batchSize` until none are left.
   * Returns how many were removed. Workers and ticks call it on their own now and then.
   */
  async removeFinished(options: { batchSize?: number } = {}): Promise<number> {
    const batch = batchSize(options.batchSize, REMOVE_BATCH);
    const now = this.now();
    const rules: Array<[JobState, number]> = [
      ['completed', this.#retention.completedMs], ['failed', this.#retention.failedMs], ['cancelled', this.#retention.cancelledMs],
    ];
    let total = 0;
    for (const [state, ttl] of rules) {
      for (;;) {
        const n = await this.#call('removeFinished', undefined, () => this.backend.removeFinished([state], now - ttl, batch));
        total += n;
        if (n < batch) break;
      }
    }
    return total;
  }

  /**
   * Run `name` with `payload` on a cron schedule (read in `tz`). Every instance may register the
   * same schedule: each slot becomes a job with an id derived from the slot, so it runs once
   * fleet-wide. Slots are enqueued by workers and ticks (`enqueueScheduled`).
   *
   * @example
   * ```ts
   * queue.schedule('digest', '0 9 * * 1-5', { kind: 'daily' }, { tz: 'Europe/Moscow' });
   * ```
   */
  schedule(name: string, cron: string, payload: unknown, options: ScheduleOptions = {}): void {
    this.#assertKnown(name);
    const tz = options.tz ?? 'UTC';
    validateCron(cron, tz);
    const key = options.key ?? name;
    // The key is part of the slot ids: the job-name rules keep them short and printable.
    if (options.key !== undefined) {
      try { assertJobName(key); } catch { throw new BotwireConfigError(`schedule key must follow the job-name rules (letters, digits, "_", ".", ":", "-"; at most 100), got ${JSON.stringify(key)}.`); }
    }
    if (options.catchUpMs !== undefined) nonNegativeMs('catchUpMs', options.catchUpMs);
    const text = encodeJson(name, 'payload', payload);
    const bytes = utf8Bytes(text);
    if (bytes > this.#maxPayload) throw new JobPayloadTooLargeError(name, bytes, this.#maxPayload);
    this.#schedules.set(key, { key, name, cron, tz, payload: text, catchUpMs: options.catchUpMs });
  }

  /** Stop enqueueing the schedule registered under `key` (default: its job name). */
  unschedule(key: string): boolean {
    return this.#schedules.delete(key);
  }

  /** Add the jobs of due (and upcoming) schedule slots; returns how many were newly created. */
  async enqueueScheduled(): Promise<number> {
    let created = 0;
    const now = this.now();
    for (const entry of this.#schedules.values()) {
      for (const slot of dueSlots(entry, now)) {
        const id = slotId(entry, slot);
        const res = await this.#call('add', id, () => this.backend.add({
          id, name: entry.name, payload: entry.payload, priority: 0, runAt: slot, maxAttempts: this.#defaultAttempts,
          backoff: this.#defaultBackoffText, timeoutMs: this.#defaultTimeout,
        }, now));
        if (res.created) { created++; this.#publish(res.job, res.job.state); }
      }
    }
    return created;
  }

  #retryAt(raw: StoredJob, now: number, delayMs?: number): number | undefined {
    if (raw.maxAttempts > 0 && raw.attempts >= raw.maxAttempts) return undefined;
    const delay = delayMs ?? backoffDelay(parseBackoff(raw.backoff, this.#defaultBackoff), raw.attempts, this.#random);
    const at = now + delay;
    if (raw.retryUntil !== undefined && raw.retryUntil !== null && at > raw.retryUntil) return undefined;
    return at;
  }

  /**
   * Recover jobs whose worker stopped heart-beating (crashed, frozen): each counts as a failed
   * attempt and is retried with backoff, or fails for good. Returns how many were recovered.
   */
  async reclaimLapsed(limit = 100): Promise<number> {
    const token = newToken();
    const now = this.now();
    const lapsed = await this.#call('reclaim', undefined, () => this.backend.reclaim(token, this.leaseMs, limit, now));
    for (const raw of lapsed) {
      const error: JobError = {
        name: 'JobLeaseLapsedError',
        message: `The worker running attempt ${raw.attempts} stopped renewing its lease (crashed or blocked); the run was abandoned.`,
      };
      const at = this.#retryAt(raw, now);
      const ok = await this.#call('fail', raw.id, () => this.backend.fail(raw.id, token, JSON.stringify(error), at, now));
      if (ok) this.#publish(raw, at === undefined ? 'failed' : at <= now ? 'waiting' : 'delayed', { error });
    }
    return lapsed.length;
  }

  /**
   * Housekeeping a worker or tick runs now and then: recover lapsed leases, make due delayed jobs
   * claimable, enqueue schedule slots, and (with `retention: true`) delete old finished jobs.
   * Returns how many lapsed jobs were recovered.
   */
  async maintain(options: { retention?: boolean } = {}): Promise<number> {
    const reclaimed = await this.reclaimLapsed();
    await this.#call('promote', undefined, () => this.backend.promote(1_000, this.now()));
    await this.enqueueScheduled();
    if (options.retention) await this.removeFinished();
    return reclaimed;
  }

  /** True for states a job never leaves on its own. */
  static isFinished(state: JobState): boolean {
    return FINISHED_STATES.includes(state);
  }

  /** Close connections the adapter opened itself. A client you passed in stays open. */
  close(): Promise<void> {
    return this.backend.close();
  }
}
