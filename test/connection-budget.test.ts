/**
 * How many server connections each object opens, counted on the servers themselves: Postgres'
 * `pg_stat_activity` by `application_name`, Redis' `CLIENT LIST` by connection name. The figures in
 * docs/adapters/postgres.md and docs/adapters/redis.md ("Connections") are these.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, postgresJobQueue, postgresSessionStore, postgresSyncBus } from '../adapters/postgres/index.js';
import { redisJobQueue, redisSessionStore, redisSyncBus } from '../adapters/redis/index.js';
import { createSyncGateway } from '../integrations/ws/index.js';
import { Worker } from '../src/jobs/worker.js';
import { DATABASE_URL, needs, REDIS_URL, uniqueName } from './support/services.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Hold a lease on `key` and start a second acquire that must wait: the store's listener opens. */
async function contend(store: ReturnType<typeof postgresSessionStore> | ReturnType<typeof redisSessionStore>, key: string): Promise<void> {
  const lease = await store.acquire(key, { leaseMs: 5_000 });
  const waiting = store.acquire(key, { leaseMs: 5_000, waitMs: 5_000 });
  await sleep(300);
  await lease.release();
  await (await waiting).release();
}

describe.runIf(await needs('postgres'))('Postgres connections per object', () => {
  const schema = uniqueName('bw_conn');
  const app = uniqueName('bwconn');
  let admin: pg.Pool;
  const pools: pg.Pool[] = [];
  const poolFor = (name: string): pg.Pool => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, application_name: `${app}_${name}`, max: 10 });
    pool.on('error', () => undefined);
    pools.push(pool);
    return pool;
  };
  const count = async (name: string): Promise<number> => Number((await admin.query(
    'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [`${app}_${name}`])).rows[0].n);

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    await migrate(admin, { schema });
  });
  afterAll(async () => {
    for (const p of pools) await p.end();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it('session store: one pooled connection per statement in flight, plus one LISTEN connection after the first wait', async () => {
    const pool = poolFor('store');
    const store = postgresSessionStore({ client: pool, schema });
    await store.set('a', 1);
    await store.get('a');
    expect(await count('store')).toBe(1);
    await contend(store, 'k');
    // The listener stays checked out of the pool until close(); the statements took pooled
    // connections: one, or two when the waiter's retry met the release (timing decides which).
    expect(pool.totalCount - pool.idleCount).toBe(1);
    expect(pool.totalCount).toBeGreaterThanOrEqual(2);
    expect(await count('store')).toBe(pool.totalCount);
    const statements = pool.totalCount - 1;
    await store.close();
    // A destroyed backend leaves pg_stat_activity a moment after the socket closes.
    for (let i = 0; i < 40 && (await count('store')) > statements; i++) await sleep(25);
    expect(await count('store')).toBe(statements);
    expect(pool.totalCount).toBe(statements);
    expect(pool.idleCount).toBe(statements);
  });

  it('job queue and worker: the queue uses the pool; a listening worker holds one more; listen: false holds none', async () => {
    const pool = poolFor('queue');
    const queue = postgresJobQueue({ client: pool, schema, handlers: { j: () => undefined }, onError: () => undefined });
    await queue.add('j', {});
    const worker = new Worker(queue, undefined, { autostart: false, concurrency: 4 });
    await worker.start();
    const listening = await count('queue');
    await worker.stop();
    await queue.close();
    const polling = postgresJobQueue({ client: poolFor('polling'), schema, listen: false, handlers: { j: () => undefined } });
    const poller = new Worker(polling, undefined, { autostart: false, concurrency: 4 });
    await poller.start();
    await polling.add('j', {});
    await sleep(100);
    const polled = await count('polling');
    await poller.stop();
    // Sequential statements reuse one pooled connection; the worker's LISTEN adds one.
    expect({ listening, polled }).toEqual({ listening: 2, polled: 1 });
  });

  it('sync bus: two connections (LISTEN + publish); a gateway on it opens none', async () => {
    const url = new URL(DATABASE_URL);
    url.searchParams.set('application_name', `${app}_bus`);
    const bus = postgresSyncBus({ connectionString: url.toString(), schema, onError: () => undefined });
    await bus.ready(5_000);
    await bus.publish('t', { n: 1 });
    await bus.flush();
    expect(await count('bus')).toBe(2);
    const gateway = await createSyncGateway({ bus, port: 0, host: '127.0.0.1', authorize: () => ({ allow: ['**'] }) });
    expect(await count('bus')).toBe(2);
    await gateway.close();
    await bus.close();
    for (let i = 0; i < 40 && (await count('bus')) > 0; i++) await sleep(25);
    expect(await count('bus')).toBe(0);
  });
});

describe.runIf(await needs('redis'))('Redis connections per object', () => {
  const name = uniqueName('bwconn');
  const prefix = `${name}:`;
  const clients: Redis[] = [];
  let admin: Redis;
  const clientFor = (part: string): Redis => {
    const client = new Redis(REDIS_URL, { connectionName: `${name}_${part}` });
    clients.push(client);
    return client;
  };
  const count = async (part: string): Promise<number> => {
    const list = (await admin.call('CLIENT', 'LIST')) as string;
    return list.split('\n').filter((line) => line.includes(` name=${name}_${part} `)).length;
  };

  beforeAll(() => { admin = new Redis(REDIS_URL); });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  });

  it('session store: the client, plus one subscriber (duplicate) after the first wait', async () => {
    const store = redisSessionStore({ client: clientFor('store'), prefix });
    await store.set('a', 1);
    expect(await count('store')).toBe(1);
    await contend(store, 'k');
    expect(await count('store')).toBe(2);
    await store.close();
    await sleep(100);
    expect(await count('store')).toBe(1);
  });

  it('job queue: the client, plus one subscriber while a worker listens for wake-ups', async () => {
    const queue = redisJobQueue({ client: clientFor('queue'), prefix, handlers: { j: () => undefined }, onError: () => undefined });
    await queue.add('j', {});
    expect(await count('queue')).toBe(1);
    const worker = new Worker(queue, undefined, { autostart: false });
    await worker.start();
    await sleep(100);
    expect(await count('queue')).toBe(2);
    await worker.stop();
    await queue.close();
  });

  it('sync bus: the client (publish) and one subscriber; a gateway on it opens none', async () => {
    const bus = redisSyncBus({ client: clientFor('bus'), channelPrefix: prefix, onError: () => undefined });
    await bus.ready(5_000);
    await bus.publish('t', { n: 1 });
    expect(await count('bus')).toBe(2);
    const gateway = await createSyncGateway({ bus, port: 0, host: '127.0.0.1', authorize: () => ({ allow: ['**'] }) });
    expect(await count('bus')).toBe(2);
    await gateway.close();
    await bus.close();
  });
});
