import { BackendForbiddenError, BackendSchemaError, BackendUnavailableError, BotwireError } from '../errors.js';

/** Error codes (Node socket errors and Postgres SQLSTATE classes) that mean "could not reach the server". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENETUNREACH',
  '57P01', '57P02', '57P03', '53300',
]);
const UNREACHABLE_MESSAGES = [
  'Connection is closed', "Stream isn't writeable", 'Connection terminated', 'connect ECONNREFUSED',
  'Client has encountered a connection error', 'Client was closed', 'PGlite is closed', 'All sentinels are unreachable',
  'Reached the max retries per request limit', 'timeout exceeded when trying to connect', 'Failed to fetch', 'fetch failed',
];

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when `err` means the server could not be reached rather than that it refused the request. */
export function isUnreachable(err: unknown): boolean {
  const code = codeOf(err);
  if (code && (UNREACHABLE_CODES.has(code) || code.startsWith('08'))) return true;
  const message = err instanceof Error ? err.message : String(err);
  return UNREACHABLE_MESSAGES.some((m) => message.includes(m));
}

/** Turn a driver error into botwire's typed errors where it is one of the known kinds; else keep it. */
export function classifyBackendError(backend: string, operation: string, err: unknown, subject?: string): unknown {
  if (err instanceof BotwireError) return err;
  if (isUnreachable(err)) return new BackendUnavailableError(backend, operation, err, subject);
  const code = codeOf(err);
  if (code === '42501') return new BackendForbiddenError(backend, operation, err);
  // undefined_table, undefined_function, undefined_column, invalid_schema_name: migrations not run.
  if (code === '42P01' || code === '42883' || code === '42703' || code === '3F000') return new BackendSchemaError(backend, err);
  return err;
}

/**
 * Run one backend call with a hard upper bound on how long the caller waits, so an unreachable
 * backend turns into {@link BackendUnavailableError} in bounded time (ioredis alone waits ~10 s).
 */
export async function callBackend<T>(
  backend: string,
  operation: string,
  timeoutMs: number,
  run: () => Promise<T>,
  subject?: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BackendUnavailableError(backend, operation, new Error(`no answer within ${timeoutMs} ms`), subject)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([run(), timeout]);
  } catch (err) {
    throw classifyBackendError(backend, operation, err, subject);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
