import { BotwireConfigError } from '../../src/errors.js';

/** The schema botwire uses when none is given. */
export const DEFAULT_SCHEMA = 'botwire';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Check a schema name from config and return it double-quoted for SQL. The pattern keeps names
 * unambiguous (lower case, no quoting tricks); quoting still protects reserved words like `user`.
 */
export function quoteSchema(schema: unknown): string {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema)) {
    throw new BotwireConfigError(
      `Postgres schema must match ${String(IDENTIFIER)} (lower-case letters, digits and _, at most 63 characters, ` +
        `not starting with a digit); got ${JSON.stringify(schema)}. Pick a name like "botwire" or "bot_prod".`,
    );
  }
  return `"${schema}"`;
}
