/**
 * vitest globalSetup: generate adapters/postgres/sql/migrations.generated.ts from the .sql files
 * and integrations/dashboard/assets.generated.ts from dashboard/ before any test file (or a process
 * a test spawns through tsx) imports them. Neither module is committed, so `npx vitest run` on a
 * fresh clone works without `npm run gen` first.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  for (const script of ['gen-sql.mjs', 'build-dashboard.mjs']) {
    execFileSync(process.execPath, [fileURLToPath(new URL(`../../scripts/${script}`, import.meta.url))], { stdio: 'inherit' });
  }
}
