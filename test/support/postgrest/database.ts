/**
 * Where the PostgREST double sends SQL: a `pg` pool connected as the login role (Supabase's
 * `authenticator`), or one PGlite instance. Each HTTP request is one transaction, as in PostgREST:
 * BEGIN with the request's access mode, the transaction-local settings (role, claims, search_path),
 * the statement, COMMIT — or ROLLBACK when anything fails.
 */
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/** Rows of one statement. */
export interface SqlResult {
  rows: Record<string, unknown>[];
}

/** Runs one statement inside a request's transaction. */
export type SqlQuery = (text: string, params?: unknown[]) => Promise<SqlResult>;

/** The double's database, whatever drives it. */
export interface PostgrestDatabase {
  /** Catalog reads (the schema cache), as the login role, outside any request. */
  query: SqlQuery;
  /**
   * One request's transaction. `setup` is literal SQL (no parameters) sent with BEGIN in the same
   * round trip; `fn` runs the request's statement(s).
   */
  transaction<T>(readOnly: boolean, setup: string, fn: (query: SqlQuery) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A SQL string literal (standard_conforming_strings is on in every supported server). */
export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A quoted SQL identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function beginSql(readOnly: boolean): string {
  return `ISOLATION LEVEL READ COMMITTED ${readOnly ? 'READ ONLY' : 'READ WRITE'}`;
}

/** The double over a `pg` pool of `poolSize` connections to `url` (PostgREST's db-pool, default 10). */
export function pgDatabase(url: string, poolSize: number): PostgrestDatabase {
  // PostgREST waits at most db-pool-acquisition-timeout (10 s) for a connection, then answers 504.
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000 });
  // Idle connections terminated under the double (fault tests) must not crash the test process.
  pool.on('error', () => {});
  const run = (client: pg.ClientBase): SqlQuery => async (text, params) => {
    const res = await client.query(text, params as unknown[] | undefined);
    return { rows: res.rows as Record<string, unknown>[] };
  };
  return {
    query: async (text, params) => ({ rows: (await pool.query(text, params as unknown[] | undefined)).rows }),
    async transaction(readOnly, setup, fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query(`BEGIN ${beginSql(readOnly)}; ${setup}`);
        const out = await fn(run(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => { broken = e; });
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/** The double over one PGlite instance (its transactions run one at a time). */
export function pgliteDatabase(db: PGlite): PostgrestDatabase {
  return {
    query: async (text, params) => ({ rows: (await db.query<Record<string, unknown>>(text, params as unknown[] | undefined)).rows }),
    transaction(readOnly, setup, fn) {
      return db.transaction(async (tx) => {
        await tx.exec(`SET TRANSACTION ${beginSql(readOnly)}; ${setup}`);
        return fn(async (text, params) => ({ rows: (await tx.query<Record<string, unknown>>(text, params as unknown[] | undefined)).rows }));
      });
    },
    close: async () => {},
  };
}
