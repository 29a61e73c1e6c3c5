import type { JobState, StoredJob } from 'botwire/jobs';

/** Decoding of `jobs` rows as PostgREST answers them (JSON objects, numbers as JSON numbers). */

const opt = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));
const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

/** A `jobs` row (snake_case) → the backend record. */
export function toStored(r: Record<string, unknown>): StoredJob {
  return {
    id: String(r.id), name: String(r.name), state: r.state as JobState, payload: String(r.payload),
    priority: Number(r.priority), runAt: Number(r.run_at), attempts: Number(r.attempts), maxAttempts: Number(r.max_attempts),
    backoff: String(r.backoff), timeoutMs: Number(r.timeout_ms), retryUntil: opt(r.retry_until),
    progress: Number(r.progress), progressMessage: str(r.progress_message), result: str(r.result), missing: str(r.missing),
    error: str(r.error), leaseToken: str(r.lease_token), leaseUntil: opt(r.lease_until),
    createdAt: Number(r.created_at), updatedAt: Number(r.updated_at), startedAt: opt(r.started_at), finishedAt: opt(r.finished_at),
    ...(r.job_group === null || r.job_group === undefined ? {} : { group: String(r.job_group) }),
  };
}
