import type {
  AcquireAttempt, CasResult, CommitArgs, CommitResult, RawSessionInspection, RawSessionRecord, SessionBackend,
  SessionStoreOptions,
} from 'botwire';
import type { BackendHealth } from 'botwire/adapter-kit';
import { BotwireConfigError, callBackend, SessionStore, type BackendErrorKind } from 'botwire/adapter-kit';
import { RedisConnection } from './connection.js';
import { checkDurability, runDurable, type RedisDurability } from './durability.js';
import { classifyRedisError, REDIS } from './errors.js';
import {
  cas, committed, EXPIRY_DIGITS, expiryHeader, keepField, leaseValue, parseInspection, parseRecord, tag, type Reply,
} from './session-record.js';
import { sessionAcquire } from './lua/session-acquire-1.js';
import { sessionCommit } from './lua/session-commit-1.js';
import { sessionDelete } from './lua/session-delete-1.js';
import { sessionExtend } from './lua/session-extend-1.js';
import { sessionInspect } from './lua/session-inspect-1.js';
import { sessionRelease } from './lua/session-release-1.js';
import { sessionSet } from './lua/session-set-1.js';
import { sessionTouch } from './lua/session-touch-1.js';
import { isRedisLike, type RedisArg, type RedisLike } from './redis-like.js';
import { ReadBatcher } from './read-batcher.js';
import { ReleaseNotifier } from './release-notifier.js';
import { type LuaScript } from './script.js';
import { InFlight, ScriptBatcher } from './script-batcher.js';

/** Options of {@link redisSessionBackend}. Pass exactly one of `client` and `url`. */
export interface RedisSessionBackendOptions {
  /** A ready ioredis client (or anything {@link RedisLike}). botwire never closes it. */
  client?: RedisLike;
  /**
   * Connect by URL (`redis://…`, `rediss://…`); `ioredis` is imported on first use. The connection
   * fails fast while Redis is down instead of queueing commands, and `close()` quits it.
   */
  url?: string;
  /**
   * Prepended to every Redis key and to the release channel. Must not contain `{` or `}`: the
   * adapter adds its own hash tag so that a record and its lease share a Cluster slot.
   * @default 'botwire:s:'
   */
  prefix?: string;
  /**
   * Upper bound for any single operation; an unreachable Redis raises `BackendUnavailableError`
   * after at most this long.
   * @default 2_000
   */
  operationTimeoutMs?: number;
  /**
   * Opt in to replica acknowledgement: every write of session data (`set`, `delete`, `touch`,
   * `commit`) is followed by `WAIT replicas timeoutMs` in the same round trip, and rejects with
   * `BackendDurabilityError` when fewer replicas confirmed it, so an acknowledged update survives
   * the failover of its primary. Lease steps are not waited for: a lease lost in a failover makes
   * its holder's commit fail (`SessionLeaseLostError`) rather than lose an update. Writes leave one
   * by one (no merged batches) and each costs the replication round trip.
   * @default undefined (asynchronous replication: a failover can lose the last acknowledged writes)
   */
  durability?: RedisDurability;
}

/** Options of {@link redisSessionStore}: where the sessions live plus the store's codec and size limit. */
export interface RedisSessionStoreOptions extends RedisSessionBackendOptions, Pick<SessionStoreOptions, 'codec' | 'maxValueBytes'> {}

/** The Redis {@link SessionBackend} ({@link redisSessionBackend}, `store.backend`), with its key layout for inspection. */
export interface RedisSessionBackend extends SessionBackend {
  /** Key and channel prefix. */
  readonly prefix: string;
  /** The Redis key of `key`'s record (a string `<expiresAt>:<version>:<json>`); its lease and waiter marker add `:lease` / `:w`. */
  recordKey(key: string): string;
}

/** Session write scripts answer a negative integer when they refused (version mismatch, fenced off) and wrote nothing. */
const fenced = (reply: unknown): boolean => typeof reply === 'number' && reply < 0;

/** The scripts whose calls of one loop turn leave as one command (an acquire with others' commits). */
const SESSION_SCRIPTS = [sessionAcquire, sessionCommit, sessionSet, sessionDelete, sessionTouch, sessionExtend, sessionRelease];

/**
 * {@link SessionBackend} on Redis. A record is ONE string `<prefix>{<key>}` =
 * `<expiresAt, 15 digits>:<version>:<json>` with native PX expiry, so a read is a plain `GET`
 * parsed here; the lease is `<prefix>{<key>}:lease` holding `<acquiredAt:15>:<token>` with PX.
 * Every write is one Lua script run by EVALSHA.
 */
