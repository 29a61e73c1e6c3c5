/**
 * Options of `jobsHttpHandler` and the types its `authorize` hook sees.
 *
 * @module
 */
import { BotwireConfigError } from '../../src/errors.js';
import type { JobQueue } from '../../src/jobs/job-queue.js';
import type { Logger } from '../../src/logger.js';
import type { Job, JobHandlers } from '../../src/jobs/types.js';
import type { CleanupTargets } from './cleanup-handler.js';

/**
 * What an `authorize` hook is asked about: `enqueue` (`POST /jobs/:name`), `read` (status, result
 * and missing parts, and replaying an `Idempotency-Key` that exists already) or `retry`.
 */
export type JobsHttpAction = 'enqueue' | 'read' | 'retry';

/** What `authorize` gets for `enqueue`: the job about to be created. */
export interface JobsHttpEnqueueSubject {
  /** The job name from the path. */
  readonly name: string;
  /** The parsed JSON body (`null` for an empty body). Untrusted: check it like any request input. */
  readonly payload: unknown;
}

/**
 * What `authorize` gets: for `enqueue` the name and payload about to be added, for `read` and
 * `retry` the stored job (loaded first, so rules can look at its name, payload and state).
 */
export type JobsHttpSubject = JobsHttpEnqueueSubject | Job;

/**
 * Decides whether `request` may do `action` to `subject`; only `true` allows (anything else → 403).
 * The parameters are typed together, so checking `action` narrows `subject`.
 *
 * @example
 * ```ts
 * // A chat may enqueue jobs for itself and read or retry only its own jobs:
 * const authorize: JobsHttpAuthorize = (request, _action, subject) =>
 *   (subject.payload as { chatId?: unknown } | null)?.chatId === chatOf(request);
 * ```
 */
export type JobsHttpAuthorize = (
  ...args: [request: Request, action: 'enqueue', subject: JobsHttpEnqueueSubject] | [request: Request, action: 'read' | 'retry', subject: Job]
) => boolean | Promise<boolean>;

/** Options of `jobsHttpHandler`. Give either `authorize` or `public: true`. */
export interface JobsHttpOptions {
  /** The queue jobs are started on and read from. */
  queue: JobQueue;
  /** Handlers `/cron/tick` runs (and the names `POST /jobs/:name` accepts). @default the queue's handlers */
  handlers?: JobHandlers;
  /**
   * Who may enqueue, read and retry which jobs. Called after the job is loaded (`read`/`retry`) or
   * the body parsed (`enqueue`); a job that does not exist answers 404 before it is asked.
   */
  authorize?: JobsHttpAuthorize;
  /**
   * `true` lets anyone who can reach the endpoint enqueue every startable job with any payload,
   * read every job (payload-derived status, result) by id and retry it. Only for internal networks
   * or jobs that carry nothing sensitive; otherwise pass `authorize`.
   * @default false
   */
  public?: boolean;
  /**
   * Put job error messages (`error.message` in status, the reason in a result's 409) into responses.
   * Off by default: handler errors often quote connection strings, hostnames or user data. The
   * error's class name is always shown.
   * @default false
   */
  exposeErrors?: boolean;
  /**
   * Secret `/cron/tick` requires as `Authorization: Bearer <secret>` (Vercel sends `CRON_SECRET` this
   * way), at least 16 characters. Without it the tick route answers 404. `authorize` is not asked.
   */
  cronSecret?: string;
  /**
   * What `/cron/cleanup` (same `cronSecret`) cleans besides this queue's finished jobs: session
   * stores and rate-limit stores. The route exists whenever `cronSecret` is set.
   */
  cleanup?: Omit<CleanupTargets, 'queues'>;
  /** Wall time one tick (or one cleanup) may use. @default 50_000 */
  budgetMs?: number;
  /** Jobs one tick runs at the same time. @default 4 */
  concurrency?: number;
  /** Path prefix the handler is mounted under, e.g. `/api`. @default '' */
  basePath?: string;
  /** Largest request body accepted, in bytes. @default 65_536 */
  maxBodyBytes?: number;
  /** Job names `POST /jobs/:name` may start. @default every handler name */
  startable?: readonly string[];
  /** Suggested polling interval for pending jobs (`Retry-After`), seconds. @default 2 */
  pollAfterSeconds?: number;
  /** Where unexpected errors go, with full details (responses carry none). @default the queue's onError */
  onError?: (error: unknown) => void;
  /**
   * Receives a `warn` line per refused request (401: wrong or missing cron secret, 403: `authorize`
   * said no) with the path, method and status; never the credentials.
   * @default the queue's `logger`
   */
  logger?: Logger;
}

/** Refuse options that leave the job routes open by accident, or that are not what they claim. @internal */
export function checkAccess(options: JobsHttpOptions): void {
  const hasAuthorize = options.authorize !== undefined;
  if (hasAuthorize && typeof options.authorize !== 'function') throw new BotwireConfigError('jobsHttpHandler: `authorize` must be a function.');
  if (options.public !== undefined && typeof options.public !== 'boolean') throw new BotwireConfigError('jobsHttpHandler: `public` must be true or false.');
  if (hasAuthorize && options.public) {
    throw new BotwireConfigError('jobsHttpHandler: pass either `authorize` or `public: true`, not both (authorize can allow everything itself).');
  }
  if (!hasAuthorize && options.public !== true) {
    throw new BotwireConfigError(
      'jobsHttpHandler needs `authorize: (request, action, subject) => boolean` to decide who may enqueue, read and retry ' +
        'which jobs, or `public: true` to let anyone who reaches the endpoint do all three (internal networks and ' +
        'non-sensitive jobs only).',
    );
  }
}
