/**
 * Options of `dashboardHandler` and the types its `authorize` hook sees.
 *
 * @module
 */
import { BotwireConfigError } from '../../src/errors.js';
import type { JobQueue } from '../../src/jobs/job-queue.js';
import type { Job } from '../../src/jobs/types.js';
import type { SessionStore } from '../../src/session/session-store.js';
import type { SyncBus } from '../../src/sync/types.js';

/**
 * What `authorize` is asked about:
 * - `view`: open the page and read jobs, counts, schedules, limits and health (asked first on
 *   every request; a refusal answers 401 and the page shows its sign-in hint)
 * - `job.retry`, `job.cancel`, `job.run`, `job.remove`: the actions on one job (`run` starts a
 *   delayed job now; `remove` deletes a job that is not running, with its data)
 * - `session.read`, `session.delete`, `session.edit`: one session key
 * - `events`: the live feed of bus events (job state changes included)
 */
export type DashboardAction =
  | 'view' | 'job.retry' | 'job.cancel' | 'job.run' | 'job.remove' | 'session.read' | 'session.delete' | 'session.edit' | 'events';

/** The subject of an {@link DashboardAction}: the page, one job, one session key or the event feed. */
export type DashboardSubject =
  | { readonly kind: 'dashboard' }
  | { readonly kind: 'job'; /** Name of the queue in `queues`. */ readonly queue: string; readonly job: Job }
  | { readonly kind: 'session'; readonly key: string }
  | { readonly kind: 'events'; /** The topic patterns the feed asks for. */ readonly patterns: readonly string[] };

/**
 * Decides whether `request` may do `action` to `subject`; only `true` allows. A refused `view`
 * answers 401, any other refusal 403.
 *
 * @example
 * ```ts
 * // Admins carry a session cookie your app checks; only they may act, anyone signed in may look:
 * const authorize: DashboardAuthorize = async (request, action) => {
 *   const user = await userOf(request);
 *   return action === 'view' ? user !== undefined : user?.admin === true;
 * };
 * ```
 */
export type DashboardAuthorize = (request: Request, action: DashboardAction, subject: DashboardSubject) => boolean | Promise<boolean>;

/**
 * Anything with a `health()` check: stores, queues, buses, or your own. Only `ok` and `latencyMs`
 * are read by name; every other field of the answer (`backend`, `details`, `error`, …) is shown as
 * it is.
 */
export interface DashboardHealthCheck {
  health(): Promise<{ ok: boolean; latencyMs?: number }>;
}

/** Options of `dashboardHandler`. Give `queue` or `queues`. */
export interface DashboardOptions {
  /** The queue to show (shown as `default`). Exclusive with `queues`. */
  queue?: JobQueue;
  /** Several queues by name, e.g. `{ reports: reportQueue, mail: mailQueue }`. Exclusive with `queue`. */
  queues?: Record<string, JobQueue>;
  /**
   * A session store: enables looking up (and deleting) sessions by key. A `SessionStore` whose
   * backend can `inspect` (memory, Redis, Postgres, Supabase) also shows who holds the key's lease
   * (a fingerprint, never the token), for how long and until when.
   */
  store?: Pick<SessionStore<unknown>, 'get' | 'set' | 'delete'> & Partial<Pick<SessionStore<unknown>, 'inspect' | 'backend'>>;
  /** A sync bus: enables the live event feed and live job state changes (give the queue the same bus). */
  bus?: Pick<SyncBus, 'subscribe'>;
  /** Health checks by label, each run when the page asks (with a timeout). */
  health?: Record<string, DashboardHealthCheck>;
  /** Who may see and do what. Required: the dashboard has no default allow. */
  authorize: DashboardAuthorize;
  /** Path prefix the handler is mounted under, e.g. `/admin/jobs`. @default '' */
  basePath?: string;
  /** Let the page edit session data (a compare-and-set on the version shown). @default false */
  allowSessionEdit?: boolean;
  /** Where the page's sign-in hint links to when `view` is refused. */
  loginUrl?: string;
  /** `WWW-Authenticate` value sent with 401, e.g. `'Basic realm="botwire"'` for browser sign-in. */
  challenge?: string;
  /**
   * Longest time one Server-Sent Events response stays open; the browser then reconnects and
   * resumes from the last event it saw. Keep it under your platform's response time limit.
   * @default 25_000
   */
  streamMs?: number;
  /**
   * How often running jobs' progress is read for the open streams (one `list` per queue, only while
   * a page listens). @default 1_000
   */
  progressIntervalMs?: number;
  /** Events kept for resuming streams and for polling clients. @default 500 */
  bufferSize?: number;
  /** Time one health check may take before it counts as failed. @default 5_000 */
  healthTimeoutMs?: number;
  /** Largest request body accepted, in bytes. @default 262_144 */
  maxBodyBytes?: number;
  /** Where unexpected errors go, with full details (responses carry none). @default console.error */
  onError?: (error: unknown) => void;
}

/** Queues by name from `queue` or `queues`, refusing neither or both. @internal */
export function queuesOf(options: DashboardOptions): Map<string, JobQueue> {
  if (!options || typeof options !== 'object') throw new BotwireConfigError('dashboardHandler needs options: { queue, authorize }.');
  if (typeof options.authorize !== 'function') {
    throw new BotwireConfigError(
      'dashboardHandler needs `authorize: (request, action, subject) => boolean`: the dashboard shows payloads and ' +
        'sessions and retries jobs, so there is no default allow. Return true for `view` to let a request see the page.',
    );
  }
  if ((options.queue === undefined) === (options.queues === undefined)) {
    throw new BotwireConfigError('dashboardHandler needs exactly one of `queue` (a JobQueue) or `queues` ({ name: JobQueue }).');
  }
  const entries = options.queue !== undefined ? [['default', options.queue] as const] : Object.entries(options.queues ?? {});
  if (entries.length === 0) throw new BotwireConfigError('dashboardHandler `queues` is empty; give at least one JobQueue.');
  for (const [name, q] of entries) {
    if (!q || typeof (q as JobQueue).list !== 'function' || typeof (q as JobQueue).get !== 'function') {
      throw new BotwireConfigError(`dashboardHandler: queue "${name}" is not a JobQueue.`);
    }
    if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(name)) throw new BotwireConfigError(`dashboardHandler: queue name "${name}" must be 1–100 of [A-Za-z0-9_.:-].`);
  }
  if (options.bus !== undefined && typeof options.bus?.subscribe !== 'function') throw new BotwireConfigError('dashboardHandler `bus` must be a SyncBus.');
  if (options.store !== undefined && typeof options.store?.get !== 'function') throw new BotwireConfigError('dashboardHandler `store` must be a SessionStore.');
  for (const [label, check] of Object.entries(options.health ?? {})) {
    if (typeof check?.health !== 'function') throw new BotwireConfigError(`dashboardHandler: health "${label}" has no health() method.`);
  }
  return new Map(entries);
}
