import { describe, expect, it } from 'vitest';
import { BotwireConfigError } from 'botwire';
import * as memory from 'botwire/memory';
import * as postgres from 'botwire/postgres';
import * as redis from 'botwire/redis';
import * as supabase from 'botwire/supabase';

const CAPABILITIES = ['SessionStore', 'SessionBackend', 'JobQueue', 'JobBackend', 'SyncBus', 'SyncTransport', 'RateLimitStore'];
const adapters = { memory, redis, postgres, supabase } as Record<string, Record<string, unknown>>;

describe('one shape for every adapter', () => {
  it('exports the same factories from memory, redis, postgres and supabase, and no classes', () => {
    for (const [x, mod] of Object.entries(adapters)) {
      for (const capability of CAPABILITIES) expect(typeof mod[`${x}${capability}`], `${x}${capability}`).toBe('function');
      const classes = Object.entries(mod).filter(([, v]) => typeof v === 'function' && /^class\b/.test(Function.prototype.toString.call(v)));
      expect(classes.map(([name]) => name), x).toEqual([]);
    }
  });

  // Every factory that needs a client, called the ways a misconfigured app calls it.
  const needsClient: Array<[string, (options: any) => unknown]> = [
    ['redisSessionStore', redis.redisSessionStore], ['redisSessionBackend', redis.redisSessionBackend],
    ['redisJobQueue', redis.redisJobQueue], ['redisJobBackend', redis.redisJobBackend],
    ['redisSyncBus', redis.redisSyncBus], ['redisSyncTransport', redis.redisSyncTransport],
    ['redisRateLimitStore', redis.redisRateLimitStore],
    ['postgresSessionStore', postgres.postgresSessionStore], ['postgresSessionBackend', postgres.postgresSessionBackend],
    ['postgresJobQueue', postgres.postgresJobQueue], ['postgresJobBackend', postgres.postgresJobBackend],
    ['postgresSyncBus', postgres.postgresSyncBus], ['postgresSyncTransport', postgres.postgresSyncTransport],
    ['postgresRateLimitStore', postgres.postgresRateLimitStore],
    ['supabaseSessionStore', supabase.supabaseSessionStore], ['supabaseSessionBackend', supabase.supabaseSessionBackend],
    ['supabaseJobQueue', supabase.supabaseJobQueue], ['supabaseJobBackend', supabase.supabaseJobBackend],
    ['supabaseSyncBus', supabase.supabaseSyncBus], ['supabaseSyncTransport', supabase.supabaseSyncTransport],
    ['supabaseRateLimitStore', supabase.supabaseRateLimitStore],
  ];

  it.each(needsClient)('%s refuses a missing or wrong client with BotwireConfigError', (_name, factory) => {
    for (const options of [undefined, {}, { client: undefined }, { client: null }, { client: {} }, { client: 42 }, { client: { query: 'no' } }]) {
      expect(() => factory(options), JSON.stringify(options) ?? 'undefined').toThrow(BotwireConfigError);
    }
  });

  it('the Supabase factories refuse a client without schema().rpc() and a reserved or malformed schema', () => {
    const client = { schema: () => ({ rpc: () => Promise.resolve({ data: null, error: null, status: 200 }) }) };
    for (const options of [{ client: { rpc: () => undefined } }, { client: { schema: () => ({}) } }, { client, schema: 'public' }, { client, schema: 'Bad-Name' }, { client, schema: 'pg_x' }]) {
      expect(() => supabase.supabaseSessionStore(options as never), JSON.stringify(options)).toThrow(BotwireConfigError);
    }
    expect(() => supabase.supabaseSyncBus({ client, schema: 'x'.repeat(60) })).toThrow(BotwireConfigError);
  });

  it('memorySyncTransport refuses a hub not made by createMemorySyncHub with BotwireConfigError', () => {
    expect(() => memory.memorySyncTransport({ hub: {} as memory.MemorySyncHub })).toThrow(BotwireConfigError);
    expect(() => memory.memorySyncBus({ hub: 42 as unknown as memory.MemorySyncHub })).toThrow(BotwireConfigError);
  });
});
