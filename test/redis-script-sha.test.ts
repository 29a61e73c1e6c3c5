import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { LuaScript } from '../adapters/redis/script.js';
import { sha1Hex } from '../adapters/redis/sha1.js';
import { needs, REDIS_URL } from './support/services.js';

const withRedis = await needs('redis');
const scripts: LuaScript[] = [];
for (const file of readdirSync(new URL('../adapters/redis/lua/', import.meta.url)).filter((f) => !f.endsWith('-lib.ts'))) {
  const mod = (await import(`../adapters/redis/lua/${file.slice(0, -'.ts'.length)}.ts`)) as Record<string, unknown>;
  for (const value of Object.values(mod)) if ((value as LuaScript | null)?.source !== undefined) scripts.push(value as LuaScript);
}

describe('Lua script names (SHA-1, for EVALSHA)', () => {
  it('hashes like node:crypto at every padding boundary and for multi-byte text', () => {
    for (let len = 0; len <= 200; len++) {
      for (const ch of ['a', 'é', '€', '😀']) {
        const text = ch.repeat(len);
        expect(sha1Hex(text), `${len} × ${ch}`).toBe(createHash('sha1').update(text).digest('hex'));
      }
    }
  });

  describe.runIf(withRedis)('on the shared Redis', () => {
    const client = new Redis(REDIS_URL, { lazyConnect: true });
    afterAll(() => client.quit());

    // A wrong SHA would not fail any other test: EVALSHA answers NOSCRIPT and every call falls back to EVAL.
    it('names every script as SCRIPT LOAD does', async () => {
      expect(scripts.length).toBeGreaterThan(20);
      for (const script of scripts) expect(script.sha, script.name).toBe(await client.script('LOAD', script.source));
    });
  });
});
