/**
 * The dashboard's job endpoints: counts, a filtered list, one job in full, schedules, limits, and
 * the actions retry / cancel / run now / remove.
 *
 * @module
 */
import { BotwireConfigError } from '../../src/errors.js';
import type { JobState } from '../../src/jobs/backend.js';
import type { JobCounts } from '../../src/jobs/fleet-backend.js';
import { queueInternals, type JobQueue } from '../../src/jobs/job-queue.js';
import type { Job } from '../../src/jobs/types.js';
import type { LiveFeed } from './live-feed.js';

const STATES: readonly JobState[] = ['waiting', 'delayed', 'active', 'partial', 'completed', 'failed', 'cancelled'];
const PENDING: ReadonlySet<JobState> = new Set(['waiting', 'delayed', 'partial']);

/** Whether `value` names a job state. */
export function isJobState(value: string): value is JobState {
  return (STATES as readonly string[]).includes(value);
}

/** A job as the list shows it. */
export function jobRow(job: Job) {
  return {
    id: job.id, name: job.name, state: job.state, group: job.group ?? null, attempts: job.attempts,
    maxAttempts: Number.isFinite(job.maxAttempts) ? job.maxAttempts : null, progress: job.progress,
    runAt: job.runAt.toISOString(), updatedAt: job.updatedAt.toISOString(),
  };
}

/** Undefined when the backend lacks the feature, instead of the `BotwireConfigError` the queue throws. */
async function optional<T>(run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof BotwireConfigError) return undefined;
    throw err;
  }
}

/** The job names worth counting: handlers, limits and schedules of the queue. */
async function knownNames(queue: JobQueue): Promise<string[]> {
  const names = new Set(Object.keys(queue.handlers ?? {}));
  for (const n of Object.keys((await optional(() => queue.getLimits())) ?? {})) names.add(n);
  for (const s of queue.schedules()) names.add(s.name);
  return [...names].sort();
}

/** Jobs a state is counted up to when the backend keeps no counters (one `list` page per state). */
const SCAN_LIMIT = 1000;

/**
 * Counts in total and per name. Backends with the `counts` feature answer from counters (names:
 * handlers, limits and schedules); others are counted from one list page per state, and states
 * with more than {@link SCAN_LIMIT} jobs are marked in `capped`.
 */
export async function countsView(queue: JobQueue) {
  const total = await optional(() => queue.counts());
  if (total) {
    const names = await knownNames(queue);
    const per = await Promise.all(names.map((n) => queue.counts(n)));
    return { total, byName: Object.fromEntries(names.map((n, i) => [n, per[i]!])), capped: [] as JobState[] };
  }
  const zero = (): JobCounts => ({ waiting: 0, delayed: 0, active: 0, partial: 0, completed: 0, failed: 0, cancelled: 0 });
  const scanned = zero();
  const byName: Record<string, JobCounts> = {};
  for (const n of Object.keys(queue.handlers ?? {})) byName[n] = zero();
  const capped: JobState[] = [];
  const pages = await Promise.all(STATES.map((state) => queue.list({ state, limit: SCAN_LIMIT })));
  STATES.forEach((state, i) => {
    if (pages[i]!.cursor !== undefined) capped.push(state);
    for (const job of pages[i]!.jobs) {
      // A delayed job whose time has come reads as waiting, as `get` and `counts` show it.
      scanned[job.state]++;
      (byName[job.name] ??= zero())[job.state]++;
    }
  });
  return { total: scanned, byName: Object.fromEntries(Object.entries(byName).sort(([a], [b]) => (a < b ? -1 : 1))), capped };
}

