import { BotwireConfigError, JobConflictError, UnknownJobError } from '../errors.js';
import { callBackend } from '../adapter-kit/backend-call.js';
import { logs, type Logger } from '../logger.js';
import type { Telemetry } from '../telemetry.js';
import { intInRange } from '../internal/validate.js';
import { addMany } from './add-many.js';
import { cancelJob, removeJob, retryJob } from './job-actions.js';
import type { AddResult, JobBackend, JobState, StoredJob } from './backend.js';
import { FINISHED_STATES } from './backend.js';
import { backoffDelay } from './backoff.js';
import { assertJobId, assertJobName, parseBackoff, toJob } from './codec.js';
import type { JobCounts, JobFeature, JobLimit } from './fleet-backend.js';
import { resolveQueueOptions, type JobQueueOptions, type QueueSettings } from './queue-options.js';
import type { QueueInternals } from './queue-internals.js';
import { enqueueScheduleSlots, reclaimLapsedJobs, removeFinishedJobs } from './queue-maintenance.js';
import { validateLimit } from './limits.js';
import { probeHealth, type HealthReport } from '../health.js';
import { buildNewJob, unsupported } from './new-job.js';
import { jobSpan, traceMany, withTrace } from './job-telemetry.js';
import { scheduleEntry, scheduleInfo, type ScheduleEntry, type ScheduleInfo, type ScheduleOptions } from './schedule.js';
import type {
  AddManyResult, AddOptions, BulkJob, Job, JobError, JobEventBus, JobHandlers, JobPage, ListOptions,
} from './types.js';

export type { JobQueueOptions, RetentionOptions } from './queue-options.js';

let internalsOf: (queue: JobQueue) => QueueInternals;

