import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisJobBackend, redisJobQueue } from '../adapters/redis/job-backend.js';
import type { RedisLike } from '../adapters/redis/redis-like.js';
import { BackendUnavailableError } from '../src/errors.js';
import { runDue } from '../src/jobs/run-due.js';
import { Worker } from '../src/jobs/worker.js';
import { jobQueueContract } from '../src/testing/job-queue-contract.js';
import { claimAheadSuite } from './support/claim-ahead-suite.js';
import { hasRedisServer, startPrivateRedis } from './support/redis-server.js';
import { deleteKeys } from './support/redis-keys.js';
import { REDIS_URL, needs, uniqueName } from './support/services.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const privateServerTests = hasRedisServer || process.env.CI === 'true';
if (!privateServerTests) console.warn('[botwire tests] redis-server binary not found: skipping private-server job tests.');

/**
 * Wraps a client and counts script calls (each one round trip). EVAL re-sends after NOSCRIPT are
 * not counted: other test files may flush the shared server's script cache at any time.
 */
function counting(client: Redis): { client: RedisLike; calls: () => number } {
  let n = 0;
  const proxy = new Proxy(client, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'evalsha') n++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { client: proxy as unknown as RedisLike, calls: () => n };
}

describe.runIf(await needs('redis'))('redisJobQueue on the shared Redis', () => {
  const run = uniqueName('bwtest_jobs');
  let client: Redis;
  let n = 0;
  const prefix = (): string => `${run}:${++n}:`;
  beforeAll(() => { client = new Redis(REDIS_URL); });
  afterAll(async () => {
    await deleteKeys(client, `{${run}:*`);
    await deleteKeys(client, `${run}:*`);
    await client.quit();
  });

  jobQueueContract('redis', () => ({ backend: redisJobBackend({ client, prefix: prefix() }) }));

  it('runs a job lifecycle in at most 3 round trips per job (add, claim, complete)', async () => {
    const counted = counting(client);
    const queue = redisJobQueue({ defaultTimeoutMs: 5_000, client: counted.client, prefix: prefix(), handlers: { noop: () => 'ok' } });
    const jobs = 40;
    for (let i = 0; i < jobs; i++) await queue.add('noop', { i });
    const afterAdd = counted.calls();
    expect(afterAdd).toBe(jobs);
    const summary = await runDue(queue, undefined, { concurrency: 1, budgetMs: 20_000, retention: false });
    expect(summary.completed).toBe(jobs);
    // Per job: one claim and one completion; per tick: maintenance and the final count.
    const tickCalls = counted.calls() - afterAdd;
    expect(tickCalls).toBeLessThanOrEqual(2 * jobs + 5);
    expect(counted.calls() / jobs).toBeLessThanOrEqual(3.2);
    await queue.close();
  });

  it('sends concurrent completions in one script call', async () => {
    const counted = counting(client);
    const queue = redisJobQueue({ defaultTimeoutMs: 5_000, client: counted.client, prefix: prefix(), handlers: { noop: () => 'ok' } });
    for (let i = 0; i < 20; i++) await queue.add('noop', { i });
    const before = counted.calls();
    const summary = await runDue(queue, undefined, { concurrency: 10, budgetMs: 20_000, retention: false });
    expect(summary.completed).toBe(20);
    // 2 claims of 10 and far fewer than 20 completion calls, plus maintenance and count.
    expect(counted.calls() - before).toBeLessThan(20);
    const page = await queue.list({ state: 'completed', limit: 100 });
    expect(page.jobs).toHaveLength(20);
    expect(page.jobs.every((j) => j.result === 'ok' && j.progress.pct === 100)).toBe(true);
    await queue.close();
  });

  it('claims and completes more jobs in one script call than one index command takes (chunked ZADD/ZREM)', async () => {
    // 900 claimed jobs make 1,800 ZADD arguments, past the 1,000 per command the scripts send.
    const p = prefix();
    const backend = redisJobBackend({ client, prefix: p });
    const queue = redisJobQueue({ client, prefix: p, handlers: { noop: () => null } });
    const total = 900;
    await Promise.all(Array.from({ length: total }, (_, i) => queue.add('noop', { i }, { id: `big-${i}` })));
    const now = Date.now();
    const jobs = await backend.claim({ names: ['noop'], limit: total, maxTimeoutMs: Number.MAX_SAFE_INTEGER, token: 'big', leaseMs: 60_000, now });
    expect(jobs).toHaveLength(total);
    expect(jobs.every((j) => j.state === 'active' && j.attempts === 1 && j.leaseToken === 'big')).toBe(true);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(total);
    const base = `{${p}}`;
    expect(await client.zcard(`${base}a`)).toBe(total);
    expect(await client.zcard(`${base}s:active`)).toBe(total);
    expect(await client.zcard(`${base}s:waiting`)).toBe(0);
    expect(await client.zcard(`${base}w:noop`)).toBe(0);
    const done = await Promise.all(jobs.map((j) => backend.complete(j.id, 'big', '1', now + 1)));
    expect(done.every(Boolean)).toBe(true);
    expect(await client.zcard(`${base}a`)).toBe(0);
    expect(await client.zcard(`${base}s:active`)).toBe(0);
    expect(await client.zcard(`${base}s:completed`)).toBe(total);
    expect(await client.zcard(`${base}f:completed`)).toBe(total);
    const sample = await queue.get('big-899');
    expect(sample).toMatchObject({ state: 'completed', result: 1, attempts: 1, progress: { pct: 100 } });
    await backend.close();
    await queue.close();
  });

  describe('claim-ahead', () => {
    claimAheadSuite({
      backend: () => redisJobBackend({ client, prefix: prefix() }),
      queue: (handlers) => {
        const counted = counting(client);
        return { queue: redisJobQueue({ defaultTimeoutMs: 5_000, client: counted.client, prefix: prefix(), handlers }), calls: counted.calls };
      },
    });
  });

  it('wakes an idle worker on add without waiting for its poll interval', async () => {
    const queue = redisJobQueue({ defaultTimeoutMs: 5_000, client, prefix: prefix(), handlers: { ping: () => 'pong' } });
    const done: string[] = [];
    const worker = new Worker(queue, undefined, {
      pollIntervalMs: 60_000, maintenanceIntervalMs: 60_000, onOutcome: (o, id) => { if (o === 'completed') done.push(id); },
    });
    await worker.start();
    await sleep(50); // the first (empty) claim has happened; now the worker sleeps for a minute
    const job = await queue.add('ping', null);
    for (let i = 0; i < 100 && done.length === 0; i++) await sleep(50);
    expect(done).toEqual([job.id]);
    await worker.stop();
    await queue.close();
  });

  it('keeps every key of a queue in one hash slot', async () => {
    const p = prefix();
    const queue = redisJobQueue({ defaultTimeoutMs: 5_000, client, prefix: p, handlers: { a: () => 1 } });
    await queue.add('a', 1, { delayMs: 60_000 });
    await queue.add('a', 2);
    await runDue(queue, undefined, { budgetMs: 10_000 });
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', `{${p}}*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    expect(keys.length).toBeGreaterThan(5);
    expect(new Set(keys.map((k) => k.slice(0, k.indexOf('}') + 1)))).toEqual(new Set([`{${p}}`]));
    await queue.close();
  });

  it('leaves no trace of removed jobs in any key: indexes, lanes, debounce keys; counters at zero', async () => {
    const p = prefix();
    const queue = redisJobQueue({
      defaultTimeoutMs: 5_000, client, prefix: p, groups: { concurrency: 1 },
      handlers: { a: () => 1, bad: () => { throw new Error('x'); }, part: async ({ partial }) => { await partial(1, { missing: ['b'] }); } },
    });
    await queue.add('a', 1, { id: 'done' });
    await queue.add('bad', 1, { id: 'failed', attempts: 1, group: 'chat-1' });
    await queue.add('part', 1, { id: 'partial', attempts: 3, group: 'chat-2' });
    await runDue(queue, undefined, { budgetMs: 10_000, retention: false });
    await queue.add('a', 1, { id: 'grouped', group: 'chat-3' });
    await queue.add('a', 1, { id: 'later', delayMs: 60_000, group: 'chat-3' });
    const debounced = await queue.add('a', 1, { debounce: { id: 'typing', ms: 60_000 } });
    await queue.add('a', 1, { id: 'cancelled' });
    await queue.cancel('cancelled');
    for (const id of ['done', 'failed', 'partial', 'grouped', 'later', debounced.id, 'cancelled']) expect(await queue.remove(id), id).toBe(true);
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', `{${p}}*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    // Only the sequence and turn counters and the per-name counts stay (empty sets and hashes vanish in Redis).
    const left = keys.map((k) => k.slice(`{${p}}`.length)).sort();
    expect(left).toEqual(['c:a', 'c:bad', 'c:part', 'seq', 'turn', 'ut']);
    for (const name of ['a', 'bad', 'part']) {
      expect(Object.values(await client.hgetall(`{${p}}c:${name}`)).every((v) => v === '0'), name).toBe(true);
    }
    await queue.close();
  });

  it('rejects a prefix containing braces, and a client that is not a Redis client', () => {
    expect(() => redisJobBackend({ client, prefix: 'a{b}' })).toThrow(/prefix/);
    expect(() => redisJobBackend({ client: {} as RedisLike })).toThrow(/client/);
    expect(() => redisJobBackend({})).toThrow(/client.*url/);
  });

  it('fails fast with BackendUnavailableError when Redis is unreachable', async () => {
    const queue = redisJobQueue({ url: 'redis://127.0.0.1:1', operationTimeoutMs: 1_500, connectTimeoutMs: 500 });
    const started = Date.now();
    await expect(queue.add('x', 1)).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(Date.now() - started).toBeLessThan(5_000);
    await queue.close();
  });

  it('survives a crashing worker: 2,000 jobs each completed exactly once, none lost or stuck', async () => {
    const p = prefix();
    const queue = redisJobQueue({ defaultTimeoutMs: 5_000, client, prefix: p, leaseMs: 1_000, handlers: { work: () => null } });
    const total = 2_000;
    await Promise.all(Array.from({ length: total }, (_, i) =>
      queue.add('work', { i }, { id: `job-${i}`, attempts: 1_000, backoff: { type: 'fixed', delayMs: 10 } })));
    const base = `{${p}}`;
    const completed = (): Promise<number> => client.zcard(`${base}f:completed`);
    type Proc = { child: ChildProcess; ready: Promise<boolean> };
    const spawnWorker = (concurrency = 10): Proc => {
      const child = fork('test/fixtures/job-worker.ts', [REDIS_URL, p, String(concurrency)], { execArgv: ['--import', 'tsx'], stdio: 'ignore' });
      const ready = new Promise<boolean>((resolve) => {
        child.once('message', () => resolve(true));
        child.once('exit', () => resolve(false));
      });
      return { child, ready };
    };
    const killed = (c: ChildProcess): Promise<unknown> => {
      if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      return exited;
    };
    let kills = 0;
    const started = Date.now();
    // Each worker is killed ~2 s after it started working, while the next one is already starting
    // up (a process start takes seconds on a loaded machine); the killed worker's jobs come back
    // once their 1 s lease lapses. Kills stop when most jobs are done, so the test stays short.
    let current = spawnWorker();
    const procs = [current];
    try {
      while (kills < 8 && (await completed()) < total * 0.9 && Date.now() - started < 25_000) {
        await current.ready;
        // The worker that survives the last kill runs wider, so the rest finishes quickly.
        const last = kills === 7 || (await completed()) >= total * 0.6 || Date.now() - started >= 18_000;
        const next = spawnWorker(last ? 40 : 10);
        procs.push(next);
        await sleep(1_500 + Math.random() * 1_000);
        if ((await completed()) >= total) break;
        await killed(current.child);
        kills++;
        current = next;
      }
      while ((await completed()) < total && Date.now() - started < 55_000) await sleep(200);
    } finally {
      await Promise.all(procs.map((x) => killed(x.child)));
    }
    expect(kills).toBeGreaterThanOrEqual(2);
    expect(await completed()).toBe(total);
    expect(await client.zcard(`${base}s:active`)).toBe(0);
    expect(await client.zcard(`${base}a`)).toBe(0);
    const exec = await client.hgetall(`${p}exec`);
    const done = await client.hgetall(`${p}done`);
    const reran = Object.values(exec).filter((v) => Number(v) > 1).length;
    for (let i = 0; i < total; i++) {
      const id = `job-${i}`;
      const job = await queue.get(id);
      expect(job?.state, id).toBe('completed');
      expect(Number(exec[id]), id).toBeGreaterThanOrEqual(1);
      // The stored result comes from one of the runs, and no worker saw a second completion.
      expect((job?.result as { run: number }).run).toBeLessThanOrEqual(Number(exec[id]));
      expect(Number(done[id] ?? 0), id).toBeLessThanOrEqual(1);
    }
    console.info(`[crash test] ${kills} kills, ${reran} jobs ran more than once, ${Date.now() - started} ms`);
    await queue.close();
  }, 60_000);

  it('fails no job that never started when workers are SIGKILLed (attempts: 1)', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    mkdirSync(`${root}.tmp`, { recursive: true });
    // Bundled: a worker started through tsx needs seconds to boot on a loaded machine.
    const workerFile = `${root}.tmp/redis-crash-worker-${process.pid}.mjs`;
    await build({ entryPoints: [`${root}test/fixtures/job-worker.ts`], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: workerFile, logLevel: 'error' });
    // Every start, appended synchronously by the handler before it does anything else.
    const log = `${root}.tmp/redis-crash-starts-${process.pid}.log`;
    writeFileSync(log, '');
    const started = (): string[] => readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const p = prefix();
    const base = `{${p}}`;
    const queue = redisJobQueue({ client, prefix: p, handlers: { work: () => null } });
    const total = 150;
    await Promise.all(Array.from({ length: total }, (_, i) => queue.add('work', { i }, { id: `once-${i}`, attempts: 1 })));
    const finished = async (): Promise<number> => (await client.zcard(`${base}f:completed`)) + (await client.zcard(`${base}f:failed`));
    const spawnWorker = (): Promise<ChildProcess> => new Promise((resolve) => {
      const child = fork(workerFile, [REDIS_URL, p, '10', log], { stdio: 'ignore' });
      child.once('message', () => resolve(child));
    });
    const kill = async (child: ChildProcess): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    };
    // Two workers die while busy (every slot taken, completions claiming the next jobs ahead);
    // the third drains what is left once the dead workers' 1 s leases lapse.
    const t0 = Date.now();
    let child = await spawnWorker();
    try {
      for (const killAt of [30, 70]) {
        while (started().length < killAt && Date.now() - t0 < 20_000) await sleep(5);
        await kill(child);
        child = await spawnWorker();
      }
      while ((await finished()) < total && Date.now() - t0 < 25_000) await sleep(100);
    } finally {
      await kill(child);
      rmSync(workerFile, { force: true });
    }

    const runs = new Map<string, number>();
    for (const id of started()) runs.set(id, (runs.get(id) ?? 0) + 1);
    const jobs = await Promise.all(Array.from({ length: total }, async (_, i) => {
      const id = `once-${i}`;
      return { id, state: (await queue.get(id))?.state, returns: Number(await client.hget(`${base}j:${id}`, 'ar') ?? 0) };
    }));
    // The defect this guards against: a job claimed (ahead or not), never started, failed by the reclaim.
    expect(jobs.filter((j) => j.state === 'failed' && !runs.has(j.id)).map((j) => j.id)).toEqual([]);
    expect(jobs.filter((j) => j.state !== 'completed' && j.state !== 'failed').map((j) => `${j.id}:${j.state}`)).toEqual([]);
    for (const j of jobs) {
      // Ran once; a second run only after a hand-back that did not count (a start the dead worker
      // had not recorded yet), and never more often than such hand-backs allow.
      expect(runs.get(j.id) ?? 0, j.id).toBeGreaterThanOrEqual(1);
      expect(runs.get(j.id) ?? 0, j.id).toBeLessThanOrEqual(1 + j.returns);
    }
    const failed = jobs.filter((j) => j.state === 'failed').length;
    const returned = jobs.reduce((n, j) => n + j.returns, 0);
    const twice = [...runs.values()].filter((n) => n > 1).length;
    console.info(`[crash test attempts:1] ${failed} failed mid-run, ${returned} handed back uncounted, ${twice} ran twice, ${Date.now() - t0} ms`);
    rmSync(log, { force: true });
    await queue.close();
  }, 40_000);
});

