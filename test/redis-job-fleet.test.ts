import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe } from 'vitest';
import { redisJobBackend } from '../adapters/redis/job-backend.js';
import { jobFleetContract } from '../src/testing/job-fleet-contract.js';
import { fleetModelSuite } from './support/fleet-model.js';
import { deleteKeys } from './support/redis-keys.js';
import { REDIS_URL, needs, uniqueName } from './support/services.js';

describe.runIf(await needs('redis'))('fleet features on the shared Redis', () => {
  const run = uniqueName('bwtest_fleet');
  let client: Redis;
  let n = 0;
  const prefix = (): string => `${run}:${++n}:`;
  beforeAll(() => { client = new Redis(REDIS_URL); });
  afterAll(async () => {
    await deleteKeys(client, `{${run}:*`);
    await client.quit();
  });

  jobFleetContract('redis', () => ({ backend: redisJobBackend({ client, prefix: prefix() }) }));
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
