import { JobAbortedError, SemaphoreTimeoutError } from '../errors.js';
import { callBackend } from '../adapter-kit/backend-call.js';
import { newToken } from '../internal/token.js';
import { intInRange, nonNegativeMs, positiveMs } from '../internal/validate.js';
import { assertName } from './codec.js';
import type { SemaphoreBackend } from './semaphore-backend.js';

/** Options of {@link semaphore}. */
export interface SemaphoreOptions {
  /** Most holders at once, across every process using the same backend and name. */
  limit: number;
  /**
   * Lease of a permit, renewed every third of it while held: a holder that crashes frees its
   * permit this long after its last renewal. @default 30_000
   */
  leaseMs?: number;
  /** Upper bound for any single backend call. @default 5_000 */
  operationTimeoutMs?: number;
  /** Clock in epoch ms; inject one in tests to move time without waiting. @default Date.now */
  now?: () => number;
  /** Where background errors go (failed renewals). @default console.error */
  onError?: (error: unknown) => void;
}

/** Options of {@link Semaphore.acquire}. */
export interface SemaphoreAcquireOptions {
  /**
   * How long to wait for a permit before failing with `SemaphoreTimeoutError`; `0` = try once.
   * @default 10_000
   */
  waitMs?: number;
  /** Stop waiting when this aborts (rejects with its reason). */
  signal?: AbortSignal;
}

/** A held permit. Release it when done — or hold it with `await using`, which releases it. */
export interface SemaphorePermit {
  /** The semaphore's name. */
  readonly name: string;
  /** The token this permit is stored under. */
  readonly token: string;
  /**
   * Aborts (with a `JobAbortedError` of reason `lost`) when the permit was lost: its lease lapsed
   * and a renewal was refused, so another holder may have it. Pass it to the work it guards.
   */
  readonly signal: AbortSignal;
  /** Renew the lease now (it is also renewed on its own); false when the permit was lost. */
  extend(): Promise<boolean>;
  /** Give the permit back (idempotent). Rejects only when the backend is unreachable; it then lapses. */
  release(): Promise<void>;
  /** `release()`, for `await using`; never throws (a failed release goes to `onError` and lapses). */
  [Symbol.asyncDispose](): Promise<void>;
}

/** A fleet-wide semaphore: see {@link semaphore}. */
export interface Semaphore {
  readonly name: string;
  readonly limit: number;
  /** Wait for a permit (up to `waitMs`, default 10 s), then hold it until `release()`. */
  acquire(options?: SemaphoreAcquireOptions): Promise<SemaphorePermit>;
}

/** Longest single wait between attempts: a missed release costs at most this. */
const MAX_PAUSE_MS = 2_000;
// Runtimes without Symbol.asyncDispose get the well-known fallback `await using` transpilers use.
const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? (Symbol.for('Symbol.asyncDispose') as typeof Symbol.asyncDispose);

class Permit implements SemaphorePermit {
  readonly name: string;
  readonly token: string;
  readonly #ctrl = new AbortController();
  readonly #extend: () => Promise<boolean>;
  readonly #release: () => Promise<boolean>;
  readonly #onError: (error: unknown) => void;
  readonly #timer: ReturnType<typeof setInterval>;
  #released: Promise<void> | undefined;

  constructor(name: string, token: string, leaseMs: number, extend: () => Promise<boolean>, release: () => Promise<boolean>, onError: (e: unknown) => void) {
    this.name = name;
    this.token = token;
    this.#extend = extend;
    this.#release = release;
    this.#onError = onError;
    this.#timer = setInterval(() => { this.extend().catch(onError); }, Math.max(10, Math.floor(leaseMs / 3)));
  }

  get signal(): AbortSignal {
    return this.#ctrl.signal;
  }

