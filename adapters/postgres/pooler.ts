/**
 * Refusing LISTEN through a connection pooler. A transaction pooler (PgBouncer `pool_mode =
 * transaction`, Supavisor on port 6543) hands the server connection that ran `LISTEN` to other
 * clients after the statement, so notifications go missing without any error. Poolers answer the
 * client's connect with a cancel key of their own, so the pid the client was told at connect differs
 * from `pg_backend_pid()` on the server: one statement tells them apart from a direct connection.
 *
 * @module
 */
import { BotwireConfigError } from 'botwire/adapter-kit';

/** A connection that may know the backend pid announced at connect (node-postgres' `processID`). */
export interface PidAware {
  query(text: string, params?: unknown[]): Promise<{ rows: any[] }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly processID?: unknown;
}

/**
 * Resolves `true` when `conn` reaches Postgres through a pooler, `false` for a direct connection or
 * a client that does not expose the announced pid (nothing to compare: assumed direct).
 */
export async function goesThroughPooler(conn: PidAware): Promise<boolean> {
  const announced = conn.processID;
  if (typeof announced !== 'number') return false;
  const { rows } = await conn.query('SELECT pg_backend_pid() AS pid');
  return Number(rows[0]?.pid) !== announced;
}

/** The error for `what` (e.g. `postgresSyncBus`) given a pooled connection for LISTEN. */
export function pooledListenError(what: string, alternative: string): BotwireConfigError {
  return new BotwireConfigError(
    `${what} needs LISTEN, and its connection goes through a connection pooler (the server's backend pid differs from the one ` +
    'announced at connect, as with PgBouncer or Supavisor), where notifications are lost in transaction mode. Pass a direct ' +
    `connection for LISTEN (a pg.Pool or URL of the server itself, e.g. Supabase's db.<ref>.supabase.co:5432)${alternative}; ` +
    'behind a session-mode pooler, which keeps one server connection per client, set `sessionPooler: true`.',
  );
}
