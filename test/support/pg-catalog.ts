/**
 * Everything the catalog says about one schema, as plain rows with the schema's name replaced by
 * `{{schema}}`, so that two schemas built different ways can be compared with one `toEqual`.
 */
import type { PgQueryable } from '../../adapters/postgres/client.js';

/** An ACL as sorted text items (`role=privileges/grantor`); null stays null (the built-in default). */
const ACL = (column: string): string =>
  `(SELECT pg_catalog.array_agg(x ORDER BY x) FROM pg_catalog.unnest(${column}::text[]) AS x)`;

/** Catalog queries, each run with $1 = the schema name. */
const QUERIES = {
  schema: `SELECT pg_catalog.pg_get_userbyid(n.nspowner) AS owner, ${ACL('n.nspacl')} AS acl
    FROM pg_catalog.pg_namespace AS n WHERE n.nspname = $1`,
  // Tables, indexes, sequences (and anything else with a pg_class row), with their storage flags.
  relations: `SELECT c.relname, c.relkind, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity,
      c.reloptions, pg_catalog.pg_get_userbyid(c.relowner) AS owner, ${ACL('c.relacl')} AS acl,
      pg_catalog.obj_description(c.oid, 'pg_class') AS comment
    FROM pg_catalog.pg_class AS c WHERE c.relnamespace = $1::text::regnamespace ORDER BY c.relname`,
  // Live columns only: a dropped column stays in pg_attribute (attisdropped) but exists nowhere else.
  columns: `SELECT c.relname, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
      a.attnotnull, a.attidentity, a.attgenerated, a.attstorage, a.attcollation::regcollation::text AS collation,
      pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS default, ${ACL('a.attacl')} AS acl
    FROM pg_catalog.pg_attribute AS a
    JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
    LEFT JOIN pg_catalog.pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = $1::text::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum`,
  // pg_get_indexdef includes the method, columns, sort orders and a partial index's predicate.
  indexes: `SELECT i.indexrelid::regclass::text AS name, i.indrelid::regclass::text AS "table",
      pg_catalog.pg_get_indexdef(i.indexrelid) AS def, i.indisunique, i.indisprimary
    FROM pg_catalog.pg_index AS i JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
    WHERE c.relnamespace = $1::text::regnamespace ORDER BY 1`,
  constraints: `SELECT co.conrelid::regclass::text AS "table", co.conname, co.contype,
      pg_catalog.pg_get_constraintdef(co.oid) AS def, co.condeferrable, co.convalidated
    FROM pg_catalog.pg_constraint AS co WHERE co.connamespace = $1::text::regnamespace ORDER BY 1, 2`,
  sequences: `SELECT s.seqrelid::regclass::text AS name, s.seqtypid::regtype::text AS type,
      -- int8 as text: PGlite answers int8 as BigInt, which JSON cannot hold.
      s.seqstart::text, s.seqincrement::text, s.seqmax::text, s.seqmin::text, s.seqcache::text, s.seqcycle
    FROM pg_catalog.pg_sequence AS s JOIN pg_catalog.pg_class AS c ON c.oid = s.seqrelid
    WHERE c.relnamespace = $1::text::regnamespace ORDER BY 1`,
  // pg_get_functiondef: signature, defaults, result, language, volatility, SET clauses and body text.
  functions: `SELECT p.oid::regprocedure::text AS signature, pg_catalog.pg_get_functiondef(p.oid) AS def,
      l.lanname AS language, p.prokind, p.provolatile, p.prosecdef, p.proleakproof, p.proisstrict,
      p.proparallel, p.procost, p.prorows, p.proretset, p.proconfig,
      pg_catalog.pg_get_userbyid(p.proowner) AS owner, ${ACL('p.proacl')} AS acl,
      pg_catalog.obj_description(p.oid, 'pg_proc') AS comment
    FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
    WHERE p.pronamespace = $1::text::regnamespace ORDER BY 1`,
  types: `SELECT t.typname, t.typtype, t.typcategory FROM pg_catalog.pg_type AS t
    WHERE t.typnamespace = $1::text::regnamespace ORDER BY 1`,
  policies: `SELECT pol.polrelid::regclass::text AS "table", pol.polname FROM pg_catalog.pg_policy AS pol
    JOIN pg_catalog.pg_class AS c ON c.oid = pol.polrelid WHERE c.relnamespace = $1::text::regnamespace ORDER BY 1, 2`,
  triggers: `SELECT tg.tgrelid::regclass::text AS "table", tg.tgname FROM pg_catalog.pg_trigger AS tg
    JOIN pg_catalog.pg_class AS c ON c.oid = tg.tgrelid
    WHERE c.relnamespace = $1::text::regnamespace AND NOT tg.tgisinternal ORDER BY 1, 2`,
} as const;

/** The catalog of `schema`, keyed by the parts of {@link QUERIES}. */
export type CatalogSnapshot = Record<keyof typeof QUERIES, any[]>;

/** Read the catalog of `schema`. Every mention of the schema's name becomes `{{schema}}`. */
export async function catalogSnapshot(db: PgQueryable, schema: string): Promise<CatalogSnapshot> {
  const out = {} as CatalogSnapshot;
  for (const [part, sql] of Object.entries(QUERIES) as Array<[keyof typeof QUERIES, string]>) {
    const { rows } = await db.query(sql, [schema]);
    // The name is unique to the test (uniqueName), so a textual replace cannot hit anything else.
    out[part] = JSON.parse(JSON.stringify(rows).replaceAll(`\\"${schema}\\"`, '{{schema}}').replaceAll(schema, '{{schema}}'));
  }
  return out;
}
