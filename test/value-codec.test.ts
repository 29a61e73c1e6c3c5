import type { Context } from 'grammy';
import { describe, expect, it } from 'vitest';
import { session, type SessionFlavor } from '../integrations/grammy/index.js';
import { richJsonCodec } from '../src/codec/rich-json-codec.js';
import { jsonCodec } from '../src/index.js';
import { BotwireConfigError, SessionCorruptError, SessionSerializationError } from '../src/errors.js';
import { SessionStore } from '../src/session/session-store.js';
import { memorySessionStore } from '../adapters/memory/index.js';
import { countingStore } from './support/counting-backend.js';
import { onEverySessionBackend } from './support/session-backends.js';
import { grammyBot, textUpdate } from './support/telegram.js';

const pathOf = (run: () => unknown): string | undefined => {
  try { run(); } catch (e) { return (e as { path?: string }).path; }
  return 'accepted';
};

describe('jsonCodec', () => {
  it('encodes plain data exactly like JSON.stringify, Dates as ISO strings', () => {
    const value = { a: [1, 'two', null, { b: true }], n: -1.5e-7, s: 'прив€т 🎉\u2028', at: new Date(0), gone: undefined };
    expect(jsonCodec.encode(value, 'data')).toBe(JSON.stringify(value));
    expect(jsonCodec.encode(Object.assign(Object.create(null) as object, { x: 1 }), 'data')).toBe('{"x":1}');
  });

  it('takes the checking path for values nested deeper than the fast walk, and still encodes them', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(jsonCodec.encode(deep, 'data')).toBe(JSON.stringify(deep));
    let bad: unknown = new Map();
    for (let i = 0; i < 40; i++) bad = [bad];
    expect(pathOf(() => jsonCodec.encode(bad, 'data'))).toBe(`data${'[0]'.repeat(40)}`);
  });

  it('names the path of what it refuses, quoting keys that are not identifiers', () => {
    class Money { constructor(readonly cents: number) {} }
    const rows: Array<[unknown, string]> = [
      [{ cart: { items: [{}, {}, {}, new Map()] } }, 'data.cart.items[3]'],
      [{ 'a b': { 'ключ': new Set() } }, 'data["a b"]["ключ"]'],
      [{ m: new Money(5) }, 'data.m'],
      [{ r: /x/ }, 'data.r'],
      [{ u: new Uint8Array(1) }, 'data.u'],
      [{ e: new Error('x') }, 'data.e'],
      [{ d: new Date(Number.NaN) }, 'data.d'],
      [{ t: { toJSON: () => 1 } }, 'data.t'],
      [{ s: Symbol('s') }, 'data.s'],
      [[1, , 3], 'data[1]'], // eslint-disable-line no-sparse-arrays
      [{ get boom() { throw new Error('no'); } }, 'data.boom'],
      [undefined, 'data'],
      [Number.NaN, 'data'],
    ];
    for (const [value, path] of rows) expect(pathOf(() => jsonCodec.encode(value, 'data'))).toBe(path);
  });

  it('a shared (not cyclic) object is fine; a cycle is refused where it closes', () => {
    const shared = { x: 1 };
    expect(jsonCodec.encode({ a: shared, b: [shared] }, 'data')).toBe('{"a":{"x":1},"b":[{"x":1}]}');
    const loop: Record<string, unknown> = { list: [{}] };
    (loop.list as Array<Record<string, unknown>>)[0]!.up = loop;
    expect(pathOf(() => jsonCodec.encode(loop, 'data'))).toBe('data.list[0].up');
  });
});

