/**
 * One migrated botwire schema per test file (or per describe block): on the shared Postgres server
 * through a `pg.Pool` of its own, or on a fresh embedded PGlite: the pool, unique schema name,
 * migrate and DROP SCHEMA every Postgres test file needs, in one place.
 */
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { migrate } from '../../adapters/postgres/migrate.js';
import { createPGlite } from './pglite.js';
import { DATABASE_URL, uniqueName } from './services.js';

/** A migrated schema and the client that reaches it. */
export interface PgSchema<C> {
  /** The pool on the shared server, or the PGlite instance. */
  client: C;
  /** The schema's (unique) name, unquoted. */
  schema: string;
  /** Postgres: drop the schema and end the pool. PGlite: close the instance. Safe to call twice. */
  drop(): Promise<void>;
}

interface PgSchemaOptions {
  /** Pool size on the shared server. @default 10 (pg's default) */
  max?: number;
}

/**
 * Run `migrate()` on a new schema: on the shared server named `uniqueName(base)`, so that files
 * running at once never meet; on PGlite (an instance of its own) named `base` itself.
 *
 * @example
 * ```ts
 * let db: PgSchema<pg.Pool>;
 * beforeAll(async () => { db = await withPgSchema('bw_jobs', { max: 8 }); });
 * afterAll(() => db?.drop());
 * ```
 */
export async function withPgSchema(base: string, options?: PgSchemaOptions): Promise<PgSchema<pg.Pool>>;
export async function withPgSchema(base: string, options: { pglite: true }): Promise<PgSchema<PGlite>>;
export async function withPgSchema(base: string, options: PgSchemaOptions & { pglite?: true } = {}): Promise<PgSchema<pg.Pool | PGlite>> {
  let dropped = false;
  if (options.pglite) {
    const schema = base;
    const db = await createPGlite();
    await migrate(db, { schema });
    return { client: db, schema, drop: async () => { if (!dropped) { dropped = true; await db.close(); } } };
  }
  const schema = uniqueName(base);
  const pool = new pg.Pool({ connectionString: DATABASE_URL, ...(options.max === undefined ? {} : { max: options.max }) });
  // pg emits errors of idle connections on the pool (e.g. after pg_terminate_backend): without a
  // listener they would crash the test process.
  pool.on('error', () => undefined);
  try {
    await migrate(pool, { schema });
  } catch (err) {
    await pool.end();
    throw err;
  }
  const drop = async (): Promise<void> => {
    if (dropped) return;
    dropped = true;
    try {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await pool.end();
    }
  };
  return { client: pool, schema, drop };
}
