/**
 * PostgREST's error answers: the `{ code, details, hint, message }` body, the HTTP status a
 * PostgreSQL SQLSTATE maps to (PostgREST 14, src/PostgREST/Error.hs `pgErrorStatus`, the table on
 * https://docs.postgrest.org/en/latest/references/errors.html), and the headers it adds
 * (`Proxy-Status: PostgREST; error=<code>` on every error, `WWW-Authenticate: Bearer` on a 401).
 */

/** The JSON body of every PostgREST error. Absent parts are `null`, never missing. */
export interface PostgrestErrorBody {
  code: string;
  details: string | null;
  hint: string | null;
  message: string;
}

/** An error answer: thrown inside the double and written out by its request handler. */
export class PostgrestHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: PostgrestErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
    this.name = 'PostgrestHttpError';
  }
}

/**
 * The status PostgREST answers for a SQL error with SQLSTATE `code`. `authed` is whether the request's
 * role is not the anonymous role: insufficient privilege (42501) is 401 for anon, 403 otherwise.
 */
export function statusForSqlState(code: string, message: string, authed: boolean): number {
  switch (code) {
    case '23503': case '23505': return 409;
    case '25006': return 405;
    case '21000': return message.endsWith('requires a WHERE clause') ? 400 : 500;
    case '22023': return message.startsWith('role') && message.endsWith('does not exist') ? 401 : 400;
    case '53400': return 500;
    case '57P01': return 503;
    case 'P0001': return 400;
    case '42883': return message.startsWith('function xmlagg(') ? 406 : 404;
    case '42P01': return 404;
    case '42P17': return 500;
    case '42501': return authed ? 403 : 401;
    default: break;
  }
  const head = code.slice(0, 2);
  switch (head) {
    case '08': case '53': return 503;
    case '0L': case '0P': case '28': return 403;
    case '09': case '25': case '2D': case '38': case '39': case '3B': case '40': case '54': case '55':
    case '57': case '58': case 'F0': case 'HV': case 'P0': case 'XX':
      return 500;
    default: break;
  }
  // RAISE ... USING ERRCODE = 'PT409' answers with that status.
  if (head === 'PT') {
    const n = Number(code.slice(2));
    return Number.isInteger(n) && n >= 100 && n <= 599 ? n : 500;
  }
  return 400;
}

/** The shape of errors from `pg` and PGlite (pg-protocol's DatabaseError). */
interface SqlErrorLike {
  code?: unknown;
  message?: unknown;
  detail?: unknown;
  hint?: unknown;
}

/** The SQLSTATE of `err` if it is an error the server sent, else undefined (a client/connection error). */
export function sqlState(err: unknown): string | undefined {
  const code = (err as SqlErrorLike | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** PostgREST's answer for an error thrown while talking to the database. */
export function fromSqlError(err: unknown, authed: boolean): PostgrestHttpError {
  const e = (err ?? {}) as SqlErrorLike;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const code = sqlState(err);
  if (code === undefined) {
    // The pool could not hand out a connection in time (PostgREST's db-pool-acquisition-timeout).
    if (/timeout exceeded when trying to connect/i.test(message)) {
      return withProxyStatus(new PostgrestHttpError(504, {
        code: 'PGRST003', message: 'Timed out acquiring connection from connection pool.', details: null, hint: null,
      }));
    }
    return withProxyStatus(new PostgrestHttpError(503, {
      code: 'PGRST000', message: 'Database connection error. Retrying the connection.', details: message, hint: null,
    }));
  }
  const status = statusForSqlState(code, message, authed);
  return withProxyStatus(new PostgrestHttpError(status, {
    code,
    details: typeof e.detail === 'string' ? e.detail : null,
    hint: typeof e.hint === 'string' ? e.hint : null,
    message,
  }, status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}));
}

/** Adds the `Proxy-Status` header PostgREST puts on every error answer. */
export function withProxyStatus(err: PostgrestHttpError): PostgrestHttpError {
  return new PostgrestHttpError(err.status, err.body, {
    'Proxy-Status': `PostgREST; error=${err.body.code}`,
    ...err.headers,
  });
}

/** A PostgREST error of its own (PGRSTnnn) with `status`. */
export function pgrstError(status: number, code: string, message: string, details: string | null = null, hint: string | null = null): PostgrestHttpError {
  return withProxyStatus(new PostgrestHttpError(status, { code, details, hint, message }));
}
