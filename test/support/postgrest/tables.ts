/**
 * FOR THE BENCH ONLY: the few table routes `@grammyjs/storage-supabase` calls, so botwire's Supabase
 * store can be measured against it through the same double on the same Postgres:
 *
 *   read    GET    /<table>?select=session&id=eq.<id>   Accept: application/vnd.pgrst.object+json
 *   write   POST   /<table>  {id, session}              Prefer: resolution=merge-duplicates
 *   delete  DELETE /<table>?id=eq.<id>
 *
 * Supported: `select` of plain columns (or `*`), `col=eq.value` filters, inserts and upserts of an
 * object or an array of objects (on the primary key or `on_conflict`), `Prefer: return=representation`,
 * and the singular media type (PGRST116, 406, unless exactly one row). Every other PostgREST table
 * feature answers 400 PGRST100 naming what the double does not do — never a silent wrong answer.
 */
import { pgrstError } from './errors.js';
import { sqlIdent, sqlLiteral, type PostgrestDatabase } from './database.js';

/** An HTTP answer from a route. */
export interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

interface TableInfo {
  columns: Set<string>;
  pk: string[];
}

const COLUMNS_SQL = `
SELECT a.attname AS name, coalesce(a.attnum = ANY (i.indkey), false) AS pk
  FROM pg_catalog.pg_attribute AS a
  JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_index AS i ON i.indrelid = c.oid AND i.indisprimary
 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v') AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum`;

/** Column names and primary keys of tables, read on first use (bench only). */
export class TableCache {
  private readonly tables = new Map<string, TableInfo>();

  constructor(private readonly db: PostgrestDatabase) {}

  async get(schema: string, table: string): Promise<TableInfo> {
    const key = `${schema}.${table}`;
    let info = this.tables.get(key);
    if (!info) {
      const { rows } = await this.db.query(COLUMNS_SQL, [schema, table]);
      if (rows.length === 0) throw pgrstError(404, 'PGRST205', `Could not find the table '${key}' in the schema cache`);
      info = { columns: new Set(rows.map((r) => String(r.name))), pk: rows.filter((r) => r.pk === true).map((r) => String(r.name)) };
      this.tables.set(key, info);
    }
    return info;
  }
}

const RESERVED = new Set(['select', 'columns', 'on_conflict', 'order', 'limit', 'offset', 'and', 'or']);

function unsupported(what: string): never {
  throw pgrstError(400, 'PGRST100', `The PostgREST test double does not support ${what}`);
}

function column(info: TableInfo, table: string, name: string): string {
  if (!info.columns.has(name)) throw pgrstError(400, 'PGRST204', `Could not find the '${name}' column of '${table}' in the schema cache`);
  return sqlIdent(name);
}

/** `WHERE` from the `col=eq.value` query parameters; values are untyped literals, as PostgREST binds them untyped. */
function where(url: URL, info: TableInfo, table: string, qt: string): string {
  const conds: string[] = [];
  for (const [key, value] of url.searchParams) {
    if (RESERVED.has(key)) {
      if (key === 'select' || key === 'on_conflict' || key === 'columns') continue;
      unsupported(`the '${key}' query parameter`);
    }
    if (!value.startsWith('eq.')) unsupported(`the filter '${key}=${value}' (only eq.)`);
    conds.push(`${qt}.${column(info, table, key)} = ${sqlLiteral(value.slice(3))}`);
  }
  return conds.length ? ` WHERE ${conds.join(' AND ')}` : '';
}

function preferences(headers: Headers): Set<string> {
  return new Set((headers.get('prefer') ?? '').split(',').map((p) => p.trim()).filter(Boolean));
}

/** How to serve one table request: its statement, the check before COMMIT, and the answer from its rows. */
export interface TablePlan {
  readOnly: boolean;
  statement: string;
  /** Before COMMIT: throws (and so rolls back) when a write's result breaks the request's demands (PGRST116). */
  check?: (rows: Record<string, unknown>[]) => void;
  answer: (rows: Record<string, unknown>[]) => Answer;
}

function singularCheck(singular: boolean): (rows: Record<string, unknown>[]) => void {
  return (rows) => {
    const n = Number(rows[0]!.n);
    if (singular && n !== 1) {
      throw pgrstError(406, 'PGRST116', 'Cannot coerce the result to a single JSON object', `The result contains ${n} rows`);
    }
  };
}

