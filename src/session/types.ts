/**
 * Public types of the session store: records, the options of its operations, and the lease
 * {@link SessionStore.acquire} returns. Kept apart from the store and the lease class so that
 * neither has to import the other for its types.
 *
 * @module
 */
/** A decoded session record. */
export interface SessionRecord<T> {
  /** The stored value. */
  data: T;
  /** Starts at 1 for a new record and grows by one with every write. */
  version: number;
  /** Epoch milliseconds when the record expires, if it has a TTL. */
  expiresAt?: number | undefined;
}

/** Options of {@link SessionStore.set}. */
export interface SetOptions {
  /** Expire the record this many milliseconds after the write. Omitted: never expires. */
  ttlMs?: number;
  /** Compare-and-set: write only if the stored version equals this (`0` = only if no record exists). */
  ifVersion?: number;
}

/**
 * Who holds a key's lease right now, as {@link SessionStore.inspect} reports it. Never the token
 * itself: the token fences writes, so only a short fingerprint of it is shown.
 */
export interface SessionLeaseInfo {
  /**
   * 8 hex digits derived from the holder's token (a 32-bit FNV-1a hash): the same for every look
   * at one holding, different (but for rare collisions) for the next holder, and no help in
   * guessing the token. `holder === leaseHolder(lease.token)` tells whether `lease` is the holder.
   */
  holder: string;
  /**
   * Epoch ms (this process's clock) when the holder took the lease; it stays put through
   * `extend()` and `handOver()`. `undefined` when the backend cannot tell (a lease taken before
   * the backend recorded the time, e.g. by an older version during an upgrade).
   */
  acquiredAt: number | undefined;
  /** Epoch ms (this process's clock) when the lease lapses unless extended. */
  expiresAt: number;
}

/** What {@link SessionStore.inspect} finds under a key: the live record and the live lease, each optional. */
export interface SessionInspection<T> {
  /** The record, as {@link SessionStore.get} reads it; `undefined` when absent or expired. */
  record: SessionRecord<T> | undefined;
  /** The lease, when someone holds it and it has not lapsed; `undefined` when the key is free. */
  lease: SessionLeaseInfo | undefined;
}

/** Options of {@link SessionStore.acquire}. */
export interface AcquireOptions {
  /**
   * How long the lease lasts unless extended or released. It always lapses on its own, so a
   * crashed process never leaves a key locked for longer than this.
   * @default 30_000
   */
  leaseMs?: number;
  /**
   * How long to wait for a busy lease before throwing {@link SessionLockTimeoutError}.
   * @default 10_000
   */
  waitMs?: number;
}

/** Options of {@link SessionLease.commit}. */
export interface CommitOptions {
  /** TTL for the written record; with no data, refreshes the expiry without rewriting (sliding TTL). */
  ttlMs?: number;
  /** Delete the record instead of writing it. */
  delete?: boolean;
}

/**
 * Exclusive, self-expiring right to change one key, with the record as it was when taken.
 * Commit or release it exactly once.
 */
export interface SessionLease<T> {
  /** The session key. */
  readonly key: string;
  /** Opaque fencing token. */
  readonly token: string;
  /** The record at acquire time (undefined when there was none). */
  readonly record: SessionRecord<T> | undefined;
  /**
   * Write `data` (if given) and release, in one round trip. Returns the stored version.
   * Throws {@link SessionLeaseLostError} and writes nothing if the lease lapsed and the record moved on.
   */
  commit(data?: T, options?: CommitOptions): Promise<number>;
  /** Release without writing. Safe to call after a lapse. */
  release(): Promise<void>;
  /** Push the lease's expiry to now + `leaseMs` (default: the acquire's). Throws if it was lost. */
  extend(leaseMs?: number): Promise<void>;
  /**
   * Write `data` (if given) like {@link SessionLease.commit} but keep holding the lease for
   * `keepLeaseMs`, in the same single round trip, and return a fresh lease (same token) whose
   * `record` is the committed one. Lets the next update for this key in this process continue
   * without a release/acquire round trip. Throws {@link SessionLeaseLostError} like `commit`.
   */
  handOver(data?: T, options?: HandOverOptions): Promise<SessionLease<T>>;
}

/** Options of {@link SessionLease.handOver}. */
export interface HandOverOptions extends CommitOptions {
  /**
   * How long the kept lease lasts before it lapses on its own.
   * @default the lease's current `leaseMs`
   */
  keepLeaseMs?: number;
}

/**
 * A lease as the session middleware holds it: the public {@link SessionLease} plus what lets it save
 * without encoding twice. Every lease a {@link SessionStore} makes is one; the middleware reaches it
 * through `acquireHeld`, never by a cast.
 * @internal
 */
export interface HeldLease<T> extends SessionLease<T> {
  /**
   * The stored JSON text of `record`, when the backend returns it verbatim (lets the middleware
   * skip re-encoding it to detect changes); undefined otherwise or when there was no record.
   */
  readonly raw: string | undefined;
  /** {@link SessionLease.commit} with `data` already encoded (`undefined` = no new data). */
  commitText(text: string | undefined, options?: CommitOptions): Promise<number>;
  /** {@link SessionLease.handOver} with `data` already encoded, like {@link commitText}. */
  handOverText(text: string | undefined, options?: HandOverOptions): Promise<HeldLease<T>>;
  /** How long taking it waited for another holder (set only when it waited), in ms. */
  waitedMs?: number;
  /** True when a local predecessor handed it over (no round trip of its own). */
  handedOver?: boolean;
}
