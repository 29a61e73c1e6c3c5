import {
  BackendForbiddenError, BackendSchemaError, type BackendErrorKind, type BackendInfo,
} from 'botwire/adapter-kit';
import type { SupabaseRpcErrorBody } from './client.js';

/**
 * What a supabase-js answer means, for the core's typed errors. supabase-js never throws: every
 * failure comes back as `{ data: null, error, status }`, and its shapes differ by who answered —
 * PostgREST (`code` = a SQLSTATE or `PGRSTnnn`), a gateway or proxy in front of it (no `code`, the
 * page as `message`), or nobody (`status: 0`, `message: 'TypeError: fetch failed'`). Each shape is
 * recorded in test/postgrest-double.test.ts.
 *
 * @module
 */

/** Backend name in error messages. */
export const NAME = 'Supabase';

/** SQLSTATEs of a database that went away or is full (class 08 is matched by prefix); 57014: statement timeout. */
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', '57014', '40001', '40P01']);
/** undefined_table, undefined_function, undefined_column, invalid_schema_name. */
const SCHEMA_CODES = new Set(['42P01', '42883', '42703', '3F000']);
/**
 * PostgREST could not get a database connection (PGRST000: cannot connect, PGRST003: no free pooled
 * connection in time): the statement never ran.
 */
const UNSENT_CODES = new Set(['PGRST000', 'PGRST003']);
/** fetch's causes for a request that never left (supabase-js puts them in `details`). */
const UNSENT_CAUSES = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)\b/;

/**
 * A failed `rpc()` call: what supabase-js answered, and what kind of failure it is. The core turns
 * the kinds `'unavailable'` and `'unsent'` into `BackendUnavailableError` (with the outcome of the
 * operation); a SQL error of no known kind (a bug, bad input) reaches the caller as this error.
 */
export class SupabaseRpcError extends Error {
  override readonly name = 'SupabaseRpcError';
  /** SQLSTATE or PostgREST code; undefined when no PostgREST answered. */
  readonly code: string | undefined;
  /** HTTP status; 0 when no answer arrived. */
  readonly status: number;
  readonly details: string | undefined;
  readonly hint: string | undefined;
  /** The failure's kind for the core; undefined for an error of the SQL itself. */
  readonly kind: BackendErrorKind | undefined;

  constructor(fn: string, status: number, error: SupabaseRpcErrorBody | null, kind: BackendErrorKind | undefined, note?: string) {
    const code = error?.code ? error.code : undefined;
    const what = status === 0 ? 'no HTTP answer' : `HTTP ${status}${code ? ` ${code}` : ''}`;
    super(`rpc ${fn}: ${what}: ${note ?? firstLine(error?.message ?? 'no error body')}`);
    this.code = code;
    this.status = status;
    this.details = error?.details ?? undefined;
    this.hint = error?.hint ?? undefined;
    this.kind = kind;
  }
}

// A proxy's HTML page can be long: its first line names it well enough.
function firstLine(text: string): string {
  const line = text.split('\n', 1)[0]!.trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/**
 * The error for a failed answer: botwire's `BackendSchemaError` / `BackendForbiddenError` with
 * Supabase-specific advice, or a {@link SupabaseRpcError} carrying its kind.
 */
export function rpcFailure(schema: string, fn: string, status: number, error: SupabaseRpcErrorBody | null): Error {
  const code = error?.code || undefined;
  const cause = new SupabaseRpcError(fn, status, error, undefined);
  if (code === 'PGRST106') {
    return new BackendSchemaError(NAME, cause,
      `schema "${schema}" is not exposed by the Data API. Add it under Project Settings → API → Exposed schemas ` +
        '(or `[api] schemas` in supabase/config.toml), next to public.');
  }
  if (code === 'PGRST202' || (code !== undefined && SCHEMA_CODES.has(code))) {
    return new BackendSchemaError(NAME, cause,
      `function ${schema}.${fn} was not found${code === 'PGRST202' ? " in the Data API's schema cache" : ''}. Either botwire's ` +
        `migrations were not run on this database (\`npx botwire migrate --print --schema ${schema}\`, saved as a Supabase ` +
        'migration or pasted into the SQL editor, or `npx botwire migrate --database-url <direct url>`), or they are ' +
        `older than this botwire; or schema "${schema}" is not among the exposed schemas (Project Settings → API).`);
  }
  if (code === '42501' || status === 401 || status === 403 || code?.startsWith('PGRST30')) {
    const said = firstLine(error?.message ?? '');
    return new BackendForbiddenError(NAME, `${fn} (HTTP ${status}${code ? ` ${code}` : ''}${said ? `: ${said}` : ''})`, cause);
  }
  return new SupabaseRpcError(fn, status, error, kindOf(status, code, error));
}

function kindOf(status: number, code: string | undefined, error: SupabaseRpcErrorBody | null): BackendErrorKind | undefined {
  if (status === 0) return UNSENT_CAUSES.test(error?.details ?? '') ? 'unsent' : 'unavailable';
  if (code === undefined) return 'unavailable'; // no PostgREST answered: a gateway, a proxy, a broken body
  if (UNSENT_CODES.has(code)) return 'unsent';
  if (UNAVAILABLE_CODES.has(code) || code.startsWith('08') || code.startsWith('PGRST0')) return 'unavailable';
  return undefined;
}

/** The kind of any error a Supabase adapter call raised (see `BackendInfo.classifyError`). */
export function classifySupabaseError(err: unknown): BackendErrorKind | undefined {
  return err instanceof SupabaseRpcError ? err.kind : undefined;
}

/** The Supabase backend as the kit's bounded calls see it. */
export const SUPABASE: BackendInfo = { name: NAME, classifyError: classifySupabaseError };
