import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisSyncBus } from '../adapters/redis/sync-transport.js';
import { BotwireConfigError } from '../src/errors.js';
import { syncBusContract } from '../src/testing/sync-bus-contract.js';
import { needs, REDIS_URL, uniqueName } from './support/services.js';

describe.runIf(await needs('redis'))('redis SyncBus', () => {
  syncBusContract('redis (url)', () => {
    const channelPrefix = `${uniqueName('sync')}:`;
    return { create: (o) => redisSyncBus({ ...o, url: REDIS_URL, channelPrefix }) };
  });

  syncBusContract('redis with a secret', () => {
    const channelPrefix = `${uniqueName('sync')}:`;
    return { create: (o) => redisSyncBus({ ...o, url: REDIS_URL, channelPrefix, secret: 'contract-secret-contract-secret-0' }) };
  });

  const clients: Redis[] = [];
  afterAll(() => { for (const c of clients) c.disconnect(); });
  syncBusContract('redis (ioredis client)', () => {
    const channelPrefix = `${uniqueName('sync')}:`;
    const client = new Redis(REDIS_URL);
    clients.push(client);
    return { create: (o) => redisSyncBus({ ...o, client, channelPrefix }) };
  });

  it('rejects a glob channelPrefix and a missing or half client with BotwireConfigError', () => {
    expect(() => redisSyncBus({ url: REDIS_URL, channelPrefix: 'a*' })).toThrow(BotwireConfigError);
    expect(() => redisSyncBus({} as never)).toThrow(BotwireConfigError);
    expect(() => redisSyncBus({ client: { evalsha() {}, eval() {}, quit() {} } as never })).toThrow(/publish\(\) and duplicate\(\)/);
  });

  it('publishes on <channelPrefix><topic>, visible to a plain PSUBSCRIBE', async () => {
    const channelPrefix = `${uniqueName('sync')}:`;
    const spy = new Redis(REDIS_URL);
    const seen: Array<[string, string]> = [];
    spy.on('pmessage', (_p, channel, message) => { seen.push([channel, message]); });
    await spy.psubscribe(`${channelPrefix}*`);
    const bus = redisSyncBus({ url: REDIS_URL, channelPrefix });
    await bus.ready();
    await bus.publish('scenarios.updated', { id: 3 });
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]![0]).toBe(`${channelPrefix}scenarios.updated`);
    expect(JSON.parse(seen[0]![1])).toMatchObject({ topic: 'scenarios.updated', data: { id: 3 }, seq: 1, origin: bus.instanceId });
    await bus.close();
    spy.disconnect();
  });
});
