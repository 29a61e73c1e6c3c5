import type { JobState, StoredJob } from 'botwire/jobs';

/** Row decoding shared by the Postgres job backend's statements. */

export const n = (v: unknown): number => Number(v);
const opt = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));
const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

/** A `jobs` row (snake_case, numbers possibly as strings) → the backend record. */
export function toStored(r: Record<string, unknown>): StoredJob {
  return {
    id: String(r.id), name: String(r.name), state: r.state as JobState, payload: String(r.payload),
    priority: n(r.priority), runAt: n(r.run_at), attempts: n(r.attempts), maxAttempts: n(r.max_attempts),
    backoff: String(r.backoff), timeoutMs: n(r.timeout_ms), retryUntil: opt(r.retry_until),
    progress: n(r.progress), progressMessage: str(r.progress_message), result: str(r.result), missing: str(r.missing),
    error: str(r.error), leaseToken: str(r.lease_token), leaseUntil: opt(r.lease_until),
    createdAt: n(r.created_at), updatedAt: n(r.updated_at), startedAt: opt(r.started_at), finishedAt: opt(r.finished_at),
    ...(r.job_group === null || r.job_group === undefined ? {} : { group: String(r.job_group) }),
  };
}
