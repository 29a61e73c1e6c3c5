/**
 * The checking walk behind every JSON encode in the core: finds the first part of a value that
 * `JSON.stringify` would silently change or drop, or cannot encode at all, and names its path. Runs
 * only after the fast walk ({@link isPlainJson}) said no, so it may be slow and thorough.
 *
 * @module
 */

/**
 * A value that cannot be stored as JSON unchanged. `path` names the part, e.g. `data.cart.items[3]`;
 * the core copies it into its typed errors (`SessionSerializationError.path`, …). Codecs may throw
 * it (or any error with a string `path`) too.
 */
export class ValueError extends TypeError {
  /** Where in the value the problem is, e.g. `data.cart.items[3]`. */
  readonly path: string;

  constructor(path: string, reason: string) {
    super(reason);
    this.name = 'ValueError';
    this.path = path;
  }
}

/** The `path` of an error thrown while encoding, when it has one. */
export function pathOf(err: unknown): string | undefined {
  const path = (err as { path?: unknown } | null)?.path;
  return typeof path === 'string' ? path : undefined;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `path` extended by a property name: `.name` for identifiers, `["a b"]` for anything else. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** What kind of object `value` is, for messages: `a Map`, `an instance of Money`, … */
export function describeObject(value: object): string {
  let name: string | undefined;
  try {
    const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor;
    name = typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : undefined;
  } catch {
    // A hostile proxy: fall back to the tag.
  }
  name ??= Object.prototype.toString.call(value).slice(8, -1);
  return `${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name}`;
}

/** Why an object with a prototype other than `Object.prototype`/null is refused. */
export function classReason(value: object): string {
  if (value instanceof Map) return 'a Map would be stored as {} (convert it, e.g. Object.fromEntries(map), or use a codec that keeps Maps)';
  if (value instanceof Set) return 'a Set would be stored as {} (convert it, e.g. [...set], or use a codec that keeps Sets)';
  if (value instanceof Date) return 'an invalid Date would be stored as null';
  return `${describeObject(value)} object is not plain data: JSON keeps only its own fields and loses the class ` +
    '(store plain objects, or convert it yourself)';
}

/** Reason `value` (a primitive) cannot be stored, or undefined when it can. */
function primitiveReason(value: unknown, inArray: boolean, top: boolean): string | undefined {
  switch (typeof value) {
    case 'string': case 'boolean': return undefined;
    case 'number': return Number.isFinite(value) ? undefined : `${String(value)} would be stored as null`;
    case 'bigint': return 'a BigInt is not JSON (convert it to a string or number)';
    case 'function': return 'a function would be dropped';
    case 'symbol': return 'a symbol would be dropped';
    case 'undefined':
      if (top) return 'undefined is not JSON';
      return inArray ? 'undefined in an array (or an empty slot) would be stored as null' : undefined;
    default: return undefined; // objects are walked by the caller
  }
}

/**
 * Throw {@link ValueError} for the first part of `value` (depth first, in key order) that
 * `JSON.stringify` would drop or change, or cannot encode: functions and symbols anywhere,
 * `undefined` at the top or in arrays, NaN/±Infinity, BigInt, cycles, objects with a prototype
 * other than `Object.prototype`/null (Map, Set, class instances, typed arrays, …) except valid
 * Dates, objects with a `toJSON` method, and getters that throw. Returns when there is none.
 */
export function assertStorable(value: unknown, root: string): void {
  const ancestors = new Set<object>();
  const walk = (v: unknown, path: string, inArray: boolean, top: boolean): void => {
    if (typeof v !== 'object' || v === null) {
      const reason = primitiveReason(v, inArray, top);
      if (reason !== undefined) throw new ValueError(path, reason);
      return;
    }
    if (ancestors.has(v)) throw new ValueError(path, 'a cycle: this object contains itself');
    if (Array.isArray(v)) {
      ancestors.add(v);
      for (let i = 0; i < v.length; i++) walk(read(v, i, path), childPath(path, i), true, false);
      ancestors.delete(v);
      return;
    }
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto === Date.prototype && !Number.isNaN((v as Date).getTime())) return;
    if (proto !== Object.prototype && proto !== null) throw new ValueError(path, classReason(v));
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      throw new ValueError(path, 'an object with a toJSON method would be stored as whatever toJSON returns');
    }
    ancestors.add(v);
    for (const k in v) walk(read(v, k, path), childPath(path, k), false, false);
    ancestors.delete(v);
  };
  try {
    walk(value, root, false, true);
  } catch (err) {
    if (err instanceof ValueError) throw err;
    // The walk itself overflowed the stack: so would stringify.
    throw new ValueError(root, `cannot be encoded (${err instanceof Error ? err.message : String(err)})`);
  }
}

function read(container: object, key: string | number, path: string): unknown {
  try {
    return (container as Record<string | number, unknown>)[key];
  } catch (err) {
    throw new ValueError(childPath(path, key), `reading it threw: ${err instanceof Error ? err.message : String(err)}`);
  }
}
