import { memorySessionStore } from '../adapters/memory/index.js';
import { sessionStoreContract } from '../src/testing/index.js';
import { describe, expect, it } from 'vitest';

// Real time: proves leases and TTLs lapse by the wall clock.
sessionStoreContract('memory (wall clock)', () => ({ store: memorySessionStore() }));

// Injected clock: same suite, no waiting.
sessionStoreContract('memory (injected clock)', () => {
  let offset = 0;
  return { store: memorySessionStore({ now: () => Date.now() + offset }), advance: (ms) => { offset += ms; } };
});

describe('memory session store specifics', () => {
  it('drops the least recently used record beyond maxEntries', async () => {
    const store = memorySessionStore({ maxEntries: 2 });
    await store.set('a', 1);
    await store.set('b', 2);
    await store.get('a');
    await store.set('c', 3);
    expect((await store.getMany(['a', 'b', 'c'])).map((r) => r?.data)).toEqual([1, undefined, 3]);
  });

  it('rejects a nonsensical maxEntries', () => {
    expect(() => memorySessionStore({ maxEntries: 0 })).toThrow(/maxEntries/);
  });
});
