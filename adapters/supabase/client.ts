import { BotwireConfigError } from 'botwire/adapter-kit';

/**
 * The few supabase-js methods the Supabase adapters call, described structurally so that no emitted
 * `.d.ts` imports `@supabase/supabase-js` and any client of supabase-js 2.x fits.
 *
 * @module
 */

/** The error part of a supabase-js answer: PostgREST's JSON error, or a bare `message` for anything else. */
export interface SupabaseRpcErrorBody {
  message: string;
  /** SQLSTATE (`42501`) or PostgREST code (`PGRST202`); `''` or absent when no PostgREST answered. */
  code?: string | undefined;
  details?: string | null | undefined;
  hint?: string | null | undefined;
}

/** What awaiting a supabase-js `rpc()` call gives (`PostgrestSingleResponse`), as far as botwire reads it. */
export interface SupabaseRpcResponse {
  data: unknown;
  error: SupabaseRpcErrorBody | null;
  /** HTTP status; `0` when no HTTP answer arrived (fetch failed or was aborted). */
  status: number;
}

/** A pending `rpc()` call: awaitable, and cancellable where supabase-js offers `abortSignal`. */
export interface SupabaseRpcCall extends PromiseLike<SupabaseRpcResponse> {
  /** Abort the HTTP request with `signal` (supabase-js' `PostgrestTransformBuilder.abortSignal`). */
  abortSignal?(signal: AbortSignal): unknown;
}

/** One schema of the Data API: `client.schema(name)` in supabase-js. */
export interface SupabaseSchemaClient {
  /** Call the SQL function `fn` with named arguments (`POST /rest/v1/rpc/<fn>`). */
  rpc(fn: string, args?: Record<string, unknown>): SupabaseRpcCall;
}

/**
 * A supabase-js `SupabaseClient` (from `createClient(url, serviceRoleKey)`), or anything with the
 * same `schema(name).rpc(fn, args)`. botwire only calls functions: never `.from()`, auth, storage or
 * Realtime.
 */
export interface SupabaseClientLike {
  /** The Data API for schema `name` (it must be one of the project's exposed schemas). */
  schema(name: string): SupabaseSchemaClient;
}

/** The schema botwire uses when none is given (the same default as `botwire/postgres`). */
export const DEFAULT_SCHEMA = 'botwire';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Check the options every Supabase factory shares and return the schema's client. The schema rules
 * are `botwire/postgres`' (`migrate` creates the functions there): lower-case identifiers, and never
 * `public` or a `pg_` schema, whose objects botwire's lockdown would touch.
 */
export function schemaClient(factory: string, options: { client?: unknown; schema?: unknown } | undefined): { db: SupabaseSchemaClient; schema: string } {
  const client = options?.client as Partial<SupabaseClientLike> | null | undefined;
  if (typeof client?.schema !== 'function') {
    throw new BotwireConfigError(
      `${factory} needs \`client\`: a SupabaseClient from createClient(url, serviceRoleKey) (anything with schema(name).rpc(fn, args)).`,
    );
  }
  const schema = options?.schema ?? DEFAULT_SCHEMA;
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema)) {
    throw new BotwireConfigError(
      `${factory} \`schema\` must match ${String(IDENTIFIER)} (the schema \`npx botwire migrate --schema\` created); got ${JSON.stringify(schema)}.`,
    );
  }
  if (schema === 'public' || schema === 'information_schema' || schema.startsWith('pg_')) {
    throw new BotwireConfigError(
      `${factory} \`schema\` "${schema}" is reserved: botwire's functions live in a schema of their own ("botwire" by default), ` +
        'which you add to the exposed schemas in the project\'s API settings.',
    );
  }
  const db = client.schema(schema);
  if (typeof db?.rpc !== 'function') {
    throw new BotwireConfigError(`${factory} \`client\`.schema("${schema}") has no rpc(): pass a SupabaseClient from @supabase/supabase-js 2.x.`);
  }
  return { db, schema };
}
