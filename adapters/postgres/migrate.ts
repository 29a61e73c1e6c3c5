import { BackendSchemaError, classifyBackendError } from 'botwire/adapter-kit';
import { POSTGRES } from './errors.js';
import { withTransaction, type PgQueryable, type SqlRunner } from './client.js';
import { DEFAULT_SCHEMA, quoteSchema } from './identifier.js';
import { migrations, type Migration } from './sql/migrations.generated.js';

/** Options of {@link migrate} and {@link migrationSql}. */
export interface MigrateOptions {
  /**
   * Schema that holds botwire's tables and functions, and nothing else. Validated: lower-case
   * letters, digits and `_`; `public`, `information_schema`, `pg_catalog`, `pg_toast` and every
   * `pg_*` name are refused (`BotwireConfigError`), because the migrations lock down what they create
   * and botwire must own its schema alone.
   * @default 'botwire'
   */
  schema?: string;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** The schema migrated. */
  schema: string;
  /** Migrations applied by this call, in order (empty when already up to date). */
  applied: Array<{ version: number; name: string }>;
  /** Highest migration version now recorded in the schema. */
  version: number;
}

// A RAISE message as a string literal: quotes doubled, and `%` (RAISE's placeholder) doubled too.
const sqlText = (text: string): string => text.replaceAll("'", "''").replaceAll('%', '%%');

function render(migration: Migration, quoted: string): string {
  return migration.sql.replaceAll('{{schema}}', quoted);
}

// Created before any numbered migration so that the record of what ran lives beside what ran.
function bootstrapSql(quoted: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quoted};
CREATE TABLE IF NOT EXISTS ${quoted}.migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE ${quoted}.migrations ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON ${quoted}.migrations FROM PUBLIC;
`;
}

// Every migrate() of the same schema queues on this lock, so concurrent cold starts never race on
// CREATE SCHEMA / CREATE TABLE (the pg_type unique-violation failure seen in other adapters).
const LOCK_SQL = 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))';
const lockKey = (schema: string): string => `botwire:migrate:${schema}`;

// Development builds before the 0.x baseline numbered their migrations 001–009; the baseline folds
// them into 001–004. A schema they migrated records 005–009 under these names or, if it stopped
// before 006, still has the lease columns on `sessions`. Its 001–004 are not the baseline's, and
// nothing here can turn one into the other, so migrate refuses it instead of calling it up to date.
const PRE_BASELINE = [[5, 'job_claim_ahead'], [6, 'session_leases'], [7, 'session_batches'], [8, 'lockdown'], [9, 'job_ahead']] as const;

/** A boolean SQL expression: true when the schema was migrated by a pre-baseline build. */
function preBaselineSql(quoted: string): string {
  const pairs = PRE_BASELINE.map(([version, name]) => `(${version}, '${name}')`).join(', ');
  return `EXISTS (SELECT 1 FROM ${quoted}.migrations AS m WHERE (m.version, m.name) IN (${pairs}))
  OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute AS a WHERE a.attrelid = pg_catalog.to_regclass('${quoted}.sessions')
              AND a.attname = 'lease_token' AND NOT a.attisdropped)`;
}

function preBaselineMessage(schema: string): string {
  return `schema "${schema}" was migrated by a development build of botwire from before its 0.x baseline ` +
    '(its migrations table records 005–009, or its sessions table still has lease columns). The baseline ' +
    'migrations 001–004 cannot upgrade it in place, and no published version used the old ones. Drop it and ' +
    `migrate again (DROP SCHEMA "${schema}" CASCADE, then \`npx botwire migrate --schema ${schema}\`; this deletes ` +
    'its sessions, jobs and rate-limit counters), or migrate a new schema (`npx botwire migrate --schema <new>`) ' +
    'and pass that schema to botwire.';
}

async function appliedVersions(tx: SqlRunner, quoted: string): Promise<Set<number>> {
  const { rows } = await tx.query(`SELECT version FROM ${quoted}.migrations`);
  return new Set(rows.map((r: { version: unknown }) => Number(r.version)));
}

/**
 * Create or upgrade botwire's schema: applies each pending numbered migration in its own
 * transaction and records it in `<schema>.migrations`. Idempotent and safe to run from several
 * processes at once (they queue on an advisory lock). Run it once per deploy — never per request.
 * A schema migrated by a development build from before the 0.x baseline is refused with
 * `BackendSchemaError` (nothing is changed): drop it and migrate again, or use a new schema.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { migrate } from 'botwire/postgres';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool); // { schema: 'botwire', applied: [{ version: 1, name: 'sessions' }, …], version: 4 }
 * ```
 */
export async function migrate(client: PgQueryable, options: MigrateOptions = {}): Promise<MigrateResult> {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const quoted = quoteSchema(schema);
  const applied: MigrateResult['applied'] = [];
  try {
    let done = await withTransaction(client, async (tx) => {
      await tx.query(LOCK_SQL, [lockKey(schema)]);
      await tx.exec(bootstrapSql(quoted));
      const { rows } = await tx.query(`SELECT ${preBaselineSql(quoted)} AS stale`);
      if (rows[0]?.stale === true) throw new BackendSchemaError('Postgres', undefined, preBaselineMessage(schema));
      return appliedVersions(tx, quoted);
    });
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      done = await withTransaction(client, async (tx) => {
        await tx.query(LOCK_SQL, [lockKey(schema)]);
        // Another process may have applied it while we waited for the lock.
        const now = await appliedVersions(tx, quoted);
        if (now.has(migration.version)) return now;
        await tx.exec(render(migration, quoted));
        await tx.query(`INSERT INTO ${quoted}.migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
        applied.push({ version: migration.version, name: migration.name });
        return now.add(migration.version);
      });
    }
    return { schema, applied, version: Math.max(0, ...done) };
  } catch (err) {
    throw classifyBackendError(POSTGRES, 'migrate', err);
  }
}

/**
 * The complete migration script for `schema` as one SQL text, wrapped in a transaction: paste it
 * into the Supabase SQL editor (or `psql -f`) where you cannot run {@link migrate}. It records
 * what it applied exactly like `migrate()`, and running it twice is harmless.
 *
 * @example
 * ```ts
 * import { migrationSql } from 'botwire/postgres';
 * console.log(migrationSql({ schema: 'botwire' }));
 * ```
 */
export function migrationSql(options: MigrateOptions = {}): string {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const quoted = quoteSchema(schema);
  const parts = [
    `-- botwire: schema ${quoted}. Generated by \`botwire migrate --print\`; safe to run more than once.`,
    'BEGIN;',
    `SELECT pg_advisory_xact_lock(hashtextextended('${lockKey(schema)}', 0));`,
    bootstrapSql(quoted),
    `DO $$ BEGIN IF ${preBaselineSql(quoted)} THEN\n  RAISE EXCEPTION '${sqlText(`botwire: ${preBaselineMessage(schema)}`)}';\nEND IF; END $$;`,
    '',
  ];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    const tag = `${String(migration.version).padStart(3, '0')}_${migration.name}`;
    parts.push(`-- ${tag}`, render(migration, quoted).trim(),
      `INSERT INTO ${quoted}.migrations (version, name) VALUES (${migration.version}, '${migration.name}') ON CONFLICT (version) DO NOTHING;`, '');
  }
  parts.push('COMMIT;', '');
  return parts.join('\n');
}
