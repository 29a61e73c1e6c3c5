/**
 * What a role other than botwire's owner and Supabase's service_role can do with botwire's Postgres
 * objects: nothing. Every function, table, sequence and the schema itself are checked from the
 * catalog (so objects added by later migrations are checked too), on a fresh install, on a schema
 * whose rights were handed out after it was migrated and that the printed SQL locks down again, and
 * on a schema migrated before Supabase's roles existed. Reserved schemas are refused before any
 * statement is sent.
 */
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  migrate, migrationSql, postgresJobQueue, postgresRateLimitStore, postgresSessionStore, postgresSyncTransport,
  type PgQueryable,
} from '../../adapters/postgres/index.js';
import { quoteSchema } from '../../adapters/postgres/identifier.js';
import { migrations } from '../../adapters/postgres/sql/migrations.generated.js';
import { BotwireConfigError } from '../../src/errors.js';
import { withPgSchema } from '../support/pg-schema.js';
import { createPGlite } from '../support/pglite.js';
import { DATABASE_URL, needs, uniqueName } from '../support/services.js';
import { ensureSupabaseRoles } from '../support/supabase-roles.js';

const withPostgres = await needs('postgres');

const RESERVED = ['public', 'pg_catalog', 'information_schema', 'pg_toast', 'pg_foo', 'pg_temp'];
/** Roles that must get nothing: PUBLIC itself, Supabase's client roles, a role nobody granted anything. */
const CLIENT_ROLES = ['anon', 'authenticated'];
/** Tables every botwire schema has (later migrations may add more; all are checked). */
const TABLES = ['migrations', 'sessions', 'session_leases', 'jobs', 'job_waiters', 'sync_spill', 'rate_limits', 'job_limits', 'job_counts', 'semaphore_holders'];

/** A client that records statements instead of needing a database: reserved schemas must send none. */
function recorder(): PgQueryable & { texts: string[] } {
  const texts: string[] = [];
  return { texts, query: async (text: string) => { texts.push(text); return { rows: [] }; } } as PgQueryable & { texts: string[] };
}

interface Grant { kind: string; name: string; role: string }

/**
 * Every (object, role) pair where `role` holds ANY privilege on one of the schema's functions,
 * tables, sequences or the schema itself. Roles must exist ('public' means PUBLIC).
 */
async function anyRights(db: PgQueryable, schema: string, roles: string[]): Promise<Grant[]> {
  const { rows } = await db.query(
    `SELECT 'function' AS kind, p.oid::regprocedure::text AS name, r.role
       FROM pg_catalog.pg_proc AS p, unnest($2::text[]) AS r(role)
      WHERE p.pronamespace = $1::text::regnamespace AND pg_catalog.has_function_privilege(r.role, p.oid, 'EXECUTE')
     UNION ALL
     SELECT 'table', c.relname::text, r.role
       FROM pg_catalog.pg_class AS c, unnest($2::text[]) AS r(role)
      WHERE c.relnamespace = $1::text::regnamespace AND c.relkind IN ('r', 'p')
        AND pg_catalog.has_table_privilege(r.role, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
     UNION ALL
     SELECT 'sequence', c.relname::text, r.role
       FROM pg_catalog.pg_class AS c, unnest($2::text[]) AS r(role)
      WHERE c.relnamespace = $1::text::regnamespace AND c.relkind = 'S'
        AND pg_catalog.has_sequence_privilege(r.role, c.oid, 'USAGE, SELECT, UPDATE')
     UNION ALL
     SELECT 'schema', $1::text, r.role FROM unnest($2::text[]) AS r(role)
      WHERE pg_catalog.has_schema_privilege(r.role, $1::text, 'USAGE, CREATE')
     ORDER BY 1, 2, 3`,
    [schema, roles],
  );
  return rows as Grant[];
}

