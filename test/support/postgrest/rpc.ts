/**
 * `/rpc/:fn` as PostgREST 14 does it: the schema cache of functions (src/PostgREST/SchemaCache.hs
 * `funcsSqlQuery`), choosing the function from the argument names (src/PostgREST/Plan.hs `findProc`),
 * and the statement that calls it (src/PostgREST/Query/QueryBuilder.hs `callPlanToQuery`,
 * Query/Statements.hs `mainCall`): JSON arguments are converted to the parameters' SQL types by
 * `json_to_record`, the function is called with named arguments, and the result is aggregated to
 * JSON in the database — SETOF/TABLE as an array of objects, a composite (OUT parameters) as one
 * object, a scalar as its JSON value.
 */
import { pgrstError, type PostgrestHttpError } from './errors.js';
import { sqlIdent, sqlLiteral, type PostgrestDatabase } from './database.js';

/** One input parameter of a function. */
export interface RoutineParam {
  name: string;
  /** SQL type as `format_type` prints it: `text`, `text[]`, `double precision`, `schema.jobs`. */
  type: string;
  required: boolean;
}

/** A function as PostgREST's schema cache describes it. */
export interface Routine {
  schema: string;
  name: string;
  params: RoutineParam[];
  setof: boolean;
  /** Returns a row type (a table type, or OUT/INOUT/TABLE parameters). */
  composite: boolean;
  void: boolean;
  /** `v`olatile, `s`table or `i`mmutable: only volatile functions run in a read-write transaction. */
  volatility: 'v' | 's' | 'i';
}

const ROUTINES_SQL = `
SELECT n.nspname AS schema, p.proname AS name, p.proretset AS setof,
       (t.typtype = 'c' OR coalesce(p.proargmodes::text[] && '{t,b,o}', false)) AS composite,
       p.prorettype = 'pg_catalog.void'::pg_catalog.regtype AS void,
       p.provolatile AS volatility,
       p.pronargs - p.pronargdefaults AS required,
       coalesce((
         SELECT json_agg(json_build_object('name', coalesce(a.name, ''), 'type', pg_catalog.format_type(a.type, NULL)) ORDER BY a.idx)
           FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargnames, p.proargmodes)
                WITH ORDINALITY AS a(type, name, mode, idx)
          WHERE coalesce(a.mode, 'i') IN ('i', 'b', 'v')
       ), '[]') AS args
  FROM pg_catalog.pg_proc AS p
  JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
  JOIN pg_catalog.pg_type AS t ON t.oid = p.prorettype
 WHERE p.prokind = 'f' AND n.nspname = ANY ($1::text[])
   AND p.prorettype <> 'pg_catalog.trigger'::pg_catalog.regtype
 ORDER BY p.oid`;

/**
 * The functions of the exposed schemas, read once and kept, like PostgREST's schema cache. A lookup
 * that finds nothing reloads it once before answering PGRST202: on Supabase an event trigger reloads
 * PostgREST's cache after every DDL statement, so a migration is visible to the next request.
 */
export class RoutineCache {
  private routines: Map<string, Routine[]> | undefined;

  constructor(private readonly db: PostgrestDatabase, private readonly schemas: readonly string[]) {}

  /** Drops the cache (PostgREST's `NOTIFY pgrst, 'reload schema'`). */
  reload(): void {
    this.routines = undefined;
  }

  private async load(): Promise<Map<string, Routine[]>> {
    const { rows } = await this.db.query(ROUTINES_SQL, [this.schemas]);
    const map = new Map<string, Routine[]>();
    for (const r of rows) {
      const args = (typeof r.args === 'string' ? JSON.parse(r.args) : r.args) as { name: string; type: string }[];
      // Functions with unnamed parameters are not callable with named arguments (PostgREST's
      // single-unnamed-json-parameter form is not supported by the double).
      if (args.some((a) => a.name === '')) continue;
      const required = Number(r.required);
      const routine: Routine = {
        schema: String(r.schema),
        name: String(r.name),
        params: args.map((a, i) => ({ name: a.name, type: a.type, required: i < required })),
        setof: r.setof === true,
        composite: r.composite === true,
        void: r.void === true,
        volatility: String(r.volatility) as Routine['volatility'],
      };
      const key = `${routine.schema}.${routine.name}`;
      map.set(key, [...(map.get(key) ?? []), routine]);
    }
    return map;
  }

  /**
   * The function `schema.name` that takes exactly the argument names `keys` (required parameters all
   * present, optional ones any subset), or PostgREST's PGRST202 (404) / PGRST203 (300) error.
   */
  async find(schema: string, name: string, keys: readonly string[], jsonBody: boolean): Promise<Routine> {
    for (let pass = 0; ; pass++) {
      this.routines ??= await this.load();
      const overloads = this.routines.get(`${schema}.${name}`) ?? [];
      const found = overloads.filter((r) => matches(r, keys));
      if (found.length === 1) return found[0]!;
      if (found.length > 1) throw ambiguous(found);
      if (pass > 0) throw notFound(schema, name, keys, jsonBody, overloads);
      this.reload();
    }
  }
}

