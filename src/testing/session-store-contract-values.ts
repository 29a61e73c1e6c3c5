/** The value half of the session contract's bad-input table, and the value rules it checks. @module */
import { expect, it } from 'vitest';
import { SessionSerializationError, SessionValueTooLargeError } from '../errors.js';
import { SessionStore } from '../session/session-store.js';

/** A row of the bad-input table: what is passed, the error class, its message, and the `path` it names. @internal */
export type InputRow = [string, (store: SessionStore<unknown>) => Promise<unknown>, new (...a: any[]) => Error, RegExp?, string?];

const cyclic: Record<string, unknown> = { list: [] };
(cyclic.list as unknown[]).push({ back: cyclic });
/** The same backend under a store with a 1 KiB value limit. */
const small = (s: SessionStore<unknown>): SessionStore<unknown> => new SessionStore(s.backend, { prefix: s.prefix, maxValueBytes: 1024 });
const big = { text: 'x'.repeat(2000) };

/**
 * Values JSON would silently change or cannot encode, and values over `maxValueBytes`: each must be
 * refused with the typed error naming the path, before anything reaches the backend. @internal
 */
export const valueRows: InputRow[] = [
  ['a Map (JSON: {})', (s) => s.set('k', { cart: { items: [1, 2, 3, new Map([[1, 2]])] } }), SessionSerializationError, /Map/, 'data.cart.items[3]'],
  ['a Set (JSON: {})', (s) => s.set('k', { seen: new Set([1]) }), SessionSerializationError, /Set/, 'data.seen'],
  ['a class instance', (s) => s.set('k', { at: { where: new URL('https://example.com') } }), SessionSerializationError, /URL/, 'data.at.where'],
  ['a function inside an object (JSON: dropped)', (s) => s.set('k', { ok: 1, onDone: () => 1 }), SessionSerializationError, /function/, 'data.onDone'],
  ['undefined inside an array (JSON: null)', (s) => s.set('k', { steps: ['a', undefined] }), SessionSerializationError, /undefined/, 'data.steps[1]'],
  ['NaN (JSON: null)', (s) => s.set('k', { 'unit price': Number.NaN }), SessionSerializationError, /NaN/, 'data["unit price"]'],
  ['Infinity (JSON: null)', (s) => s.set('k', [0, Infinity]), SessionSerializationError, /Infinity/, 'data[1]'],
  ['a BigInt', (s) => s.set('k', { user: { id: 10n } }), SessionSerializationError, /BigInt/, 'data.user.id'],
  ['a cycle', (s) => s.set('k', cyclic), SessionSerializationError, /cycle/, 'data.list[0].back'],
  ['undefined as the whole value', (s) => s.set('k', undefined), SessionSerializationError, /undefined/, 'data'],
  ['a Map in commit', async (s) => (await s.acquire('value-row')).commit({ m: new Map() }), SessionSerializationError, /Map/, 'data.m'],
  ['a value over maxValueBytes (set)', (s) => small(s).set('k', big), SessionValueTooLargeError, /maxValueBytes/],
  ['a value over maxValueBytes (commit)', async (s) => (await small(s).acquire('value-row2')).commit(big), SessionValueTooLargeError, /maxValueBytes/],
  ['a value over maxValueBytes (handOver)', async (s) => (await small(s).acquire('value-row3')).handOver(big), SessionValueTooLargeError, /maxValueBytes/],
];

/** Values that pass on purpose, and the exact size limit. @internal */
export function valueCases(withStore: (fn: (h: { store: SessionStore<unknown> }) => Promise<void>) => () => Promise<void>): void {
  it('stores a Date as its ISO string, and drops object properties that are undefined', withStore(async ({ store }) => {
    await store.set('d', { at: new Date(Date.UTC(2030, 0, 2)), gone: undefined, kept: null });
    expect((await store.get('d'))?.data).toEqual({ at: '2030-01-02T00:00:00.000Z', kept: null });
    expect(Object.keys((await store.get('d'))!.data as object)).toEqual(['at', 'kept']);
  }));

  it('accepts a value of exactly maxValueBytes bytes of UTF-8 and refuses one byte more', withStore(async ({ store }) => {
    const limited = new SessionStore(store.backend, { prefix: store.prefix, maxValueBytes: 100 });
    const exact = `"${'é'.repeat(49)}"`; // 2 quotes + 49 × 2 bytes
    expect(await limited.set('exact', JSON.parse(exact))).toBe(1);
    const err = await limited.set('exact', `${JSON.parse(exact) as string}x`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionValueTooLargeError);
    expect(err).toMatchObject({ bytes: 101, limit: 100 });
  }));
}
