/**
 * The few atomic primitives a session adapter makes durable. Everything else — key rules, JSON,
 * timeouts, waiting for leases, typed errors — lives once in {@link SessionStore}.
 *
 * Each method is one round trip to the backend (one Lua script, one SQL function call, one RPC).
 * Adapters never parse session data: `data` is the JSON text exactly as the core produced it.
 *
 * Compatibility: this file is the contract between the core and the adapters. Changes after its
 * first commit are additive and backward compatible only (new optional members), each noted here:
 * - Optional `health()`: the adapter's own one-round-trip check (see {@link SessionBackend.health}).
 * - Optional `inspect(key)`: the record and the live lease on a key, in one round trip, for
 *   `SessionStore.inspect` and the dashboard. Adapters without it make `store.inspect` throw
 *   `BotwireConfigError`; nothing else uses it.
 *
 * @module
 */
import type { BackendInfo } from '../adapter-kit/backend-call.js';
import type { BackendHealth } from '../health.js';

/** A stored record as the backend returns it; `data` is undecoded JSON text. */
export interface RawSessionRecord {
  /** JSON text exactly as stored. */
  data: string;
  /** Monotonic per key while the record lives; 1 for a new record. */
  version: number;
  /** Epoch milliseconds when the record expires, if it has a TTL. */
  expiresAt?: number | undefined;
}

/**
 * A live lease as {@link SessionBackend.inspect} reports it. Durations are measured on the
 * backend's own clock (the one that decides when leases lapse), so the store can anchor them on its
 * caller's clock without comparing two clocks.
 */
export interface RawSessionLease {
  /** The holder's token, exactly as given to `acquire`. The store never shows it as it is. */
  token: string;
  /**
   * How long the token has held the lease without a break, in ms: from the acquire that took it,
   * through re-acquires with the same token, `extend` and hand-overs (`commit` with
   * `keepLeaseMs`). `undefined` when the backend cannot tell (a lease taken before it recorded
   * the time, e.g. by an older version during an upgrade).
   */
  heldMs: number | undefined;
  /** Milliseconds until the lease lapses unless extended (> 0: a lapsed lease is not reported). */
  expiresInMs: number;
}

/** What {@link SessionBackend.inspect} answers: the live record and the live lease, either may be absent. */
export interface RawSessionInspection {
  /** The record as {@link SessionBackend.get} would return it. */
  record: RawSessionRecord | undefined;
  /** The lease if someone holds it and it has not lapsed. */
  lease: RawSessionLease | undefined;
}

/** Outcome of a compare-and-set style write. */
export type CasResult =
  | { ok: true; version: number }
  | { ok: false; /** Version found (0 = no record). */ actual: number };

/** Outcome of one attempt to take a lease. */
export type AcquireAttempt =
  | { ok: true; record: RawSessionRecord | undefined }
  | { ok: false; /** Milliseconds until the current holder's lease lapses on its own. */ retryInMs: number };

/** What a commit does to the record besides releasing (or keeping) the lease. */
export type CommitWrite =
  | { kind: 'none'; /** Refresh the record's expiry without rewriting it (sliding TTL). */ ttlMs?: number | undefined }
  | { kind: 'set'; data: string; ttlMs?: number | undefined }
  | { kind: 'delete' };

/** Arguments of {@link SessionBackend.commit}. */
export interface CommitArgs {
  key: string;
  /** The lease token returned at acquire. */
  token: string;
  /** The version read at acquire (0 = none): the fence when the lease itself has lapsed. */
  version: number;
  write: CommitWrite;
  /** Keep holding the lease for this long after the write instead of releasing it (hand-over). */
  keepLeaseMs?: number | undefined;
}

/**
 * Outcome of a commit. `ok: false` means the lease was lost *and* the record moved on (or someone
 * else holds the lease now): nothing was written.
 */
export type CommitResult = { ok: true; version: number } | { ok: false };

/**
 * The primitive operations a session adapter implements. Implement this to add a backend, then run
 * `sessionStoreContract` from `botwire/testing` against `new SessionStore(yourBackend)`.
 */
export interface SessionBackend extends BackendInfo {
  /** True when the backend drops expired records on its own; false when `cleanup` must run. */
  readonly nativeExpiry: boolean;
  /**
   * True when reads return `data` byte for byte as it was written (Redis, memory), so the
   * middleware can compare a handler's result with the stored text without re-encoding the record.
   * Leave it unset when the backend normalizes JSON (Postgres `jsonb`).
   */
  readonly verbatim?: boolean;
  /**
   * True when every call settles on its own within the store's `operationTimeoutMs` (the adapter was
   * given the same bound), rejecting with `BackendUnavailableError` when the server does not answer.
   * The store then skips its per-call deadline: an adapter that merges concurrent calls into one
   * command bounds the whole command with one timer instead of one per call.
   */
  readonly boundsTime?: boolean;
  /** Read several records in one round trip, in the order of `keys`. */
  get(keys: readonly string[]): Promise<Array<RawSessionRecord | undefined>>;
  /** Write `data`; with `ifVersion`, only when the stored version equals it (0 = must not exist). */
  set(key: string, data: string, ttlMs: number | undefined, ifVersion: number | undefined): Promise<CasResult>;
  /** Delete; with `ifVersion`, only when the stored version equals it. `ok: true, version: 0` when nothing was there. */
  delete(key: string, ifVersion: number | undefined): Promise<CasResult>;
  /** Set a record's expiry to now + ttlMs without rewriting it. False when there is no record. */
  touch(key: string, ttlMs: number): Promise<boolean>;
  /** Take the lease on `key` if free (or already ours) and read the record, in one round trip. */
  acquire(key: string, token: string, leaseMs: number): Promise<AcquireAttempt>;
  /** Apply `write` if the lease is still ours (or lapsed with the record unchanged), then release or keep it. */
  commit(args: CommitArgs): Promise<CommitResult>;
  /** Push the lease's expiry to now + leaseMs. False when it is no longer ours. */
  extend(key: string, token: string, leaseMs: number): Promise<boolean>;
  /** Drop the lease if it is ours. False when it had already lapsed or changed hands. */
  release(key: string, token: string): Promise<boolean>;
  /** Delete up to `limit` expired records; returns how many. Backends with native expiry return 0. */
  cleanup(limit: number): Promise<number>;
  /**
   * Resolve when a lease on `key` is released somewhere in the fleet, or after `timeoutMs`,
   * whichever comes first. Optional: without it the store backs off and retries.
   */
  waitForRelease?(key: string, timeoutMs: number): Promise<void>;
  /**
   * Optional: one round trip proving the backend can serve (Redis `PING`, a `select` of the schema
   * version); resolves with what it found, throws when unhealthy (`BackendHealthError` for a reason
   * worth publishing, such as `'migrations missing'`). Without it, `SessionStore.health()` reads one
   * probe key instead.
   */
  health?(): Promise<BackendHealth>;
  /**
   * Optional: read the live record and the live lease of `key` in ONE round trip, without taking,
   * extending or waiting for the lease. For looking at a key (`SessionStore.inspect`, the
   * dashboard), never on the update path.
   */
  inspect?(key: string): Promise<RawSessionInspection>;
  /** Release connections the adapter opened itself (never a client the user passed in). */
  close(): Promise<void>;
}
