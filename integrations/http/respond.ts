import {
  BackendForbiddenError, BackendSchemaError, BackendUnavailableError, BotwireConfigError, JobConflictError, JobNotFoundError,
  JobPayloadTooLargeError, JobSerializationError, JobStateError, SessionKeyError, UnknownJobError,
} from '../../src/errors.js';

const encoder = new TextEncoder();

/** A JSON response with `no-store` caching unless headers say otherwise. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}

/** The error shape every endpoint uses: `{ error: { code, message } }`. */
export function fail(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return json(status, { error: { code, message } }, headers);
}

/**
 * Map a thrown error to a status and the JSON error shape. Only errors about the caller's own input
 * keep their message (it names the rule the input broke); every other message may carry internals
 * (connection strings, hostnames, other jobs' names), so those answer with a fixed text and the full
 * error goes to `onError`.
 */
export function errorResponse(err: unknown, onError: (e: unknown) => void): Response {
  if (err instanceof JobNotFoundError) return fail(404, err.code, err.message);
  if (err instanceof UnknownJobError) return fail(404, err.code, 'There is no such job that can be started here.');
  if (err instanceof JobStateError) return fail(409, err.code, err.message);
  if (err instanceof JobConflictError) return fail(409, err.code, 'This id already belongs to another job.');
  if (err instanceof JobPayloadTooLargeError) return fail(413, err.code, err.message);
  if (err instanceof JobSerializationError || err instanceof BotwireConfigError || err instanceof SessionKeyError) {
    return fail(400, err.code, err.message);
  }
  onError(err);
  if (err instanceof BackendUnavailableError) return fail(503, err.code, 'The job store is unavailable; try again shortly.', { 'retry-after': '5' });
  if (err instanceof BackendForbiddenError || err instanceof BackendSchemaError) {
    return fail(500, err.code, 'The job store is misconfigured; see the server logs.');
  }
  return fail(500, 'INTERNAL', 'Internal error; see the server logs.');
}

/**
 * Whether a `Content-Type` names JSON: `application/json` or `application/<anything>+json`, with
 * any parameters. A missing header is not JSON: browsers send cross-site POSTs without a preflight
 * only for form and text types or no body type at all, so demanding JSON makes every such request fail.
 */
export function isJsonContentType(header: string | null): boolean {
  if (header === null) return false;
  const essence = header.split(';', 1)[0]!.trim().toLowerCase();
  return /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/.test(essence);
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/**
 * Compare a presented secret with the expected one in time independent of where they differ
 * (and of their lengths: both are hashed to 32 bytes first).
 */
export async function safeEqual(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(presented), sha256(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** A strong ETag for a JSON body. */
export async function etagOf(body: string): Promise<string> {
  const hash = await sha256(body);
  let hex = '';
  for (let i = 0; i < 12; i++) hex += hash[i]!.toString(16).padStart(2, '0');
  return `"${hex}"`;
}

/** Whether an `If-None-Match` header value matches `etag` (weak comparison, as RFC 9110 asks for GET). */
export function matchesEtag(header: string | null, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/** Read a request body as text, refusing more than `limit` bytes without buffering the excess. */
export async function readBody(request: Request, limit: number): Promise<string | Response> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  const tooLarge = (): Response => fail(413, 'BODY_TOO_LARGE', `The request body is larger than ${limit} bytes.`);
  if (declared > limit) return tooLarge();
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return tooLarge();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { all.set(c, at); at += c.byteLength; }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(all);
  } catch {
    return fail(400, 'BAD_ENCODING', 'The request body is not valid UTF-8.');
  }
}
