/**
 * Where the PostgREST double sends SQL: a `pg` pool connected as the login role (Supabase's
 * `authenticator`), or one PGlite instance. Each HTTP request is one transaction, as in PostgREST:
 * BEGIN with the request's access mode, the transaction-local settings (role, claims, search_path),
 * the statement, COMMIT — or ROLLBACK when anything fails. Unlike PostgREST (which binds parameters),
 * the double inlines values as literals so that the whole transaction is one round trip: its own
 * cost per request stays small next to the work the database does.
 */
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/** Rows of one statement. */
export interface SqlResult {
  rows: Record<string, unknown>[];
}

/** Runs one statement (the double's catalog reads). */
export type SqlQuery = (text: string, params?: unknown[]) => Promise<SqlResult>;

/** The double's database, whatever drives it. */
export interface PostgrestDatabase {
  /** Catalog reads (the schema cache), as the login role, outside any request. */
  query: SqlQuery;
  /**
   * One request as one transaction. BEGIN, `setup`, `statement` and COMMIT travel as one simple-query
   * message (one round trip), so every value must already be inlined as a literal. With `check`,
   * COMMIT waits until `check(rows)` returns (a second round trip); a throwing check rolls back.
   * Any error rolls back. Returns the statement's rows.
   */
  request(readOnly: boolean, setup: string, statement: string, check?: (rows: Record<string, unknown>[]) => void): Promise<Record<string, unknown>[]>;
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

function batch(readOnly: boolean, setup: string, statement: string, commit: boolean): string {
  return `BEGIN ISOLATION LEVEL READ COMMITTED ${readOnly ? 'READ ONLY' : 'READ WRITE'}; ${setup}; ${statement};${commit ? ' COMMIT;' : ''}`;
}

type Row = Record<string, unknown>;

/** The double over a `pg` pool of `poolSize` connections to `url` (PostgREST's db-pool, default 10). */
export function pgDatabase(url: string, poolSize: number): PostgrestDatabase {
  // PostgREST waits at most db-pool-acquisition-timeout (10 s) for a connection, then answers 504.
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000 });
  // Idle connections terminated under the double (fault tests) must not crash the test process.
  pool.on('error', () => {});
  return {
    query: async (text, params) => ({ rows: (await pool.query(text, params as unknown[] | undefined)).rows as Row[] }),
    async request(readOnly, setup, statement, check) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        // Several statements in one simple query answer with one result each: BEGIN, setup, statement.
        const results = (await client.query(batch(readOnly, setup, statement, !check))) as unknown as pg.QueryResult<Row>[];
        const rows = results[2]!.rows;
        if (check) {
          check(rows);
          await client.query('COMMIT');
        }
        return rows;
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

/** The double over one PGlite instance: one connection, so requests (and catalog reads) take turns. */
export function pgliteDatabase(db: PGlite): PostgrestDatabase {
  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = turn.then(fn, fn);
    turn = run.catch(() => {});
    return run;
  };
  return {
    query: (text, params) => inTurn(async () => ({ rows: (await db.query<Row>(text, params as unknown[] | undefined)).rows })),
    request: (readOnly, setup, statement, check) => inTurn(async () => {
      try {
        const rows = (await db.exec(batch(readOnly, setup, statement, !check)))[2]!.rows as Row[];
        if (check) {
          check(rows);
          await db.exec('COMMIT');
        }
        return rows;
      } catch (err) {
        await db.exec('ROLLBACK').catch(() => {});
        throw err;
      }
    }),
    close: async () => {},
  };
}
