/**
 * The 0.x baseline (001_sessions … 004_rate_limit) builds exactly the schema that the nine
 * pre-baseline migrations (test/fixtures/legacy-migrations/) left behind, on Postgres with
 * Supabase's roles present and on PGlite without them; and migrate() refuses a schema such a
 * build migrated instead of calling it up to date.
 */
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, migrationSql, type PgQueryable } from '../adapters/postgres/index.js';
import { migrations } from '../adapters/postgres/sql/migrations.generated.js';
import { BackendSchemaError } from '../src/errors.js';
import { applyBaselineMigrations, applyLegacyMigrations } from './support/legacy-migrations.js';
import { catalogSnapshot } from './support/pg-catalog.js';
import { createPGlite } from './support/pglite.js';
import { DATABASE_URL, needs, uniqueName } from './support/services.js';
import { ensureSupabaseRoles } from './support/supabase-roles.js';

const withPostgres = await needs('postgres');

/**
 * Functions of the baseline that the pre-baseline migrations never had: `sync_publish` (003_sync),
 * which lets botwire/supabase publish through the Data API. Signatures as the catalog prints them.
 */
const ADDED_SINCE_LEGACY = ['{{schema}}.sync_publish(text,text[],double precision)'];

function baselineCases(label: string, open: () => Promise<{ db: PgQueryable; close(): Promise<void> }>): void {
  describe(label, () => {
    let db: PgQueryable;
    let close: () => Promise<void> = async () => undefined;
    const schemas: string[] = [];
    const fresh = (base: string): string => { const s = uniqueName(base); schemas.push(s); return s; };
    const recorded = async (schema: string): Promise<string[]> =>
      (await db.query(`SELECT version, name FROM "${schema}".migrations ORDER BY version`)).rows.map((r) => `${r.version} ${r.name}`);

    beforeAll(async () => { ({ db, close } = await open()); });
    afterAll(async () => {
      for (const s of schemas) await db.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      await close();
    });

    it('has one migration per capability', () => {
      // 001–004 are the baseline; 005 and later are migrations in their own right.
      expect(migrations.map((m) => `${m.version} ${m.name}`)).toEqual(['1 sessions', '2 jobs', '3 sync', '4 rate_limit', '5 job_fleet', '6 job_remove', '7 session_inspect']);
    });

    it('builds the same schema as the pre-baseline migrations 001–009, catalog entry for catalog entry', async () => {
      const legacy = fresh('bw_legacy');
      const baseline = fresh('bw_baseline');
      await applyLegacyMigrations(db, legacy);
      await applyBaselineMigrations(db, baseline, migrations);
      expect(await recorded(baseline)).toEqual(['1 sessions', '2 jobs', '3 sync', '4 rate_limit']);
      const before = await catalogSnapshot(db, legacy);
      const after = await catalogSnapshot(db, baseline);
      // The one deliberate difference: functions the baseline gained after the legacy set was frozen,
      // each compared on its own below and then left out of the catalog-for-catalog comparison.
      const added = after.functions.filter((f: any) => ADDED_SINCE_LEGACY.some((sig) => f.signature === sig));
      expect(added.map((f: any) => f.signature)).toEqual(ADDED_SINCE_LEGACY);
      expect(added.map((f: any) => [f.provolatile, f.prosecdef, f.proconfig, f.acl])).toEqual(added.map(() =>
        ['v', false, null, after.functions.find((f: any) => f.signature === '{{schema}}.sync_spill(text,text,double precision)').acl]));
      after.functions = after.functions.filter((f: any) => !added.includes(f));
      // Guard against comparing two empty answers: each part holds what the schema must have.
      expect(after.functions).toHaveLength(34);
      expect(after.relations.map((r: any) => r.relname)).toEqual(expect.arrayContaining(
        ['sessions', 'session_leases', 'jobs', 'job_waiters', 'job_ahead_returns', 'sync_spill', 'rate_limits', 'migrations',
          'jobs_runnable_idx', 'jobs_seq_seq', 'sync_spill_id_seq']));
      expect(after.relations.find((r: any) => r.relname === 'session_leases')).toMatchObject({ relpersistence: 'u', relrowsecurity: true });
      expect(after.relations.find((r: any) => r.relname === 'jobs').reloptions).toContain('autovacuum_vacuum_scale_factor=0.02');
      expect(after.functions.find((f: any) => f.signature.includes('.job_claim(')).proconfig).toEqual(['enable_bitmapscan=off']);
      expect(after.indexes.map((i: any) => i.def).join('\n')).toMatch(/WHERE \(state = ANY/);
      for (const part of Object.keys(before) as Array<keyof typeof before>) {
        expect(after[part], part).toEqual(before[part]);
      }
    });

    it('refuses a schema migrated by 001–009 with BackendSchemaError that says what to do, and changes nothing', async () => {
      const legacy = fresh('bw_pre');
      await applyLegacyMigrations(db, legacy);
      const snapshot = await catalogSnapshot(db, legacy);
      const err = await migrate(db, { schema: legacy }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendSchemaError);
      expect((err as Error).message).toContain(`DROP SCHEMA "${legacy}" CASCADE`);
      expect((err as Error).message).toContain('npx botwire migrate --schema <new>');
      expect(await recorded(legacy)).toEqual(['1 sessions', '2 jobs', '3 sync', '4 rate_limit', '5 job_claim_ahead',
        '6 session_leases', '7 session_batches', '8 lockdown', '9 job_ahead']);
      expect(await catalogSnapshot(db, legacy)).toEqual(snapshot);
    });

    it('refuses a schema a pre-baseline build left at 001–004 (same versions and names as the baseline)', async () => {
      const legacy = fresh('bw_pre4');
      await applyLegacyMigrations(db, legacy, 4);
      await expect(migrate(db, { schema: legacy })).rejects.toBeInstanceOf(BackendSchemaError);
      expect(await recorded(legacy)).toEqual(['1 sessions', '2 jobs', '3 sync', '4 rate_limit']);
    });

    it('the printed SQL refuses a pre-baseline schema too, inside its transaction', async () => {
      const legacy = fresh('bw_prep');
      await applyLegacyMigrations(db, legacy);
      const snapshot = await catalogSnapshot(db, legacy);
      const sql = migrationSql({ schema: legacy });
      const run = (db as { exec?: (s: string) => Promise<unknown> }).exec?.bind(db) ?? ((s: string) => db.query(s));
      await expect(run(sql)).rejects.toThrow(/before its 0\.x baseline/);
      // pg leaves a failed script's transaction open on its connection; PGlite rolls it back.
      await db.query('ROLLBACK').catch(() => undefined);
      expect(await catalogSnapshot(db, legacy)).toEqual(snapshot);
      // A schema the baseline migrated passes the same check.
      const ok = fresh('bw_okp');
      await migrate(db, { schema: ok });
      await run(migrationSql({ schema: ok }));
      expect(await recorded(ok)).toEqual(['1 sessions', '2 jobs', '3 sync', '4 rate_limit', '5 job_fleet', '6 job_remove', '7 session_inspect']);
    });
  });
}

baselineCases('PGlite (no Supabase roles)', async () => {
  const db: PGlite = await createPGlite();
  return { db, close: () => db.close() };
});

describe.runIf(withPostgres)('Postgres', () => {
  baselineCases('with anon, authenticated and service_role present', async () => {
    // One connection: the printed script's failed transaction must be rolled back on the same one.
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await ensureSupabaseRoles(client);
    return { db: client, close: () => client.end() };
  });
});
