/** Deeper than this, {@link isPlainJson} answers false and callers take their slow, checking path. */
const MAX_PLAIN_DEPTH = 32;

/**
 * True when `value` is plain JSON data that `JSON.stringify` encodes without dropping or changing
 * anything: no functions or symbols, no `toJSON` (it could return anything), and with
 * `finiteOnly` no NaN/±Infinity (which stringify turns into `null`). False only means "check
 * slowly": a walk in JS plus the engine's replacer-free stringify costs about half of a stringify
 * with a replacer, which V8 cannot run on its fast path.
 */
export function isPlainJson(value: unknown, finiteOnly: boolean, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'number') return !finiteOnly || Number.isFinite(value);
    return typeof value !== 'function' && typeof value !== 'symbol';
  }
  if (depth > MAX_PLAIN_DEPTH || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!isPlainJson(item, finiteOnly, depth + 1)) return false;
    return true;
  }
  for (const k in value) if (!isPlainJson((value as Record<string, unknown>)[k], finiteOnly, depth + 1)) return false;
  return true;
}

/**
 * `JSON.stringify(value)` on the fast path when {@link isPlainJson} allows it; undefined when the
 * caller must take its checking path (not plain, or a getter threw while walking). Throws what
 * stringify throws on plain data (BigInt), for the caller to wrap in its typed error.
 */
export function stringifyIfPlain(value: unknown, finiteOnly: boolean): string | undefined {
  let plain = false;
  try {
    plain = value !== undefined && isPlainJson(value, finiteOnly);
  } catch {
    // A throwing getter: the checking path hits it again and reports it.
  }
  return plain ? JSON.stringify(value) : undefined;
}
