import { BotwireError, SessionLeaseLostError } from '../errors.js';
import type { CommitArgs, CommitResult, CommitWrite, SessionBackend } from './backend.js';
import type { ValueCodec } from '../codec/value-codec.js';
import { assertFits, decode, encode } from './codec.js';
import { positiveMs } from '../internal/validate.js';
import type { CommitOptions, HandOverOptions, HeldLease, SessionRecord } from './types.js';

/**
 * The lease object {@link SessionStore.acquire} returns. A class (methods on the prototype) rather
 * than an object of closures: the middleware takes one lease per update, and a dozen closures per
 * update showed up as garbage-collector time in the middleware benchmark.
 *
 * @module
 */

/** What a lease needs from the store that made it. */
export interface LeaseHost {
  readonly backend: SessionBackend;
  /** The store's codec and size limit. */
  readonly codec: ValueCodec;
  readonly maxValueBytes: number;
  /** The store's bounded-time backend call (timeouts, typed errors). */
  call<R, M = R>(operation: string, key: string, run: () => Promise<R>, map?: (value: R) => M): Promise<M>;
}


function toVersion(result: CommitResult, key: string): number {
  if (!result.ok) throw new SessionLeaseLostError(key);
  return result.version;
}

/** A fleet-wide lease on one key; see {@link SessionLease}. @internal */
export class StoreLease<T> implements HeldLease<T> {
  #done = false;
  declare waitedMs?: number;
  declare handedOver?: boolean;

  /**
   * @param raw The stored JSON text of `record` (lets the middleware skip re-encoding it to detect
   *   changes); undefined when there was no record.
   */
  constructor(
    private readonly host: LeaseHost,
    readonly key: string,
    private readonly full: string,
    readonly token: string,
    private readonly leaseMs: number,
    readonly record: SessionRecord<T> | undefined,
    readonly raw: string | undefined,
  ) {}

  #finish(what: string): void {
    if (this.#done) {
      throw new BotwireError('SESSION_LEASE_DONE', `Session lease for "${this.key}" was already committed or released; ${what} needs a new acquire().`, { subject: this.key });
    }
    this.#done = true;
  }

  #args(write: CommitWrite, keepLeaseMs?: number): CommitArgs {
    return { key: this.full, token: this.token, version: this.record?.version ?? 0, write, keepLeaseMs };
  }

  commit(data?: T, options: CommitOptions = {}): Promise<number> {
    let text: string | undefined;
    try {
      text = data === undefined ? undefined : encode(this.host.codec, this.key, data);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.commitText(text, options);
  }

  /**
   * {@link commit} with `data` already JSON-encoded (the middleware encoded it to compare with the
   * stored text and must not pay for it twice). `text` undefined = no new data.
   */
  commitText(text: string | undefined, options: CommitOptions = {}): Promise<number> {
    let write: CommitWrite;
    try {
      write = this.#write(text, options);
      this.#finish('commit');
    } catch (err) {
      return Promise.reject(err);
    }
    const args = this.#args(write);
    return this.host.call('commit', this.key, () => this.host.backend.commit(args), (r) => toVersion(r, this.key));
  }

  #write(text: string | undefined, options: CommitOptions): CommitWrite {
    const ttlMs = options.ttlMs === undefined ? undefined : positiveMs('ttlMs', options.ttlMs);
    if (options.delete) return { kind: 'delete' };
    if (text !== undefined) {
      assertFits(this.key, text, this.host.maxValueBytes);
      return { kind: 'set', data: text, ttlMs };
    }
    return { kind: 'none', ttlMs };
  }

  handOver(data?: T, options: HandOverOptions = {}): Promise<StoreLease<T>> {
    try {
      return this.handOverText(data === undefined ? undefined : encode(this.host.codec, this.key, data), options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** {@link handOver} with `data` already JSON-encoded, like {@link commitText}. */
  async handOverText(text: string | undefined, options: HandOverOptions = {}): Promise<StoreLease<T>> {
    const keepLeaseMs = options.keepLeaseMs === undefined ? this.leaseMs : positiveMs('keepLeaseMs', options.keepLeaseMs);
    const write = this.#write(text, options);
    this.#finish('handOver');
    const started = Date.now();
    const args = this.#args(write, keepLeaseMs);
    let version: number;
    try {
      version = await this.host.call('commit', this.key, () => this.host.backend.commit(args), (r) => toVersion(r, this.key));
    } catch (err) {
      // The write may have landed with the lease kept; nobody will use it now, so free the key
      // instead of letting it block others for keepLeaseMs.
      if (!(err instanceof SessionLeaseLostError)) {
        void this.host.call('release', this.key, () => this.host.backend.release(this.full, this.token)).catch(() => undefined);
      }
      throw err;
    }
    let next: SessionRecord<T> | undefined;
    let raw: string | undefined;
    if (write.kind === 'delete') next = undefined;
    else if (write.kind === 'set') {
      // Decode our own text so the next holder never shares objects with the previous handler.
      raw = write.data;
      next = { data: decode<T>(this.host.codec, this.key, raw), version, expiresAt: write.ttlMs === undefined ? undefined : started + write.ttlMs };
    } else if (this.record) {
      raw = this.raw ?? encode(this.host.codec, this.key, this.record.data);
      next = { ...this.record, data: decode<T>(this.host.codec, this.key, raw), expiresAt: write.ttlMs === undefined ? this.record.expiresAt : started + write.ttlMs };
    }
    return new StoreLease<T>(this.host, this.key, this.full, this.token, keepLeaseMs, next, raw);
  }

  async release(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.host.call('release', this.key, () => this.host.backend.release(this.full, this.token));
  }

  async extend(ms?: number): Promise<void> {
    const leaseMs = ms === undefined ? this.leaseMs : positiveMs('leaseMs', ms);
    if (this.#done) throw new SessionLeaseLostError(this.key);
    const ok = await this.host.call('extend', this.key, () => this.host.backend.extend(this.full, this.token, leaseMs));
    if (!ok) throw new SessionLeaseLostError(this.key);
  }
}
