import type {
  AcquireAttempt, CasResult, CommitArgs, CommitResult, RawSessionInspection, RawSessionRecord, SessionBackend,
  SessionStoreOptions,
} from 'botwire';
import { SessionSerializationError, SessionStore, WriteBatcher, type BackendErrorKind } from 'botwire/adapter-kit';
import { schemaClient, type SupabaseClientLike } from './client.js';
import { classifySupabaseError, NAME, SupabaseRpcError } from './errors.js';
import { Rpc } from './rpc.js';
import { RpcBatcher, type BatchSupport } from './session-batches.js';

/** Options of {@link supabaseSessionBackend}. */
export interface SupabaseSessionBackendOptions {
  /**
   * A `SupabaseClient` made with the **service-role** key (`createClient(url, SUPABASE_SERVICE_ROLE_KEY)`),
   * never the anon key: botwire's functions refuse every other role. The store never closes it.
   */
  client: SupabaseClientLike;
  /**
   * Schema created by `npx botwire migrate` (it must be one of the project's exposed schemas).
   * @default 'botwire'
   */
  schema?: string;
  /**
   * Bound on one call, in ms, retries of a read included; pass the store's `operationTimeoutMs`
   * (the store factory does).
   * @default 2_000
   */
  operationTimeoutMs?: number;
}

/** Options of {@link supabaseSessionStore}: where the sessions live plus every {@link SessionStoreOptions} option. */
export interface SupabaseSessionStoreOptions extends SessionStoreOptions, SupabaseSessionBackendOptions {}

/** Most keys in one merged read. */
const MAX_READ_BATCH = 256;
const num = (v: unknown): number => Number(v);

interface AcquireCall { key: string; token: string; leaseMs: number }
/** session_acquire's OUT parameters (one row of session_acquire_many). */
interface AcquireRow { ok: boolean; retry_in_ms: number | null; data: string | null; version: number | null; expires_at_ms: number | null }
/** session_commit's / session_set's OUT parameters. */
interface VersionRow { ok: boolean; version: number | null }
interface SetCall { key: string; data: string; ttlMs: number | undefined; ifVersion: number | undefined }
interface GetRow { key: string; data: string; version: number; expires_at_ms: number | null }
/** session_inspect's OUT parameters: nulls for an absent record or a free key. */
interface InspectRow {
  data: string | null; version: number | null; expires_at_ms: number | null;
  lease_token: string | null; lease_held_ms: number | null; lease_expires_in_ms: number | null;
}

/**
 * jsonb refuses a few things JSON.stringify emits (\u0000 → 22P05, lone surrogates → 22P02): bad
 * input, not an outage. Any other 22P02 (a parameter's own type) is left as it is.
 */
function rejectJson(key: string, err: unknown): never {
  if (err instanceof SupabaseRpcError && (err.code === '22P05' || (err.code === '22P02' && /\bjson\b/i.test(err.message)))) {
    throw new SessionSerializationError(key, err);
  }
  throw err;
}

/**
 * Sessions through the Data API: each primitive is one `rpc()` of the SQL function the Postgres
 * adapter calls (001_sessions.sql). No `waitForRelease`: PostgREST cannot LISTEN, so a waiter for a
 * busy key retries with jittered backoff (from 2 ms, doubling to 100 ms, never past the holder's
 * lease or `waitMs`), which the store does on its own.
 */
class SupabaseSessionBackend implements SessionBackend {
  readonly name = NAME;
  readonly nativeExpiry = false;
  readonly #rpc: Rpc;
  readonly #batches: BatchSupport = { on: true };
  readonly #acquires: RpcBatcher<AcquireCall, AcquireRow>;
  readonly #commits: RpcBatcher<CommitArgs, VersionRow>;
  readonly #sets: RpcBatcher<SetCall, VersionRow>;
  readonly #reads = new WriteBatcher<string, RawSessionRecord | undefined>(MAX_READ_BATCH, (keys) => this.#read(keys));

