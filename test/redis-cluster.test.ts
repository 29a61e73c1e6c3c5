/**
 * botwire/redis on a private Redis Cluster of 3 masters + 3 replicas, through an ioredis `Cluster`
 * client: the contract suites, queues spread over masters, the cross-process lost-update test, and
 * a master killed under load (failover), with and without the `durability` option.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisJobBackend, redisJobQueue, redisRateLimitStore, redisSessionStore, redisSyncBus, type RedisLike, type RedisSessionBackend } from '../adapters/redis/index.js';
import { runDue } from '../src/jobs/run-due.js';
import { jobQueueContract, sessionStoreContract, syncBusContract } from '../src/testing/index.js';
import { hasRedisCluster, startRedisCluster, type PrivateRedisCluster } from './support/redis-cluster.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const incrementWorker = fileURLToPath(new URL('./fixtures/session-increment-worker.ts', import.meta.url));

interface WorkerReport { ok: number; failed: number; errors: Record<string, number>; ms: number }

function runIncrementWorker(nodes: string, prefix: string, cycles: number, keys: number): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', incrementWorker, '--backend', 'redis-cluster', '--url', nodes,
      '--prefix-or-schema', prefix, '--cycles', String(cycles), '--keys', String(keys)], { cwd: root });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('exit', () => {
      const line = out.trim().split('\n').pop();
      try { resolve(JSON.parse(line ?? '') as WorkerReport); } catch { reject(new Error(`worker printed no report: ${out}\n${err}`)); }
    });
  });
}

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
  // An ioredis Cluster is a RedisLike as it is (no cast).
  const like = (): RedisLike => client;

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
      client: like(), prefix, defaultTimeoutMs: 5_000, handlers: { work: (ctx) => { const p = ctx.job.payload as { q: string; i: number }; done.push(`${p.q}:${p.i}`); } },
    }));
    await Promise.all(queues.map(async (q, qi) => { for (let i = 0; i < 5; i++) await q.add('work', { q: prefixes[qi], i }); }));
    const results = await Promise.all(queues.map((q) => runDue(q, undefined, { budgetMs: 10_000 })));
    expect(results.map((r) => r.completed)).toEqual(prefixes.map(() => 5));
    expect(done).toHaveLength(30);
    for (const q of queues) expect((await q.counts()).completed).toBe(5);
    await Promise.all(queues.map((q) => q.close()));
  });

  it('4 processes × 250 concurrent increments on 10 keys (spread over the masters) lose none', async () => {
    const prefix = `xproc${++n}:`;
    const counters = Array.from({ length: 10 }, (_, i) => `counter:${i}`);
    const store = redisSessionStore<number>({ client: like(), prefix });
    const masters = new Set(await Promise.all(counters.map((k) => cluster.masterOf((store.backend as RedisSessionBackend).recordKey(k)))));
    expect(masters.size).toBe(3);
    const nodes = cluster.startupNodes.map((s) => `${s.host}:${s.port}`).join(',');
    const reports = await Promise.all(Array.from({ length: 4 }, () => runIncrementWorker(nodes, prefix, 250, counters.length)));
    expect(reports.map((r) => r.errors)).toEqual(reports.map(() => ({})));
    const records = await store.getMany(counters);
    expect(records.reduce((sum, r) => sum + (r?.data ?? 0), 0)).toBe(4 * 250);
    for (const r of records) expect(r?.version).toBe(r?.data);
    console.log(`redis cluster: 4 × 250 increments in ${reports.map((r) => r.ms).join(', ')} ms`);
    await store.close();
  }, 60_000);
});
