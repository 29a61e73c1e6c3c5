import { assertStorable, ValueError } from './json-value.js';

/** Deeper than this, {@link isPlainJson} answers false and callers take their slow, checking path. */
const MAX_PLAIN_DEPTH = 32;

const OBJECT = Object.prototype;
const DATE = Date.prototype;
const getProto = Object.getPrototypeOf;

/**
 * True when `value` is data that a replacer-free `JSON.stringify` encodes without dropping or
 * changing anything, so that parsing the text gives the same value back: strings, booleans, finite
 * numbers, null, arrays (without `undefined` or holes) and objects whose prototype is
 * `Object.prototype` or null; `undefined` only as an object property (JSON omits the key, and
 * reading it back gives `undefined` again). Valid `Date`s pass too: stringify's own `toJSON` call
 * makes them ISO strings, the documented exception.
 *
 * False only means "check slowly" ({@link assertStorable} finds the path and the reason). The walk
 * plus the engine's replacer-free stringify costs about half of a stringify with a replacer, which
 * V8 cannot run on its fast path.
 */
export function isPlainJson(value: unknown): boolean {
  if (typeof value === 'object') return value === null || plainObject(value, 0);
  if (typeof value === 'number') return value - value === 0; // finite: NaN and ±Infinity give NaN
  return typeof value === 'string' || typeof value === 'boolean';
}

// Primitives are checked inline in the loops rather than by a call per value: about a third faster.
function plainObject(value: object, depth: number): boolean {
  if (depth > MAX_PLAIN_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'object') {
        if (v !== null && !plainObject(v, depth + 1)) return false;
      } else if (typeof v === 'number') {
        if (v - v !== 0) return false;
      } else if (typeof v !== 'string' && typeof v !== 'boolean') return false; // undefined too: it would become null
    }
    return true;
  }
  const proto: unknown = getProto(value);
  if (proto !== OBJECT && proto !== null) return proto === DATE && (value as Date).getTime() === (value as Date).getTime();
  for (const k in value) {
    const v: unknown = (value as Record<string, unknown>)[k];
    if (typeof v === 'object') {
      if (v !== null && !plainObject(v, depth + 1)) return false;
    } else if (typeof v === 'number') {
      if (v - v !== 0) return false;
    } else if (typeof v !== 'string' && typeof v !== 'boolean' && v !== undefined) return false;
  }
  return true;
}

/**
 * JSON text of `value`, refusing with {@link ValueError} (naming the path below `root`, e.g.
 * `data.cart.items[3]`) anything JSON would silently change or cannot encode, including a
 * top-level `undefined`. Plain values take the fast path: one walk, then stringify.
 */
export function stringifyPlain(value: unknown, root: string): string {
  let plain = false;
  try {
    plain = isPlainJson(value);
  } catch {
    // A throwing getter: the checking walk hits it again and reports it with its path.
  }
  if (!plain) assertStorable(value, root);
  try {
    // Also reached for plain values nested deeper than the fast walk goes.
    return JSON.stringify(value);
  } catch (err) {
    // Nested beyond the engine's stack, or a getter that throws only on its second read.
    throw new ValueError(root, err instanceof Error ? err.message : String(err));
  }
}

/**
 * Throw {@link ValueError} like {@link stringifyPlain} when `value` cannot be stored as JSON
 * unchanged, for callers that stringify it inside a larger object themselves (sync envelopes).
 * `undefined` is allowed: the enclosing object omits the key, and readers get `undefined` back.
 */
export function assertPlainJson(value: unknown, root: string): void {
  if (value === undefined) return;
  try {
    if (isPlainJson(value)) return;
  } catch {
    // A throwing getter: reported with its path below.
  }
  assertStorable(value, root);
}