/** Plans one table request (bench only). */
export async function tableRoute(
  tables: TableCache,
  req: { method: string; url: URL; headers: Headers; body: string; schema: string; table: string },
): Promise<TablePlan> {
  const { method, url, headers, schema, table } = req;
  const info = await tables.get(schema, table);
  const qt = `${sqlIdent(schema)}.${sqlIdent(table)}`;
  const prefer = preferences(headers);
  const singular = (headers.get('accept') ?? '').startsWith('application/vnd.pgrst.object+json');
  const json = { 'Content-Type': 'application/json; charset=utf-8' };

  if (method === 'GET' || method === 'HEAD') {
    const select = url.searchParams.get('select') ?? '*';
    const cols = select === '*' ? `${qt}.*` : select.split(',').map((c) => `${qt}.${column(info, table, c.trim())}`).join(', ');
    const agg = singular ? `coalesce(json_agg(_postgrest_t)->0, 'null')` : `coalesce(json_agg(_postgrest_t), '[]')`;
    return {
      readOnly: true,
      statement: `SELECT pg_catalog.count(_postgrest_t)::int AS n, ${agg}::text AS body `
        + `FROM (SELECT ${cols} FROM ${qt}${where(url, info, table, qt)}) _postgrest_t`,
      // Reads have nothing to roll back: their singular check runs on the answer.
      answer: (rows) => {
        singularCheck(singular)(rows);
        const n = Number(rows[0]!.n);
        return {
          status: 200,
          body: method === 'HEAD' ? '' : String(rows[0]!.body),
          headers: { ...json, 'Content-Range': n > 0 ? `0-${n - 1}/*` : '*/*' },
        };
      },
    };
  }

  const returning = prefer.has('return=representation');
  const mutation = (sql: string, created: boolean, applied: string[]): TablePlan => ({
    readOnly: false,
    statement: `WITH pgrst_source AS (${sql} RETURNING ${qt}.*) SELECT pg_catalog.count(*)::int AS n, `
      + `coalesce(json_agg(pgrst_source), '[]')::text AS body FROM pgrst_source`,
    ...(singular ? { check: singularCheck(true) } : {}),
    answer: (rows) => {
      const n = Number(rows[0]!.n);
      const out: Record<string, string> = { 'Content-Range': returning && n > 0 ? `0-${n - 1}/*` : '*/*' };
      if (applied.length) out['Preference-Applied'] = applied.join(', ');
      if (!returning) return { status: created ? 201 : 204, headers: out };
      const text = String(rows[0]!.body);
      const body = singular ? JSON.stringify((JSON.parse(text) as unknown[])[0]) : text;
      return { status: created ? 201 : 200, body, headers: { ...json, ...out } };
    },
  });

  if (method === 'POST') {
    let payload: unknown;
    try {
      payload = JSON.parse(req.body);
    } catch {
      throw pgrstError(400, 'PGRST102', 'Empty or invalid json');
    }
    const rows = (Array.isArray(payload) ? payload : [payload]) as Record<string, unknown>[];
    if (rows.some((r) => r === null || typeof r !== 'object' || Array.isArray(r))) unsupported('a body that is not an object or an array of objects');
    const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    if (keys.length === 0) unsupported('an insert without columns');
    const cols = keys.map((k) => column(info, table, k)).join(', ');
    let sql = `INSERT INTO ${qt} (${cols}) SELECT ${cols} FROM json_populate_recordset(NULL::${qt}, ${sqlLiteral(JSON.stringify(rows))}::json) AS _`;
    const applied: string[] = [];
    const merge = prefer.has('resolution=merge-duplicates');
    if (merge || prefer.has('resolution=ignore-duplicates')) {
      const target = url.searchParams.get('on_conflict')?.split(',').map((c) => column(info, table, c.trim())) ?? info.pk.map(sqlIdent);
      if (target.length === 0) unsupported('an upsert on a table without a primary key or on_conflict');
      sql += merge
        ? ` ON CONFLICT (${target.join(', ')}) DO UPDATE SET ${keys.map((k) => `${sqlIdent(k)} = EXCLUDED.${sqlIdent(k)}`).join(', ')}`
        : ` ON CONFLICT (${target.join(', ')}) DO NOTHING`;
      applied.push(merge ? 'resolution=merge-duplicates' : 'resolution=ignore-duplicates');
    }
    return mutation(sql, true, applied);
  }

  if (method === 'DELETE') return mutation(`DELETE FROM ${qt}${where(url, info, table, qt)}`, false, []);
  return unsupported(`the ${method} method on tables`);
}
