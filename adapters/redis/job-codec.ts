import type { JobState, NewJob, StoredJob } from 'botwire/jobs';

/**
 * Decoding of the job rows the job scripts return: HMGET of JOB_ROW_FIELDS
 * (adapters/redis/lua/job-lib.ts) in that order, nil for fields a job does not have.
 */
export function decodeJob(row: unknown): StoredJob | undefined {
  if (!Array.isArray(row) || row[0] == null) return undefined;
  const v = row as Array<string | number | null>;
  const str = (i: number): string | undefined => (v[i] == null ? undefined : String(v[i]));
  const num = (i: number): number => Number(v[i] ?? 0);
  // '' too: a job claimed ahead has no start time yet (see lua/job-claim-lib.ts).
  const opt = (i: number): number | undefined => (v[i] == null || v[i] === '' ? undefined : Number(v[i]));
  const job: StoredJob = {
    id: String(v[0]),
    name: String(v[1]),
    state: v[2] as JobState,
    payload: str(3) ?? 'null',
    priority: num(4),
    runAt: num(5),
    attempts: num(6),
    maxAttempts: num(7),
    backoff: str(8) ?? '{}',
    timeoutMs: num(9),
    retryUntil: opt(10),
    progress: num(11),
    progressMessage: str(12),
    result: str(13),
    missing: str(14),
    error: str(15),
    leaseToken: str(16),
    leaseUntil: opt(17),
    createdAt: num(18),
    updatedAt: num(19),
    startedAt: opt(20),
    finishedAt: opt(21),
  };
  if (v[23] != null) job.group = String(v[23]);
  return job;
}

/** Decode an array of rows, dropping empty ones (a job deleted meanwhile). */
export function decodeJobs(rows: unknown): StoredJob[] {
  const out: StoredJob[] = [];
  if (Array.isArray(rows)) for (const row of rows) { const job = decodeJob(row); if (job) out.push(job); }
  return out;
}