class RedisSessionBackendImpl implements RedisSessionBackend {
  readonly name = 'Redis';
  readonly nativeExpiry = true;
  readonly verbatim = true;
  /** Each command (a merged batch or a lone call) has one deadline of `operationTimeoutMs`. */
  readonly boundsTime = true;
  /** Key and channel prefix. */
  readonly prefix: string;
  readonly #connection: RedisConnection;
  readonly #notifier: ReleaseNotifier;
  readonly #channel: string;
  readonly #reads: ReadBatcher;
  readonly #scripts: ScriptBatcher;
  readonly #timeoutMs: number;
  readonly #durability: RedisDurability | undefined;

  constructor(options: RedisSessionBackendOptions) {
    if (options === null || typeof options !== 'object') {
      throw new BotwireConfigError('redisSessionStore needs options with `client` (an ioredis instance) or `url` (redis://…).');
    }
    const prefix = options.prefix ?? 'botwire:s:';
    if (/[{}]/.test(prefix)) {
      throw new BotwireConfigError(`Redis prefix "${prefix}" must not contain "{" or "}": botwire adds the hash tag itself.`);
    }
    if ((options.client === undefined) === (options.url === undefined)) {
      throw new BotwireConfigError('redisSessionStore needs exactly one of `client` (an ioredis instance) or `url` (redis://…).');
    }
    if (options.client !== undefined && !isRedisLike(options.client)) {
      throw new BotwireConfigError('redisSessionStore `client` must be an ioredis client (with evalsha, eval and quit).');
    }
    if (options.url !== undefined && !/^rediss?:\/\//.test(options.url)) {
      throw new BotwireConfigError(`redisSessionStore \`url\` must start with redis:// or rediss://, got "${options.url}".`);
    }
    this.#durability = checkDurability('redisSessionStore', options.durability, options.client);
    this.prefix = prefix;
    this.#channel = `${prefix}released`;
    this.#timeoutMs = options.operationTimeoutMs ?? 2_000;
    this.#connection = new RedisConnection(options.client, options.url, this.#timeoutMs);
    const inFlight = new InFlight();
    this.#reads = new ReadBatcher(this.#timeoutMs, inFlight);
    this.#scripts = new ScriptBatcher(this.#timeoutMs, SESSION_SCRIPTS, 'session-batch', inFlight);
    this.#notifier = new ReleaseNotifier(this.#channel, () => this.#connection.get());
  }

  classifyError(err: unknown): BackendErrorKind | undefined {
    return classifyRedisError(err);
  }

  /** One `PING`. */
  health(): Promise<BackendHealth> {
    return this.#connection.ping();
  }

  recordKey(key: string): string {
    return `${this.prefix}{${tag(key)}}`;
  }

