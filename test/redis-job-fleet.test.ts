import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisJobBackend, redisJobQueue } from '../adapters/redis/job-backend.js';
import { redisSemaphoreBackend } from '../adapters/redis/semaphore.js';
import { jobFleetContract } from '../src/testing/job-fleet-contract.js';
import { semaphoreContract } from '../src/testing/semaphore-contract.js';
import { fleetModelSuite } from './support/fleet-model.js';
import { runDue } from '../src/jobs/run-due.js';
import { hasRedisServer, startPrivateRedis } from './support/redis-server.js';
import { deleteKeys } from './support/redis-keys.js';
import { REDIS_URL, needs, uniqueName } from './support/services.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const privateServerTests = hasRedisServer || process.env.CI === 'true';

describe.runIf(await needs('redis'))('fleet features on the shared Redis', () => {
  const run = uniqueName('bwtest_fleet');
  let client: Redis;
  let n = 0;
  const prefix = (): string => `${run}:${++n}:`;
  beforeAll(() => { client = new Redis(REDIS_URL); });
  afterAll(async () => {
    await deleteKeys(client, `{${run}:*`);
    await deleteKeys(client, `${run}:*`);
    await client.quit();
  });

  jobFleetContract('redis', () => ({ backend: redisJobBackend({ client, prefix: prefix() }) }));
  semaphoreContract('redis', () => {
    const backend = redisSemaphoreBackend({ client, prefix: prefix() });
    return { backend, teardown: () => backend.close() };
  });

  it('wakes a semaphore waiter on another connection over pub/sub, long before its retry time', async () => {
    const other = new Redis(REDIS_URL);
    const p = prefix();
    const a = redisSemaphoreBackend({ client, prefix: p });
    const b = redisSemaphoreBackend({ client: other, prefix: p });
    try {
      const now = Date.now();
      expect(await a.tryAcquire('ai', 'holder', 1, 60_000, now)).toEqual({ ok: true });
      expect(await b.tryAcquire('ai', 'waiter', 1, 60_000, now)).toMatchObject({ ok: false });
      const waited = Date.now();
      const woken = b.waitForRelease!('ai', 10_000);
      await sleep(100); // the subscriber connects
      expect(await a.release('ai', 'holder', Date.now())).toBe(true);
      await woken;
      expect(Date.now() - waited).toBeLessThan(1_000);
      expect(await b.tryAcquire('ai', 'waiter', 1, 60_000, Date.now())).toEqual({ ok: true });
    } finally {
      await Promise.all([a.close(), b.close()]);
      await other.quit();
    }
  });

  it.runIf(privateServerTests)('runs the fleet scripts on Redis Cluster without CROSSSLOT errors', async () => {
    const server = await startPrivateRedis({ cluster: true });
    const cluster = new Redis(server.url);
    try {
      const queue = redisJobQueue({ defaultTimeoutMs: 5_000, client: cluster, prefix: 'fl:', handlers: { a: () => 'x', g: () => 'y' }, groups: { concurrency: 1 }, limits: { a: { concurrency: 1, rate: { max: 5, perMs: 1_000 } } } });
      await queue.addMany([{ name: 'a', payload: 1 }, { name: 'g', payload: 2, options: { group: 'chat:1' } }, { name: 'g', payload: 3, options: { group: 'chat:1' } }]);
      await queue.add('a', 4, { debounce: { id: 'k', ms: 0 } });
      await queue.add('a', 5, { debounce: { id: 'k', ms: 0 } });
      await queue.setLimit('a', { concurrency: 2 });
      expect(await queue.getLimits()).toEqual({ a: { concurrency: 2 } });
      expect((await runDue(queue, undefined, { budgetMs: 10_000 })).completed).toBe(4);
      expect(await queue.counts()).toMatchObject({ completed: 4, waiting: 0 });
      const sem = redisSemaphoreBackend({ client: cluster, prefix: 'fl:sem:' });
      expect(await sem.tryAcquire('ai', 't', 1, 1_000, Date.now())).toEqual({ ok: true });
      expect(await sem.extend('ai', 't', 1_000, Date.now())).toBe(true);
      expect(await sem.release('ai', 't', Date.now())).toBe(true);
      await sem.close();
    } finally {
      cluster.disconnect();
      await server.dispose();
    }
  });
});

describe.runIf(await needs('redis'))('fleet rules against the model on the shared Redis', () => {
  const run = uniqueName('bwtest_fleetmodel');
  let client: Redis;
  let n = 0;
  beforeAll(() => { client = new Redis(REDIS_URL); });
  afterAll(async () => {
    await deleteKeys(client, `{${run}:*`);
    await client.quit();
  });
  fleetModelSuite('redis', () => ({ backend: redisJobBackend({ client, prefix: `${run}:${++n}:` }) }));
});
