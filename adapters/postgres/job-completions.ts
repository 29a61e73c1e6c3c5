import type { StoredJob } from 'botwire/jobs';
import type { WorkerBatch, WorkerBatchResult } from 'botwire/adapter-kit';
import { claimedJobs } from './job-fleet.js';

/**
 * Write one worker batch: `job_complete_many` for bare completions, else `job_worker_batch`, which
 * also records the starts of begun runs and claims jobs (ahead, or the worker's own claim) without
 * a start (one statement, one commit). Returns a flag per completion (1 = accepted: its lease was
 * still valid) and the jobs claimed. `waiter` registers a worker's own short claim as idle.
 */
export async function sendWorkerBatch(
  query: (text: string, params: unknown[]) => Promise<{ rows: any[] }>, s: string, call: WorkerBatch, waiter: string | undefined,
): Promise<WorkerBatchResult> {
  // Sorted by id: concurrent batches then lock their rows in the same order.
  const items = [...call.completions].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const arrays = [items.map((c) => c.id), items.map((c) => c.token), items.map((c) => c.result), call.now];
  const accepted = new Set<string>();
  let jobs: StoredJob[] = [];
  let hint: Pick<WorkerBatchResult, 'heldBack' | 'retryAt'> = {};
  const r = call.claim;
  if (r || call.started.length) {
    const started = [...call.started].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const { rows } = await query(
      `SELECT r.done_id, r.done_token, (r.job).*, r.held_back, r.retry_at FROM ${s}.job_worker_batch($1::text[], $2::text[], `
        + '$3::text[], $4::float8, $5::text[], $6::text[], $7::float8[], $8::text[], $9::int, $10::float8, $11, $12::float8, $13, '
        + '$14::int, $15) AS r',
      [...arrays, started.map((m) => m.id), started.map((m) => m.token), started.map((m) => m.at),
        r?.names ?? [], r?.limit ?? 0, r?.maxTimeoutMs ?? 0, r?.token ?? '', r?.leaseMs ?? 0, waiter ?? null,
        r?.groupConcurrency ?? null, r?.ahead === true],
    );
    const claimed: Array<Record<string, unknown>> = [];
    for (const row of rows as Array<Record<string, unknown>>) {
      if (row.done_id !== null) accepted.add(`${String(row.done_id)}\u0000${String(row.done_token)}`);
      else claimed.push(row);
    }
    const taken = claimedJobs(claimed);
    jobs = taken;
    if (taken.heldBack) hint = { heldBack: true, ...(taken.retryAt === undefined ? {} : { retryAt: taken.retryAt }) };
  } else {
    const { rows } = await query(`SELECT id, token FROM ${s}.job_complete_many($1::text[], $2::text[], $3::text[], $4::float8)`, arrays);
    for (const row of rows as Array<{ id: string; token: string }>) accepted.add(`${row.id}\u0000${row.token}`);
  }
  return { flags: call.completions.map((c) => (accepted.has(`${c.id}\u0000${c.token}`) ? 1 : 0)), jobs: [...jobs], ...hint };
}