  #run<R = Reply>(script: LuaScript, keys: string[], args: RedisArg[], map?: (reply: Reply) => R): Promise<R> {
    const m = map as ((reply: unknown) => R) | undefined;
    // Hot path without an extra await when the connection is up (measurable at 10k+ ops/s).
    const client = this.#connection.ready();
    if (client) return this.#scripts.run(client, script, keys, args, m);
    return this.#connecting(script.name).then((c) => this.#scripts.run(c, script, keys, args, m));
  }

  /** A write of session data: {@link #run}, or with `durability` the script and WAIT in one pipeline. */
  #write<R>(script: LuaScript, key: string, args: RedisArg[], map: (reply: Reply) => R): Promise<R> {
    const d = this.#durability;
    const keys = [this.recordKey(key)];
    if (!d) return this.#run(script, keys, args, map);
    const send = (client: RedisLike): Promise<R> =>
      runDurable(client, script, keys, args, d, this.#timeoutMs, key, fenced).then((r) => map(r as Reply));
    const client = this.#connection.ready();
    return client ? send(client) : this.#connecting(script.name).then(send);
  }

  get(keys: readonly string[]): Promise<Array<RawSessionRecord | undefined>> {
    const client = this.#connection.ready();
    if (client) return this.#read(client, keys);
    return this.#connecting('get').then((c) => this.#read(c, keys));
  }

  /** The client once connected, within the same deadline as any command. */
  #connecting(operation: string): Promise<RedisLike> {
    return callBackend(REDIS, operation, this.#timeoutMs, () => this.#connection.get());
  }

  #read(client: RedisLike, keys: readonly string[]): Promise<Array<RawSessionRecord | undefined>> {
    if (keys.length === 1) {
      // The hot path: no array of promises, no async frame.
      const key = keys[0]!;
      return this.#reads.read(client, this.recordKey(key)).then((v) => [v === null || v === undefined ? undefined : parseRecord(key, v)]);
    }
    // Requested together, so they leave together: one MGET (or, on Cluster, GETs back to back).
    return Promise.all(keys.map((k) => this.#reads.read(client, this.recordKey(k)))).then((values) =>
      values.map((v, i) => (v === null || v === undefined ? undefined : parseRecord(keys[i]!, v))));
  }

  set(key: string, data: string, ttlMs: number | undefined, ifVersion: number | undefined): Promise<CasResult> {
    return this.#write(sessionSet, key, [
      data, ttlMs === undefined ? '' : Math.ceil(ttlMs), ifVersion ?? '', expiryHeader(ttlMs),
    ], cas);
  }

  delete(key: string, ifVersion: number | undefined): Promise<CasResult> {
    return this.#write(sessionDelete, key, [ifVersion ?? ''], cas);
  }

  async touch(key: string, ttlMs: number): Promise<boolean> {
    return (await this.#write(sessionTouch, key, [Math.ceil(ttlMs), expiryHeader(ttlMs).slice(0, EXPIRY_DIGITS)], Number)) === 1;
  }

  acquire(key: string, token: string, leaseMs: number): Promise<AcquireAttempt> {
    const record = this.recordKey(key);
    const sentAt = performance.now();
    return this.#run(sessionAcquire, [record], [leaseValue(token), Math.ceil(leaseMs)], (r): AcquireAttempt => {
      if (typeof r === 'string') return { ok: true, record: parseRecord(key, r) };
      const n = Number(r);
      if (n === 0) return { ok: true, record: undefined };
      this.#notifier.failed(record, sentAt);
      return { ok: false, retryInMs: Math.max(1, -n) };
    });
  }

  commit({ key, token, version, write, keepLeaseMs }: CommitArgs): Promise<CommitResult> {
    const ttlMs = write.kind === 'delete' ? undefined : write.ttlMs;
    const packed = `${token} ${version} ${write.kind} ${ttlMs === undefined ? '-' : Math.ceil(ttlMs)} ${keepLeaseMs === undefined ? '-' : keepField(keepLeaseMs)} ${expiryHeader(ttlMs)}`;
    return this.#write(sessionCommit, key, [packed, write.kind === 'set' ? write.data : ''], committed);
  }

  async extend(key: string, token: string, leaseMs: number): Promise<boolean> {
    return Number(await this.#run(sessionExtend, [`${this.recordKey(key)}:lease`], [token, Math.ceil(leaseMs)])) === 1;
  }

  async release(key: string, token: string): Promise<boolean> {
    return Number(await this.#run(sessionRelease, [this.recordKey(key)], [token])) === 1;
  }

  /** One script reading the record, the lease and its PTTL (alone, never in a merged batch: it answers an array). */
  inspect(key: string): Promise<RawSessionInspection> {
    return this.#run(sessionInspect, [this.recordKey(key)], [], (r) => parseInspection(key, r));
  }

  /** Redis expires records natively (PEXPIRE): nothing to clean up. */
  async cleanup(): Promise<number> {
    return 0;
  }

  waitForRelease(key: string, timeoutMs: number): Promise<void> {
    return this.#notifier.wait(this.recordKey(key), timeoutMs);
  }

  async close(): Promise<void> {
    this.#notifier.close();
    await this.#connection.close();
  }
}

/**
 * A {@link SessionStore} on Redis (ioredis): native expiry, one Lua script per atomic step, keys
 * safe for Redis Cluster, and lease waiters woken by pub/sub instead of polling.
 *
 * @example
 * ```ts
 * import { redisSessionStore } from 'botwire/redis';
 * const store = redisSessionStore({ url: process.env.REDIS_URL! });
 * const lease = await store.acquire('chat:42');
 * await lease.commit({ step: 'ask-name' }, { ttlMs: 86_400_000 });
 * ```
 */
export function redisSessionStore<T = unknown>(options: RedisSessionStoreOptions): SessionStore<T> {
  const backend = redisSessionBackend(options);
  return new SessionStore<T>(backend, {
    operationTimeoutMs: options.operationTimeoutMs, codec: options.codec, maxValueBytes: options.maxValueBytes,
  });
}

/**
 * The Redis {@link SessionBackend} itself, for composing your own {@link SessionStore} (pass the same
 * `operationTimeoutMs` to both: the backend keeps that deadline per command).
 *
 * @example
 * ```ts
 * import { SessionStore } from 'botwire';
 * import { redisSessionBackend } from 'botwire/redis';
 * const store = new SessionStore(redisSessionBackend({ url: process.env.REDIS_URL!, prefix: 'app:s:' }), { prefix: 'v2:' });
 * ```
 */
export function redisSessionBackend(options: RedisSessionBackendOptions): RedisSessionBackend {
  return new RedisSessionBackendImpl(options);
}
