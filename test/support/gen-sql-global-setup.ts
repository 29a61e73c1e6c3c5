/**
 * vitest globalSetup: generate adapters/postgres/sql/migrations.generated.ts from the .sql files
 * before any test file (or a process a test spawns through tsx) imports the Postgres adapter. The
 * module is not committed, so `npx vitest run` on a fresh clone works without `npm run gen` first.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/gen-sql.mjs', import.meta.url))], { stdio: 'inherit' });
}
