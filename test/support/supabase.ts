/**
 * A migrated botwire schema on the shared Postgres, exposed through the PostgREST double, with a
 * supabase-js client on the service-role key: what every botwire/supabase test starts from.
 * Everything behind the double is real (Postgres, Supabase's roles, botwire's migrations).
 */
import pg from 'pg';
import type { SupabaseClient } from '@supabase/supabase-js';
import { migrate } from '../../adapters/postgres/migrate.js';
import { DATABASE_URL, uniqueName } from './services.js';
import { ensureSupabaseRoles, startPostgrest, supabaseClientFor, type PostgrestDouble } from './postgrest.js';

/** A schema behind the double. */
export interface SupabaseSetup {
  /** The double; its `requests` counts every HTTP request. */
  double: PostgrestDouble;
  /** supabase-js on the service-role key, `db.schema` = the schema. */
  client: SupabaseClient<any, any, any>;
  /** A direct pool on the same database (for checks, and for postgres adapters beside supabase ones). */
  pool: pg.Pool;
  /** The schema's unique name. */
  schema: string;
  /** Stop the double, drop the schema, end the pool. */
  drop(): Promise<void>;
}

/**
 * Migrate `uniqueName(base)` and expose it through a new double. `poolSize`: the double's pool;
 * `max`: the direct pool's.
 */
export async function withSupabase(base: string, options: { poolSize?: number; max?: number } = {}): Promise<SupabaseSetup> {
  const schema = uniqueName(base);
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: options.max ?? 4 });
  // Errors of idle connections (pg_terminate_backend in a test) must not crash the process.
  pool.on('error', () => undefined);
  let double: PostgrestDouble | undefined;
  const drop = async (): Promise<void> => {
    try {
      await double?.close();
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => pool.end());
    }
  };
  try {
    // The roles first: the migration's lockdown grants service_role only when it exists.
    await ensureSupabaseRoles(async (text) => pool.query(text));
    await migrate(pool, { schema });
    double = await startPostgrest({ databaseUrl: DATABASE_URL, schemas: [schema], poolSize: options.poolSize ?? 10, createRoles: false });
  } catch (err) {
    await drop();
    throw err;
  }
  return { double, client: supabaseClientFor(double, double.serviceKey, { schema }), pool, schema, drop };
}
