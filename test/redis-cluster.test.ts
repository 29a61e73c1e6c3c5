/**
 * botwire/redis on a private Redis Cluster of 3 masters + 3 replicas, through an ioredis `Cluster`
 * client: the contract suites, queues spread over masters, the cross-process lost-update test, and
 * a master killed under load (failover), with and without the `durability` option.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisJobBackend, redisJobQueue, redisRateLimitStore, redisSessionStore, redisSyncBus, type RedisLike, type RedisSessionBackend } from '../adapters/redis/index.js';
import { BackendDurabilityError, BotwireConfigError, SessionConflictError } from '../src/errors.js';
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

    sessionStoreContract('redis cluster with durability { replicas: 1 }', () => {
      const store = redisSessionStore({ client: like(), prefix: `sd${++n}:`, durability: { replicas: 1, timeoutMs: 1_000 } });
      return { store, teardown: () => store.close() };
    });

    syncBusContract('redis cluster (classic pub/sub)', () => {
      const channelPrefix = `sync${++n}:`;
      return { create: (o) => redisSyncBus({ ...o, client: like(), channelPrefix }) };
    });
  });

  it('durability: a write fewer replicas confirmed rejects with BackendDurabilityError, applied on the primary', async () => {
    // Each master has one replica: asking for two can never be met.
    const prefix = `dur${++n}:`;
    const store = redisSessionStore<number>({ client: like(), prefix, durability: { replicas: 2, timeoutMs: 50 } });
    const err = await store.set('k', 7).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendDurabilityError);
    expect(err).toMatchObject({ outcome: 'unknown', required: 2, confirmed: 1, subject: 'k' });
    expect((await store.get('k'))?.data).toBe(7);
    // A refused write (version mismatch) wrote nothing: its own answer, whatever WAIT says.
    await expect(store.set('k', 8, { ifVersion: 5 })).rejects.toBeInstanceOf(SessionConflictError);
    await store.close();
    const ok = redisSessionStore<number>({ client: like(), prefix, durability: { replicas: 1, timeoutMs: 1_000 } });
    expect(await ok.set('k', 9)).toBe(2);
    await ok.close();

    const jobs = redisJobQueue({ client: like(), prefix: `jd${n}:`, durability: { replicas: 2, timeoutMs: 50 }, handlers: { a: () => 1 } });
    await expect(jobs.add('a', {})).rejects.toBeInstanceOf(BackendDurabilityError);
    // Applied on the primary all the same (reads send no WAIT).
    expect((await jobs.list({})).jobs).toHaveLength(1);
    await jobs.close();
    const durableJobs = redisJobQueue({ client: like(), prefix: `jd${n}:`, durability: { replicas: 1, timeoutMs: 1_000 }, defaultTimeoutMs: 5_000, handlers: { a: () => 1 } });
    await durableJobs.add('a', {}, { id: 'j2' });
    expect((await runDue(durableJobs, undefined, { budgetMs: 10_000 })).completed).toBe(1);
    expect((await durableJobs.get('j2'))?.state).toBe('completed');
    await durableJobs.close();

    expect(() => redisSessionStore({ client: like(), durability: { replicas: 0, timeoutMs: 10 } })).toThrow(BotwireConfigError);
    expect(() => redisJobQueue({ client: like(), durability: { replicas: 1, timeoutMs: 0 } })).toThrow(BotwireConfigError);
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

  describe('failover: a master SIGKILLed under session read-modify-writes', () => {
    /**
     * 12 loops append their own update id to the session of a random key (acquire → read the list
     * → commit list + id) for 30 keys, some of them on the master killed after 1 s. The killed node
     * is started again once its replica took over (it rejoins as that replica's replica). Lost: an
     * id whose commit was acknowledged but that is missing from the final list of its key.
     */
    async function failover(durability: { replicas: number; timeoutMs: number } | undefined) {
      const failoverClient = cluster.client({ slotsRefreshInterval: 500 });
      clients.push(failoverClient);
      const prefix = `fo${++n}:`;
      const store = redisSessionStore<number[]>({ client: failoverClient, prefix, operationTimeoutMs: 1_000, durability });
      const backend = store.backend as RedisSessionBackend;
      const keys = Array.from({ length: 30 }, (_, i) => `chat:${i}`);
      const masterOf = new Map(await Promise.all(keys.map(async (k) => [k, await cluster.masterOf(backend.recordKey(k))] as const)));
      const victim = masterOf.get(keys[0]!)!;
      const affected = new Set(keys.filter((k) => masterOf.get(k) === victim));
      const acked = new Map<number, string>();
      const errors: Record<string, number> = {};
      let nextId = 0;
      let killedAt = Infinity;
      let lastOkBefore = 0;
      let firstOkAfter = Infinity;
      let othersDuringOutage = 0;
      let stop = false;
      const loop = async (): Promise<void> => {
        while (!stop) {
          const key = keys[Math.floor(Math.random() * keys.length)]!;
          const id = ++nextId;
          const startedAt = performance.now();
          try {
            const lease = await store.acquire(key, { leaseMs: 2_000, waitMs: 1_000 });
            await lease.commit([...(lease.record?.data ?? []), id]);
            acked.set(id, key);
            const t = performance.now();
            if (affected.has(key)) {
              if (t < killedAt) lastOkBefore = t;
              // Only an update started once the master was dead shows the cluster serving again.
              else if (startedAt > killedAt && firstOkAfter === Infinity) firstOkAfter = t;
            } else if (t > killedAt && firstOkAfter === Infinity) {
              othersDuringOutage++;
            }
          } catch (err) {
            const name = err instanceof Error ? (err.name === 'Error' ? err.message.slice(0, 60) : err.name) : String(err);
            errors[name] = (errors[name] ?? 0) + 1;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      };
      const loops = Array.from({ length: 12 }, loop);
      let beforeKill = 0;
      let promoted: number | undefined;
      let promotedAfterMs = 0;
      let healthyAfterMs = 0;
      try {
        await new Promise((r) => setTimeout(r, 1_000));
        const heir = (await cluster.nodes()).find((x) => x.role === 'replica' && x.masterPort === victim)?.port;
        beforeKill = acked.size;
        await cluster.kill(victim);
        killedAt = performance.now();
        // Wait for the promotion, then start the killed node again (as the new master's replica).
        const deadline = Date.now() + 15_000;
        while (promoted === undefined && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          promoted = (await cluster.nodes()).find((x) => x.port === heir && x.role === 'master')?.port;
        }
        promotedAfterMs = performance.now() - killedAt;
        await cluster.restart(victim);
        await cluster.waitHealthy(20_000);
        healthyAfterMs = performance.now() - killedAt;
        // Keep the load on until affected keys have been written again for a while.
        while (firstOkAfter === Infinity && performance.now() - killedAt < 20_000) await new Promise((r) => setTimeout(r, 100));
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        // Also on a failure, so that no loop outlives the test.
        stop = true;
        await Promise.all(loops);
      }
      const finals = await store.getMany(keys);
      const present = new Set(finals.flatMap((r) => r?.data ?? []));
      const lost = [...acked.keys()].filter((id) => !present.has(id));
      const report = {
        durability: durability ? `${durability.replicas} replica, ${durability.timeoutMs} ms` : 'off',
        affectedKeys: affected.size, acknowledged: acked.size, acknowledgedBeforeKill: beforeKill, lost: lost.length,
        promotedAfterMs: Math.round(promotedAfterMs), lastOkBeforeKillMs: Math.round(killedAt - lastOkBefore),
        firstOkAfterKillMs: Math.round(firstOkAfter - killedAt), otherKeysAckedDuringOutage: othersDuringOutage, clusterHealthyAfterMs: Math.round(healthyAfterMs), errors,
      };
      console.log(`redis cluster failover: ${JSON.stringify(report)}`);
      await store.close();
      return { ...report, promoted, firstOkAfter };
    }

    it('without durability: operations resume after the promotion; acknowledged updates lost are counted', async () => {
      const r = await failover(undefined);
      expect(r.promoted).toBeDefined();
      expect(r.firstOkAfter).toBeLessThan(Infinity);
      expect(r.acknowledged).toBeGreaterThan(r.acknowledgedBeforeKill);
    }, 45_000);

    it('with durability { replicas: 1 }: no acknowledged update is lost across the failover', async () => {
      const r = await failover({ replicas: 1, timeoutMs: 300 });
      expect(r.promoted).toBeDefined();
      expect(r.firstOkAfter).toBeLessThan(Infinity);
      expect(r.lost).toBe(0);
    }, 45_000);

    it('a replica behind its master when the master dies: acknowledged writes are lost without durability, never with it', async () => {
      // The replica is paused (SIGSTOP) and its link cut on the master before both stores write, so it
      // has none of those writes when it is promoted: replication lag at the moment of the crash,
      // made deterministic.
      const lagClient = cluster.client({ slotsRefreshInterval: 500 });
      clients.push(lagClient);
      const prefix = `lag${++n}:`;
      const plain = redisSessionStore<string>({ client: lagClient, prefix: `${prefix}p:`, operationTimeoutMs: 1_000 });
      const durable = redisSessionStore<string>({ client: lagClient, prefix: `${prefix}d:`, operationTimeoutMs: 1_000, durability: { replicas: 1, timeoutMs: 100 } });
      const nodes = await cluster.nodes();
      const victim = nodes.find((x) => x.role === 'master')!.port;
      const heir = nodes.find((x) => x.role === 'replica' && x.masterPort === victim)!.port;
      const onVictim = async (store: typeof plain): Promise<string[]> => {
        const found: string[] = [];
        for (let i = 0; found.length < 8; i++) {
          if (await cluster.masterOf((store.backend as RedisSessionBackend).recordKey(`k${i}`)) === victim) found.push(`k${i}`);
        }
        return found;
      };
      const plainKeys = await onVictim(plain);
      const durableKeys = await onVictim(durable);
      for (const k of plainKeys) await plain.set(k, 'before');
      for (const k of durableKeys) await durable.set(k, 'before');
      cluster.pause(heir);
      const admin = new Redis(victim, '127.0.0.1');
      try {
        await admin.call('CLIENT', 'KILL', 'TYPE', 'replica');
        admin.disconnect();
        const plainResults = await Promise.allSettled(plainKeys.map((k) => plain.set(k, 'after')));
        const plainAcked = plainResults.filter((r) => r.status === 'fulfilled').length;
        // One at a time: WAIT blocks its connection, so concurrent waits on one master queue up.
        const durableResults: Array<PromiseSettledResult<number>> = [];
        for (const k of durableKeys) durableResults.push(...(await Promise.allSettled([durable.set(k, 'after')])));
        const durableAcked = durableResults.filter((r) => r.status === 'fulfilled').length;
        for (const r of durableResults) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(BackendDurabilityError);
        await cluster.kill(victim);
        cluster.resume(heir);
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline && !(await cluster.nodes()).some((x) => x.port === heir && x.role === 'master')) {
          await new Promise((r) => setTimeout(r, 100));
        }
        await cluster.restart(victim);
        await cluster.waitHealthy(20_000);
        const lost = async (store: typeof plain, keys: string[]): Promise<number> =>
          (await store.getMany(keys)).filter((r) => r?.data !== 'after').length;
        const plainLost = plainAcked === 0 ? 0 : await lost(plain, plainKeys);
        const durableLost = durableAcked === 0 ? 0 : await lost(durable, durableKeys);
        // Writes made before the pause reached the replica: nothing older than the lag is lost.
        expect((await plain.getMany(plainKeys)).every((r) => r?.data === 'before' || r?.data === 'after')).toBe(true);
        console.log(`redis cluster lagging replica: ${JSON.stringify({ plainAcked, plainLost, durableAcked, durableRejected: durableKeys.length - durableAcked, durableLost })}`);
        expect(plainAcked).toBe(plainKeys.length);
        expect(plainLost).toBe(plainAcked);
        expect(durableAcked).toBe(0);
        expect(durableLost).toBe(0);
      } finally {
        admin.disconnect();
        cluster.resume(heir);
        await plain.close();
        await durable.close();
      }
    }, 45_000);
  });
});
