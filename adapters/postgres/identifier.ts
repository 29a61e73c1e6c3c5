import { BotwireConfigError } from 'botwire/adapter-kit';

/** The schema botwire uses when none is given. */
export const DEFAULT_SCHEMA = 'botwire';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Schemas that belong to Postgres itself or, by convention, to everybody (`public`). */
const RESERVED = new Set(['public', 'information_schema', 'pg_catalog', 'pg_toast']);

/**
 * Whether botwire refuses `schema` as its own: `public`, `information_schema`, `pg_catalog`,
 * `pg_toast` and every name starting with `pg_` (Postgres reserves that prefix for system schemas).
 */
export function isReservedSchema(schema: string): boolean {
  return RESERVED.has(schema) || schema.startsWith('pg_');
}

/**
 * Check a schema name from config and return it double-quoted for SQL. The pattern keeps names
 * unambiguous (lower case, no quoting tricks); quoting still protects reserved words like `user`.
 * Reserved schemas are refused because the migrations lock down what botwire creates (revoking
 * rights from PUBLIC and Supabase's client roles), which is only safe in a schema botwire owns alone.
 */
export function quoteSchema(schema: unknown): string {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema)) {
    throw new BotwireConfigError(
      `Postgres schema must match ${String(IDENTIFIER)} (lower-case letters, digits and _, at most 63 characters, ` +
        `not starting with a digit); got ${JSON.stringify(schema)}. Pick a name like "botwire" or "bot_prod".`,
    );
  }
  if (isReservedSchema(schema)) {
    throw new BotwireConfigError(
      `Postgres schema "${schema}" is reserved: botwire refuses public, information_schema, pg_catalog, pg_toast ` +
        'and every name starting with pg_. Its migrations revoke rights from PUBLIC and from the anon/authenticated ' +
        'roles on the objects they create, so botwire must own a schema of its own, shared with nothing else. ' +
        'Use "botwire" (the default) or a name like "bot_prod".',
    );
  }
  return `"${schema}"`;
}
