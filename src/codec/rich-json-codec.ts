/**
 * An opt-in {@link ValueCodec} that keeps what plain JSON loses, as tagged JSON. A subpath of its
 * own: the default `jsonCodec` (in `botwire`) needs none of it.
 *
 * @module botwire/codec
 */
import { childPath, classReason, ValueError } from '../internal/json-value.js';
import type { ValueCodec } from './value-codec.js';

/** The key that marks a tagged value. Rare in user data, and user objects that use it are escaped. */
const TAG = '$bw';
/** Cheap test for "the text may hold tags": keys and string values keep their quotes in JSON text. */
const TAG_TEXT = `"${TAG}"`;

type Tagged = { [TAG]: string; v?: unknown };

function tagged(type: string, v?: unknown): Tagged {
  return type === 'undefined' ? { [TAG]: type } : { [TAG]: type, v };
}

/** A copy of a plain object with one property replaced; `__proto__` stays an ordinary key. */
function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** Where {@link toTagged} is: the keys from the root (joined into a path only for an error). */
class Walk {
  readonly keys: Array<string | number> = [];
  readonly ancestors = new Set<object>();
  constructor(readonly root: string) {}

  child(key: string | number, value: unknown): unknown {
    this.keys.push(key);
    const t = toTagged(value, this);
    this.keys.pop();
    return t;
  }

  error(reason: string): ValueError {
    let path = this.root;
    for (const k of this.keys) path = childPath(path, k);
    return new ValueError(path, reason);
  }
}

/**
 * `value` as plain JSON data: the same reference when nothing in it needs a tag (so plain data is
 * walked once and allocates nothing), else a copy with tags. Throws {@link ValueError} for what
 * even this codec cannot keep.
 */
function toTagged(value: unknown, at: Walk): unknown {
  switch (typeof value) {
    case 'string': case 'boolean': return value;
    case 'number':
      if (Number.isFinite(value)) return Object.is(value, -0) ? tagged('number', '-0') : value;
      return tagged('number', String(value));
    case 'bigint': return tagged('bigint', value.toString());
    case 'undefined': return tagged('undefined');
    case 'function': throw at.error('a function cannot be stored');
    case 'symbol': throw at.error('a symbol cannot be stored');
  }
  if (value === null) return null;
  const obj = value as object;
  if (at.ancestors.has(obj)) throw at.error('a cycle: this object contains itself');
  at.ancestors.add(obj);
  try {
    if (Array.isArray(obj)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < obj.length; i++) {
        const item: unknown = obj[i];
        const t = at.child(i, item);
        if (t !== item && !out) out = obj.slice(0, i);
        if (out) out.push(t);
      }
      return out ?? obj;
    }
    const proto: unknown = Object.getPrototypeOf(obj);
    if (proto === Date.prototype) {
      const ms = (obj as Date).getTime();
      return tagged('Date', Number.isNaN(ms) ? null : (obj as Date).toISOString());
    }
    if (obj instanceof Map && proto === Map.prototype) {
      let i = 0;
      const entries: unknown[] = [];
      for (const [k, v] of obj) {
        at.keys.push(i++);
        entries.push([at.child('key', k), at.child('value', v)]);
        at.keys.pop();
      }
      return tagged('Map', entries);
    }
    if (obj instanceof Set && proto === Set.prototype) {
      let i = 0;
      const items: unknown[] = [];
      for (const v of obj) items.push(at.child(i++, v));
      return tagged('Set', items);
    }
    if (proto !== Object.prototype && proto !== null) throw at.error(classReason(obj));
    if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
      throw at.error('an object with a toJSON method cannot be stored (convert it yourself)');
    }
    const record = obj as Record<string, unknown>;
    if (Object.hasOwn(record, TAG)) {
      // A user object that happens to use the tag key: stored as its entries, so it cannot be
      // mistaken for a tag when read.
      const entries: unknown[] = [];
      for (const k in record) entries.push([k, at.child(k, record[k])]);
      return tagged('object', entries);
    }
    let out: Record<string, unknown> | undefined;
    for (const k in record) {
      const v = record[k];
      const t = at.child(k, v);
      if (t !== v && !out) {
        out = {};
        for (const before in record) {
          if (before === k) break;
          setKey(out, before, record[before]);
        }
      }
      if (out) setKey(out, k, t);
    }
    return out ?? obj;
  } finally {
    at.ancestors.delete(obj);
  }
}