/** Filters of the list endpoint, parsed from the query string. */
export interface ListFilter {
  state?: JobState | undefined;
  name?: string | undefined;
  group?: string | undefined;
  /** Text the id must contain (case-insensitive). */
  text?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

/**
 * One page of the list. `group` and `text` are not filters the backends index, so up to ten pages
 * of 200 are scanned for matches; `cursor` continues where the scan stopped.
 */
export async function listView(queue: JobQueue, f: ListFilter) {
  const scan = f.group !== undefined || f.text !== undefined;
  const text = f.text?.toLowerCase();
  const rows: ReturnType<typeof jobRow>[] = [];
  let cursor = f.cursor;
  for (let page = 0; page < (scan ? 10 : 1); page++) {
    const res = await queue.list({ state: f.state, name: f.name, cursor, limit: scan ? 200 : f.limit });
    for (const job of res.jobs) {
      if (f.group !== undefined && job.group !== f.group) continue;
      if (text !== undefined && !job.id.toLowerCase().includes(text)) continue;
      rows.push(jobRow(job));
    }
    cursor = res.cursor;
    if (cursor === undefined || rows.length >= f.limit) break;
  }
  return { jobs: rows, cursor: cursor ?? null };
}

/** The errors kept per attempt, oldest first, with ISO times. */
function attemptsView(job: Job) {
  return job.errors.map((e) => ({
    attempt: e.attempt, at: e.at.toISOString(), name: e.name, message: e.message, code: e.code ?? null, stack: e.stack ?? null,
  }));
}

/** One job in full: payload, result, missing parts, errors per attempt, lease and the timeline known to this handler. */
export async function detailView(queue: JobQueue, job: Job, feed: LiveFeed | undefined) {
  const raw = await queueInternals(queue).call('get', job.id, () => queue.backend.get(job.id));
  const now = queue.now();
  const leaseUntil = job.state === 'active' && raw?.leaseUntil !== undefined ? raw.leaseUntil : undefined;
  const timeline: Array<{ at: string; what: string; detail?: string }> = [{ at: job.createdAt.toISOString(), what: 'created' }];
  if (job.startedAt) timeline.push({ at: job.startedAt.toISOString(), what: `attempt ${job.attempts} started` });
  for (const e of feed?.jobEvents(job.id) ?? []) {
    const d = e.data as { state?: string; attempts?: number; error?: { name?: string; message?: string }; missing?: string[] };
    const detail = d.error ? `${d.error.name ?? 'Error'}: ${d.error.message ?? ''}` : d.missing?.length ? `missing ${d.missing.join(', ')}` : undefined;
    timeline.push({ at: new Date(e.ts).toISOString(), what: `${d.state ?? '?'} (attempt ${d.attempts ?? '?'})`, ...(detail ? { detail } : {}) });
  }
  if (job.finishedAt) timeline.push({ at: job.finishedAt.toISOString(), what: job.state });
  timeline.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return {
    ...jobRow(job),
    payload: job.payload, result: job.result ?? null, hasResult: job.result !== undefined, missing: job.missing,
    error: job.error ?? null, errors: attemptsView(job), priority: job.priority, timeoutMs: job.timeoutMs,
    createdAt: job.createdAt.toISOString(), startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null, retryUntil: job.retryUntil?.toISOString() ?? null,
    nextRunAt: PENDING.has(job.state) ? job.runAt.toISOString() : null,
    lease: leaseUntil === undefined ? null : { until: new Date(leaseUntil).toISOString(), lapsed: leaseUntil < now, holder: raw?.leaseToken?.slice(0, 8) ?? null },
    timeline,
    actions: {
      retry: ['failed', 'cancelled', 'partial'].includes(job.state),
      cancel: ['waiting', 'delayed', 'partial', 'active'].includes(job.state),
      run: job.state === 'delayed' || (job.state === 'partial' && job.runAt.getTime() > now),
      remove: job.state !== 'active' && typeof queue.backend.remove === 'function',
    },
  };
}

/** Schedules registered on this queue object, with their next slots. */
export function schedulesView(queue: JobQueue) {
  return queue.schedules(3).map((s) => ({ ...s, next: s.next.map((d) => d.toISOString()) }));
}

/** Limits stored for the fleet, each with the jobs of its name running now (slots in use). */
export async function limitsView(queue: JobQueue) {
  const limits = await optional(() => queue.getLimits());
  if (!limits) return null;
  const names = Object.keys(limits);
  const counts = await Promise.all(names.map((n) => optional(() => queue.counts(n))));
  return names.map((name, i) => ({ name, ...limits[name], active: counts[i]?.active ?? null }));
}
