/**
 * The few client methods the Postgres adapter calls, described structurally so that `pg.Pool`,
 * `pg.Client` and PGlite all fit and no `.d.ts` ever imports a driver.
 */

/**
 * Anything with `query(text, params)` resolving to `{ rows }`: a `pg.Pool`, a `pg.Client`, a PGlite
 * instance, or your own wrapper around one of them.
 */
export interface PgQueryable {
  /** Run one statement with `$1…` parameters. */
  query(text: string, params?: unknown[]): Promise<{ rows: any[] }>;
}

/** What a transaction body may run: single statements with parameters, or a multi-statement script. */
export interface SqlRunner {
  query(text: string, params?: unknown[]): Promise<{ rows: any[] }>;
  exec(script: string): Promise<unknown>;
}

/** A connection checked out of a `pg.Pool`. */
export interface PgPoolConnection extends PgQueryable {
  release(destroy?: boolean | Error): void;
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
}

interface PgPoolLike extends PgQueryable {
  connect(): Promise<PgPoolConnection>;
  totalCount: number;
  options?: { max?: number };
}

interface PGliteLike extends PgQueryable {
  exec(script: string): Promise<unknown>;
  transaction<T>(run: (tx: PgQueryable & { exec(script: string): Promise<unknown> }) => Promise<T>): Promise<T>;
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

/** A `pg.Pool` (or look-alike): it can hand out dedicated connections. */
export function isPool(client: PgQueryable): client is PgPoolLike {
  const c = client as Partial<PgPoolLike>;
  return typeof c.connect === 'function' && typeof c.totalCount === 'number';
}

/** A PGlite instance: one in-process connection with its own transaction and listen helpers. */
export function isPGlite(client: PgQueryable): client is PGliteLike {
  const c = client as Partial<PGliteLike>;
  return typeof c.listen === 'function' && typeof c.transaction === 'function' && typeof c.exec === 'function';
}

/**
 * Run `body` in one transaction on one connection: a pool hands out a dedicated connection (BEGIN
 * on `pool.query` could land anywhere), PGlite uses its own `transaction()`, and a plain client is
 * assumed to be a single connection that is ours for the moment.
 */
export async function withTransaction<T>(client: PgQueryable, body: (tx: SqlRunner) => Promise<T>): Promise<T> {
  if (isPGlite(client)) {
    return client.transaction((tx) => body({ query: (t, p) => tx.query(t, p), exec: (s) => tx.exec(s) }));
  }
  const conn = isPool(client) ? await client.connect() : undefined;
  const target: PgQueryable = conn ?? client;
  const runner: SqlRunner = { query: (t, p) => target.query(t, p), exec: (s) => target.query(s) };
  let broken: unknown;
  try {
    await target.query('BEGIN');
    const result = await body(runner);
    await target.query('COMMIT');
    return result;
  } catch (err) {
    broken = err;
    await target.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    // A connection that failed mid-transaction may be in any state: let the pool replace it.
    conn?.release(broken instanceof Error ? broken : undefined);
  }
}

/** A string hash for statement names (FNV-1a, 32 bits; edge-safe, no node:crypto). */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

/**
 * True for node-postgres itself (`pg.Pool` / `pg.Client`, or a Proxy over one), whose `query` also
 * takes `{ name, text, values }`. A look-alike wrapper (anything else with `query(text, params)`)
 * must not be handed a config object, so this checks pg's own fields, not just the methods.
 */
function isNodePostgres(client: PgQueryable): boolean {
  const c = client as { totalCount?: unknown; idleCount?: unknown; Client?: unknown; connectionParameters?: unknown; processID?: unknown };
  const pool = typeof c.totalCount === 'number' && typeof c.idleCount === 'number' && typeof c.Client === 'function';
  const single = typeof c.connectionParameters === 'object' && c.connectionParameters !== null && 'processID' in c;
  return pool || single;
}

/**
 * `query(text, params)` that sends the statement as a named prepared statement on node-postgres:
 * each connection parses and plans it once, then only binds and executes (what graphile-worker
 * does; the job claim/complete statements run once per job). PGlite and unknown clients get the
 * plain call. Off when `prepared` is false, e.g. behind PgBouncer in transaction mode older than
 * 1.21, which cannot keep named statements across transactions.
 */
export function preparedQuery(client: PgQueryable, prepared: boolean): (text: string, params: unknown[]) => Promise<{ rows: any[] }> {
  if (!prepared || !isNodePostgres(client)) return (text, params) => client.query(text, params);
  const names = new Map<string, string>();
  // Bumped when a migration changed a row type under prepared statements: every statement is then
  // prepared again under a new name (a connection keeps a name's old plan, and Postgres refuses it).
  let generation = 0;
  const query = client.query as unknown as (config: { name: string; text: string; values: unknown[] }) => Promise<{ rows: any[] }>;
  const send = (text: string, values: unknown[]): Promise<{ rows: any[] }> => {
    let name = names.get(text);
    if (name === undefined) names.set(text, (name = `botwire_${hash(text)}_${text.length}${generation ? `_${generation}` : ''}`));
    return query.call(client, { name, text, values });
  };
  return (text, values) => send(text, values).catch((err: unknown) => {
    // 0A000 "cached plan must not change result type": e.g. `migrate()` added a column while this
    // process was running. Not retried for anything else.
    if ((err as { code?: unknown })?.code !== '0A000' || !/cached plan must not change result type/.test(String((err as Error).message))) throw err;
    generation++;
    names.clear();
    return send(text, values);
  });
}
