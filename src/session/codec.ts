import { SessionCorruptError, SessionKeyError, SessionSerializationError } from '../errors.js';
import { stringifyIfPlain } from '../internal/plain-json.js';

/** Longest key accepted, in UTF-8 bytes. Keeps Redis keys and Postgres btree entries small. */
export const MAX_KEY_BYTES = 512;

const encoder = new TextEncoder();

// NUL cannot be stored in Postgres text; a lone surrogate becomes U+FFFD in UTF-8, so two different
// keys would name one stored record.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Throw {@link SessionKeyError} stating the rule when `key` is not a usable session key. */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new SessionKeyError(key, `a session key must be a non-empty string, got ${key === '' ? 'an empty string' : typeof key}`);
  }
  if (key.length * 3 > MAX_KEY_BYTES && encoder.encode(key).length > MAX_KEY_BYTES) {
    throw new SessionKeyError(key, `a session key must be at most ${MAX_KEY_BYTES} bytes of UTF-8, got ${encoder.encode(key).length}; hash long keys`);
  }
  if (UNSTORABLE.test(key)) {
    throw new SessionKeyError(key, 'a session key must not contain NUL or unpaired surrogates (ill-formed Unicode)');
  }
}

/**
 * JSON-encode session data, refusing what JSON would silently change or drop at the top level
 * (undefined, functions, symbols) and what it cannot encode at all (BigInt, cycles).
 */
export function encode(key: string, data: unknown): string {
  try {
    const fast = stringifyIfPlain(data, false);
    if (fast !== undefined) return fast;
  } catch (err) {
    throw new SessionSerializationError(key, err); // BigInt
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(data, (_k, v: unknown) => {
      if (typeof v === 'function' || typeof v === 'symbol') {
        throw new TypeError(`a ${typeof v} is not JSON`);
      }
      return v;
    });
  } catch (err) {
    throw new SessionSerializationError(key, err);
  }
  if (text === undefined) throw new SessionSerializationError(key, new TypeError('undefined is not JSON'));
  return text;
}

/** Decode stored JSON text; bytes that do not parse raise {@link SessionCorruptError}, never an empty value. */
export function decode<T>(key: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new SessionCorruptError(key, err);
  }
}
