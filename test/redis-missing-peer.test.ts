import { afterEach, describe, expect, it, vi } from 'vitest';
import { BotwireConfigError } from '../src/errors.js';

describe('botwire/redis without ioredis installed', () => {
  afterEach(() => { vi.doUnmock('ioredis'); vi.resetModules(); });

  it('connecting by url fails with an error naming the package to install', async () => {
    // Simulates the peer being absent: the module cannot be loaded.
    vi.doMock('ioredis', () => { throw new Error("Cannot find package 'ioredis'"); });
    const { redisSessionStore } = await import('../adapters/redis/index.js');
    const store = redisSessionStore({ url: 'redis://127.0.0.1:6379' });
    const err = await store.get('k').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BotwireConfigError);
    expect((err as Error).message).toContain('npm install ioredis');
    await store.close();
  });
});
