import type {
  AcquireAttempt, CasResult, CommitArgs, CommitResult, RawSessionInspection, RawSessionRecord, SessionBackend,
  SessionStoreOptions,
} from 'botwire';
import {
  BotwireConfigError, ReleaseWaiters, SessionStore, sleep, WriteBatcher, type BackendErrorKind,
} from 'botwire/adapter-kit';
import { preparedQuery, type PgQueryable } from './client.js';
import type { BackendHealth } from 'botwire/adapter-kit';
import { schemaHealth } from './health.js';
import { classifyPgError, rejectJson } from './errors.js';
import { DEFAULT_SCHEMA, quoteSchema } from './identifier.js';
import { canListen, ChannelListener } from './listener.js';
import { PgBatcher, type BatchSupport } from './session-batches.js';

/** Options of {@link postgresSessionBackend}. */
export interface PostgresSessionBackendOptions {
  /**
   * A `pg.Pool`, a `pg.Client`, a PGlite instance — anything with `query(text, params)`. The store
   * never closes it; it only releases the listener connection it took from a pool.
   */
  client: PgQueryable;
  /**
   * Schema created by `migrate()`. Separate stores (or apps) sharing one database by giving each
   * its own schema: the functions are per schema, so there is no `table` option.
   * @default 'botwire'
   */
  schema?: string;
  /**
   * Wake lease waiters through `LISTEN`/`NOTIFY` instead of polling. Uses one dedicated pool
   * connection (or PGlite's in-process listener), opened on the first wait. Set `false` behind a
   * transaction pooler (PgBouncer, Supavisor port 6543), where LISTEN does not work.
   * @default true
   */
  listen?: boolean;
  /**
   * Send the store's statements as named prepared statements on node-postgres (`pg`): each
   * connection parses and plans them once. Set `false` behind a pooler that cannot keep them across
   * transactions (PgBouncer in transaction mode before 1.21, Supavisor port 6543). PGlite ignores it.
   * @default true
   */
  preparedStatements?: boolean;
  /**
   * How long a wait for a lease release may take to set up LISTEN before it falls back to polling;
   * pass the store's `operationTimeoutMs`.
   * @default 2_000
   */
  operationTimeoutMs?: number;
}

/** Options of {@link postgresSessionStore}: where the sessions live plus every {@link SessionStoreOptions} option. */
export interface PostgresSessionStoreOptions extends SessionStoreOptions, PostgresSessionBackendOptions {}

/** Channel that commit/release notify on, with the session key as payload ('' = wake everybody). */
export const RELEASE_CHANNEL = 'botwire_session_released';
// When LISTEN cannot be had right now, look again after this long rather than the holder's full lease.
const FALLBACK_POLL_MS = 50;

const num = (v: unknown): number => Number(v);
/** Most keys in one merged read. */
const MAX_READ_BATCH = 256;

interface AcquireCall { key: string; token: string; leaseMs: number }

/** One row of session_acquire(_many). */
interface AcquireRow { ok: boolean; retry_in_ms: unknown; data: string | null; version: unknown; expires_at_ms: unknown }

/** One row of session_commit(_many) or session_set(_many). */
interface VersionRow { ok: boolean; version: unknown }

interface SetCall { key: string; data: string; ttlMs: number | undefined; ifVersion: number | undefined }

/** session_inspect's row: NULLs for an absent record or a free key. */
interface InspectRow {
  data: string | null; version: unknown; expires_at_ms: unknown;
  lease_token: string | null; lease_held_ms: unknown; lease_expires_in_ms: unknown;
}

function inspection(r: InspectRow): RawSessionInspection {
  return {
    record: r.data == null ? undefined : { data: r.data, version: num(r.version), expiresAt: r.expires_at_ms == null ? undefined : num(r.expires_at_ms) },
    lease: r.lease_token == null ? undefined : {
      token: r.lease_token, heldMs: r.lease_held_ms == null ? undefined : num(r.lease_held_ms), expiresInMs: num(r.lease_expires_in_ms),
    },
  };
}

class PostgresSessionBackend implements SessionBackend {
  readonly name = 'Postgres';
  readonly nativeExpiry = false;
  /** Present only when a listener can be had; otherwise the store backs off and polls. */
  waitForRelease?: (key: string, timeoutMs: number) => Promise<void>;
  readonly #query: (text: string, params: unknown[]) => Promise<{ rows: any[] }>;
  readonly #s: string;
  readonly #listener: ChannelListener | undefined;
  readonly #timeoutMs: number;
  readonly #releases = new ReleaseWaiters();
  /** Acquires, commits and sets that arrive while one of their kind is in flight go together. */
  readonly #batches: BatchSupport = { on: true };
  readonly #acquires: PgBatcher<AcquireCall, AcquireRow>;
  readonly #commits: PgBatcher<CommitArgs, VersionRow>;
  readonly #sets: PgBatcher<SetCall, VersionRow>;
  readonly #reads = new WriteBatcher<string, RawSessionRecord | undefined>(MAX_READ_BATCH, (keys) => this.#read(keys));

