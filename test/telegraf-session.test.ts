import { afterAll, describe } from 'vitest';
import { memorySessionStore } from '../adapters/memory/index.js';
import { redisSessionStore } from '../adapters/redis/index.js';
import { telegrafSessionSuite } from './support/telegraf-session-suite.js';
import { needs, REDIS_URL, uniqueName } from './support/services.js';

telegrafSessionSuite('memory', { make: () => memorySessionStore() });

describe.runIf(await needs('redis'))('on Redis', () => {
  const shared = redisSessionStore({ url: REDIS_URL, prefix: `${uniqueName('mwt')}:` });
  afterAll(() => shared.close());
  telegrafSessionSuite('Redis', { make: () => shared });
});