/** The internal operations of `queue` (one object per queue, made with it). @internal */
export function queueInternals(queue: JobQueue): QueueInternals {
  return internalsOf(queue);
}

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
  /** The options checked, with defaults filled in. */
  readonly #settings: QueueSettings;
  readonly #bus: JobEventBus | undefined;
  readonly #schedules = new Map<string, ScheduleEntry>();
  #limitsWritten: Promise<void> | undefined;
  readonly #internals: QueueInternals;
  readonly #logger: Logger | undefined;
  readonly #telemetry: Telemetry | undefined;

  static {
    internalsOf = (queue) => queue.#internals;
  }

  constructor(backend: JobBackend, options: JobQueueOptions = {}) {
    this.backend = backend;
    this.handlers = options.handlers;
    const settings = this.#settings = resolveQueueOptions(options, backend.features ?? []);
    this.now = settings.now;
    this.leaseMs = settings.leaseMs;
    this.onError = settings.onError;
    this.#bus = options.bus;
    const logger = this.#logger = options.logger;
    this.#telemetry = options.telemetry;
    const { groupConcurrency } = settings;
    this.#internals = {
      call: (operation, subject, run) => callBackend(this.backend, operation, settings.timeoutMs, run, subject),
      publish: (raw, state, extra) => this.#publish(raw, state, extra),
      retryAt: (raw, now, delayMs) => this.#retryAt(raw, now, delayMs),
      ensureLimits: () => this.#ensureLimits(),
      claimExtras: groupConcurrency === undefined ? {} : { groupConcurrency },
      logger, telemetry: this.#telemetry,
    };
  }

  /** Throw unless the backend implements `feature`. */
  #need(feature: JobFeature): void {
    if (!this.#settings.defaults.features.includes(feature)) throw unsupported(feature);
  }

  #ensureLimits(): Promise<void> {
    if (this.#settings.limits.length === 0) return Promise.resolve();
    this.#limitsWritten ??= this.#call('setLimits', undefined, () => this.backend.setLimits!(this.#settings.limits, this.now()))
      .catch((err: unknown) => { this.#limitsWritten = undefined; throw err; });
    return this.#limitsWritten;
  }

  #call<R>(operation: string, subject: string | undefined, run: () => Promise<R>): Promise<R> {
    return callBackend(this.backend, operation, this.#settings.timeoutMs, run, subject);
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
    const now = this.now();
    const job = buildNewJob(name, payload, options, now, this.#settings.defaults);
    // A child of the caller's span; its traceparent travels with the job to the run (job-telemetry.ts).
    const span = jobSpan(this.#telemetry, 'botwire.job.add', 'producer', job);
    if (span) job.backoff = withTrace(job.backoff, span.traceparent());
    const adding = this.#call('add', job.id, () => this.backend.add(job, now));
    const res = await (span ? adding.catch((err: unknown) => { span.end(err); throw err; }) : adding);
    span?.setAttribute('botwire.job.created', res.created);
    span?.end();
    if (logs(this.#logger, 'debug')) this.#logger.debug({ jobId: job.id, name, created: res.created }, 'botwire job added');
    return toJob<P>(this.#added(name, res), now);
  }

  /** The stored job of an add's answer, publishing it when created or replaced; refuses another name's job. */
  #added(name: string, { job, created, replaced }: AddResult): StoredJob {
    // Ids are unique across names: an id taken by another name's job must not hand that job out.
    if (!created && job.name !== name) throw new JobConflictError(job.id, name, job.name);
    if (created || replaced) this.#publish(job, job.state);
    return job;
  }

  /**
   * Add many jobs with one backend round trip per chunk of up to 500 jobs (or ~1 MiB of payload).
   * Every job is checked first: one bad input throws before anything is written. Each answer says
   * whether its job was created or already existed (ids are idempotent per job, also within one
   * call); a job whose `id` belongs to another job name gets a `JobConflictError` in its answer and
   * is not written, while the others are.
   *
   * @example
   * ```ts
   * await queue.addMany(chatIds.map((chatId) => ({ name: 'digest', payload: { chatId }, options: { id: `digest:${chatId}:${day}` } })));
   * ```
   */
  async addMany<P = unknown>(jobs: ReadonlyArray<BulkJob<P>>): Promise<Array<AddManyResult<P>>> {
    if (!Array.isArray(jobs)) throw new BotwireConfigError('addMany takes an array of { name, payload, options? }.');
    const now = this.now();
    const built = jobs.map((j) => {
      this.#assertKnown(j?.name);
      return buildNewJob(j.name, j.payload, j.options ?? {}, now, this.#settings.defaults);
    });
    const span = traceMany(this.#telemetry, built);
    let results: AddResult[];
    try {
      results = await addMany(this.backend, built, now, (op, subject, run) => this.#call(op, subject, run));
    } catch (err) {
      span?.end(err);
      throw err;
    }
    span?.end();
    return results.map((res, i): AddManyResult<P> => {
      try {
        return { job: toJob<P>(this.#added(built[i]!.name, res), now), created: res.created };
      } catch (error) {
        return { created: false, error: error as JobConflictError };
      }
    });
  }

  /**
   * How many jobs are in each state, for one job name or all: `{ waiting, delayed, active, partial,
   * completed, failed, cancelled }` (a delayed job whose time has come counts as waiting). One
   * cheap backend call (maintained counters), for dashboards and health checks.
   */
  async counts(name?: string): Promise<JobCounts> {
    if (name !== undefined) assertJobName(name);
    this.#need('counts');
    return this.#call('counts', name, () => this.backend.counts!(name, this.now()));
  }

  /**
   * Change the fleet-wide limit of job `name` now, for every instance (`null` removes it). A
   * `limits` option given to any instance's queue is written again when its next Worker or tick
   * starts, replacing what was set here for that name.
   *
   * @example
   * ```ts
   * await queue.setLimit('ai.image', { concurrency: 1, rate: { max: 20, perMs: 60_000 } });
   * ```
   */
  async setLimit(name: string, limit: JobLimit | null): Promise<void> {
    const entry = { name, limit: validateLimit(name, limit) };
    this.#need('limits');
    await this.#call('setLimits', name, () => this.backend.setLimits!([entry], this.now()));
  }

  /** The limits stored in the backend, by job name (what every instance enforces). */
  async getLimits(): Promise<Record<string, JobLimit>> {
    this.#need('limits');
    const entries = await this.#call('getLimits', undefined, () => this.backend.getLimits!());
    return Object.fromEntries(entries.filter((e) => e.limit).sort((a, b) => (a.name < b.name ? -1 : 1)).map((e) => [e.name, e.limit!]));
  }

  /** The job, or undefined when it does not exist (never added, or removed by retention). */
  async get<P = unknown, R = unknown>(id: string): Promise<Job<P, R> | undefined> {
    assertJobId(id);
    const raw = await this.#call('get', id, () => this.backend.get(id));
    return raw && toJob<P, R>(raw, this.now());
  }

  /**
   * Run a `failed`, `cancelled`, `partial` or `delayed` job again now, with a fresh count of attempts.
   * A partial job keeps its result and missing parts, so the handler only fetches what is missing.
   * Throws `JobNotFoundError`, or `JobStateError` for waiting/active/completed jobs.
   */
  retry(id: string): Promise<Job> {
    return retryJob(this, this.#internals, id);
  }

  /**
   * Cancel a job that has not finished. A running handler's `signal` aborts at its next heartbeat
   * and its result is discarded. Throws `JobNotFoundError`, or `JobStateError` when already finished.
   */
  cancel(id: string): Promise<Job> {
    return cancelJob(this, this.#internals, id);
  }

  /**
   * Delete a job that is not running, with its payload, result and errors, as BullMQ's
   * `job.remove()` does. Returns true when it was deleted, false when there is no such job (so
   * removing twice is harmless). An `active` job is refused with `JobStateError` (its worker holds
   * a lease and would still write its outcome): `cancel` it first, or wait for the run to end.
   * Throws `BotwireConfigError` on a backend without `remove`. Publishes no event (no state follows).
   *
   * @example
   * ```ts
   * if (!(await queue.remove(id))) console.log('already gone');
   * ```
   */
  remove(id: string): Promise<boolean> {
    return removeJob(this, this.#internals, id);
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
   * Returns how many were removed. Workers and ticks call it on their own now and then. With
   * `budgetMs`, no batch starts after that much time has passed.
   */
  async removeFinished(options: { batchSize?: number; budgetMs?: number } = {}): Promise<number> {
    return removeFinishedJobs(this, this.#internals, this.#settings.retention, options);
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
    const entry = scheduleEntry(name, cron, payload, options, this.#settings.defaults.maxPayloadBytes);
    this.#schedules.set(entry.key, entry);
  }

  /** Stop enqueueing the schedule registered under `key` (default: its job name). */
  unschedule(key: string): boolean {
    return this.#schedules.delete(key);
  }

  /** The schedules registered on this queue object, each with its next `count` slots (for dashboards). */
  schedules(count = 3): ScheduleInfo[] {
    const n = intInRange('schedules count', count, 1, 100);
    return [...this.#schedules.values()].map((e) => scheduleInfo(e, this.now(), n));
  }

  /** Add the jobs of due (and upcoming) schedule slots; returns how many were newly created. */
  enqueueScheduled(): Promise<number> {
    return enqueueScheduleSlots(this, this.#internals, this.#schedules.values(), this.#settings.defaults);
  }

  #retryAt(raw: StoredJob, now: number, delayMs?: number): number | undefined {
    if (raw.maxAttempts > 0 && raw.attempts >= raw.maxAttempts) return undefined;
    const delay = delayMs ?? backoffDelay(parseBackoff(raw.backoff, this.#settings.defaultBackoff), raw.attempts, this.#settings.random);
    const at = now + delay;
    if (raw.retryUntil !== undefined && raw.retryUntil !== null && at > raw.retryUntil) return undefined;
    return at;
  }

  /**
   * Recover jobs whose worker stopped heart-beating (crashed, frozen): each counts as a failed
   * attempt and is retried with backoff, or fails for good. Returns how many were recovered.
   */
  reclaimLapsed(limit = 100): Promise<number> {
    return reclaimLapsedJobs(this, this.#internals, limit);
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

  /**
   * One bounded round trip to the backend (the adapter's check, else a read of a probe id); never
   * rejects. See `SessionStore.health`.
   */
  health(): Promise<HealthReport> {
    const { backend } = this;
    return probeHealth(backend, this.#settings.timeoutMs, backend.health ? () => backend.health!() : async () => { await backend.get('$botwire:health'); });
  }

  /** Stage in which `shutdown()` closes it: after workers, gateways and buses. */
  readonly shutdownStage = 'store';

  /** Close connections the adapter opened itself. A client you passed in stays open. */
  close(): Promise<void> {
    return this.backend.close();
  }
}
