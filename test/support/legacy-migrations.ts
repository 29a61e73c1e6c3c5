/**
 * The migrations of development builds before the 0.x baseline (001–009), frozen in
 * test/fixtures/legacy-migrations/, applied the way migrate() applied them then. Tests use them to
 * build the schemas such builds left behind: to prove the baseline (001–004) builds the same schema,
 * and that migrate() refuses a pre-baseline schema.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { withTransaction, type PgQueryable } from '../../adapters/postgres/client.js';

const DIR = new URL('../fixtures/legacy-migrations/', import.meta.url);

/** The legacy migrations, in order. */
export const legacyMigrations: ReadonlyArray<{ version: number; name: string; sql: string }> = readdirSync(DIR)
  .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
  .sort()
  .map((f) => ({ version: Number(f.slice(0, 3)), name: f.slice(4, -4), sql: readFileSync(new URL(f, DIR), 'utf8') }));

/**
 * Apply legacy migrations 001…`upTo` to `schema` as migrate() did: the same bootstrap (schema and
 * migrations table), then each migration in its own transaction, recorded in `<schema>.migrations`.
 */
export async function applyLegacyMigrations(client: PgQueryable, schema: string, upTo = 9): Promise<void> {
  const q = `"${schema}"`;
  await withTransaction(client, (tx) => tx.exec(`CREATE SCHEMA IF NOT EXISTS ${q};
    CREATE TABLE IF NOT EXISTS ${q}.migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    );
    ALTER TABLE ${q}.migrations ENABLE ROW LEVEL SECURITY;
    REVOKE ALL ON ${q}.migrations FROM PUBLIC;`));
  for (const m of legacyMigrations.filter((x) => x.version <= upTo)) {
    await withTransaction(client, async (tx) => {
      await tx.exec(m.sql.replaceAll('{{schema}}', q));
      await tx.query(`INSERT INTO ${q}.migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
    });
  }
}

/**
 * Apply the baseline's own migrations 001–004 (adapters/postgres/sql) to `schema`, the same way:
 * migrate() also applies every later migration, which the legacy set never had.
 */
export async function applyBaselineMigrations(client: PgQueryable, schema: string, current: ReadonlyArray<{ version: number; name: string; sql: string }>): Promise<void> {
  const q = `"${schema}"`;
  await applyLegacyMigrations(client, schema, 0);
  for (const m of current.filter((x) => x.version <= 4)) {
    await withTransaction(client, async (tx) => {
      await tx.exec(m.sql.replaceAll('{{schema}}', q));
      await tx.query(`INSERT INTO ${q}.migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
    });
  }
}
