import type { StoredJob } from '../../src/jobs/backend.js';
import type { CompleteCall } from '../../src/jobs/claim-ahead-completions.js';
import { toStored } from './job-rows.js';

/**
 * Write one batch of completions: `job_complete_many`, or `job_complete_claim` when the batch also
 * claims the worker's next jobs ahead (one statement, one commit). Returns a flag per completion
 * (1 = accepted: its lease was still valid) and the jobs claimed ahead.
 */
export async function sendCompletions(
  query: (text: string, params: unknown[]) => Promise<{ rows: any[] }>, s: string, call: CompleteCall,
): Promise<{ flags: number[]; refilled: StoredJob[] }> {
  // Sorted by id: concurrent batches then lock their rows in the same order.
  const items = [...call.items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const arrays = [items.map((c) => c.id), items.map((c) => c.token), items.map((c) => c.result), call.now];
  const accepted = new Set<string>();
  const refilled: StoredJob[] = [];
  const r = call.refill;
  if (r) {
    const { rows } = await query(
      `SELECT r.done_id, r.done_token, (r.job).* FROM ${s}.job_complete_claim($1::text[], $2::text[], $3::text[], $4::float8, $5::text[], $6::int, $7::float8, $8, $9::float8) AS r`,
      [...arrays, r.shape.names, r.limit, r.shape.maxTimeoutMs, r.token, r.shape.leaseMs],
    );
    for (const row of rows as Array<Record<string, unknown>>) {
      if (row.done_id !== null) accepted.add(`${String(row.done_id)}\u0000${String(row.done_token)}`);
      else refilled.push(toStored(row));
    }
  } else {
    const { rows } = await query(`SELECT id, token FROM ${s}.job_complete_many($1::text[], $2::text[], $3::text[], $4::float8)`, arrays);
    for (const row of rows as Array<{ id: string; token: string }>) accepted.add(`${row.id}\u0000${row.token}`);
  }
  return { flags: call.items.map((c) => (accepted.has(`${c.id}\u0000${c.token}`) ? 1 : 0)), refilled };
}
