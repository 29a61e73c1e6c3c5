import type { JobState, StoredJob } from '../../src/jobs/backend.js';

/**
 * Decoding of the job hashes the job scripts return (HGETALL as a flat field/value array).
 * Field names are short because every job carries them: see adapters/redis/lua/job-lib.ts.
 */
export function decodeJob(flat: unknown): StoredJob | undefined {
  if (!Array.isArray(flat) || flat.length === 0) return undefined;
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[String(flat[i])] = String(flat[i + 1]);
  const num = (k: string): number => Number(h[k] ?? 0);
  const opt = (k: string): number | undefined => (h[k] === undefined ? undefined : Number(h[k]));
  return {
    id: h.id!,
    name: h.n!,
    state: h.s as JobState,
    payload: h.p ?? 'null',
    priority: num('pr'),
    runAt: num('ra'),
    attempts: num('at'),
    maxAttempts: num('ma'),
    backoff: h.bo ?? '{}',
    timeoutMs: num('to'),
    retryUntil: opt('ru'),
    progress: num('pg'),
    progressMessage: h.pm,
    result: h.r,
    missing: h.m,
    error: h.e,
    leaseToken: h.lt,
    leaseUntil: opt('lu'),
    createdAt: num('ca'),
    updatedAt: num('ua'),
    startedAt: opt('sa'),
    finishedAt: opt('fa'),
  };
}

/** Decode an array of HGETALL arrays, dropping empty ones (a job deleted meanwhile). */
export function decodeJobs(rows: unknown): StoredJob[] {
  const out: StoredJob[] = [];
  if (Array.isArray(rows)) for (const row of rows) { const job = decodeJob(row); if (job) out.push(job); }
  return out;
}
