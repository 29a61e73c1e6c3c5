import type { PgQueryable } from '../../adapters/postgres/client.js';

/** Empty every job and fleet table of `schema` (quoted or not), and put the lane rotation back at its start. */
export async function resetFleet(db: PgQueryable, schema: string): Promise<void> {
  const s = schema.startsWith('"') ? schema : `"${schema}"`;
  await db.query(`TRUNCATE ${s}.jobs, ${s}.job_counts, ${s}.job_limits, ${s}.job_starts, ${s}.job_debounce, ${s}.job_waiters, ${s}.semaphore_holders`);
  await db.query(`DELETE FROM ${s}.job_lanes WHERE grp <> ''`);
  await db.query(`UPDATE ${s}.job_lanes SET turn = 0`);
}