  constructor(options: PostgresSessionBackendOptions) {
    if (typeof options?.client?.query !== 'function') {
      throw new BotwireConfigError('postgresSessionStore needs `client`: a pg.Pool, pg.Client or PGlite instance (anything with query(text, params)).');
    }
    this.#query = preparedQuery(options.client, options.preparedStatements ?? true);
    this.#s = quoteSchema(options.schema ?? DEFAULT_SCHEMA);
    this.#timeoutMs = options.operationTimeoutMs ?? 2_000;
    if (options.listen !== false && canListen(options.client)) {
      this.#listener = new ChannelListener(options.client, RELEASE_CHANNEL, (p) => this.#heard(p), () => this.#releases.wakeAll());
      this.waitForRelease = (key, timeoutMs) => this.#wait(key, timeoutMs);
    }
    const s = this.#s;
    const query = this.#query;
    this.#acquires = new PgBatcher(this.#batches, query, {
      one: `SELECT ok, retry_in_ms, data, version, expires_at_ms FROM ${s}.session_acquire($1, $2, $3)`,
      many: `SELECT i, ok, retry_in_ms, data, version, expires_at_ms FROM ${s}.session_acquire_many($1, $2, $3)`,
      params: (c) => [c.key, c.token, c.leaseMs],
    });
    this.#commits = new PgBatcher(this.#batches, query, {
      one: `SELECT ok, version FROM ${s}.session_commit($1, $2, $3, $4, $5, $6, $7)`,
      many: `SELECT i, ok, version FROM ${s}.session_commit_many($1, $2, $3, $4, $5, $6, $7)`,
      params: ({ key, token, version, write, keepLeaseMs }) => [
        key, token, version, write.kind, write.kind === 'set' ? write.data : null, write.kind === 'delete' ? null : write.ttlMs ?? null, keepLeaseMs ?? null,
      ],
      fail: (c, err) => rejectJson(c.key, err),
    });
    this.#sets = new PgBatcher(this.#batches, query, {
      one: `SELECT ok, version FROM ${s}.session_set($1, $2, $3, $4)`,
      many: `SELECT i, ok, version FROM ${s}.session_set_many($1, $2, $3, $4)`,
      params: (c) => [c.key, c.data, c.ttlMs ?? null, c.ifVersion ?? null],
      fail: (c, err) => rejectJson(c.key, err),
    });
  }

  classifyError(err: unknown): BackendErrorKind | undefined {
    return classifyPgError(err);
  }

  /** One `select` of the schema version (`'migrations missing'` / `'migrations behind'`). */
  health(): Promise<BackendHealth> {
    return schemaHealth(this.#query, this.#s);
  }

  #one(sql: string, params: unknown[]): Promise<any> {
    return this.#query(sql, params).then((r) => r.rows[0]);
  }

  get(keys: readonly string[]): Promise<Array<RawSessionRecord | undefined>> {
    if (keys.length !== 1) return this.#read(keys);
    // Single reads that arrive while one is in flight go together in the next statement.
    return this.#reads.push(keys[0]!).then((r) => [r]);
  }

  async #read(keys: readonly string[]): Promise<Array<RawSessionRecord | undefined>> {
    // The same predicate as session_get (live rows with data), as one plain statement: Postgres parses
    // and plans it measurably faster than a call of even an inlined SQL function (get throughput
    // ~1.4x in bench/sessions.ts). session_get stays the read for Supabase rpc(); a test keeps the two in step.
    // A single key compares with `=`: measured ~1.5x the throughput of `= ANY($1::text[])`.
    const one = keys.length === 1;
    const { rows } = await this.#query(
      `SELECT key, data::text AS data, version, floor(extract(epoch FROM expires_at) * 1000)::float8 AS expires_at_ms
       FROM ${this.#s}.sessions WHERE key = ${one ? '$1' : 'ANY ($1::text[])'} AND data IS NOT NULL
       AND (expires_at IS NULL OR expires_at > now())`,
      [one ? keys[0] : keys],
    );
    const found = new Map<string, RawSessionRecord>();
    for (const r of rows) {
      found.set(r.key, { data: r.data, version: num(r.version), expiresAt: r.expires_at_ms == null ? undefined : num(r.expires_at_ms) });
    }
    return keys.map((k) => found.get(k));
  }

  async set(key: string, data: string, ttlMs: number | undefined, ifVersion: number | undefined): Promise<CasResult> {
    const r = await this.#sets.run({ key, data, ttlMs, ifVersion });
    return r.ok ? { ok: true, version: num(r.version) } : { ok: false, actual: num(r.version) };
  }

  async delete(key: string, ifVersion: number | undefined): Promise<CasResult> {
    const r = await this.#one(`SELECT ok, version FROM ${this.#s}.session_delete($1, $2)`, [key, ifVersion ?? null]);
    return r.ok ? { ok: true, version: num(r.version) } : { ok: false, actual: num(r.version) };
  }

  async touch(key: string, ttlMs: number): Promise<boolean> {
    return (await this.#one(`SELECT ${this.#s}.session_touch($1, $2) AS ok`, [key, ttlMs])).ok === true;
  }

  async acquire(key: string, token: string, leaseMs: number): Promise<AcquireAttempt> {
    const sentAt = performance.now();
    const r = await this.#acquires.run({ key, token, leaseMs });
    if (!r.ok) {
      if (this.#listener) this.#releases.notePending(key, sentAt);
      return { ok: false, retryInMs: num(r.retry_in_ms) };
    }
    if (r.data == null) return { ok: true, record: undefined };
    const expiresAt = r.expires_at_ms == null ? undefined : num(r.expires_at_ms);
    return { ok: true, record: { data: r.data, version: num(r.version), expiresAt } };
  }

  async commit(args: CommitArgs): Promise<CommitResult> {
    const r = await this.#commits.run(args);
    if (args.keepLeaseMs === undefined) this.#releases.wakeOne(args.key);
    return r.ok ? { ok: true, version: num(r.version) } : { ok: false };
  }

  async extend(key: string, token: string, leaseMs: number): Promise<boolean> {
    return (await this.#one(`SELECT ${this.#s}.session_extend($1, $2, $3) AS ok`, [key, token, leaseMs])).ok === true;
  }

  async release(key: string, token: string): Promise<boolean> {
    const ok = (await this.#one(`SELECT ${this.#s}.session_release($1, $2) AS ok`, [key, token])).ok === true;
    this.#releases.wakeOne(key);
    return ok;
  }

  /** One call of session_inspect (007_session_inspect.sql). */
  async inspect(key: string): Promise<RawSessionInspection> {
    return inspection(await this.#one(
      `SELECT data, version, expires_at_ms, lease_token, lease_held_ms, lease_expires_in_ms FROM ${this.#s}.session_inspect($1)`, [key]));
  }

  async cleanup(limit: number): Promise<number> {
    return num((await this.#one(`SELECT ${this.#s}.session_cleanup($1) AS n`, [limit])).n);
  }

  #heard(key: string): void {
    if (key === '') this.#releases.wakeAll();
    else this.#releases.heard(key);
  }

  async #wait(key: string, timeoutMs: number): Promise<void> {
    const early = this.#releases.released(key);
    const listener = this.#listener!;
    if (!listener.listening) {
      const ok = await listener.start(Math.min(timeoutMs, this.#timeoutMs));
      // A release sent before LISTEN took effect was not heard: look again now instead of sleeping.
      if (!ok) await sleep(Math.min(timeoutMs, FALLBACK_POLL_MS));
      return;
    }
    if (!early) await this.#releases.park(key, timeoutMs);
  }

  async close(): Promise<void> {
    await this.#listener?.close();
    this.#releases.wakeAll();
  }
}

/**
 * A {@link SessionStore} in Postgres (via `pg`) or PGlite: versions, TTLs and fenced leases, each
 * primitive one SQL function call. Run `migrate()` (or `npx botwire migrate`) once per deploy first;
 * expired rows stay invisible but need `store.cleanup()` now and then to be deleted.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { migrate, postgresSessionStore } from 'botwire/postgres';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * pool.on('error', (err) => console.error('idle pg connection failed', err));
 * await migrate(pool); // once per deploy
 * const store = postgresSessionStore<{ count: number }>({ client: pool });
 * ```
 */
export function postgresSessionStore<T = unknown>(options: PostgresSessionStoreOptions): SessionStore<T> {
  return new SessionStore<T>(postgresSessionBackend(options), options);
}

/**
 * The Postgres {@link SessionBackend} itself, for composing your own {@link SessionStore}.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { SessionStore } from 'botwire';
 * import { postgresSessionBackend } from 'botwire/postgres';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const store = new SessionStore(postgresSessionBackend({ client: pool }), { prefix: 'v2:' });
 * ```
 */
export function postgresSessionBackend(options: PostgresSessionBackendOptions): SessionBackend {
  return new PostgresSessionBackend(options);
}
