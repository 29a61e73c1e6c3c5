import { SessionSerializationError, type BackendErrorKind, type BackendInfo } from 'botwire/adapter-kit';

/**
 * What `pg` and PGlite errors mean, for the core's typed errors (see `BackendInfo.classifyError`).
 * Node's socket codes (`ECONNREFUSED` …) are recognised by the core itself.
 *
 * @module
 */

/**
 * SQLSTATEs of a server that went away or is full: admin_shutdown, crash_shutdown,
 * cannot_connect_now, too_many_connections; class 08 (connection exception) is matched by prefix.
 */
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
/** undefined_table, undefined_function, undefined_column, invalid_schema_name: migrations not run. */
const SCHEMA_CODES = new Set(['42P01', '42883', '42703', '3F000']);
/** insufficient_privilege (RLS, a role without the grants). */
const FORBIDDEN = '42501';
/** The connection broke while a statement may have been on its way. */
const UNAVAILABLE_MESSAGES = ['Connection terminated', 'Client has encountered a connection error'];
/** Refused before the statement was sent: a pool that could not connect, a closed client or PGlite. */
const UNSENT_MESSAGES = ['timeout exceeded when trying to connect', 'Client was closed', 'PGlite is closed'];

/** The kind of a `pg`/PGlite error, or undefined for any other error (a constraint, bad input …). */
export function classifyPgError(err: unknown): BackendErrorKind | undefined {
  const message = err instanceof Error ? err.message : String(err);
  if (UNSENT_MESSAGES.some((m) => message.includes(m))) return 'unsent';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (UNAVAILABLE_CODES.has(code) || code.startsWith('08')) return 'unavailable';
    if (code === FORBIDDEN) return 'forbidden';
    if (SCHEMA_CODES.has(code)) return 'schema';
  }
  return UNAVAILABLE_MESSAGES.some((m) => message.includes(m)) ? 'unavailable' : undefined;
}

/** The Postgres backend as the kit's bounded calls see it. */
export const POSTGRES: BackendInfo = { name: 'Postgres', classifyError: classifyPgError };

/**
 * Rethrow a session write's error, as {@link SessionSerializationError} when jsonb refused the data.
 * jsonb refuses a few things JSON.stringify emits (\u0000 → 22P05, lone surrogates → 22P02): that is
 * bad input, not an outage. But 22P02 is also what any other parameter gets from its type's input
 * function (e.g. "0.5" for a bigint version), so a 22P02 counts only when the JSON parser raised it:
 * its `file` (json.c, jsonfuncs.c …, the same in every server language) or, from a driver that
 * drops that field, its English message.
 */
export function rejectJson(key: string, err: unknown): never {
  const e = err as { code?: unknown; file?: unknown; message?: unknown } | null;
  const fromJsonParser = typeof e?.file === 'string' ? e.file.startsWith('json') : /\bjson\b/.test(String(e?.message));
  if (e?.code === '22P05' || (e?.code === '22P02' && fromJsonParser)) throw new SessionSerializationError(key, err);
  throw err;
}
