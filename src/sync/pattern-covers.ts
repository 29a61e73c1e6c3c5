/**
 * Pattern containment: does every topic one pattern matches also match another? The gateway uses it
 * to check a requested subscription against the patterns `authorize` allowed, before anything is
 * delivered — matching each event against the allow-list afterwards would leak nothing either, but
 * the client deserves a clear `forbidden` at subscribe time.
 *
 * @module
 */

const EVERYTHING = new Set(['*', '**', '#']);

function isTail(segment: string): boolean {
  return segment === '**' || segment === '#';
}

/**
 * True when every topic matched by `requested` is also matched by `allowed` (same syntax as
 * `compilePattern`: `*` one segment, trailing `**`/`#` one or more segments, `'*'`/`'**'`/`'#'`
 * alone everything except `$` system topics). Both patterns are assumed valid.
 *
 * @example
 * ```ts
 * patternCovers('buttons.*', 'buttons.updated'); // true
 * patternCovers('users.**', 'users.*.balance_updated'); // true
 * patternCovers('users.*', 'users.**'); // false: users.1.balance is not under users.*
 * ```
 */
export function patternCovers(allowed: string, requested: string): boolean {
  if (allowed === requested) return true;
  if (requested.startsWith('$') || allowed.startsWith('$')) return false;
  if (EVERYTHING.has(allowed)) return true;
  if (EVERYTHING.has(requested)) return false;
  const a = allowed.split('.');
  const r = requested.split('.');
  for (let i = 0; i < a.length; i++) {
    const as = a[i]!;
    const rs = r[i];
    if (isTail(as)) return rs !== undefined; // allowed takes ≥1 more segments; requested has ≥1 here
    if (rs === undefined || isTail(rs)) return false; // requested is shorter, or reaches lengths allowed does not
    if (as !== '*' && as !== rs) return false;
  }
  return r.length === a.length;
}

/** True when some pattern of `allowed` covers `requested` (see {@link patternCovers}). */
export function anyPatternCovers(allowed: readonly string[], requested: string): boolean {
  for (const a of allowed) if (patternCovers(a, requested)) return true;
  return false;
}
