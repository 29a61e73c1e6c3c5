/** One embedded Postgres per test file, started from the run's base dump (see pglite-global-setup.ts). */
import { existsSync, readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';

/** Where the global setup leaves the fresh cluster's data directory. */
export const PGLITE_BASE_DUMP = new URL('../../.tmp/pglite-base.tar.gz', import.meta.url);

/** A new, empty PGlite: from the base dump when the global setup made one, else initialised from scratch. */
export async function createPGlite(): Promise<PGlite> {
  if (!existsSync(PGLITE_BASE_DUMP)) return PGlite.create();
  const dump = readFileSync(PGLITE_BASE_DUMP);
  return PGlite.create({ loadDataDir: new Blob([new Uint8Array(dump)], { type: 'application/x-gzip' }) });
}
