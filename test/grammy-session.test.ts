import { afterAll, describe } from 'vitest';
import { memorySessionStore } from '../adapters/memory/index.js';
import { redisSessionStore } from '../adapters/redis/index.js';
import { grammySessionSuite } from './support/grammy-session-suite.js';
import { needs, REDIS_URL, uniqueName } from './support/services.js';
import type { SessionStore } from '../src/session/session-store.js';

grammySessionSuite('memory', { make: () => memorySessionStore() });

describe.runIf(await needs('redis'))('on Redis', () => {
  const stores: Array<SessionStore<unknown>> = [];
  afterAll(async () => { await Promise.all(stores.map((s) => s.close())); });
  const shared = redisSessionStore({ url: REDIS_URL, prefix: `${uniqueName('mw')}:` });
  stores.push(shared);
  grammySessionSuite('Redis', { make: () => shared });
});
