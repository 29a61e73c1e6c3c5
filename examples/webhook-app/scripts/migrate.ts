/**
 * Create or update botwire's tables, once per deploy (never on the request path):
 *
 *   DATABASE_URL=postgres://… [BOTWIRE_SCHEMA=botwire] npx tsx scripts/migrate.ts
 *
 * For Supabase, print the SQL instead and run it as a migration: `npx botwire migrate --print`.
 */
import pg from 'pg';
import { migrate } from 'botwire/postgres';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('set DATABASE_URL (embedded PGlite migrates itself when the app starts)');
  process.exit(2);
}
const pool = new pg.Pool({ connectionString: url, max: 1 });
try {
  const result = await migrate(pool, { schema: process.env.BOTWIRE_SCHEMA });
  console.log(`schema ${result.schema} at version ${result.version}; applied: ${result.applied.map((m) => m.name).join(', ') || 'nothing new'}`);
} finally {
  await pool.end();
}