/** Every (object, role) pair where `role` LACKS a right botwire's own roles need. */
async function missingRights(db: PgQueryable, schema: string, roles: string[]): Promise<Grant[]> {
  const { rows } = await db.query(
    `SELECT 'function' AS kind, p.oid::regprocedure::text AS name, r.role
       FROM pg_catalog.pg_proc AS p, unnest($2::text[]) AS r(role)
      WHERE p.pronamespace = $1::text::regnamespace AND NOT pg_catalog.has_function_privilege(r.role, p.oid, 'EXECUTE')
     UNION ALL
     SELECT 'table', c.relname::text, r.role
       FROM pg_catalog.pg_class AS c, unnest($2::text[]) AS r(role)
      WHERE c.relnamespace = $1::text::regnamespace AND c.relkind IN ('r', 'p')
        AND NOT (pg_catalog.has_table_privilege(r.role, c.oid, 'SELECT') AND pg_catalog.has_table_privilege(r.role, c.oid, 'INSERT')
             AND pg_catalog.has_table_privilege(r.role, c.oid, 'UPDATE') AND pg_catalog.has_table_privilege(r.role, c.oid, 'DELETE'))
     UNION ALL
     SELECT 'schema', $1::text, r.role FROM unnest($2::text[]) AS r(role)
      WHERE NOT pg_catalog.has_schema_privilege(r.role, $1::text, 'USAGE')
     ORDER BY 1, 2, 3`,
    [schema, roles],
  );
  return rows as Grant[];
}

/** The catalog facts every check relies on: which functions and tables exist, and how they run. */
async function inventory(db: PgQueryable, schema: string): Promise<{ functions: string[]; tables: string[]; unsafe: string[] }> {
  const functions = await db.query(
    `SELECT p.proname::text AS name, p.prosecdef, p.proconfig FROM pg_catalog.pg_proc AS p
      WHERE p.pronamespace = $1::text::regnamespace ORDER BY 1`, [schema]);
  const tables = await db.query(
    `SELECT c.relname::text AS name, c.relrowsecurity FROM pg_catalog.pg_class AS c
      WHERE c.relnamespace = $1::text::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 1`, [schema]);
  const unsafe = [
    // SECURITY DEFINER would run with the owner's rights; a search_path setting would be a second
    // way in (and cost every call: see 001's header).
    ...functions.rows
      .filter((f: { prosecdef: boolean; proconfig: string[] | null }) =>
        f.prosecdef || (f.proconfig ?? []).some((c) => c.startsWith('search_path=')))
      .map((f: { name: string }) => `function ${f.name}`),
    ...tables.rows.filter((t: { relrowsecurity: boolean }) => !t.relrowsecurity).map((t: { name: string }) => `table ${t.name} without RLS`),
  ];
  return {
    functions: functions.rows.map((f: { name: string }) => f.name),
    tables: tables.rows.map((t: { name: string }) => t.name),
    unsafe,
  };
}

describe('reserved schemas', () => {
  it('are refused by migrate, migrationSql and every adapter factory, naming the rule, before any statement', async () => {
    for (const schema of RESERVED) {
      const db = recorder();
      const err = await migrate(db, { schema }).catch((e: unknown) => e);
      expect(err, schema).toBeInstanceOf(BotwireConfigError);
      expect((err as Error).message).toMatch(/reserved/);
      expect((err as Error).message).toMatch(/must own a schema of its own/);
      expect((err as Error).message).toContain('"botwire"');
      expect(() => migrationSql({ schema }), schema).toThrow(BotwireConfigError);
      expect(() => postgresSessionStore({ client: db, schema }), schema).toThrow(BotwireConfigError);
      expect(() => postgresJobQueue({ client: db, schema }), schema).toThrow(BotwireConfigError);
      expect(() => postgresRateLimitStore({ client: db, schema }), schema).toThrow(BotwireConfigError);
      expect(() => postgresSyncTransport({ connectionString: 'postgres://nobody@127.0.0.1:1/none', schema }), schema)
        .toThrow(BotwireConfigError);
      expect(db.texts, schema).toEqual([]);
    }
  });

  it('are only those: names that merely contain "pg_" or "public" are fine', () => {
    for (const schema of ['botwire', 'bot_prod', 'public_bot', 'my_public', 'pgx', 'app_pg_sessions', '_pg']) {
      expect(quoteSchema(schema)).toBe(`"${schema}"`);
    }
  });

  describe('PGlite', () => {
    let db: PGlite;
    beforeAll(async () => { db = await createPGlite(); });
    afterAll(async () => { await db?.close(); });

    it('public is left alone: a table there that PUBLIC may read stays readable', async () => {
      await db.exec(`CREATE TABLE public.orders (id integer PRIMARY KEY);
        GRANT SELECT ON public.orders TO PUBLIC;
        CREATE FUNCTION public.order_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM public.orders';`);
      await expect(migrate(db, { schema: 'public' })).rejects.toBeInstanceOf(BotwireConfigError);
      const { rows } = await db.query<{ t: boolean; f: boolean; s: boolean }>(
        `SELECT has_table_privilege('public', 'public.orders', 'SELECT') AS t,
                has_function_privilege('public', 'public.order_count()', 'EXECUTE') AS f,
                has_schema_privilege('public', 'public', 'USAGE') AS s`);
      expect(rows[0]).toEqual({ t: true, f: true, s: true });
      expect((await db.query(`SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'sessions'`)).rows).toEqual([]);
    });

    it('a migrated schema grants PUBLIC and a fresh role nothing (no client roles on PGlite)', async () => {
      await migrate(db, { schema: 'bw_locked' });
      await db.exec('CREATE ROLE bw_nobody NOLOGIN');
      const { functions, tables, unsafe } = await inventory(db, 'bw_locked');
      expect(functions.length).toBeGreaterThanOrEqual(33);
      expect(tables).toEqual(expect.arrayContaining(TABLES));
      expect(unsafe).toEqual([]);
      expect(await anyRights(db, 'bw_locked', ['public', 'bw_nobody'])).toEqual([]);
      expect(await missingRights(db, 'bw_locked', ['postgres'])).toEqual([]);
    });
  });
});

