/**
 * Failover of a job queue and of the sync bus on a private Redis Cluster (3 masters + 3 replicas,
 * started once for this file): a master is SIGKILLed under load, its replica is promoted, the killed
 * node is started again (it rejoins as the new master's replica). The `console.log` lines carry the
 * measured times and losses that docs/adapters/redis.md quotes.
 */
import type { Cluster } from 'ioredis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisJobQueue, redisSyncBus, type RedisLike } from '../adapters/redis/index.js';
import { BackendDurabilityError, BotwireError } from '../src/errors.js';
import { Worker } from '../src/jobs/worker.js';
import { SyncCache } from '../src/sync/sync-cache.js';
import type { SyncBus, SyncBusState } from '../src/sync/types.js';
import { hasRedisCluster, startRedisCluster, type PrivateRedisCluster } from './support/redis-cluster.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const clusterTests = hasRedisCluster || process.env.CI === 'true';
if (!clusterTests) console.warn('[botwire tests] redis-server/redis-cli not found: skipping the Redis Cluster failover tests.');

/** An error's class name, or the start of its message for a plain Error. */
function errorName(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.name === 'Error' ? err.message.slice(0, 60) : err.name;
}

describe.runIf(clusterTests)('failover of job queues and the sync bus on a private Redis Cluster (3 masters + 3 replicas)', () => {
  let cluster: PrivateRedisCluster;
  let n = 0;
  const clients: Cluster[] = [];
  const client = (): Cluster => {
    // Slots are re-read every 500 ms besides on MOVED/connection errors, so a promotion is seen soon.
    const c = cluster.client({ slotsRefreshInterval: 500 });
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await cluster?.dispose();
  });

  /** Kill `victim`, wait for its replica's promotion, start it again and wait for a healthy cluster. */
  async function failOver(victim: number, onKilled: (at: number) => void = () => {}): Promise<{ killedAt: number; promotedAfterMs: number; healthyAfterMs: number; promoted: boolean; heirExisted: boolean }> {
    const heir = (await cluster.nodes()).find((x) => x.role === 'replica' && x.masterPort === victim)?.port;
    await cluster.kill(victim);
    const killedAt = performance.now();
    onKilled(killedAt);
    const heirExisted = heir !== undefined;
    let promoted = !heirExisted;
    const deadline = Date.now() + 15_000;
    while (!promoted && Date.now() < deadline) {
      await sleep(50);
      promoted = (await cluster.nodes().catch(() => [])).some((x) => x.port === heir && x.role === 'master');
    }
    const promotedAfterMs = performance.now() - killedAt;
    await cluster.restart(victim);
    await cluster.waitHealthy(20_000);
    return { killedAt, promotedAfterMs, healthyAfterMs: performance.now() - killedAt, promoted, heirExisted };
  }

  describe('job queue: the master of the queue slot SIGKILLed while producers add and a Worker drains', () => {
    /**
     * 4 producers add jobs with their own ids (an add is acknowledged when `add` resolved); a
     * Worker (concurrency 4) runs `work` jobs (5 ms each) and a second Worker runs only `ping` jobs
     * with a 60 s poll interval, so it can only start one promptly through a wake-up. The master of
     * the queue's slot is killed after 1 s. Afterwards every acknowledged job is looked up: lost
     * (missing on the promoted replica) or its runs counted; overlapping runs of one job fail the test.
     */
    async function jobFailover(durability: { replicas: number; timeoutMs: number } | undefined) {
      const c = client();
      const prefix = `jobfo${++n}:`;
      const errors: Record<string, number> = {};
      const untyped: unknown[] = [];
      const note = (err: unknown): void => {
        const name = errorName(err);
        errors[name] = (errors[name] ?? 0) + 1;
        if (!(err instanceof BotwireError)) untyped.push(err);
      };
      const runs = new Map<string, number>();
      const running = new Set<string>();
      let overlapping = 0;
      const startedAt = new Map<string, number>();
      const pingStarted = new Map<string, number>();
      const overlapIds: string[] = [];
      const work = async (ctx: { job: { id: string } }): Promise<void> => {
        const id = ctx.job.id;
        if (running.has(id)) { overlapping++; overlapIds.push(id); }
        running.add(id);
        if (!startedAt.has(id)) startedAt.set(id, performance.now());
        await sleep(5);
        running.delete(id);
        runs.set(id, (runs.get(id) ?? 0) + 1);
      };
      const ping = (ctx: { job: { id: string } }): void => { pingStarted.set(ctx.job.id, performance.now()); };
      const queue = redisJobQueue({
        client: c, prefix, durability, operationTimeoutMs: 1_000, leaseMs: 2_000, defaultTimeoutMs: 5_000,
        defaultBackoff: { type: 'fixed', delayMs: 100 }, defaultAttempts: 5, onError: note, handlers: { work, ping },
      });
      const victim = await cluster.masterOf(`{${prefix}}`);
      const worker = new Worker(queue, { work }, { concurrency: 4, maintenanceIntervalMs: 500 });
      const pinger = new Worker(queue, { ping }, { pollIntervalMs: 60_000, maintenanceIntervalMs: 60_000 });
      await Promise.all([worker.start(), pinger.start()]);

      const acked = new Map<string, number>();
      let unacked = 0;
      let seq = 0;
      let killedAt = Infinity;
      let lastAddOkBefore = 0;
      let firstAddOkAfter = Infinity;
      let stop = false;
      const producer = async (): Promise<void> => {
        while (!stop) {
          const id = `p${++seq}`;
          const t0 = performance.now();
          try {
            await queue.add('work', { id }, { id });
            const t = performance.now();
            acked.set(id, t);
            if (t < killedAt) lastAddOkBefore = t;
            else if (t0 > killedAt && firstAddOkAfter === Infinity) firstAddOkAfter = t;
            await sleep(10);
          } catch (err) {
            unacked++;
            note(err);
            await sleep(20);
          }
        }
      };
      const producers = Array.from({ length: 4 }, producer);
      let fo: Awaited<ReturnType<typeof failOver>> | undefined;
      let ackedBeforeKill = 0;
      try {
        await sleep(1_000);
        ackedBeforeKill = acked.size;
        fo = await failOver(victim, (at) => { killedAt = at; });
        // Load goes on until adds made after the kill succeed and one of them has been run.
        const ranAfterKill = (): boolean => [...startedAt].some(([id, t]) => t > killedAt && (acked.get(id) ?? 0) > killedAt);
        while ((firstAddOkAfter === Infinity || !ranAfterKill()) && performance.now() - killedAt < 20_000) await sleep(50);
        await sleep(300);
      } finally {
        stop = true;
        await Promise.all(producers);
      }
      // The first run of a job whose add was acknowledged after the kill: claims work again.
      const firstRunAfter = Math.min(...[...startedAt].filter(([id, t]) => t > killedAt && (acked.get(id) ?? 0) > killedAt).map(([, t]) => t));

      // Drain: lapsed leases (lost completions) are reclaimed after leaseMs by maintenance.
      const drainDeadline = Date.now() + 12_000;
      let counts = await queue.counts();
      while (Date.now() < drainDeadline && counts.waiting + counts.active + counts.delayed > 0) {
        await sleep(200);
        counts = await queue.counts().catch(() => counts);
      }

      // Wake-ups after the failover: the ping worker polls every 60 s, so a prompt start is a wake-up.
      const pingLatency = async (): Promise<number> => {
        const id = `ping${++seq}`;
        await queue.add('ping', {}, { id });
        const t0 = performance.now();
        while (!pingStarted.has(id) && performance.now() - t0 < 10_000) await sleep(2);
        return (pingStarted.get(id) ?? Infinity) - t0;
      };
      const wakeLatencies: number[] = [];
      for (let i = 0; i < 5; i++) { wakeLatencies.push(await pingLatency()); await sleep(50); }
      // Then the wake-up subscriber's own connection is dropped (wherever it is): it must come back.
      const subscriberNodes: number[] = [];
      for (const port of cluster.ports) {
        const admin = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
        admin.on('error', () => {});
        try {
          await admin.connect();
          const [, count] = (await admin.call('PUBSUB', 'NUMSUB', `{${prefix}}wake`)) as [string, number];
          if (Number(count) > 0) { subscriberNodes.push(port); await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'); }
        } finally {
          admin.disconnect();
        }
      }
      await sleep(200);
      const wakeAfterDrop = await pingLatency();

      const jobs = new Map<string, Awaited<ReturnType<typeof queue.get>>>();
      const ids = [...acked.keys()];
      for (let i = 0; i < ids.length; i += 200) {
        const chunk = ids.slice(i, i + 200);
        const got = await Promise.all(chunk.map((id) => queue.get(id)));
        chunk.forEach((id, j) => jobs.set(id, got[j]));
      }
      const lost = ids.filter((id) => jobs.get(id) === undefined);
      const notCompleted = ids.filter((id) => jobs.get(id) !== undefined && jobs.get(id)!.state !== 'completed');
      const neverRan = ids.filter((id) => jobs.get(id) !== undefined && !runs.has(id));
      const ranTwice = [...runs.values()].filter((r) => r > 1).length;
      const overlapAttempts = await Promise.all(overlapIds.map(async (id) => (await queue.get(id))?.attempts));
      await Promise.all([worker.stop({ graceMs: 2_000 }), pinger.stop({ graceMs: 2_000 })]);
      await queue.close();
      const report = {
        durability: durability ? `${durability.replicas} replica, ${durability.timeoutMs} ms` : 'off',
        acknowledged: acked.size, acknowledgedBeforeKill: ackedBeforeKill, addsRejected: unacked, lost: lost.length,
        notCompleted: notCompleted.length, ranMoreThanOnce: ranTwice, overlappingRuns: overlapping, overlapAttempts,
        promotedAfterMs: Math.round(fo!.promotedAfterMs), lastAddOkBeforeKillMs: Math.round(killedAt - lastAddOkBefore),
        firstAddOkAfterKillMs: Math.round(firstAddOkAfter - killedAt), firstRunAfterKillMs: Math.round(firstRunAfter - killedAt),
        clusterHealthyAfterMs: Math.round(fo!.healthyAfterMs), wakeLatencyMs: wakeLatencies.map((l) => Math.round(l)),
        wakeSubscriberOnVictim: subscriberNodes.includes(victim), wakeAfterSubscriberDropMs: Math.round(wakeAfterDrop), errors,
      };
      console.log(`redis cluster job failover: ${JSON.stringify(report)}`);
      return { ...report, fo: fo!, firstAddOkAfter, firstRunAfter, untyped, neverRan, subscriberNodes, wakeLatencies, wakeAfterDrop, counts };
    }

    function commonChecks(r: Awaited<ReturnType<typeof jobFailover>>): void {
      expect(r.fo.promoted).toBe(true);
      // Adds and claims work again after the promotion (generous bound: the test's own deadline is 20 s).
      expect(r.firstAddOkAfter).toBeLessThan(Infinity);
      expect(r.firstRunAfter).toBeLessThan(Infinity);
      expect(r.acknowledged).toBeGreaterThan(r.acknowledgedBeforeKill);
      // Every error the producers and the worker saw is one of botwire's typed errors.
      expect([...new Set(r.untyped.map((e) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))))]).toEqual([]);
      // The queue drained: every job that survived ran to completion, none was left behind.
      expect(r.counts).toMatchObject({ waiting: 0, active: 0, delayed: 0 });
      expect(r.notCompleted).toBe(0);
      expect(r.neverRan).toEqual([]);
      // A job may run again after its run's outcome was lost (at least once), but never twice at
      // once: jobs whose claim was answered after half their lease go back instead of running.
      expect(r.overlappingRuns).toBe(0);
      // Wake-ups resumed: the ping worker polls every 60 s, so only a wake-up starts its job within 5 s.
      expect(r.subscriberNodes.length).toBeGreaterThan(0);
      for (const l of [...r.wakeLatencies, r.wakeAfterDrop]) expect(l).toBeLessThan(5_000);
    }

    it('without durability: adds and claims resume, wake-ups resume, lost acknowledged jobs are counted', async () => {
      const r = await jobFailover(undefined);
      commonChecks(r);
    }, 45_000);

    it('with durability { replicas: 1 }: no acknowledged job is lost', async () => {
      const r = await jobFailover({ replicas: 1, timeoutMs: 300 });
      commonChecks(r);
      expect(r.lost).toBe(0);
      // Overlapping runs of one job are counted and logged, not asserted: 1 and 2 were seen in two of
      // six runs, never without durability (open question, see docs/adapters/redis.md).
    }, 45_000);
  });

  it('a replica behind its master when the master dies: acknowledged adds are lost without durability, never with it', async () => {
    // As the session scenario in redis-cluster.test.ts: the replica is paused and its link cut, both
    // queues (on the same master) add 8 jobs, the master is killed, the paused replica promoted.
    const c = client();
    const nodes = await cluster.nodes();
    const victim = nodes.find((x) => x.role === 'master')!.port;
    const heir = nodes.find((x) => x.role === 'replica' && x.masterPort === victim)!.port;
    let i = 0;
    const prefixOnVictim = async (tag: string): Promise<string> => {
      while (await cluster.masterOf(`{lagjob${n}${tag}${++i}:}`) !== victim) { /* next */ }
      return `lagjob${n}${tag}${i}:`;
    };
    ++n;
    const common = { client: c, operationTimeoutMs: 1_000, handlers: { a: () => 1 } };
    const plain = redisJobQueue({ ...common, prefix: await prefixOnVictim('p') });
    const durable = redisJobQueue({ ...common, prefix: await prefixOnVictim('d'), durability: { replicas: 1, timeoutMs: 100 } });
    const ids = Array.from({ length: 8 }, (_, k) => `job${k}`);
    await plain.add('a', {}, { id: 'before' });
    await durable.add('a', {}, { id: 'before' });
    cluster.pause(heir);
    const admin = new Redis(victim, '127.0.0.1');
    try {
      await admin.call('CLIENT', 'KILL', 'TYPE', 'replica');
      admin.disconnect();
      const plainAcked = (await Promise.allSettled(ids.map((id) => plain.add('a', {}, { id })))).filter((r) => r.status === 'fulfilled').length;
      const durableResults: Array<PromiseSettledResult<unknown>> = [];
      for (const id of ids) durableResults.push(...(await Promise.allSettled([durable.add('a', {}, { id })])));
      const durableAcked = durableResults.filter((r) => r.status === 'fulfilled').length;
      for (const r of durableResults) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(BackendDurabilityError);
      await cluster.kill(victim);
      cluster.resume(heir);
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && !(await cluster.nodes()).some((x) => x.port === heir && x.role === 'master')) await sleep(100);
      await cluster.restart(victim);
      await cluster.waitHealthy(20_000);
      const missing = async (q: typeof plain): Promise<number> => (await Promise.all(ids.map((id) => q.get(id)))).filter((j) => j === undefined).length;
      const plainLost = await missing(plain);
      const durableLost = durableAcked === 0 ? 0 : await missing(durable);
      // Added before the replica fell behind: still there.
      expect(await plain.get('before')).toBeDefined();
      expect(await durable.get('before')).toBeDefined();
      console.log(`redis cluster lagging replica (jobs): ${JSON.stringify({ plainAcked, plainLost, durableAcked, durableRejected: ids.length - durableAcked, durableLost })}`);
      expect(plainAcked).toBe(ids.length);
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

  describe('sync bus: classic pub/sub across a failover', () => {
    /** The ports whose node has a pattern subscription (the bus PSUBSCRIBEs `<prefix>*`). */
    async function patternSubscriberNodes(): Promise<number[]> {
      const found: number[] = [];
      for (const port of (await cluster.nodes()).map((x) => x.port)) {
        const admin = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
        admin.on('error', () => {});
        try {
          await admin.connect();
          if (Number(await admin.call('PUBSUB', 'NUMPAT')) > 0) found.push(port);
        } finally {
          admin.disconnect();
        }
      }
      return found;
    }

    /** Record a bus's state every 5 ms. */
    function watchState(bus: SyncBus): { states: SyncBusState[]; stop: () => void } {
      const states: SyncBusState[] = [bus.state];
      const timer = setInterval(() => { if (states.at(-1) !== bus.state) states.push(bus.state); }, 5);
      return { states, stop: () => clearInterval(timer) };
    }

    type Load = Record<string, { i: number }>;

    /**
     * Publisher P sends `load` events every 10 ms; buses A and B (other instances, own clients)
     * receive them. After 1 s `victim(ctx)` is SIGKILLed and failed over. Lost for a bus: events
     * whose `publish` resolved but that never arrived there. Gap: from the kill until the first
     * event published after the kill arrives.
     */
    async function busFailover(pickVictim: (ctx: { subscriberOfA: number; publishMaster: number }) => number) {
      const channelPrefix = `syncfo${++n}:`;
      const errors: Record<string, number> = {};
      const onError = (err: unknown): void => { const k = errorName(err); errors[k] = (errors[k] ?? 0) + 1; };
      const a = redisSyncBus<Load>({ client: client() as RedisLike, channelPrefix, onError });
      await a.ready(10_000);
      // A is the only bus subscribed so far: the node with a pattern subscription is A's.
      const [subscriberOfA] = await patternSubscriberNodes();
      const b = redisSyncBus<Load>({ client: client() as RedisLike, channelPrefix, onError });
      const p = redisSyncBus<Load>({ client: client() as RedisLike, channelPrefix, onError });
      await Promise.all([b.ready(10_000), p.ready(10_000)]);
      const publishMaster = await cluster.masterOf(`{${channelPrefix}}`);
      const victim = pickVictim({ subscriberOfA: subscriberOfA!, publishMaster });
      const received = { a: new Map<number, number>(), b: new Map<number, number>() };
      const resyncs = { a: [] as string[], b: [] as string[] };
      a.subscribe('load', (e) => { received.a.set(e.data.i, performance.now()); });
      b.subscribe('load', (e) => { received.b.set(e.data.i, performance.now()); });
      a.subscribe('$resync', (e) => { resyncs.a.push(e.data.reason); });
      b.subscribe('$resync', (e) => { resyncs.b.push(e.data.reason); });
      const cacheA = new SyncCache<string>({ bus: a });
      const cacheB = new SyncCache<string>({ bus: b });
      const watchA = watchState(a);
      const watchB = watchState(b);
      const published = new Map<number, number>();
      let i = 0;
      let stop = false;
      let killedAt = Infinity;
      const publisher = (async () => {
        while (!stop) {
          const n = ++i;
          const t = performance.now();
          await p.publish('load', { i: n });
          published.set(n, t);
          await sleep(10);
        }
      })();
      const after = (m: Map<number, number>): boolean => [...m.keys()].some((k) => (published.get(k) ?? 0) > killedAt);
      let fo: Awaited<ReturnType<typeof failOver>> | undefined;
      try {
        await sleep(1_000);
        cacheA.set('k', 'cached before the failover');
        cacheB.set('k', 'cached before the failover');
        fo = await failOver(victim, (at) => { killedAt = at; });
        while (!(after(received.a) && after(received.b)) && performance.now() - killedAt < 20_000) await sleep(50);
        await sleep(500);
      } finally {
        stop = true;
        await publisher;
      }
      await sleep(300);
      watchA.stop();
      watchB.stop();
      const firstAfter = (m: Map<number, number>): number =>
        Math.min(...[...m].filter(([k]) => (published.get(k) ?? 0) > killedAt).map(([, t]) => t)) - killedAt;
      const lastBefore = (m: Map<number, number>): number => killedAt - Math.max(...[...m.values()].filter((t) => t < killedAt));
      const stats = p.stats();
      // `publish` resolves whether or not the broker took an event (it counts refused ones in
      // `stats().dropped`), so lost counts every published event a bus never received.
      const lost = (m: Map<number, number>): number => [...published.keys()].filter((k) => !m.has(k)).length;
      const report = {
        victim: victim === subscriberOfA ? (victim === publishMaster ? "A's subscriber node = publish master" : "A's subscriber node") : 'publish master',
        victimWasMaster: fo!.heirExisted, published: published.size, publisherDropped: stats.dropped,
        lostA: lost(received.a), lostB: lost(received.b),
        gapA: { lastBeforeKillMs: Math.round(lastBefore(received.a)), firstAfterKillMs: Math.round(firstAfter(received.a)) },
        gapB: { lastBeforeKillMs: Math.round(lastBefore(received.b)), firstAfterKillMs: Math.round(firstAfter(received.b)) },
        promotedAfterMs: Math.round(fo!.promotedAfterMs), clusterHealthyAfterMs: Math.round(fo!.healthyAfterMs),
        statesA: watchA.states, statesB: watchB.states, resyncsA: resyncs.a, resyncsB: resyncs.b,
        cacheA: cacheA.get('k') ?? null, cacheB: cacheB.get('k') ?? null, errors,
      };
      console.log(`redis cluster sync failover: ${JSON.stringify(report)}`);
      cacheA.close();
      cacheB.close();
      await Promise.all([a.close(), b.close(), p.close()]);
      return { ...report, subscriberOfA, publishMaster };
    }

    it("the node of a bus's subscriber connection SIGKILLed: the bus reports down/up, resyncs, its SyncCache drops every entry; events flow again", async () => {
      const r = await busFailover((x) => x.subscriberOfA);
      expect(r.gapA.firstAfterKillMs).toBeLessThan(20_000);
      expect(r.gapB.firstAfterKillMs).toBeLessThan(20_000);
      // A lost its subscription: it must say so, since events published meanwhile are gone.
      expect(r.statesA).toContain('down');
      expect(r.statesA.at(-1)).toBe('up');
      expect(r.resyncsA).toContain('reconnect');
      // No stale entry survives on A, whatever was (not) heard while it was away.
      expect(r.cacheA).toBeNull();
    }, 45_000);

    it('the master serving the publishers\' slot SIGKILLed: publishing resumes after the promotion, receivers resync on the gap', async () => {
      const r = await busFailover((x) => x.publishMaster);
      expect(r.gapA.firstAfterKillMs).toBeLessThan(20_000);
      expect(r.gapB.firstAfterKillMs).toBeLessThan(20_000);
      for (const bus of [{ lost: r.lostA, resyncs: r.resyncsA, cache: r.cacheA }, { lost: r.lostB, resyncs: r.resyncsB, cache: r.cacheB }]) {
        // At most once: what was lost was announced by a $resync, which flushed the cache.
        if (bus.lost > 0) {
          expect(bus.resyncs.length).toBeGreaterThan(0);
          expect(bus.cache).toBeNull();
        }
      }
    }, 45_000);
  });
});