/** Undo {@link toTagged} in place on freshly parsed JSON (nobody else holds these objects). */
function fromTagged(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const r = fromTagged(item);
      if (r !== item) value[i] = r;
    }
    return value;
  }
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, TAG)) return untag(record as Tagged);
  for (const k in record) {
    const item = record[k];
    const r = fromTagged(item);
    if (r !== item) record[k] = r; // an own data property, `__proto__` included: a plain set
  }
  return record;
}

function list(t: Tagged): unknown[] {
  if (!Array.isArray(t.v)) throw new TypeError(`tagged ${t[TAG]} without its list of items`);
  return t.v;
}

function pair(entry: unknown): [unknown, unknown] {
  if (!Array.isArray(entry) || entry.length !== 2) throw new TypeError('tagged entry is not a [key, value] pair');
  return [fromTagged(entry[0]), fromTagged(entry[1])];
}

function untag(t: Tagged): unknown {
  switch (t[TAG]) {
    case 'undefined': return undefined;
    case 'number': return Number(t.v);
    case 'bigint': return BigInt(t.v as string);
    case 'Date': return new Date(t.v === null ? Number.NaN : (t.v as string));
    case 'Map': return new Map(list(t).map(pair));
    case 'Set': return new Set(list(t).map(fromTagged));
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const entry of list(t)) {
        const [k, v] = pair(entry);
        setKey(out, String(k), v);
      }
      return out;
    }
    default: throw new TypeError(`unknown tag ${JSON.stringify(t[TAG])}`);
  }
}

/**
 * A {@link ValueCodec} that round-trips what plain JSON loses: `Date` (including invalid ones),
 * `Map`, `Set`, BigInt, `undefined` (at the top, in arrays and as property values, whose key is
 * kept), `NaN`, `±Infinity` and `-0`. Such values are stored as small tagged objects,
 * `{"$bw":"Map","v":[[key,value],…]}`, so the text stays valid JSON (and valid Postgres `jsonb`,
 * readable in SQL); a user object that itself has a `"$bw"` key is stored escaped, as
 * `{"$bw":"object","v":[[key,value],…]}`. Plain data is stored exactly as {@link botwire!jsonCodec | jsonCodec} stores
 * it, so switching an existing store to this codec reads its old records unchanged.
 *
 * Still refused, with the path: functions, symbols, cycles, class instances other than
 * Date/Map/Set (and subclasses of those), objects with a `toJSON` method. An object referenced
 * twice is stored twice and read back as two copies. Empty array slots read back as `undefined`.
 *
 * @example
 * ```ts
 * import { richJsonCodec } from 'botwire/codec';
 * import { memorySessionStore } from 'botwire/memory';
 * const store = memorySessionStore({ codec: richJsonCodec });
 * await store.set('k', { tags: new Set(['a']), total: 10n ** 20n });
 * (await store.get('k'))?.data; // { tags: Set { 'a' }, total: 100000000000000000000n }
 * ```
 */
export const richJsonCodec: ValueCodec = {
  encode(value: unknown, path: string): string {
    let text: string;
    try {
      text = JSON.stringify(toTagged(value, new Walk(path)));
    } catch (err) {
      if (err instanceof ValueError) throw err;
      throw new ValueError(path, `cannot be encoded (${err instanceof Error ? err.message : String(err)})`);
    }
    return text;
  },
  decode(text: string): unknown {
    const value: unknown = JSON.parse(text);
    return text.includes(TAG_TEXT) ? fromTagged(value) : value;
  },
};