describe('richJsonCodec', () => {
  const roundTrip = (value: unknown): unknown => richJsonCodec.decode(richJsonCodec.encode(value, 'data'));

  it('round-trips Date, Map, Set, BigInt, undefined, NaN, ±Infinity and -0, nested anywhere', () => {
    const value = {
      at: new Date(Date.UTC(2030, 0, 1)), invalid: new Date(Number.NaN),
      byId: new Map<unknown, unknown>([[1, { tags: new Set(['a', 'b']) }], [{ composite: true }, [undefined, 10n ** 30n]]]),
      nums: [Number.NaN, Infinity, -Infinity, -0, 0, 1.5], gone: undefined, top: [undefined],
    };
    const back = roundTrip(value) as typeof value;
    expect(back).toEqual(value);
    expect(Object.keys(back)).toContain('gone');
    expect(back.at).toBeInstanceOf(Date);
    expect(Number.isNaN(back.invalid.getTime())).toBe(true);
    expect(Object.is(back.nums[3], -0)).toBe(true);
    expect(roundTrip(undefined)).toBeUndefined();
    expect(roundTrip(5n)).toBe(5n);
  });

  it('stores plain data as plain JSON, and reads plain JSON records unchanged', () => {
    const plain = { a: [1, { b: 'c' }], n: null };
    expect(richJsonCodec.encode(plain, 'data')).toBe(JSON.stringify(plain));
    expect(richJsonCodec.decode('{"$bwx":1,"s":"\\"$bw\\""}')).toEqual({ $bwx: 1, s: '"$bw"' });
  });

  it('escapes user objects that use the tag key, and keeps __proto__ an ordinary key', () => {
    const tricky = JSON.parse('{"$bw":"Map","v":[[1,2]],"__proto__":{"polluted":true},"inner":{"$bw":"undefined"}}') as object;
    const back = roundTrip(tricky) as Record<string, unknown>;
    expect(back).toEqual(tricky);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(back, '__proto__')).toBe(true);
  });

  it('decodes text reordered and re-spaced by Postgres jsonb', () => {
    expect(richJsonCodec.decode('{"v": [[1, {"v": ["x"], "$bw": "Set"}]], "$bw": "Map"}')).toEqual(new Map([[1, new Set(['x'])]]));
  });

  it('emits no \\u0000 escapes of its own and is deterministic', () => {
    const value = { m: new Map([['k', new Set([1n, undefined])]]), d: new Date(1) };
    const text = richJsonCodec.encode(value, 'data');
    expect(text).not.toContain('\\u0000');
    expect(richJsonCodec.encode(richJsonCodec.decode(text), 'data')).toBe(text);
  });

  it('still refuses functions, symbols, cycles, other classes and toJSON objects, with the path', () => {
    const loop: unknown[] = [];
    loop.push(new Map([[1, loop]]));
    expect(pathOf(() => richJsonCodec.encode({ f: [() => 1] }, 'data'))).toBe('data.f[0]');
    expect(pathOf(() => richJsonCodec.encode({ s: new Set([Symbol('x')]) }, 'data'))).toBe('data.s[0]');
    expect(pathOf(() => richJsonCodec.encode(loop, 'data'))).toBe('data[0][0].value');
    expect(pathOf(() => richJsonCodec.encode({ u: new URL('https://x.dev') }, 'data'))).toBe('data.u');
    expect(pathOf(() => richJsonCodec.encode({ t: { toJSON: () => 1 } }, 'data'))).toBe('data.t');
  });

  it('reports unknown tags and malformed tagged values as unreadable', () => {
    for (const text of ['{"$bw":"Nope"}', '{"$bw":"Map","v":3}', '{"$bw":"bigint","v":"1.5"}', '{"$bw":"Map","v":[[1]]}']) {
      expect(() => richJsonCodec.decode(text)).toThrow();
    }
  });
});