  async extend(): Promise<boolean> {
    if (this.#released || this.#ctrl.signal.aborted) return false;
    const ok = await this.#extend();
    if (!ok && !this.#ctrl.signal.aborted) {
      clearInterval(this.#timer);
      this.#ctrl.abort(new JobAbortedError('lost', `The permit of semaphore "${this.name}" lapsed and was lost.`, this.name));
    }
    return ok;
  }

  release(): Promise<void> {
    clearInterval(this.#timer);
    this.#released ??= this.#release().then(() => undefined, (err: unknown) => {
      this.#released = undefined; // let a later call try again
      throw err;
    });
    return this.#released;
  }

  [asyncDispose](): Promise<void> {
    return this.release().catch(this.#onError);
  }
}

/**
 * A semaphore shared by every process on `backend`: at most `limit` permits of `name` are held at
 * once, fleet-wide — for work that is not a job, such as an AI call inside a webhook handler. A
 * process that dies holding a permit frees it when its lease lapses (`leaseMs` after the last
 * automatic renewal). Waiters wake when a permit is released (where the backend offers it) or
 * back off with jitter, for at most `waitMs`.
 *
 * @example
 * ```ts
 * import { semaphore } from 'botwire/jobs';
 * import { memorySemaphoreBackend } from 'botwire/memory';
 *
 * const ai = semaphore(memorySemaphoreBackend(), 'openai', { limit: 3 });
 * async function answer(prompt: string): Promise<string> {
 *   await using permit = await ai.acquire({ waitMs: 5_000 });
 *   return callModel(prompt, { signal: permit.signal });
 * }
 * ```
 */
export function semaphore(backend: SemaphoreBackend, name: string, options: SemaphoreOptions): Semaphore {
  assertName('semaphore name', name);
  const limit = intInRange('limit', options?.limit, 1, 1_000_000);
  const leaseMs = positiveMs('leaseMs', options.leaseMs ?? 30_000);
  const timeoutMs = positiveMs('operationTimeoutMs', options.operationTimeoutMs ?? 5_000);
  const now = options.now ?? Date.now;
  const onError = options.onError ?? ((e: unknown) => console.error('[botwire semaphore]', e));
  const call = <R>(op: string, run: () => Promise<R>): Promise<R> => callBackend(backend, op, timeoutMs, run, name);

  async function acquire(opts: SemaphoreAcquireOptions = {}): Promise<SemaphorePermit> {
    const waitMs = opts.waitMs === undefined ? 10_000 : nonNegativeMs('waitMs', opts.waitMs);
    const { signal } = opts;
    const token = newToken();
    const started = Date.now();
    let backoff = 5;
    for (;;) {
      signal?.throwIfAborted();
      const attempt = await call('tryAcquire', () => backend.tryAcquire(name, token, limit, leaseMs, now()));
      if (attempt.ok) {
        return new Permit(name, token, leaseMs,
          () => call('extend', () => backend.extend(name, token, leaseMs, now())),
          () => call('release', () => backend.release(name, token, now())), onError);
      }
      const left = started + waitMs - Date.now();
      if (left <= 0) throw new SemaphoreTimeoutError(name, Date.now() - started);
      // Never past the first lapse (a crashed holder) nor the caller's deadline.
      const bound = Math.max(1, Math.min(left, attempt.retryInMs, MAX_PAUSE_MS));
      // Jitter keeps many waiters from retrying in lockstep.
      const wait = backend.waitForRelease
        ? backend.waitForRelease(name, bound)
        : new Promise<void>((r) => setTimeout(r, Math.max(1, Math.min(bound, backoff * (0.5 + Math.random())))));
      backoff = Math.min(backoff * 2, 200);
      if (!signal) await wait;
      else {
        let stop!: () => void;
        const aborted = new Promise<void>((r) => { stop = r; signal.addEventListener('abort', stop, { once: true }); });
        await Promise.race([wait, aborted]);
        signal.removeEventListener('abort', stop);
      }
    }
  }

  return { name, limit, acquire };
}
