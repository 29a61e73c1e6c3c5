import type { PgQueryable } from '../../adapters/postgres/client.js';

/**
 * Create Supabase's roles (anon, authenticated, service_role with BYPASSRLS) if they are missing.
 * Roles are cluster-wide: made idempotently (another test file may be making them too) and never
 * dropped (schemas of other runs may hold grants to them).
 */
export async function ensureSupabaseRoles(admin: PgQueryable): Promise<void> {
  await admin.query(`DO $$
    DECLARE v_role text;
    BEGIN
      FOREACH v_role IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        BEGIN
          EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', v_role);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
      END LOOP;
    END $$`);
  await admin.query('ALTER ROLE service_role BYPASSRLS');
}