  constructor(options: SupabaseSessionBackendOptions) {
    const { db, schema } = schemaClient('supabaseSessionStore', options);
    const rpc = (this.#rpc = new Rpc(db, schema, options.operationTimeoutMs ?? 2_000));
    this.#acquires = new RpcBatcher(this.#batches, rpc, {
      one: 'session_acquire', many: 'session_acquire_many',
      args: (c) => ({ p_key: c.key, p_token: c.token, p_lease_ms: c.leaseMs }),
      manyName: { p_key: 'p_keys', p_token: 'p_tokens', p_lease_ms: 'p_lease_ms' },
      // Taking a lease with the token that already holds it changes nothing more: safe to resend.
      idempotent: true,
    });
    this.#commits = new RpcBatcher(this.#batches, rpc, {
      one: 'session_commit', many: 'session_commit_many',
      args: ({ key, token, version, write, keepLeaseMs }) => ({
        p_key: key, p_token: token, p_version: version, p_write: write.kind, p_data: write.kind === 'set' ? write.data : null,
        p_ttl_ms: write.kind === 'delete' ? null : write.ttlMs ?? null, p_keep_lease_ms: keepLeaseMs ?? null,
      }),
      manyName: {
        p_key: 'p_keys', p_token: 'p_tokens', p_version: 'p_versions', p_write: 'p_writes', p_data: 'p_datas',
        p_ttl_ms: 'p_ttl_ms', p_keep_lease_ms: 'p_keep_lease_ms',
      },
      fail: (c, err) => rejectJson(c.key, err),
    });
    this.#sets = new RpcBatcher(this.#batches, rpc, {
      one: 'session_set', many: 'session_set_many',
      args: (c) => ({ p_key: c.key, p_data: c.data, p_ttl_ms: c.ttlMs ?? null, p_if_version: c.ifVersion ?? null }),
      manyName: { p_key: 'p_keys', p_data: 'p_datas', p_ttl_ms: 'p_ttl_ms', p_if_version: 'p_if_versions' },
      fail: (c, err) => rejectJson(c.key, err),
    });
  }

  classifyError(err: unknown): BackendErrorKind | undefined {
    return classifySupabaseError(err);
  }

  get(keys: readonly string[]): Promise<Array<RawSessionRecord | undefined>> {
    if (keys.length !== 1) return this.#read(keys);
    // Single reads that arrive while one is in flight go together in the next request.
    return this.#reads.push(keys[0]!).then((r) => [r]);
  }

  async #read(keys: readonly string[]): Promise<Array<RawSessionRecord | undefined>> {
    const rows = await this.#rpc.call<GetRow[]>('session_get', { p_keys: [...new Set(keys)] }, 'rows', true);
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
    const r = await this.#rpc.call<VersionRow>('session_delete', { p_key: key, p_if_version: ifVersion ?? null }, 'row');
    return r.ok ? { ok: true, version: num(r.version) } : { ok: false, actual: num(r.version) };
  }

  touch(key: string, ttlMs: number): Promise<boolean> {
    return this.#rpc.call<boolean>('session_touch', { p_key: key, p_ttl_ms: ttlMs }, 'boolean');
  }

  async acquire(key: string, token: string, leaseMs: number): Promise<AcquireAttempt> {
    const r = await this.#acquires.run({ key, token, leaseMs });
    if (!r.ok) return { ok: false, retryInMs: num(r.retry_in_ms) };
    if (r.data == null) return { ok: true, record: undefined };
    const expiresAt = r.expires_at_ms == null ? undefined : num(r.expires_at_ms);
    return { ok: true, record: { data: r.data, version: num(r.version), expiresAt } };
  }

  async commit(args: CommitArgs): Promise<CommitResult> {
    const r = await this.#commits.run(args);
    return r.ok ? { ok: true, version: num(r.version) } : { ok: false };
  }

  extend(key: string, token: string, leaseMs: number): Promise<boolean> {
    return this.#rpc.call<boolean>('session_extend', { p_key: key, p_token: token, p_lease_ms: leaseMs }, 'boolean');
  }

  release(key: string, token: string): Promise<boolean> {
    return this.#rpc.call<boolean>('session_release', { p_key: key, p_token: token }, 'boolean');
  }

  /** One rpc() of session_inspect (a read: retried like the others when no answer came). */
  async inspect(key: string): Promise<RawSessionInspection> {
    const r = await this.#rpc.call<InspectRow>('session_inspect', { p_key: key }, 'row', true);
    return {
      record: r.data == null ? undefined : { data: r.data, version: num(r.version), expiresAt: r.expires_at_ms == null ? undefined : num(r.expires_at_ms) },
      lease: r.lease_token == null ? undefined : {
        token: r.lease_token, heldMs: r.lease_held_ms == null ? undefined : num(r.lease_held_ms), expiresInMs: num(r.lease_expires_in_ms),
      },
    };
  }

  async cleanup(limit: number): Promise<number> {
    return num(await this.#rpc.call<number>('session_cleanup', { p_limit: limit }, 'number'));
  }

  async close(): Promise<void> {
    // Nothing of its own to close: the client is the caller's, and HTTP holds no session.
  }
}

/**
 * A {@link SessionStore} on Supabase through the Data API (`rpc()` only, no table access): versions,
 * TTLs and fenced leases, each primitive one HTTP request to the SQL function `botwire/postgres`
 * calls, so both adapters can share one database. Runs wherever supabase-js runs (Node, serverless
 * and edge functions). Needs the migrations (`npx botwire migrate --print`), the schema in the
 * project's exposed schemas, and the service-role key. Expired rows stay invisible until
 * `store.cleanup()` (or the pg_cron job in docs/guides/supabase.md) deletes them.
 *
 * @example
 * ```ts
 * import { createClient } from '@supabase/supabase-js';
 * import { supabaseSessionStore } from 'botwire/supabase';
 * const supabase = createClient(process.env.SUPABASE_URL!, process.env.SUPABASE_SERVICE_ROLE_KEY!, {
 *   auth: { persistSession: false },
 * });
 * const store = supabaseSessionStore<{ step: string }>({ client: supabase });
 * ```
 */
export function supabaseSessionStore<T = unknown>(options: SupabaseSessionStoreOptions): SessionStore<T> {
  return new SessionStore<T>(supabaseSessionBackend(options), options);
}

/**
 * The Supabase {@link SessionBackend} itself, for composing your own {@link SessionStore}.
 *
 * @example
 * ```ts
 * import { SessionStore } from 'botwire';
 * import { supabaseSessionBackend } from 'botwire/supabase';
 * const store = new SessionStore(supabaseSessionBackend({ client: supabase }), { prefix: 'v2:' });
 * ```
 */
export function supabaseSessionBackend(options: SupabaseSessionBackendOptions): SessionBackend {
  return new SupabaseSessionBackend(options);
}
