import type { StoredJob } from '../../src/jobs/backend.js';
import type { CompleteCall } from '../../src/jobs/claim-ahead-completions.js';
import { toStored } from './job-rows.js';

/**
 * Write one call of a worker: `job_complete_many` for bare completions, else `job_worker_batch`,
 * which also records the starts of begun runs and claims jobs (ahead, or the worker's own claim)
 * without a start (one statement, one commit). Returns a flag per completion (1 = accepted: its
 * lease was still valid) and the jobs claimed.
 */
export async function sendCompletions(
  query: (text: string, params: unknown[]) => Promise<{ rows: any[] }>, s: string, call: CompleteCall, waiter?: string,
): Promise<{ flags: number[]; refilled: StoredJob[] }> {
  // Sorted by id: concurrent batches then lock their rows in the same order.
  const items = [...call.items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const arrays = [items.map((c) => c.id), items.map((c) => c.token), items.map((c) => c.result), call.now];
  const accepted = new Set<string>();
  const refilled: StoredJob[] = [];
  const r = call.refill;
  if (r || call.started.length) {
    const started = [...call.started].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const { rows } = await query(
      `SELECT r.done_id, r.done_token, (r.job).* FROM ${s}.job_worker_batch($1::text[], $2::text[], $3::text[], $4::float8, `
        + '$5::text[], $6::text[], $7::float8[], $8::text[], $9::int, $10::float8, $11, $12::float8, $13) AS r',
      [...arrays, started.map((m) => m.id), started.map((m) => m.token), started.map((m) => m.at),
        r?.shape.names ?? [], r?.limit ?? 0, r?.shape.maxTimeoutMs ?? 0, r?.token ?? '', r?.shape.leaseMs ?? 0, waiter ?? null],
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
