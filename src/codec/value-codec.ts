/**
 * How stored values become text and back. The default, {@link jsonCodec}, is JSON that refuses
 * whatever JSON would silently change; `richJsonCodec` (opt-in, `botwire/codec`) also keeps Date, Map, Set,
 * BigInt, undefined and non-finite numbers.
 *
 * @module
 */
import { stringifyPlain } from '../internal/plain-json.js';

/**
 * Turns values into stored text and back. Pass one as `codec` to a `SessionStore` (and to the
 * adapter factories, which forward their options).
 *
 * Rules for your own codec:
 * - `encode` must return valid JSON text (Postgres keeps it as `jsonb`) without `\u0000` escapes
 *   (which `jsonb` refuses), and the same value must always give the same text (the session
 *   middleware compares encoded text to skip writes of unchanged sessions).
 * - `decode` must accept that text also after it went through Postgres `jsonb`, which may reorder
 *   keys and change whitespace.
 * - To refuse a value, throw. An error with a string `path` property (e.g. `data.cart.items[3]`)
 *   has that path copied into the store's `SessionSerializationError`; text `decode` cannot read
 *   becomes a `SessionCorruptError`.
 *
 * @example
 * ```ts
 * import { richJsonCodec } from 'botwire/codec';
 * import { redisSessionStore } from 'botwire/redis';
 * const store = redisSessionStore({ url: process.env.REDIS_URL!, codec: richJsonCodec });
 * await store.set('chat:1', { seen: new Set([1, 2]), since: new Date() }); // read back as a Set and a Date
 * ```
 */
export interface ValueCodec {
  /**
   * Encode `value` as JSON text, or throw when it cannot be represented.
   * @param path How the caller names the value's root in error paths, e.g. `data`.
   */
  encode(value: unknown, path: string): string;
  /** Decode text made by `encode` (possibly re-serialized by Postgres `jsonb`). */
  decode(text: string): unknown;
}

/**
 * The default codec: plain JSON that refuses (with the path of the offending part) everything
 * `JSON.stringify` would silently change or drop: `Map`, `Set`, class instances (typed arrays,
 * `Buffer`, `RegExp`, `URL`, `Error`, …), objects with a `toJSON` method, functions and symbols,
 * `undefined` in arrays, `NaN`/`±Infinity`, BigInt and cycles.
 *
 * Two things pass on purpose: a valid `Date` is stored as its ISO string (and read back as that
 * string), and an object property whose value is `undefined` is not stored (reading it back gives
 * `undefined` again, the key is just absent).
 */
export const jsonCodec: ValueCodec = {
  encode: stringifyPlain,
  decode: (text: string): unknown => JSON.parse(text),
};