describe('SessionStore codec option', () => {
  it('refuses a codec without encode/decode, and a bad maxValueBytes', () => {
    expect(() => memorySessionStore({ codec: {} as never })).toThrow(BotwireConfigError);
    expect(() => memorySessionStore({ maxValueBytes: 0 })).toThrow(/maxValueBytes/);
  });

  it('wraps a custom codec\'s errors: its path into SessionSerializationError, unreadable text into SessionCorruptError', async () => {
    const store = memorySessionStore({
      codec: {
        encode: (v) => { if (typeof v === 'string') return JSON.stringify(v); throw Object.assign(new Error('strings only'), { path: 'data.x' }); },
        decode: (t) => { if (t === '"bad"') throw new Error('nope'); return JSON.parse(t) as unknown; },
      },
    });
    await expect(store.set('k', 1)).rejects.toMatchObject({ constructor: SessionSerializationError, path: 'data.x' });
    await store.set('k', 'bad');
    await expect(store.get('k')).rejects.toBeInstanceOf(SessionCorruptError);
  });
});

describe('session middleware value errors', () => {
  it('name the path as the handler sees the session, also with migrations (stored as { $v, $d })', async () => {
    for (const migrations of [undefined, { 1: (old: unknown) => old }]) {
      const bot = grammyBot<Context & SessionFlavor<{ cart?: unknown }>>();
      bot.use(session({ store: memorySessionStore(), initial: () => ({}), migrations }));
      bot.on('message:text', (ctx) => { ctx.session.cart = { items: [1, new Set()] }; });
      const err = await bot.handleUpdate(textUpdate(7, 'x')).catch((e: { error?: unknown }) => e.error);
      expect(err).toBeInstanceOf(SessionSerializationError);
      expect(err).toMatchObject({ path: 'data.cart.items[1]' });
      expect((err as Error).message).toContain('data.cart.items[1]: a Set');
    }
  });
});

await onEverySessionBackend((backend, { make }) => {
  describe(`richJsonCodec on ${backend}`, () => {
    const rich = (): SessionStore<unknown> => {
      const base = make();
      return new SessionStore(base.backend, { prefix: base.prefix, codec: richJsonCodec });
    };

    it('round-trips rich values through set/get, commit and handOver', async () => {
      const store = rich();
      const key = `rich:${Math.random()}`;
      const value = { seen: new Set([1, 2]), since: new Date(Date.UTC(2030, 5, 1)), big: 2n ** 70n, m: new Map([['a', [undefined, Number.NaN]]]), $bw: 'mine' };
      await store.set(key, value);
      expect((await store.get(key))?.data).toEqual(value);
      const lease = await store.acquire(key);
      expect(lease.record?.data).toEqual(value);
      const next = await lease.handOver({ ...value, extra: -Infinity });
      expect(next.record?.data).toEqual({ ...value, extra: -Infinity });
      await next.commit({ done: new Set(['x']) });
      expect((await store.get(key))?.data).toEqual({ done: new Set(['x']) });
    });

    it('the middleware keeps Sets and Dates across updates and does not rewrite an unchanged session', async () => {
      const { store, counts } = countingStore(make());
      const richStore = new SessionStore(store.backend, { prefix: store.prefix, codec: richJsonCodec });
      type S = { seen: Set<string>; since: Date };
      const bot = grammyBot<Context & SessionFlavor<S>>();
      const seenTypes: string[] = [];
      bot.use(session({ store: richStore, initial: (): S => ({ seen: new Set(), since: new Date(0) }) }));
      bot.on('message:text', (ctx) => {
        seenTypes.push(`${ctx.session.seen instanceof Set}/${ctx.session.since instanceof Date}`);
        if (ctx.message.text !== 'read') ctx.session.seen.add(ctx.message.text);
      });
      const chat = 1 + Math.floor(Math.random() * 2_000_000_000);
      await bot.handleUpdate(textUpdate(chat, 'a'));
      await bot.handleUpdate(textUpdate(chat, 'b'));
      counts.reset();
      await bot.handleUpdate(textUpdate(chat, 'read'));
      expect(counts.writes).toBe(0);
      expect(seenTypes).toEqual(['true/true', 'true/true', 'true/true']);
      expect((await richStore.get(String(chat)))?.data).toEqual({ seen: new Set(['a', 'b']), since: new Date(0) });
    });
  });
});
