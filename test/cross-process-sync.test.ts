import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresSyncBus } from '../adapters/postgres/sync-transport.js';
import { redisSyncBus } from '../adapters/redis/sync-transport.js';
import type { ResyncInfo, SyncBus } from '../src/sync/types.js';
import { hasRedisServer, startPrivateRedis, type PrivateRedis } from './support/redis-server.js';
import { DATABASE_URL, needs, REDIS_URL, uniqueName } from './support/services.js';
import { startSyncPeer, type PeerMessage } from './support/sync-peer.js';

const EVENTS = 5_000;

async function exchange(backend: 'redis' | 'postgres', url: string, space: string): Promise<void> {
  const [a, b] = await Promise.all([startSyncPeer(backend, url, space), startSyncPeer(backend, url, space)]);
  try {
    a.send({ cmd: 'burst', count: EVENTS });
    b.send({ cmd: 'burst', count: EVENTS });
    const published = await Promise.all([a.next('published', 60_000), b.next('published', 60_000)]);
    expect(published.map((p) => p.dropped)).toEqual([0, 0]);
    // Delivery trails publishing a little: ask until both have everything (or the test times out).
    const reports: PeerMessage[] = [];
    for (const [peer, other] of [[a, b], [b, a]] as const) {
      let report: PeerMessage;
      for (;;) {
        peer.send({ cmd: 'report' });
        report = await peer.next('report');
        const o = (report.origins as Array<{ origin: string; count: number }>).find((x) => x.origin === other.id);
        if (o && o.count >= EVENTS) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      reports.push(report);
    }
    for (const [i, report] of reports.entries()) {
      const other = i === 0 ? b.id : a.id;
      expect(report.origins).toEqual([{ origin: other, count: EVENTS, duplicates: 0, outOfOrder: 0, distinct: EVENTS }]);
      expect(report.resyncs).toEqual([]);
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

describe.runIf(await needs('redis'))('cross-process SyncBus over Redis', () => {
  it(`two OS processes exchange ${EVENTS} events each: none lost, none duplicated, in order per origin`, async () => {
    await exchange('redis', REDIS_URL, `${uniqueName('xsync')}:`);
  }, 120_000);
});

describe.runIf(await needs('postgres'))('cross-process SyncBus over Postgres', () => {
  it(`two OS processes exchange ${EVENTS} events each: none lost, none duplicated, in order per origin`, async () => {
    await exchange('postgres', DATABASE_URL, uniqueName('xsync'));
  }, 120_000);
});

/** Publish while the broker is out; returns how long each publish call took, in ms. */
async function timedPublishes(bus: SyncBus, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await bus.publish('t', `during-${i}`);
    times.push(performance.now() - t);
  }
  return times.sort((x, y) => x - y);
}

const median = (sorted: number[]): number => sorted[Math.floor(sorted.length / 2)]!;

describe.runIf(hasRedisServer)('SyncBus when a private Redis is killed and restarted mid-run', () => {
  let redis: PrivateRedis;
  beforeAll(async () => { redis = await startPrivateRedis(); });
  afterAll(async () => { await redis?.dispose(); });

  it('does not crash, publishes locally at once during the outage, resyncs and resumes within 2 s', async () => {
    const a = redisSyncBus({ url: redis.url, onError: () => {} });
    const b = redisSyncBus({ url: redis.url, onError: () => {} });
    await Promise.all([a.ready(), b.ready()]);
    const resyncs: ResyncInfo[] = [];
    const got: unknown[] = [];
    const local: unknown[] = [];
    b.subscribe('$resync', (e) => { resyncs.push(e.data); });
    b.subscribe('t', (e) => { got.push(e.data); });
    a.subscribe('t', (e) => { local.push(e.data); });
    let n = 0;
    const ticker = setInterval(() => { void a.publish('t', n++); }, 5); // events flowing while the server dies
    try {
      await expect.poll(() => got.length).toBeGreaterThan(10);
      await redis.kill();
      await expect.poll(() => a.state, { timeout: 5_000 }).toBe('down');
      const times = await timedPublishes(a, 50);
      console.info(`[redis outage] publish median ${median(times).toFixed(3)} ms, max ${times.at(-1)!.toFixed(3)} ms`);
      expect(median(times)).toBeLessThan(5);
      expect(local).toContain('during-49');
      await redis.restart();
      const restartedAt = performance.now();
      await expect.poll(() => resyncs.length, { timeout: 5_000, interval: 10 }).toBeGreaterThan(0);
      const mark = `after-${Date.now()}`;
      await expect.poll(async () => { await a.publish('t', mark); return got.includes(mark); }, { timeout: 5_000, interval: 20 }).toBe(true);
      const resumedMs = performance.now() - restartedAt;
      console.info(`[redis outage] delivery resumed ${resumedMs.toFixed(0)} ms after the server came back`);
      expect(resumedMs).toBeLessThan(2_000);
      // A loaded machine may also time out a send before the kill (a `gap` resync): fine, but the
      // reconnect must be reported.
      expect(resyncs).toContainEqual({ reason: 'reconnect' });
    } finally {
      clearInterval(ticker);
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);
});

describe.runIf(hasRedisServer)('SyncBus liveness probe on a private Redis that stops answering', () => {
  let redis: PrivateRedis;
  beforeAll(async () => { redis = await startPrivateRedis(); });
  afterAll(async () => { await redis?.dispose(); });

  it('notices an unanswered PING, reconnects the subscriber and emits $resync', async () => {
    const bus = redisSyncBus({ url: redis.url, probeIntervalMs: 100, probeTimeoutMs: 300, onError: () => {} });
    await bus.ready();
    const resyncs: ResyncInfo[] = [];
    bus.subscribe('$resync', (e) => { resyncs.push(e.data); });
    const admin = new Redis(redis.url);
    try {
      // The socket stays open but nothing is answered: what a half-dead connection looks like.
      // Paused far longer than the probe timeout, so a loaded machine cannot miss the silence.
      await admin.call('CLIENT', 'PAUSE', '5000', 'ALL');
      await expect.poll(() => resyncs, { timeout: 20_000, interval: 50 }).toContainEqual({ reason: 'reconnect' });
    } finally {
      admin.disconnect();
      await bus.close();
    }
  }, 45_000);
});

describe.runIf(await needs('postgres'))('SyncBus when its LISTEN connection is terminated (pg_terminate_backend)', () => {
  const schema = uniqueName('bw_fault');
  let pool: pg.Pool;
  let admin: pg.Pool;
  let blocked = false;
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 6 });
    pool.on('error', () => undefined);
    admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  });
  afterAll(async () => { await pool.end(); await admin.end(); });

  it('does not crash, publishes at once while reconnects fail, resyncs and resumes within 2 s', async () => {
    // Reconnects of this bus fail while `blocked`, turning a terminated backend into an outage we control.
    const gated = {
      query: (text: string, params?: unknown[]) => pool.query(text, params),
      connect: () => (blocked ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED (test outage)'), { code: 'ECONNREFUSED' })) : pool.connect()),
      totalCount: 0,
      options: { max: 6 },
    };
    const a = postgresSyncBus({ client: pool, schema, onError: () => {} });
    const b = postgresSyncBus({ client: gated, schema, onError: () => {} });
    await Promise.all([a.ready(), b.ready()]);
    const resyncs: ResyncInfo[] = [];
    const got: unknown[] = [];
    b.subscribe('$resync', (e) => { resyncs.push(e.data); });
    b.subscribe('t', (e) => { got.push(e.data); });
    let n = 0;
    const ticker = setInterval(() => { void a.publish('t', n++); }, 5);
    try {
      await expect.poll(() => got.length).toBeGreaterThan(10);
      blocked = true;
      const { rows } = await admin.query(
        `SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN "${schema}_sync"' ORDER BY backend_start DESC`,
      );
      // b opened its listener last (a was ready first), but terminate every LISTEN of b's channel to be sure.
      for (const { pid } of rows) await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await expect.poll(() => b.state, { timeout: 5_000, interval: 5 }).toBe('down');
      const times = await timedPublishes(b, 50);
      console.info(`[pg outage] publish median ${median(times).toFixed(3)} ms, max ${times.at(-1)!.toFixed(3)} ms`);
      expect(median(times)).toBeLessThan(5);
      blocked = false;
      const reopenedAt = performance.now();
      await expect.poll(() => resyncs.length, { timeout: 5_000, interval: 10 }).toBeGreaterThan(0);
      const mark = `after-${Date.now()}`;
      await expect.poll(async () => { await a.publish('t', mark); return got.includes(mark); }, { timeout: 5_000, interval: 20 }).toBe(true);
      const resumedMs = performance.now() - reopenedAt;
      console.info(`[pg outage] delivery resumed ${resumedMs.toFixed(0)} ms after connections were allowed again`);
      expect(resumedMs).toBeLessThan(2_000);
      expect(resyncs).toContainEqual({ reason: 'reconnect' });
    } finally {
      clearInterval(ticker);
      blocked = false;
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);
});