describe('PGlite: a schema migrated before Supabase\'s roles existed', () => {
  it('gives anon and authenticated nothing, and service_role its grants once the printed SQL runs again', async () => {
    const { client: db, schema, drop } = await withPgSchema('bw_early', { pglite: true });
    try {
      await db.exec(`CREATE ROLE anon NOLOGIN; CREATE ROLE authenticated NOLOGIN; CREATE ROLE service_role NOLOGIN BYPASSRLS;`);
      expect(await anyRights(db, schema, ['public', ...CLIENT_ROLES])).toEqual([]);
      expect(await missingRights(db, schema, ['service_role'])).not.toEqual([]);
      await db.exec(migrationSql({ schema }));
      expect(await anyRights(db, schema, ['public', ...CLIENT_ROLES])).toEqual([]);
      expect(await missingRights(db, schema, ['postgres', 'service_role'])).toEqual([]);
    } finally {
      await drop();
    }
  });
});

describe.runIf(withPostgres)('Postgres privileges', () => {
  let admin: pg.Pool;
  const owner = uniqueName('bw_owner');
  const nobody = uniqueName('bw_nobody');
  const schemas: string[] = [];
  /** Everything that must hold no right at all. */
  const forbidden = (): string[] => ['public', nobody, ...CLIENT_ROLES];

  function urlFor(user: string): string {
    const u = new URL(DATABASE_URL);
    u.username = user;
    u.password = '';
    return u.toString();
  }

  async function connectAs(user: string): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: urlFor(user) });
    await client.connect();
    return client;
  }

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    await ensureSupabaseRoles(admin);
    // A migrating role that is not a superuser (a superuser passes every privilege check), whose
    // default privileges hand every new object to everybody, as a careless database might.
    const { rows: [{ db }] } = await admin.query('SELECT current_database() AS db');
    await admin.query(`CREATE ROLE ${owner} LOGIN; CREATE ROLE ${nobody} LOGIN;
      GRANT CREATE ON DATABASE "${db}" TO ${owner};
      ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} GRANT ALL ON SCHEMAS TO PUBLIC, anon, authenticated;
      ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} GRANT ALL ON TABLES TO PUBLIC, anon, authenticated;
      ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} GRANT ALL ON SEQUENCES TO PUBLIC, anon, authenticated;
      ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} GRANT ALL ON FUNCTIONS TO PUBLIC, anon, authenticated;`);
  });

  afterAll(async () => {
    if (!admin) return;
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.query(`DROP OWNED BY ${owner}, ${nobody}; DROP ROLE IF EXISTS ${owner}; DROP ROLE IF EXISTS ${nobody}`);
    await admin.end();
  });

  /** migrate() as the non-superuser owner. */
  async function migrateAsOwner(schema: string): Promise<Awaited<ReturnType<typeof migrate>>> {
    schemas.push(schema);
    const client = await connectAs(owner);
    try {
      return await migrate(client, { schema });
    } finally {
      await client.end();
    }
  }

  async function expectLockedDown(schema: string): Promise<void> {
    const { functions, tables, unsafe } = await inventory(admin, schema);
    expect(functions.length).toBeGreaterThanOrEqual(33);
    expect(tables).toEqual(expect.arrayContaining(TABLES));
    expect(unsafe).toEqual([]);
    expect(await anyRights(admin, schema, forbidden())).toEqual([]);
    expect(await missingRights(admin, schema, [owner, 'service_role'])).toEqual([]);
  }

  it('fresh install where the defaults grant everybody everything: only the owner and service_role get in', async () => {
    const schema = uniqueName('bw_fresh');
    const result = await migrateAsOwner(schema);
    expect(result.applied.map((m) => m.version)).toEqual(migrations.map((m) => m.version));
    await expectLockedDown(schema);
  });

  it('a schema with rights handed out since, and none for service_role, is locked down again by re-running the printed SQL', async () => {
    const schema = uniqueName('bw_loose');
    schemas.push(schema);
    const client = await connectAs(owner);
    try {
      await client.query(migrationSql({ schema }));
      // The worst state a schema can be put in after its migration.
      await client.query(`
        GRANT ALL ON SCHEMA "${schema}" TO PUBLIC, anon, authenticated;
        GRANT ALL ON ALL TABLES IN SCHEMA "${schema}" TO PUBLIC, anon, authenticated;
        GRANT ALL ON ALL SEQUENCES IN SCHEMA "${schema}" TO PUBLIC, anon, authenticated;
        GRANT ALL ON ALL FUNCTIONS IN SCHEMA "${schema}" TO PUBLIC, anon, authenticated;
        REVOKE ALL ON SCHEMA "${schema}" FROM service_role;
        REVOKE ALL ON ALL TABLES IN SCHEMA "${schema}" FROM service_role;
        REVOKE ALL ON ALL FUNCTIONS IN SCHEMA "${schema}" FROM service_role;`);
      expect(await anyRights(admin, schema, ['anon'])).not.toEqual([]);
      // Every lockdown block runs again (migrate() would see nothing to apply).
      await client.query(migrationSql({ schema }));
      expect((await migrate(client, { schema })).applied).toEqual([]);
    } finally {
      await client.end();
    }
    await expectLockedDown(schema);
  });

  it('a login role without grants is refused (42501) by every function, every table and the schema', async () => {
    const schema = uniqueName('bw_login');
    await migrateAsOwner(schema);
    const q = `"${schema}"`;
    const intruder = await connectAs(nobody);
    const codeOf = (sql: string): Promise<{ code?: string; message: string } | undefined> =>
      intruder.query(sql).then(() => undefined, (e: { code?: string; message: string }) => e);
    try {
      expect((await codeOf(`SELECT * FROM ${q}.session_get(ARRAY['k'])`))?.code).toBe('42501');
      expect((await codeOf(`SELECT * FROM ${q}.sessions`))?.code).toBe('42501');
      // Even a role let into the schema may call no function and read no table.
      await admin.query(`GRANT USAGE ON SCHEMA ${q} TO ${nobody}`);
      const { rows: fns } = await admin.query(
        `SELECT p.oid::regproc::text AS name, p.pronargs AS n FROM pg_catalog.pg_proc AS p WHERE p.pronamespace = $1::text::regnamespace`, [schema]);
      expect(fns.length).toBeGreaterThanOrEqual(33);
      const calls: Record<string, string> = {};
      for (const f of fns as Array<{ name: string; n: number }>) {
        const err = await codeOf(`SELECT ${f.name}(${Array.from({ length: f.n }, () => 'NULL').join(', ')})`);
        calls[f.name] = err ? `${err.code} ${err.message}` : 'ran';
      }
      const notRefused = Object.entries(calls).filter(([, r]) => !/^42501 permission denied for function /.test(r));
      expect(notRefused).toEqual([]);
      for (const table of TABLES) {
        expect((await codeOf(`SELECT * FROM ${q}.${table}`))?.code, table).toBe('42501');
      }
    } finally {
      await intruder.end();
    }
  });

  it('service_role (Supabase server key) can still run every kind of operation', async () => {
    const schema = uniqueName('bw_service');
    await migrateAsOwner(schema);
    const q = `"${schema}"`;
    const conn = await connectAs('postgres');
    try {
      await conn.query('SET ROLE service_role');
      const one = async (sql: string, params: unknown[] = []): Promise<any> => (await conn.query(sql, params)).rows[0];
      const now = Date.now();
      expect(await one(`SELECT * FROM ${q}.session_set('k', '{"a":1}', NULL, 0)`)).toEqual({ ok: true, version: '1' });
      expect(await one(`SELECT data FROM ${q}.session_get(ARRAY['k'])`)).toEqual({ data: '{"a": 1}' });
      expect((await one(`SELECT ok FROM ${q}.session_acquire('k', 't', 5000)`)).ok).toBe(true);
      expect((await one(`SELECT ok FROM ${q}.session_commit('k', 't', 1, 'set', '{"a":2}')`)).ok).toBe(true);
      expect((await one(`SELECT ok FROM ${q}.session_set_many(ARRAY['m'], ARRAY['1'], ARRAY[NULL::float8], ARRAY[NULL::bigint])`)).ok).toBe(true);
      expect((await one(`SELECT created FROM ${q}.job_add('j', 'n', '{}', 0, $1, 1, '{}', 1000, NULL, $1)`, [now])).created).toBe(true);
      expect((await one(`SELECT (job).id FROM ${q}.job_claim(ARRAY['n'], 1, 1e9, 'tok', 5000, $1, 'w')`, [now])).id).toBe('j');
      expect((await one(`SELECT ${q}.job_complete('j', 'tok', 'null', $1) AS ok`, [now])).ok).toBe(true);
      // The fleet functions (005_job_fleet): limits, a grouped bulk add, a group claim, counts, a semaphore.
      expect((await one(`SELECT ${q}.job_set_limits('[{"name":"g","limit":{"concurrency":1}}]', $1) AS n`, [now])).n).toBe(1);
      expect((await one(`SELECT created FROM ${q}.job_add_many(ARRAY['g1'], ARRAY['g'], ARRAY['{}'], ARRAY[0], ARRAY[$1::float8], ARRAY[1], ARRAY['{}'], ARRAY[1000::float8], ARRAY[NULL::float8], ARRAY['chat'], ARRAY[NULL], $1)`, [now])).created).toBe(true);
      expect((await one(`SELECT (job).id FROM ${q}.job_claim(ARRAY['g'], 1, 1e9, 'tok2', 5000, $1, NULL, 1)`, [now])).id).toBe('g1');
      expect((await one(`SELECT n FROM ${q}.job_counts(NULL, $1) WHERE state = 'completed'`, [now])).n).toBe('1');
      // 006_job_remove: a finished job goes; the claimed (active) one stays.
      expect((await one(`SELECT ${q}.job_remove('j', $1) AS ok`, [now])).ok).toBe(true);
      expect((await one(`SELECT ${q}.job_remove('g1', $1) AS ok`, [now])).ok).toBe(false);
      expect((await one(`SELECT ok FROM ${q}.semaphore_acquire('s', 't', 1, 1000, $1)`, [now])).ok).toBe(true);
      expect((await one(`SELECT ${q}.semaphore_release('s', 't', $1) AS ok`, [now])).ok).toBe(true);
      const spill = await one(`SELECT ${q}.sync_spill('bw_test_spill', 'x', 1000) AS id`);
      expect((await one(`SELECT ${q}.sync_spill_read($1) AS p`, [spill.id])).p).toBe('x');
      expect((await one(`SELECT allowed FROM ${q}.rate_limit_hit('r', 1, 1000, false)`)).allowed).toBe(true);
      expect((await one(`SELECT ${q}.session_cleanup(10) AS n`)).n).toBe(0);
    } finally {
      await conn.end();
    }
  });
});
