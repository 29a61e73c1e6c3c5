import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisSessionBackend, redisSessionStore, type RedisLike, type RedisSessionBackend } from '../adapters/redis/index.js';
import { BATCH_FLUSH_AT, BATCH_FLUSH_MAX, ScriptBatcher } from '../adapters/redis/script-batcher.js';
import { batchScripts, luaScript } from '../adapters/redis/script.js';
import { BackendUnavailableError, BotwireConfigError, SessionCorruptError, SessionLockTimeoutError } from '../src/errors.js';
import { leaseHolder } from '../src/session/lease-holder.js';
import { sessionStoreContract } from '../src/testing/index.js';
import { hasRedisServer, startPrivateRedis, type PrivateRedis } from './support/redis-server.js';
import { deleteKeys } from './support/redis-keys.js';
import { REDIS_URL, needs, uniqueName } from './support/services.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const privateServerTests = hasRedisServer || process.env.CI === 'true';
if (!privateServerTests) console.warn('[botwire tests] redis-server binary not found: skipping private-server Redis tests.');

/** Wraps a client and logs every script call, GET/MGET and reply, in order. */
function counting(client: Redis): { client: RedisLike; log: string[]; reset: () => void } {
  const log: string[] = [];
  const proxy = new Proxy(client, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop === 'evalsha' || prop === 'eval' || prop === 'get' || prop === 'mget') {
        return (...args: unknown[]) => {
          log.push(prop);
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).finally(() => log.push('reply'));
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { client: proxy as unknown as RedisLike, log, reset: () => { log.length = 0; } };
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe.runIf(await needs('redis'))('botwire/redis on the shared Redis', () => {
  const run = uniqueName('bwtest_redis');
  let client: Redis;
  let n = 0;
  beforeAll(() => { client = new Redis(REDIS_URL); });
  afterAll(async () => { await deleteKeys(client, `${run}:*`); await client.quit(); });

  sessionStoreContract('redis', () => {
    const store = redisSessionStore({ client, prefix: `${run}:${++n}:` });
    return { store, teardown: () => store.close() };
  });

  it('accepts an ioredis client as RedisLike and leaves it open on close()', async () => {
    const like: RedisLike = client;
    const store = redisSessionStore({ client: like, prefix: `${run}:own:` });
    await store.set('k', 1);
    await store.close();
    expect(client.status).toBe('ready');
  });

  it('runs get as one plain GET, and set, acquire, inspect and commit as exactly one EVALSHA each', async () => {
    const c = counting(client);
    const store = redisSessionStore<number>({ client: c.client, prefix: `${run}:rt:` });
    await store.set('warm', 0); // the server may not know the scripts yet (EVAL once)
    await (await store.acquire('warm')).commit(1);
    await store.get('warm');
    await store.inspect('warm');
    const ops: Record<string, () => Promise<unknown>> = {
      set: () => store.set('k', 1, { ttlMs: 60_000 }),
      get: () => store.get('k'),
      acquire: async () => { lease = await store.acquire('k'); },
      inspect: async () => { expect((await store.inspect('k')).lease).toBeDefined(); },
      commit: () => lease!.commit(2),
      touch: () => store.touch('k', 60_000),
      'delete (CAS)': () => store.delete('k', { ifVersion: 2 }),
    };
    let lease: Awaited<ReturnType<typeof store.acquire>> | undefined;
    for (const [name, op] of Object.entries(ops)) {
      c.reset();
      await op();
      expect({ name, log: c.log }).toEqual({ name, log: [name === 'get' ? 'get' : 'evalsha', 'reply'] });
    }
    const shas = (await client.script('EXISTS', ...(await import('../adapters/redis/lua/session-commit-1.js').then((m) => [m.sessionCommit.sha])))) as number[];
    expect(shas).toEqual([1]);
    await store.close();
  });

  it('getMany is one MGET on a standalone server', async () => {
    const c = counting(client);
    const store = redisSessionStore<number>({ client: c.client, prefix: `${run}:many:` });
    await store.set('a', 1);
    await store.set('c', 3);
    c.reset();
    expect((await store.getMany(['a', 'b', 'c'])).map((r) => r?.data)).toEqual([1, undefined, 3]);
    expect(c.log).toEqual(['mget', 'reply']);
    await store.close();
  });

  it('merges gets requested in one tick into one MGET; a bad value fails only its own get', async () => {
    const c = counting(client);
    const store = redisSessionStore<number>({ client: c.client, prefix: `${run}:batch:` });
    await store.set('a', 1);
    await store.set('b', 2);
    await client.set((store.backend as RedisSessionBackend).recordKey('bad'), 'not botwire');
    c.reset();
    const results = await Promise.allSettled([store.get('a'), store.get('bad'), store.get('b'), store.get('none')]);
    expect(c.log).toEqual(['mget', 'reply']);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value?.data : (r.reason as Error).name))).toEqual([1, 'SessionCorruptError', 2, undefined]);
    c.reset();
    expect((await store.get('a'))?.data).toBe(1);
    expect(c.log).toEqual(['get', 'reply']);
    await store.close();
  });

  it('sends many gets of one turn as a few MGETs that grow with the reads outstanding, each answered right', async () => {
    const c = counting(client);
    const store = redisSessionStore<number>({ client: c.client, prefix: `${run}:rbatch:` });
    await Promise.all(Array.from({ length: 60 }, (_, i) => store.set(`k${i}`, i)));
    c.reset();
    const values = await Promise.all(Array.from({ length: 60 }, (_, i) => store.get(`k${i}`)));
    expect(values.map((r) => r?.data)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    const sent = c.log.filter((e) => e === 'mget').length;
    // Not one MGET of 60 (client and server would take turns idling), not 15 of 4 either.
    expect(sent).toBeGreaterThan(1);
    expect(sent).toBeLessThan(60 / BATCH_FLUSH_AT);
    expect(c.log.filter((e) => e === 'get')).toHaveLength(0);
    await store.close();
  });

  it('merges writes of one loop turn into one EVALSHA of the batch script; a failing call fails only itself', async () => {
    const c = counting(client);
    const store = redisSessionStore<number>({ client: c.client, prefix: `${run}:wbatch:` });
    const backend = store.backend as RedisSessionBackend;
    // A key of the wrong type: its script call raises WRONGTYPE inside the batch.
    await client.hset(backend.recordKey('hash'), 'f', 'v');
    // Warm-up: the server may not know the batch scripts yet (one EVAL each the first time).
    await Promise.all([store.set('w1', 0), store.set('w2', 0)]);
    const warm = await Promise.all([store.acquire('w1'), store.acquire('w2')]);
    await Promise.all(warm.map((l) => l.commit(1)));
    c.reset();
    const results = await Promise.allSettled([store.set('a', 1), store.set('hash', 2), store.set('b', 3), store.set('a', 4, { ifVersion: 1 })]);
    expect(c.log).toEqual(['evalsha', 'reply']);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason)))).toEqual([1, expect.stringContaining('WRONGTYPE'), 1, 2]);
    expect((await store.getMany(['a', 'b'])).map((r) => r?.data)).toEqual([4, 3]);
    // Leases too: BATCH_FLUSH_AT acquires in one turn are one command, and so are their commits.
    c.reset();
    const leases = await Promise.all(Array.from({ length: BATCH_FLUSH_AT }, (_, i) => store.acquire(`l${i}`)));
    await Promise.all(leases.map((l, i) => l.commit(i)));
    expect(c.log.filter((e) => e !== 'reply')).toEqual(['evalsha', 'evalsha']);
    expect((await store.getMany(leases.map((l) => l.key))).map((r) => r?.data)).toEqual(leases.map((_, i) => i));
    await store.close();
  });

  it('sends calls of different scripts made in one turn as one EVALSHA, each answered with its own result', async () => {
    const c = counting(client);
    const store = redisSessionStore<number>({ client: c.client, prefix: `${run}:mixed:` });
    await store.set('t', 5, { ttlMs: 60_000 });
    await store.set('d', 6);
    const held = await store.acquire('held', { leaseMs: 60_000 });
    // Warm-up: the server learns the batch script (one EVAL the first time).
    await Promise.all([store.set('w1', 0), store.touch('w1', 60_000)]);
    c.reset();
    // BATCH_FLUSH_AT calls with different argument counts (set 4, acquire 2, delete 1, commit 2) in
    // one command: a wrong cursor in the batch form would hand one call another's arguments.
    expect(BATCH_FLUSH_AT).toBe(4);
    const [set, lease, deleted, version] = await Promise.all([
      store.set('s', 7, { ttlMs: 60_000 }),
      store.acquire('l', { leaseMs: 5_000 }),
      store.delete('d', { ifVersion: 1 }),
      held.commit(8),
    ]);
    expect(c.log).toEqual(['evalsha', 'reply']);
    expect([set, lease.record, deleted, version]).toEqual([1, undefined, true, 1]);
    // A lone call of any script is still a plain EVALSHA of that script.
    expect(await store.touch('t', 120_000)).toBe(true);
    expect(await client.pttl((store.backend as RedisSessionBackend).recordKey('t'))).toBeGreaterThan(100_000);
    expect((await store.getMany(['s', 't', 'd', 'held'])).map((r) => r?.data)).toEqual([7, 5, undefined, 8]);
    await lease.commit(9);
    expect((await store.get('l'))?.data).toBe(9);
    await store.close();
  });

  it('packs a batch into one argument; a call whose argument holds the separator goes alone', async () => {
    const c = counting(client);
    const echo = luaScript('echo-test', 1, `return KEYS[1] .. '=' .. ARGV[1] .. '/' .. ARGV[2]`);
    const batcher = new ScriptBatcher(2_000, [echo], 'echo-test-batch');
    const key = `${run}:sep`;
    const calls = [['a', '1'], ['b\x1fc', '2'], ['', 'é ü'], ['d', '']];
    await Promise.all(calls.map(([x, y]) => batcher.run(c.client, echo, [key], [x!, y!]))); // warm-up: EVAL the first time
    c.reset();
    const replies = await Promise.all(calls.map(([x, y]) => batcher.run(c.client, echo, [key], [x!, y!])));
    expect(replies).toEqual(calls.map(([x, y]) => `${key}=${x}/${y}`));
    // One batch for the three packable calls, one lone EVALSHA for the other.
    expect(c.log.filter((e) => e === 'evalsha')).toHaveLength(2);
  });

  it('sends more than BATCH_FLUSH_AT writes of one turn as several batches, in order', async () => {
    const c = counting(client);
    const store = redisSessionStore<number>({ client: c.client, prefix: `${run}:wbatch2:` });
    await Promise.all([store.set('w1', 0), store.set('w2', 0)]); // the batch script is known after this
    c.reset();
    const n = BATCH_FLUSH_AT * 2 + 2;
    const versions = await Promise.all(Array.from({ length: n }, (_, i) => store.set('same', i)));
    expect(versions).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(c.log.filter((e) => e !== 'reply')).toEqual(['evalsha', 'evalsha', 'evalsha']);
    expect((await store.get('same'))?.data).toBe(n - 1);
    await store.close();
  });

  it('grows batches with the calls outstanding (fewer commands under load), up to BATCH_FLUSH_MAX', async () => {
    const c = counting(client);
    const store = redisSessionStore<number>({ client: c.client, prefix: `${run}:wbatch3:` });
    await Promise.all([store.set('w1', 0), store.set('w2', 0)]);
    c.reset();
    const n = 60;
    const versions = await Promise.all(Array.from({ length: n }, (_, i) => store.set(`k${i}`, i)));
    expect(versions).toEqual(Array.from({ length: n }, () => 1));
    const sent = c.log.filter((e) => e === 'evalsha').length;
    // Batches of BATCH_FLUSH_AT only would take 15 commands; growing with what is in flight, fewer.
    expect(sent).toBeLessThan(n / BATCH_FLUSH_AT);
    expect((await store.getMany(['k0', 'k59'])).map((r) => r?.data)).toEqual([0, 59]);
    await store.close();
    // The size bound: one set per key, so an EVALSHA's key count is its batch size.
    const sizes: number[] = [];
    const sizing = new Proxy(client, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as (...a: unknown[]) => unknown;
        if (prop === 'evalsha') return (...args: unknown[]) => { sizes.push(Number(args[1])); return value.apply(target, args); };
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const big = redisSessionStore<number>({ client: sizing as unknown as RedisLike, prefix: `${run}:wbatch4:` });
    await Promise.all([big.set('w1', 0), big.set('w2', 0)]);
    sizes.length = 0;
    await Promise.all(Array.from({ length: 400 }, (_, i) => big.set(`m${i}`, i)));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(400);
    expect(Math.max(...sizes)).toBe(BATCH_FLUSH_MAX);
    await big.close();
  });

  it('stores one string per record, with expiry and version in a header that touch patches in place', async () => {
    const store = redisSessionStore<{ n: number }>({ client, prefix: `${run}:layout:` });
    const backend = store.backend as RedisSessionBackend;
    const before = Date.now();
    await store.set('k', { n: 1 }, { ttlMs: 60_000 });
    const raw = (await client.get(backend.recordKey('k')))!;
    expect(raw).toMatch(/^\d{15}:1:\{"n":1\}$/);
    const expiresAt = Number(raw.slice(0, 15));
    expect(expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(await store.get('k')).toEqual({ data: { n: 1 }, version: 1, expiresAt });
    expect(await client.pttl(backend.recordKey('k'))).toBeGreaterThan(50_000);
    await store.touch('k', 600_000);
    const touched = (await client.get(backend.recordKey('k')))!;
    expect(touched.slice(15)).toBe(':1:{"n":1}');
    expect(Number(touched.slice(0, 15))).toBeGreaterThanOrEqual(before + 600_000);
    expect(await client.pttl(backend.recordKey('k'))).toBeGreaterThan(500_000);
    await store.set('k', { n: 2 });
    expect(await client.get(backend.recordKey('k'))).toBe('000000000000000:2:{"n":2}');
    expect(await client.pttl(backend.recordKey('k'))).toBe(-1);
    expect((await store.get('k'))?.expiresAt).toBeUndefined();
    await store.close();
  });

  it('keeps the acquisition time in the lease value; a bare token (an older botwire\'s lease) still excludes and fences', async () => {
    const store = redisSessionStore({ client, prefix: `${run}:leasevalue:` });
    const backend = store.backend as RedisSessionBackend;
    const leaseKey = `${backend.recordKey('k')}:lease`;
    const before = Date.now();
    const lease = await store.acquire('k', { leaseMs: 10_000 });
    const value = (await client.get(leaseKey))!;
    expect(value).toBe(`${value.slice(0, 15)}:${lease.token}`);
    expect(Number(value.slice(0, 15))).toBeGreaterThanOrEqual(before);
    expect(Number(value.slice(0, 15))).toBeLessThanOrEqual(Date.now());
    await lease.extend(20_000);
    const next = await lease.handOver({ n: 1 }, { keepLeaseMs: 20_000 });
    expect(await client.get(leaseKey)).toBe(value); // extend and hand-over move the expiry only
    await next.release();
    // A lease taken by a botwire that stored the bare token: shown without an age, and honoured.
    await client.set(leaseKey, 'older-process-token', 'PX', 10_000);
    const seen = (await store.inspect('k')).lease;
    expect(seen).toMatchObject({ holder: leaseHolder('older-process-token'), acquiredAt: undefined });
    expect(seen!.expiresAt - Date.now()).toBeGreaterThan(9_000);
    await expect(store.acquire('k', { waitMs: 0 })).rejects.toBeInstanceOf(SessionLockTimeoutError);
    await client.del(leaseKey);
    await store.close();
  });

  it('reports a value without the botwire header (written by another tool) as SessionCorruptError', async () => {
    const store = redisSessionStore({ client, prefix: `${run}:foreign:` });
    const backend = store.backend as RedisSessionBackend;
    await client.set(backend.recordKey('k'), '{"plain":"json"}');
    await expect(store.get('k')).rejects.toMatchObject({ name: 'SessionCorruptError', subject: 'k' });
    await expect(store.acquire('k', { waitMs: 0 })).rejects.toBeInstanceOf(SessionCorruptError);
    expect(await client.get(backend.recordKey('k'))).toBe('{"plain":"json"}');
    await store.close();
  });

  it('reads through a one-line script when the client has no get/mget', async () => {
    const noGet = new Proxy(client, {
      get(target, prop) {
        if (prop === 'get' || prop === 'mget') return undefined;
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as unknown as RedisLike;
    const store = redisSessionStore<number>({ client: noGet, prefix: `${run}:noget:` });
    await store.set('a', 1);
    expect(await store.get('a')).toMatchObject({ data: 1, version: 1 });
    expect((await store.getMany(['a', 'b'])).map((r) => r?.data)).toEqual([1, undefined]);
    await store.close();
  });

  it('wakes a waiter in another store by pub/sub when the lease is committed, long before it lapses', async () => {
    const prefix = `${run}:wake:`;
    const holderStore = redisSessionStore<string>({ client, prefix });
    const c = counting(client);
    const waiterStore = redisSessionStore<string>({ client: c.client, prefix });
    const held = await holderStore.acquire('chat', { leaseMs: 20_000 });
    const waiting = waiterStore.acquire('chat', { waitMs: 15_000 });
    await sleep(500);
    const committedAt = Date.now();
    await held.commit('first');
    const next = await waiting;
    const wokeAfter = Date.now() - committedAt;
    expect(next.record?.data).toBe('first');
    expect(wokeAfter).toBeLessThan(5_000); // the lease had 20 s left and the wait 15 s
    // Not polling: the first attempt, at most one retry when the subscription became live, the winner.
    expect(c.log.filter((e) => e !== 'reply').length).toBeLessThanOrEqual(3);
    await next.release();
    await Promise.all([holderStore.close(), waiterStore.close()]);
  }, 30_000);

  it('publishes a release only when someone waited for the key', async () => {
    const prefix = `${run}:pub:`;
    const sub = client.duplicate();
    const messages: string[] = [];
    sub.on('message', (_ch, key) => messages.push(key));
    await sub.subscribe(`${prefix}released`);
    const store = redisSessionStore<number>({ client, prefix });
    await (await store.acquire('quiet')).commit(1);
    await (await store.acquire('quiet')).release();
    const held = await store.acquire('busy', { leaseMs: 10_000 });
    await expect(store.acquire('busy', { waitMs: 50 })).rejects.toBeInstanceOf(SessionLockTimeoutError);
    await held.release();
    await sleep(100);
    // The message is the record key (channel and message are derived inside the script).
    expect(messages).toEqual([(store.backend as RedisSessionBackend).recordKey('busy')]);
    sub.disconnect();
    await store.close();
  });

  it('falls back to the lease expiry when the wake-up subscriber cannot connect (no hang, no crash)', async () => {
    const port = await closedPort();
    const consoleError = vi.spyOn(console, 'error');
    const dead: Redis[] = [];
    const noWakeups = new Proxy(client, {
      get(target, prop) {
        if (prop === 'duplicate') {
          return () => {
            const sub = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
            dead.push(sub);
            return sub;
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as unknown as RedisLike;
    const store = redisSessionStore<string>({ client: noWakeups, prefix: `${run}:nosub:` });
    await store.acquire('k', { leaseMs: 800 }); // a holder that never releases
    const started = Date.now();
    const next = await store.acquire('k', { waitMs: 5_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    await next.release();
    await store.close();
    for (const sub of dead) sub.disconnect();
    expect(consoleError.mock.calls.flat().join(' ')).not.toMatch(/Unhandled error event/);
    consoleError.mockRestore();
  });

  it('raises BackendUnavailableError within ~2.5 s for a url pointing at a closed port', async () => {
    const port = await closedPort();
    const store = redisSessionStore({ url: `redis://127.0.0.1:${port}` });
    for (const op of [() => store.get('k'), () => store.set('k', 1), () => store.acquire('k', { waitMs: 0 })]) {
      const started = Date.now();
      await expect(op()).rejects.toBeInstanceOf(BackendUnavailableError);
      expect(Date.now() - started).toBeLessThan(2_500);
    }
    await store.close();
  });
});

describe('redisSessionStore configuration', () => {
  it('rejects a prefix with braces, and neither or both of client and url', () => {
    expect(() => redisSessionStore({ url: 'redis://x', prefix: 'a{b}' })).toThrow(BotwireConfigError);
    expect(() => redisSessionStore({})).toThrow(/exactly one of `client`/);
    expect(() => redisSessionStore({ url: 'http://x' })).toThrow(/redis:\/\//);
    expect(() => redisSessionStore({ client: {} as RedisLike })).toThrow(/evalsha/);
  });
});

describe.runIf(privateServerTests)('botwire/redis on a private single-node Redis Cluster', () => {
  let server: PrivateRedis;
  let client: Redis;
  let n = 0;
  beforeAll(async () => {
    server = await startPrivateRedis({ cluster: true });
    client = new Redis(server.url);
  });
  afterAll(async () => { client?.disconnect(); await server?.dispose(); });

  // Cluster mode rejects any script whose keys are in different slots (CROSSSLOT).
  sessionStoreContract('redis (cluster mode, CROSSSLOT-checked)', () => {
    const store = redisSessionStore({ client, prefix: `c${++n}:` });
    return { store, teardown: () => store.close() };
  });

  it('puts a record, its lease and its waiter marker in the same slot, for any key', async () => {
    const backend = redisSessionBackend({ client, prefix: 'bw:' });
    for (const key of ['chat:1', '}lead', '{x}y', 'a}', 'a%7D', '%', 'ключ']) {
      const record = backend.recordKey(key);
      const slots = await Promise.all([record, `${record}:lease`, `${record}:w`].map((k) => client.call('CLUSTER', 'KEYSLOT', k)));
      expect({ key, slots: new Set(slots).size }).toEqual({ key, slots: 1 });
    }
    expect(backend.recordKey('a}')).not.toBe(backend.recordKey('a%7D'));
  });

  it('getMany falls back from MGET (CROSSSLOT) to GETs sent back to back, and remembers it', async () => {
    const c = counting(client);
    const store = redisSessionStore<number>({ client: c.client, prefix: 'many:' });
    await store.set('a', 1);
    await store.set('c', 3);
    c.reset();
    expect((await store.getMany(['a', 'b', 'c'])).map((r) => r?.data)).toEqual([1, undefined, 3]);
    expect(c.log).toEqual(['mget', 'reply', 'get', 'get', 'get', 'reply', 'reply', 'reply']);
    c.reset();
    expect((await store.getMany(['a', 'c'])).map((r) => r?.data)).toEqual([1, 3]);
    expect(c.log).toEqual(['get', 'get', 'reply', 'reply']);
    await store.close();
  });

  it('falls back from a batched write refused with CROSSSLOT to one script per call, and remembers it', async () => {
    const c = counting(client);
    const store = redisSessionStore<number>({ client: c.client, prefix: 'wmany:' });
    c.reset();
    expect(await Promise.all([store.set('a', 1), store.set('b', 2), store.set('c', 3)])).toEqual([1, 1, 1]);
    expect(c.log.filter((e) => e !== 'reply')).toEqual(['evalsha', 'evalsha', 'evalsha', 'evalsha']);
    c.reset();
    expect(await Promise.all([store.set('a', 4), store.set('b', 5)])).toEqual([2, 2]);
    expect(c.log.filter((e) => e !== 'reply')).toEqual(['evalsha', 'evalsha']);
    expect((await store.getMany(['a', 'b', 'c'])).map((r) => r?.data)).toEqual([4, 5, 3]);
    await store.close();
  });

  it('recovers a batched write from a flushed script cache (NOSCRIPT) with one EVAL', async () => {
    const c = counting(client);
    const store = redisSessionStore<number>({ client: c.client, prefix: 'noscript-batch:' });
    const backend = store.backend as RedisSessionBackend;
    // Two keys in the same slot, so that the batch is not refused with CROSSSLOT.
    const bySlot = new Map<unknown, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const slot = await client.call('CLUSTER', 'KEYSLOT', backend.recordKey(`k${i}`));
      const other = bySlot.get(slot);
      if (other) pair = [other, `k${i}`];
      else bySlot.set(slot, `k${i}`);
    }
    const [a, b] = pair;
    await Promise.all([store.set(a, 1), store.set(b, 1)]);
    await client.script('FLUSH');
    c.reset();
    expect(await Promise.all([store.set(a, 2), store.set(b, 2)])).toEqual([2, 2]);
    expect(c.log.filter((e) => e !== 'reply')).toEqual(['evalsha', 'eval']);
    await store.close();
  });

  it('recovers from a flushed script cache (NOSCRIPT) with EVAL, then uses EVALSHA again', async () => {
    const c = counting(client);
    const store = redisSessionStore<number>({ client: c.client, prefix: 'noscript:' });
    await store.set('k', 1);
    await client.script('FLUSH');
    c.reset();
    expect(await store.set('k', 2)).toBe(2);
    expect(c.log.filter((e) => e !== 'reply')).toEqual(['evalsha', 'eval']);
    c.reset();
    expect(await store.set('k', 3)).toBe(3);
    expect(c.log.filter((e) => e !== 'reply')).toEqual(['evalsha']);
    await store.close();
  });
});

describe.runIf(privateServerTests)('botwire/redis when its server dies', () => {
  let server: PrivateRedis;
  beforeAll(async () => { server = await startPrivateRedis(); });
  afterAll(async () => { await server?.dispose(); });

  it('rejects with BackendUnavailableError while down (no crash, no unhandled error) and works after a restart', async () => {
    const consoleError = vi.spyOn(console, 'error');
    const store = redisSessionStore<number>({ url: server.url, prefix: 'fault:' });
    await store.set('k', 1);
    const held = await store.acquire('w', { leaseMs: 60_000 });
    const waiter = store.acquire('w', { waitMs: 1_500 }).catch((e: unknown) => e); // subscriber is live
    await sleep(100);
    await server.kill();
    for (const op of [() => store.get('k'), () => store.set('k', 2), () => store.acquire('k', { waitMs: 0 }), () => store.getMany(['k', 'x']), () => held.commit(5)]) {
      const started = Date.now();
      await expect(op()).rejects.toBeInstanceOf(BackendUnavailableError);
      expect(Date.now() - started).toBeLessThan(2_500);
    }
    const waited = await waiter;
    expect(waited instanceof BackendUnavailableError || waited instanceof SessionLockTimeoutError).toBe(true);

    await server.restart();
    let recovered = false;
    for (const deadline = Date.now() + 10_000; !recovered && Date.now() < deadline;) {
      recovered = await store.set('k', 3).then(() => true, async () => { await sleep(100); return false; });
    }
    expect(recovered).toBe(true);
    expect(await store.get('k')).toMatchObject({ data: 3 });
    const again = await store.acquire('w', { waitMs: 0 });
    await again.commit(1);
    await store.close();
    expect(consoleError.mock.calls.flat().join(' ')).not.toMatch(/Unhandled error event/);
    consoleError.mockRestore();
  }, 30_000);
});

describe('batchScripts', () => {
  it('passes each call its keys and arguments as parameters, and refuses scripts that index them dynamically', () => {
    const form = batchScripts('b', [luaScript('pair', 1, `return { KEYS[1], ARGV[2] }`), luaScript('one', 0, `return ARGV[1]`)]);
    expect(form.source).toContain('local function f1(K1, A1, A2)');
    expect(form.source).toContain('return { K1, A2 }');
    expect(form.source).toContain('local function f2(A1)');
    expect(() => batchScripts('b', [luaScript('loop', 1, `for i = 1, #ARGV do end return 1`)])).toThrow(/literal numbers/);
    expect(() => batchScripts('b', [luaScript('var', 1, `local i = 1 return ARGV[i]`)])).toThrow(/literal numbers/);
    expect(() => batchScripts('b', [luaScript('extra-key', 1, `return KEYS[2]`)])).toThrow(/numKeys/);
  });
});
