import type { AddResult, JobBackend, NewJob } from './backend.js';

/** Most jobs in one `JobBackend.addMany` call. */
export const ADD_MANY_CHUNK = 500;
/**
 * Most payload text (UTF-16 code units, ≈ bytes for ASCII JSON) in one call: keeps one Lua script
 * argument list or SQL statement far below server limits (Redis `proto-max-bulk-len`, Postgres'
 * 1 GB message) and one call's server time short.
 */
export const ADD_MANY_CHARS = 1_048_576;

type Call = <R>(operation: string, subject: string | undefined, run: () => Promise<R>) => Promise<R>;

/**
 * Store `jobs` (already validated) in order, one backend call per chunk; backends without the
 * `'addMany'` feature get one `add` per job. Returns one answer per job, in order.
 */
export async function addMany(backend: JobBackend, jobs: readonly NewJob[], now: number, call: Call): Promise<AddResult[]> {
  const out: AddResult[] = [];
  if (!backend.features?.includes('addMany') || !backend.addMany) {
    for (const job of jobs) out.push(await call('add', job.id, () => backend.add(job, now)));
    return out;
  }
  for (let i = 0; i < jobs.length;) {
    let end = i;
    let chars = 0;
    // At least one job per chunk, however large (add takes it alone too).
    while (end < jobs.length && end - i < ADD_MANY_CHUNK && (end === i || chars + jobs[end]!.payload.length <= ADD_MANY_CHARS)) {
      chars += jobs[end]!.payload.length;
      end++;
    }
    const chunk = jobs.slice(i, end);
    const results = await call('addMany', chunk[0]!.id, () => backend.addMany!(chunk, now));
    out.push(...results);
    i = end;
  }
  return out;
}
