import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, SessionCorruptError } from '../src/errors.js';
import { callBackend } from '../src/adapter-kit/backend-call.js';
import type { SessionBackend } from '../src/session/backend.js';
import { SessionStore } from '../src/session/session-store.js';

const T = { name: 'T' };
const never = <T>(): Promise<T> => new Promise<T>(() => {});

/** A backend whose every call hangs, like a Redis that accepted the connection and went silent. */
function silentBackend(): SessionBackend {
  return {
    name: 'Silent', nativeExpiry: true,
    get: never, set: never, delete: never, touch: never, acquire: never, commit: never, extend: never, release: never,
    cleanup: never, close: async () => {},
  };
}

describe('bounded backend calls (shared deadline timer)', () => {
  it('turns a backend that never answers into BackendUnavailableError after operationTimeoutMs', async () => {
    const store = new SessionStore(silentBackend(), { operationTimeoutMs: 300 });
    for (const op of [() => store.get('k'), () => store.set('k', 1), () => store.acquire('k'), () => store.getMany(['a', 'b'])]) {
      const started = Date.now();
      const err = await op().catch((e: unknown) => e);
      const took = Date.now() - started;
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect(err).toMatchObject({ message: expect.stringMatching(/Silent/) });
      expect(took).toBeGreaterThanOrEqual(290);
      expect(took).toBeLessThan(2_000);
    }
  });

  it('gives each call its own deadline when calls with different timeouts overlap', async () => {
    const slow = new SessionStore(silentBackend(), { operationTimeoutMs: 1_200 });
    const fast = new SessionStore(silentBackend(), { operationTimeoutMs: 150 });
    const started = Date.now();
    const at = (p: Promise<unknown>): Promise<number> => p.then(() => -1, () => Date.now() - started);
    // The long one is armed first: the short one must still fire on time.
    const [slowAt, fastAt] = await Promise.all([at(slow.get('k')), at(fast.get('k'))]);
    expect(fastAt).toBeGreaterThanOrEqual(140);
    expect(fastAt).toBeLessThan(1_100);
    expect(slowAt).toBeGreaterThanOrEqual(1_190);
  });

  it('keeps answers, driver errors and mapping errors apart from the deadline', async () => {
    expect(await callBackend(T, 'get', 1_000, () => Promise.resolve(2), 'k', (v) => v * 21)).toBe(42);
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    await expect(callBackend(T, 'get', 1_000, () => Promise.reject(refused))).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(callBackend(T, 'get', 1_000, () => { throw refused; })).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(callBackend(T, 'get', 1_000, () => Promise.resolve('x'), 'k', () => { throw new SessionCorruptError('k'); }))
      .rejects.toBeInstanceOf(SessionCorruptError);
    // An answer after the deadline changes nothing (and raises no unhandled rejection).
    let answer!: (v: number) => void;
    const late = callBackend(T, 'get', 50, () => new Promise<number>((r) => { answer = r; }));
    await expect(late).rejects.toBeInstanceOf(BackendUnavailableError);
    answer(1);
  });

  it('does not keep the process alive once no call is waiting', () => {
    const started = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/fixtures/backend-call-exit.ts'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout).toContain('answered 42');
    expect(r.status).toBe(0);
    // The call's timeout is 60 s; exiting well before it proves the timer was released.
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
