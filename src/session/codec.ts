import type { ValueCodec } from '../codec/value-codec.js';
import { SessionCorruptError, SessionKeyError, SessionSerializationError, SessionValueTooLargeError } from '../errors.js';
import { pathOf } from '../internal/json-value.js';

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

/** The root of error paths in session values: `data.cart.items[3]`. */
const ROOT = 'data';

/**
 * Encode session data with the store's codec, refusing a top-level `undefined` whatever the codec
 * (the middleware deletes the record for it; `set` has `delete`). Codec errors become
 * {@link SessionSerializationError} with the codec's path.
 */
export function encode(codec: ValueCodec, key: string, data: unknown): string {
  if (data === undefined) throw new SessionSerializationError(key, new TypeError('undefined is not a session value (delete the key instead)'), ROOT);
  try {
    return codec.encode(data, ROOT);
  } catch (err) {
    throw new SessionSerializationError(key, err, pathOf(err));
  }
}

/** Throw {@link SessionValueTooLargeError} when `text` is over `limit` UTF-8 bytes. */
export function assertFits(key: string, text: string, limit: number): void {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: short text needs no count.
  if (text.length * 3 <= limit) return;
  const bytes = encoder.encode(text).length;
  if (bytes > limit) throw new SessionValueTooLargeError(key, bytes, limit);
}

/** Decode stored text; text the codec cannot read raises {@link SessionCorruptError}, never an empty value. */
export function decode<T>(codec: ValueCodec, key: string, text: string): T {
  try {
    return codec.decode(text) as T;
  } catch (err) {
    throw new SessionCorruptError(key, err);
  }
}
