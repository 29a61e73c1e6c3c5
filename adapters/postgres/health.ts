/**
 * The Postgres health check: one `select` of the schema version `migrate()` recorded, told apart
 * as up to date, behind (a deploy forgot `npx botwire migrate`) or missing (never migrated).
 *
 * @module
 */
import { BackendHealthError, type BackendHealth } from 'botwire/adapter-kit';
import { migrations } from './sql/migrations.generated.js';

/** The migration version this build of botwire needs. */
export const EXPECTED_VERSION = Math.max(...migrations.map((m) => m.version));

/** undefined_table, invalid_schema_name: `<schema>.migrations` does not exist. */
const MISSING = new Set(['42P01', '3F000']);
const HINT = 'Run `npx botwire migrate --database-url <url>` (or `migrate(client)` from botwire/postgres) once per deploy.';

/**
 * Read `<schema>.migrations` once: resolves with `{ schemaVersion, expectedVersion }` when the schema
 * is up to date (or newer), throws `BackendHealthError` `'migrations missing'` / `'migrations behind'`.
 *
 * @param query runs one statement (the adapter's own query function)
 * @param quoted the validated, quoted schema name
 */
export async function schemaHealth(query: (text: string, params: unknown[]) => Promise<{ rows: any[] }>, quoted: string): Promise<BackendHealth> {
  let found: number;
  try {
    const { rows } = await query(`SELECT coalesce(max(version), 0)::integer AS version FROM ${quoted}.migrations`, []);
    found = Number(rows[0]?.version ?? 0);
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && MISSING.has(code)) {
      throw new BackendHealthError('Postgres', 'migrations missing', { schemaVersion: 0, expectedVersion: EXPECTED_VERSION }, HINT);
    }
    throw err;
  }
  const details = { schemaVersion: found, expectedVersion: EXPECTED_VERSION };
  if (found === 0) throw new BackendHealthError('Postgres', 'migrations missing', details, HINT);
  if (found < EXPECTED_VERSION) throw new BackendHealthError('Postgres', 'migrations behind', details, HINT);
  return { details };
}