describe.runIf(privateServerTests)('redisJobQueue on a private Redis', () => {
  it('recovers from a flushed script cache (NOSCRIPT → EVAL)', async () => {
    const server = await startPrivateRedis();
    const client = new Redis(server.url);
    try {
      const queue = redisJobQueue({ defaultTimeoutMs: 5_000, client, prefix: 'ns:', handlers: { a: () => 'done' } });
      await queue.add('a', 1, { id: 'one' });
      await client.script('FLUSH');
      await queue.add('a', 2, { id: 'two' });
      await client.script('FLUSH');
      const summary = await runDue(queue, undefined, { budgetMs: 10_000 });
      expect(summary.completed).toBe(2);
      expect((await queue.get('two'))?.state).toBe('completed');
    } finally {
      client.disconnect();
      await server.dispose();
    }
  });

  it('fails fast while Redis is down and works again once it is back (url connection)', async () => {
    const server = await startPrivateRedis();
    const queue = redisJobQueue({ url: server.url, operationTimeoutMs: 2_000, defaultTimeoutMs: 1_000, handlers: { a: () => 1 } });
    try {
      await queue.add('a', 1, { id: 'before' });
      await server.kill();
      const started = Date.now();
      await expect(queue.add('a', 2, { id: 'during' })).rejects.toBeInstanceOf(BackendUnavailableError);
      await expect(runDue(queue, undefined, { budgetMs: 5_000 })).rejects.toBeInstanceOf(BackendUnavailableError);
      expect(Date.now() - started).toBeLessThan(6_000);
      await server.restart(); // an empty server: the data was in memory only
      let added = false;
      for (let i = 0; i < 50 && !added; i++) {
        added = await queue.add('a', 3, { id: 'after' }).then(() => true, () => false);
        if (!added) await sleep(100);
      }
      expect(added).toBe(true);
      expect((await runDue(queue, undefined, { budgetMs: 5_000 })).completed).toBe(1);
    } finally {
      await queue.close();
      await server.dispose();
    }
  });

  it('runs every script on Redis Cluster without CROSSSLOT errors', async () => {
    const server = await startPrivateRedis({ cluster: true });
    const client = new Redis(server.url);
    try {
      const queue = redisJobQueue({ defaultTimeoutMs: 5_000, client, prefix: 'cl:', handlers: { a: () => 'x', b: () => { throw new Error('no'); } } });
      await queue.add('a', 1, { id: 'a1' });
      await queue.add('b', 1, { id: 'b1', attempts: 1 });
      await queue.add('a', 2, { id: 'a2', delayMs: 60_000 });
      await queue.add('a', 3, { id: 'a3', delayMs: 60_000 });
      await queue.cancel('a3');
      await runDue(queue, undefined, { budgetMs: 10_000 });
      await queue.retry('a2');
      await runDue(queue, undefined, { budgetMs: 10_000 });
      expect((await queue.list({ state: 'completed' })).jobs.map((j) => j.id).sort()).toEqual(['a1', 'a2']);
      expect((await queue.get('b1'))?.state).toBe('failed');
      expect((await queue.get('a3'))?.state).toBe('cancelled');
    } finally {
      client.disconnect();
      await server.dispose();
    }
  });
});
