import { describe, expect, it } from 'vitest';
import { memoryJobBackend, memorySessionStore } from 'botwire/memory';
import { BackendForbiddenError, BackendSchemaError, BackendUnavailableError, BotwireConfigError, BotwireError, JobAbortedError, RateLimitStore, SessionStore, type RateLimitBackend, type SessionBackend } from 'botwire';
import { JobQueue, Worker, type JobBackend } from 'botwire/jobs';
import {
  classifyBackendError, importPeer, withClaimAhead, type BackendInfo, type WorkerBatchBackend,
} from 'botwire/adapter-kit';
import { POSTGRES } from '../adapters/postgres/errors.js';
import { REDIS } from '../adapters/redis/errors.js';

const pgError = (code: string, message = 'pg error'): Error => Object.assign(new Error(message), { code });
const GENERIC: BackendInfo = { name: 'Generic' };

describe('driver errors are named by the adapter that owns the driver', () => {
  it('leaves SQLSTATE-coded and ioredis errors unchanged in the core, without a classifier', () => {
    for (const err of [pgError('42501'), pgError('42P01'), pgError('57P01'), new Error('Connection is closed.'), new Error('PGlite is closed')]) {
      expect(classifyBackendError(GENERIC, 'commit', err)).toBe(err);
    }
  });

  it('maps Postgres SQLSTATEs and pg/PGlite messages through the Postgres classifier', () => {
    expect(classifyBackendError(POSTGRES, 'commit', pgError('42501'))).toBeInstanceOf(BackendForbiddenError);
    for (const code of ['42P01', '42883', '42703', '3F000']) expect(classifyBackendError(POSTGRES, 'get', pgError(code))).toBeInstanceOf(BackendSchemaError);
    for (const code of ['57P01', '57P02', '57P03', '53300', '08006']) {
      expect(classifyBackendError(POSTGRES, 'commit', pgError(code))).toMatchObject({ code: 'BACKEND_UNAVAILABLE', outcome: 'unknown' });
    }
    expect(classifyBackendError(POSTGRES, 'commit', new Error('Connection terminated unexpectedly'))).toMatchObject({ outcome: 'unknown' });
    // Refused before the statement left: nothing can have been applied.
    for (const message of ['PGlite is closed', 'Client was closed and is not queryable', 'timeout exceeded when trying to connect']) {
      expect(classifyBackendError(POSTGRES, 'commit', new Error(message))).toMatchObject({ code: 'BACKEND_UNAVAILABLE', outcome: 'not-applied' });
    }
    const constraint = pgError('23505');
    expect(classifyBackendError(POSTGRES, 'commit', constraint)).toBe(constraint);
  });

  it('maps ioredis messages through the Redis classifier, telling unsent commands from lost answers', () => {
    expect(classifyBackendError(REDIS, 'commit', new Error('Connection is closed.'))).toMatchObject({ outcome: 'unknown' });
    expect(classifyBackendError(REDIS, 'commit', new Error("Stream isn't writeable and enableOfflineQueue options is false")))
      .toMatchObject({ code: 'BACKEND_UNAVAILABLE', outcome: 'not-applied' });
    const wrongType = new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
    expect(classifyBackendError(REDIS, 'commit', wrongType)).toBe(wrongType);
  });

  it('knows Node socket codes and a failed fetch without any classifier; reads are never in doubt', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(classifyBackendError(GENERIC, 'commit', refused)).toMatchObject({ outcome: 'not-applied' });
    expect(classifyBackendError(GENERIC, 'commit', new TypeError('fetch failed'))).toMatchObject({ outcome: 'not-applied' });
    expect(classifyBackendError(GENERIC, 'commit', reset)).toMatchObject({ code: 'BACKEND_UNAVAILABLE', outcome: 'unknown' });
    expect(classifyBackendError(GENERIC, 'get', reset)).toMatchObject({ outcome: 'not-applied' });
  });

  it("applies a backend's classifyError to every store, queue and rate limiter call", async () => {
    const refusal = new Error('no rights here');
    const classifyError = (err: unknown) => (err === refusal ? 'forbidden' as const : undefined);
    // The memory backends with a refusing `get` (their other methods stay as they are).
    const sessions = Object.assign(Object.create(memorySessionStore().backend) as SessionBackend, {
      name: 'Custom', classifyError, get: () => Promise.reject(refusal),
    });
    await expect(new SessionStore(sessions).get('k')).rejects.toBeInstanceOf(BackendForbiddenError);
    const jobs = Object.assign(Object.create(memoryJobBackend()) as JobBackend, { name: 'Custom', classifyError, get: () => Promise.reject(refusal) });
    await expect(new JobQueue(jobs).get('j')).rejects.toBeInstanceOf(BackendForbiddenError);
    const limits: RateLimitBackend = { name: 'Custom', classifyError, hit: () => Promise.reject(refusal) };
    await expect(new RateLimitStore(limits).hit('k', { limit: 1, windowMs: 1_000 })).rejects.toBeInstanceOf(BackendForbiddenError);
  });
});

describe('importPeer', () => {
  it('names the package to install and what needs it, keeping the loader error as cause', async () => {
    const missing = new Error("Cannot find package 'ws'");
    const err = await importPeer('ws', 'botwire/ws', () => Promise.reject(missing)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BotwireConfigError);
    expect((err as Error).message).toMatch(/botwire\/ws needs the "ws" package: run `npm install ws`/);
    expect((err as Error).cause).toBe(missing);
    expect(await importPeer('x', 'y', () => Promise.resolve(42))).toBe(42);
  });
});

describe('withClaimAhead', () => {
  it("keeps the inner backend's name, error classifier and (only when it has one) subscribe", () => {
    const classifyError = (): undefined => undefined;
    const inner = (subscribe?: JobBackend['subscribe']): WorkerBatchBackend => Object.assign(Object.create(memoryJobBackend()) as WorkerBatchBackend, {
      name: 'Inner', classifyError, subscribe, workerBatch: async () => ({ flags: [], jobs: [] }), handBack: async () => true,
    });
    const plain = withClaimAhead(inner());
    expect(plain.name).toBe('Inner');
    expect(plain.classifyError?.(new Error('x'))).toBeUndefined();
    expect(plain.subscribe).toBeUndefined();
    expect(typeof plain.started).toBe('function');
    const listening = withClaimAhead(inner(async () => async () => {}));
    expect(typeof listening.subscribe).toBe('function');
  });
});

describe('JobAbortedError', () => {
  it("is the BotwireError a timed-out run's signal aborts with, naming the job", async () => {
    let reason: unknown;
    const queue = new JobQueue(memoryJobBackend(), {
      handlers: { hang: ({ signal }) => new Promise((resolve) => signal.addEventListener('abort', () => { reason = signal.reason; resolve(null); })) },
    });
    const job = await queue.add('hang', {}, { timeoutMs: 50, attempts: 1 });
    const worker = new Worker(queue, undefined, { pollIntervalMs: 10 });
    for (let i = 0; i < 100 && reason === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    await worker.stop();
    expect(reason).toBeInstanceOf(JobAbortedError);
    expect(reason).toBeInstanceOf(BotwireError);
    expect(reason).toMatchObject({ code: 'JOB_ABORTED', reason: 'timeout', name: 'JobTimeoutError', subject: job.id });
    expect(await queue.get(job.id)).toMatchObject({ state: 'failed', error: { name: 'JobTimeoutError' } });
  });
});
