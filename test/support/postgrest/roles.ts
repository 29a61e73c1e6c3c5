/**
 * Supabase's API roles, as its initial schema creates them (supabase/postgres,
 * migrations/db/init-scripts/00000000000000-initial-schema.sql):
 *
 *   create role anon          nologin noinherit;
 *   create role authenticated nologin noinherit;
 *   create role service_role  nologin noinherit bypassrls;
 *   create user authenticator noinherit;            -- PostgREST logs in as this one
 *   grant anon, authenticated, service_role to authenticator;
 *
 * Roles are cluster-wide and other test files create anon/authenticated/service_role too, so this is
 * idempotent and race-tolerant: a role is created when missing, altered only when its attributes
 * differ, and concurrent creators are retried rather than failed.
 */
import type { SqlQuery } from './database.js';

/** The login role the double connects as and switches from, like PostgREST on Supabase. */
export const AUTHENTICATOR = 'authenticator';

const ROLES_SQL = `DO $$
DECLARE
  v record;
BEGIN
  FOR v IN SELECT * FROM (VALUES
      ('anon', false, false, false),
      ('authenticated', false, false, false),
      ('service_role', false, false, true),
      ('${AUTHENTICATOR}', true, false, false)
    ) AS t(name, login, inherit, bypassrls)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v.name) THEN
      BEGIN
        EXECUTE pg_catalog.format('CREATE ROLE %I', v.name);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v.name
                     AND rolcanlogin = v.login AND rolinherit = v.inherit AND rolbypassrls = v.bypassrls) THEN
      EXECUTE pg_catalog.format('ALTER ROLE %I %s %s %s', v.name,
        CASE WHEN v.login THEN 'LOGIN' ELSE 'NOLOGIN' END,
        CASE WHEN v.inherit THEN 'INHERIT' ELSE 'NOINHERIT' END,
        CASE WHEN v.bypassrls THEN 'BYPASSRLS' ELSE 'NOBYPASSRLS' END);
    END IF;
  END LOOP;
  FOR v IN SELECT unnest(ARRAY['anon', 'authenticated', 'service_role']) AS name LOOP
    IF NOT pg_catalog.pg_has_role('${AUTHENTICATOR}', v.name, 'MEMBER') THEN
      EXECUTE pg_catalog.format('GRANT %I TO %I', v.name, '${AUTHENTICATOR}');
    END IF;
  END LOOP;
END $$`;

/**
 * Creates (or brings to Supabase's attributes) anon, authenticated, service_role and the
 * authenticator login role. `query` must run as a role that may create roles (a superuser).
 */
export async function ensureSupabaseRoles(query: SqlQuery): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await query(ROLES_SQL);
      return;
    } catch (err) {
      // "tuple concurrently updated" (XX000) or a lost creation race (23505, 42710) in another test file.
      const code = (err as { code?: string }).code;
      if (attempt >= 5 || !['XX000', '23505', '42710', '40001', '40P01'].includes(code ?? '')) throw err;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}
