/**
 * vitest globalSetup: boot PGlite once per run and dump its fresh data directory, so every test
 * file that needs an embedded Postgres loads the dump (~0.75 s) instead of initialising a new
 * cluster (~5 s, far more on a loaded 2-core machine). The dump is an empty, unmigrated cluster:
 * each file still runs its own migrate(), exactly as with `new PGlite()`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLITE_BASE_DUMP } from './pglite.js';

export default async function setup(): Promise<void> {
  const db = await PGlite.create();
  const dump = await db.dumpDataDir('gzip');
  mkdirSync(new URL('.', PGLITE_BASE_DUMP), { recursive: true });
  writeFileSync(PGLITE_BASE_DUMP, new Uint8Array(await dump.arrayBuffer()));
  await db.close();
}