function matches(routine: Routine, keys: readonly string[]): boolean {
  const given = new Set(keys);
  const known = new Set(routine.params.map((p) => p.name));
  return routine.params.every((p) => !p.required || given.has(p.name)) && keys.every((k) => known.has(k));
}

function ambiguous(found: Routine[]): PostgrestHttpError {
  const list = found.map((r) => `${r.schema}.${r.name}(${r.params.map((p) => `${p.name} => ${p.type}`).join(', ')})`);
  return pgrstError(300, 'PGRST203', `Could not choose the best candidate function between: ${list.join(', ')}`, null,
    'Try renaming the parameters or the function itself in the database so function overloading can be resolved');
}

function notFound(schema: string, name: string, keys: readonly string[], jsonBody: boolean, overloads: Routine[]): PostgrestHttpError {
  const sorted = [...keys].sort();
  const fn = `${schema}.${name}`;
  const message = `Could not find the function ${fn}${sorted.length ? `(${sorted.join(', ')})` : ' without parameters'} in the schema cache`;
  const searched = sorted.length ? ` with parameter${sorted.length > 1 ? 's' : ''} ${sorted.join(', ')}` : ' without parameters';
  const details = `Searched for the function ${fn}${searched}${jsonBody ? ' or with a single unnamed json/jsonb parameter' : ''}, but no matches were found in the schema cache.`;
  // PostgREST suggests the overload whose parameter names are closest (a fuzzy match); the double
  // suggests the one sharing most names. No suggestion of other function names.
  let hint: string | null = null;
  if (overloads.length > 0) {
    const score = (r: Routine): number => r.params.filter((p) => keys.includes(p.name)).length;
    const best = overloads.reduce((a, b) => (score(b) > score(a) ? b : a));
    hint = `Perhaps you meant to call the function ${fn}(${best.params.map((p) => p.name).sort().join(', ')})`;
  }
  return pgrstError(404, 'PGRST202', message, details, hint);
}

/** The outcome of a call: PostgREST's `page_total` and the JSON body text. */
export interface CallResult {
  pageTotal: number;
  body: string;
}

/** Arguments of a call: a POST's JSON object body, or a GET's query-string values. */
export type CallArgs = { json: string; keys: readonly string[] } | { text: Record<string, string> };

/**
 * The statement that calls `routine` (values inlined as literals). `args.json` is the JSON object body
 * of a POST, converted by `json_to_record` as PostgREST does; `args.text` are a GET's query-string
 * values, cast to each parameter's type.
 */
export function callStatement(routine: Routine, args: CallArgs): string {
  const fn = `${sqlIdent(routine.schema)}.${sqlIdent(routine.name)}`;
  const keys = 'json' in args ? args.keys : Object.keys(args.text);
  // Only the parameters given are passed, in declaration order; the others take their defaults.
  const params = routine.params.filter((p) => keys.includes(p.name));
  const scalar = !routine.composite;
  const callIt = (argList: string): string =>
    scalar ? `(SELECT ${fn}(${argList}) pgrst_scalar) pgrst_call` : `${fn}(${argList}) pgrst_call`;
  let from: string;
  if (params.length === 0) {
    from = `FROM ${callIt('')}`;
  } else if ('json' in args) {
    const names = params.map((p) => sqlIdent(p.name)).join(', ');
    const typed = params.map((p) => `${sqlIdent(p.name)} ${p.type}`).join(', ');
    const named = params.map((p) => `${sqlIdent(p.name)} := pgrst_body.${sqlIdent(p.name)}`).join(', ');
    from = `FROM (SELECT ${sqlLiteral(args.json)}::json AS json_data) pgrst_payload, `
      + `LATERAL (SELECT ${names} FROM json_to_record(pgrst_payload.json_data) AS _(${typed}) LIMIT 1) pgrst_body, `
      + `LATERAL ${callIt(named)}`;
  } else {
    const text = args.text;
    from = `FROM ${callIt(params.map((p) => `${sqlIdent(p.name)} := ${sqlLiteral(text[p.name]!)}::${p.type}`).join(', '))}`;
  }
  const single = !routine.setof;
  const body = scalar
    ? (single ? `coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, 'null')` : `coalesce(json_agg(_postgrest_t.pgrst_scalar), '[]')`)
    : (single ? `coalesce(json_agg(_postgrest_t)->0, 'null')` : `coalesce(json_agg(_postgrest_t), '[]')`);
  return `WITH pgrst_source AS (SELECT ${scalar ? 'pgrst_call.pgrst_scalar' : 'pgrst_call.*'} ${from}) `
    + `SELECT ${single ? '1' : 'pg_catalog.count(_postgrest_t)::int'} AS page_total, ${body}::text AS body `
    + `FROM (SELECT pgrst_source.* FROM pgrst_source) _postgrest_t`;
}

/** The call's result from the rows of {@link callStatement}. */
export function callResult(routine: Routine, rows: Record<string, unknown>[]): CallResult {
  const row = rows[0] ?? { page_total: 0, body: routine.setof ? '[]' : 'null' };
  return { pageTotal: Number(row.page_total), body: String(row.body) };
}
