/**
 * # A test double for PostgREST (Supabase's Data API) — RPC, plus a few table routes for the bench
 *
 * PostgREST cannot be installed on the test machines, so supabase-js talks to this small HTTP server
 * instead. It stands in for PostgREST ONLY: the database behind it is the real Postgres (or PGlite),
 * with Supabase's real roles, grants and RLS; the SQL functions that run are botwire's own.
 *
 * ## What it does, per request (as PostgREST 14 does)
 * - Auth: the HS256 JWT from `Authorization: Bearer` (PostgREST reads nothing else; when that header
 *   is absent the double reads `apikey`, standing in for Supabase's gateway — supabase-js always
 *   sends both). Bad tokens: 401 PGRST301 (undecodable, bad signature), PGRST303 (exp/nbf/iat,
 *   30 s skew). No token: the anon role. The role is the `role` claim.
 * - Schema: `Content-Profile` (POST/PATCH/PUT/DELETE) or `Accept-Profile` (GET/HEAD) picks one of
 *   `schemas` (default the first); any other is 406 PGRST106. supabase-js always sends one
 *   (`db.schema`, default `public`).
 * - One transaction on a pooled connection logged in as `authenticator` (NOINHERIT, member of anon,
 *   authenticated, service_role): `BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE` (READ ONLY for
 *   GET/HEAD and for STABLE/IMMUTABLE functions), then `set_config` of search_path (the schema, then
 *   `public, extensions` as Supabase's db-extra-search-path), role, request.jwt.claims,
 *   request.method, request.path, request.headers, request.cookies — all transaction-local — then
 *   the statement, then COMMIT (ROLLBACK on any error). Unlike PostgREST, which binds parameters,
 *   the double inlines values as literals and sends all of it in one round trip.
 * - `POST /rest/v1/rpc/:fn` (and GET/HEAD with query-string arguments): the function is chosen by
 *   name and argument names from a cached catalog read (reloaded once on a miss, as Supabase's DDL
 *   event trigger reloads PostgREST's cache); JSON arguments become SQL values through
 *   `json_to_record` with the parameters' types; the call uses named arguments; only the arguments
 *   given are passed (the rest take their defaults; a missing required one or an unknown name is
 *   404 PGRST202, several matching overloads 300 PGRST203). Answers: SETOF / RETURNS TABLE → 200,
 *   JSON array of objects; composite or OUT parameters → 200, one object; scalar → 200, the JSON
 *   value (bigint is a JSON number); void → 204 with no body. `Prefer: count=exact` fills
 *   Content-Range's total.
 * - Errors: `{ code, details, hint, message }` with PostgREST's status for the SQLSTATE (42501 → 401
 *   for anon, 403 for other roles; 23505/23503 → 409; P0001 and 22xxx → 400; 42883 → 404; 57014 →
 *   500; 08xxx/53xxx → 503; PTnnn → nnn; the rest 400/500 per the table), plus `Proxy-Status`
 *   and, on 401, `WWW-Authenticate`. A database that cannot be reached → 503 PGRST000; no free
 *   pooled connection within 10 s → 504 PGRST003.
 * - For the bench only: GET/POST(upsert)/DELETE on `/rest/v1/<table>` as far as
 *   `@grammyjs/storage-supabase` needs (see ./postgrest/tables.ts).
 *
 * ## What it deliberately does not do
 * Resource embedding, filters other than `eq` on tables, `select`/filters/order on RPC results,
 * the single-unnamed-json-parameter RPC form, bulk (array-body) RPC calls, form-encoded bodies,
 * `Prefer: tx=rollback`/`params=single-object`/`handling=strict`/`max-affected`, response GUCs
 * (`response.headers`/`response.status`), pre-request functions, per-role settings (Supabase's
 * `statement_timeout` for anon/authenticated), fuzzy "Perhaps you meant…" hints for unknown function
 * names, OpenAPI, CORS, JWKS/asymmetric keys, `aud` checks, and the API gateway's own answers
 * (for example its `No API key found in request`).
 *
 * ## Checked against
 * - https://docs.postgrest.org/en/latest/references/errors.html and
 *   https://supabase.com/docs/guides/api/rest/postgrest-error-codes (SQLSTATE → status, PGRST codes)
 * - https://docs.postgrest.org/en/latest/references/api/functions.html (a POSTed JSON object's keys
 *   are the named arguments)
 * - https://docs.postgrest.org/en/latest/references/api/schemas.html (Content-/Accept-Profile, default
 *   schema = first of db-schemas, only exposed schemas)
 * - https://docs.postgrest.org/en/v13/references/auth.html (authenticator NOINHERIT LOGIN, SET ROLE to
 *   the JWT's role, anon role without a token)
 * - PostgREST v14.10 source: Error.hs, Auth/Jwt.hs, ApiRequest.hs (getSchema), Plan.hs (findProc),
 *   Query/QueryBuilder.hs + Query/Statements.hs (the call statement), Query/PreQuery.hs (tx settings),
 *   Response.hs, and its test suite (test/spec RpcSpec/AuthSpec/SingularSpec, test/io/test_auth.py).
 *   PostgREST 12 (still on older Supabase projects) differs in the JWT errors: every JWT failure is
 *   PGRST301 there, with jose's message (`JWT expired`, `JWSError JWSInvalidSignature`).
 * - Supabase's roles: supabase/postgres migrations/db/init-scripts/00000000000000-initial-schema.sql.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import ws from 'ws';
import { pgDatabase, pgliteDatabase, sqlIdent, sqlLiteral, type PostgrestDatabase } from './postgrest/database.js';
import { PostgrestHttpError, fromSqlError, pgrstError } from './postgrest/errors.js';
import { signJwt, verifyJwt, type JwtClaims } from './postgrest/jwt.js';
import { AUTHENTICATOR, ensureSupabaseRoles } from './postgrest/roles.js';
import { RoutineCache, callResult, callStatement, type CallArgs } from './postgrest/rpc.js';
import { TableCache, tableRoute, type Answer } from './postgrest/tables.js';

export { signJwt } from './postgrest/jwt.js';
export { AUTHENTICATOR, ensureSupabaseRoles } from './postgrest/roles.js';

/** The JWT secret the double and its keys use unless told otherwise. */
export const TEST_JWT_SECRET = 'botwire-test-jwt-secret-at-least-32-characters-long';

/** Options of {@link startPostgrest}. */
export interface StartPostgrestOptions {
  /** The Postgres to serve. Roles are created through it (needs a superuser); requests log in as `authenticator`. */
  databaseUrl?: string;
  /** Or one PGlite instance (requests run one at a time; roles are created in it). */
  pglite?: PGlite;
  /** PostgREST's db-schemas: the exposed schemas, the first being the default. */
  schemas: string[];
  /** HS256 secret. @default TEST_JWT_SECRET */
  jwtSecret?: string;
  /** Connections in the pool (PostgREST's db-pool). @default 10 */
  poolSize?: number;
  /** Create Supabase's roles first (false: they exist, or the database is meant to be unreachable). @default true */
  createRoles?: boolean;
}

/**
 * A scripted failure for the next request(s), decided before the request reaches the database
 * (except `reset: 'after'`).
 * - `{ status, body, contentType }`: answer this instead (e.g. a proxy's HTML 502 page).
 * - `{ reset: 'before' }`: destroy the connection without answering (a network failure).
 * - `{ reset: 'after' }`: serve the request (its transaction commits), then destroy the connection
 *   without answering — a write whose outcome the client cannot know.
 * - `{ hang: true }`: never answer (until `closeSockets()` or `close()`).
 */
export type PostgrestFault =
  | { status: number; body: string; contentType?: string; times?: number }
  | { reset: 'before' | 'after'; times?: number }
  | { hang: true; times?: number };

/** HTTP requests received, including those answered by a fault. */
export interface PostgrestRequestCounts {
  total: number;
  /** By route: `POST /rpc/session_get`, `GET /bot_sessions`, … */
  byRoute: Map<string, number>;
  /** The latest request as received (header names lower-case). */
  last: { method: string; url: string; headers: Record<string, string>; body: string } | undefined;
}

/** A running double. */
export interface PostgrestDouble {
  /** The project URL to give `createClient` (the double serves `/rest/v1/…` under it). */
  readonly url: string;
  /** A JWT with `role: anon` (Supabase's anon / publishable key). */
  readonly anonKey: string;
  /** A JWT with `role: service_role` (Supabase's service role / secret key). */
  readonly serviceKey: string;
  /** A signed-in user's access token (`role: authenticated`, `sub`). */
  authenticatedKey(sub: string): string;
  /** Any token signed with the double's secret (e.g. expired ones). */
  sign(claims: Record<string, unknown>): string;
  /** Requests received so far. */
  readonly requests: PostgrestRequestCounts;
  /** Zeroes `requests`. */
  resetRequests(): void;
  /** Queues a failure for the next request(s); faults apply in the order queued. */
  failNext(fault: PostgrestFault): void;
  /** While down, open connections are destroyed and every new one is closed as soon as it opens. */
  setDown(down: boolean): void;
  /** Destroys every open connection (idle keep-alive ones and those with a request in flight). */
  closeSockets(): void;
  /** Forgets the function cache (PostgREST's `NOTIFY pgrst, 'reload schema'`). */
  reloadSchemaCache(): void;
  /** Stops the server (later requests fail with ECONNREFUSED) and closes its pool. */
  close(): Promise<void>;
}

const ANON_ROLE = 'anon';
// Supabase's db-extra-search-path.
const EXTRA_SEARCH_PATH = ['public', 'extensions'];
const JSON_TYPE = 'application/json; charset=utf-8';

/** Starts a PostgREST double on a random port of 127.0.0.1. */
export async function startPostgrest(options: StartPostgrestOptions): Promise<PostgrestDouble> {
  const secret = options.jwtSecret ?? TEST_JWT_SECRET;
  const schemas = [...options.schemas];
  if (schemas.length === 0) throw new Error('startPostgrest: schemas must name at least one schema');
  let db: PostgrestDatabase;
  const createRoles = options.createRoles ?? true;
  if (options.pglite) {
    if (createRoles) await ensureSupabaseRoles(async (text) => ({ rows: (await options.pglite!.query<Record<string, unknown>>(text)).rows }));
    db = pgliteDatabase(options.pglite);
  } else if (options.databaseUrl) {
    if (createRoles) {
      const admin = pgDatabase(options.databaseUrl, 1);
      try {
        await ensureSupabaseRoles(admin.query);
      } finally {
        await admin.close();
      }
    }
    const url = new URL(options.databaseUrl);
    url.username = AUTHENTICATOR;
    url.password = '';
    db = pgDatabase(url.toString(), options.poolSize ?? 10);
  } else {
    throw new Error('startPostgrest: give databaseUrl or pglite');
  }
  const routines = new RoutineCache(db, schemas);
  const tables = new TableCache(db);
  const faults: PostgrestFault[] = [];
  const sockets = new Set<Socket>();
  const requests: PostgrestRequestCounts = { total: 0, byRoute: new Map(), last: undefined };
  let down = false;

  const takeFault = (): PostgrestFault | undefined => {
    const fault = faults[0];
    if (!fault) return undefined;
    const left = (fault.times ?? 1) - 1;
    if (left <= 0) faults.shift();
    else faults[0] = { ...fault, times: left };
    return fault;
  };

  const serve = async (method: string, url: URL, headers: Headers, body: string): Promise<Answer> => {
    const path = url.pathname;
    if (!path.startsWith('/rest/v1/') || path.length <= '/rest/v1/'.length) {
      throw pgrstError(404, 'PGRST125', 'Invalid path specified in request URL');
    }
    const auth = headers.get('authorization');
    const bearer = auth === null ? undefined : /^bearer\s*(.*)$/i.exec(auth)?.[1];
    const claims: JwtClaims = verifyJwt(bearer ?? headers.get('apikey') ?? undefined, secret, ANON_ROLE);
    const authed = claims.role !== ANON_ROLE;
    const writeMethod = ['POST', 'PATCH', 'PUT', 'DELETE'].includes(method);
    const profile = headers.get(writeMethod ? 'content-profile' : 'accept-profile');
    if (profile !== null && !schemas.includes(profile)) {
      throw pgrstError(406, 'PGRST106', `Invalid schema: ${profile}`, null, `Only the following schemas are exposed: ${schemas.join(', ')}`);
    }
    const schema = profile ?? schemas[0]!;
    const profileHeader: Record<string, string> = profile !== null || schemas.length !== 1 ? { 'Content-Profile': schema } : {};
    const setup = `SELECT ${[
      ['search_path', [schema, ...EXTRA_SEARCH_PATH].map(sqlIdent).join(', ')],
      ['role', claims.role],
      ['request.jwt.claims', JSON.stringify(claims)],
      ['request.method', method],
      ['request.path', path],
      ['request.headers', JSON.stringify(Object.fromEntries(headers))],
      ['request.cookies', '{}'],
    ].map(([k, v]) => `pg_catalog.set_config(${sqlLiteral(k!)}, ${sqlLiteral(v!)}, true)`).join(', ')}`;
    const run = (readOnly: boolean, statement: string, check?: (rows: Record<string, unknown>[]) => void) =>
      db.request(readOnly, setup, statement, check).catch((err: unknown) => {
        throw err instanceof PostgrestHttpError ? err : fromSqlError(err, authed);
      });

    const rpc = /^\/rest\/v1\/rpc\/([^/]+)$/.exec(path);
    if (rpc) {
      const fn = decodeURIComponent(rpc[1]!);
      if (!['POST', 'GET', 'HEAD'].includes(method)) throw pgrstError(405, 'PGRST101', `Cannot use the ${method} method on RPC`);
      let args: CallArgs;
      if (method === 'POST') {
        let parsed: unknown;
        try {
          parsed = body === '' ? {} : JSON.parse(body);
        } catch {
          throw pgrstError(400, 'PGRST102', 'Empty or invalid json');
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw pgrstError(400, 'PGRST100', 'The PostgREST test double supports only a JSON object body on RPC');
        }
        // The body goes to the database as sent (as PostgREST does): re-encoding it in JS would round
        // integers beyond 2^53.
        args = { json: body === '' ? '{}' : body, keys: Object.keys(parsed) };
      } else {
        args = { text: Object.fromEntries(url.searchParams) };
      }
      const keys = 'json' in args ? args.keys : Object.keys(args.text);
      const routine = await routines.find(schema, fn, keys, method === 'POST');
      const readOnly = method !== 'POST' || routine.volatility !== 'v';
      const result = callResult(routine, await run(readOnly, callStatement(routine, args)));
      const count = /(?:^|,)\s*count=(exact|planned|estimated)\s*(?:,|$)/.exec(headers.get('prefer') ?? '')?.[1];
      const n = result.pageTotal;
      const range = { 'Content-Range': `${n > 0 ? `0-${n - 1}` : '*'}/${count ? n : '*'}` };
      const applied: Record<string, string> = count ? { 'Preference-Applied': `count=${count}` } : {};
      if (routine.void) return { status: 204, headers: { ...range, ...applied } };
      return {
        status: 200,
        body: method === 'HEAD' ? '' : result.body,
        headers: { 'Content-Type': JSON_TYPE, ...range, ...applied, ...profileHeader },
      };
    }

    const table = decodeURIComponent(path.slice('/rest/v1/'.length));
    if (table.includes('/')) throw pgrstError(404, 'PGRST125', 'Invalid path specified in request URL');
    const plan = await tableRoute(tables, { method, url, headers, body, schema, table });
    const answer = plan.answer(await run(plan.readOnly, plan.statement, plan.check));
    return answer.body !== undefined ? { ...answer, headers: { ...answer.headers, ...profileHeader } } : answer;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://double');
    const route = `${method} ${url.pathname.replace(/^\/rest\/v1/, '')}`;
    requests.total++;
    requests.byRoute.set(route, (requests.byRoute.get(route) ?? 0) + 1);
    const received: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') received[k] = v;
    requests.last = { method, url: req.url ?? '/', headers: received, body };

    const fault = takeFault();
    if (fault && 'hang' in fault) return;
    if (fault && 'reset' in fault && fault.reset === 'before') {
      req.socket.destroy();
      return;
    }
    if (fault && 'status' in fault) {
      const text = fault.body;
      res.writeHead(fault.status, { 'Content-Type': fault.contentType ?? 'text/html', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const headers = new Headers(received);
    let answer: Answer;
    try {
      answer = await serve(method, url, headers, body);
    } catch (err) {
      const e = err instanceof PostgrestHttpError ? err : fromSqlError(err, true);
      const text = JSON.stringify(e.body);
      answer = { status: e.status, body: text, headers: { 'Content-Type': JSON_TYPE, ...e.headers } };
    }
    if (fault && 'reset' in fault) {
      req.socket.destroy();
      return;
    }
    const text = answer.body ?? '';
    res.writeHead(answer.status, { ...answer.headers, ...(answer.status === 204 ? {} : { 'Content-Length': String(Buffer.byteLength(text)) }) });
    res.end(answer.status === 204 ? undefined : text);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A bug in the double itself: answer 500 so the test sees it rather than a hang.
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`postgrest double: ${(err as Error)?.stack ?? String(err)}`);
    });
  });
  server.on('connection', (socket) => {
    if (down) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + 10 * 365 * 24 * 3600;
  const sign = (claims: Record<string, unknown>): string => signJwt(claims, secret);

  return {
    url: `http://127.0.0.1:${port}`,
    anonKey: sign({ iss: 'supabase', ref: 'botwire-test', role: 'anon', iat, exp }),
    serviceKey: sign({ iss: 'supabase', ref: 'botwire-test', role: 'service_role', iat, exp }),
    authenticatedKey: (sub) => sign({ iss: 'supabase', aud: 'authenticated', sub, role: 'authenticated', iat, exp }),
    sign,
    requests,
    resetRequests() {
      requests.total = 0;
      requests.byRoute.clear();
      requests.last = undefined;
    },
    failNext(fault) {
      faults.push(fault);
    },
    setDown(value) {
      down = value;
      if (value) for (const socket of sockets) socket.destroy();
    },
    closeSockets() {
      for (const socket of sockets) socket.destroy();
    },
    reloadSchemaCache() {
      routines.reload();
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await db.close();
    },
  };
}

/**
 * A supabase-js client for the double. On Node 20 supabase-js needs a WebSocket implementation
 * (`realtime.transport`) even when Realtime is never used; auth persistence is off (no storage in Node).
 */
export function supabaseClientFor(
  double: Pick<PostgrestDouble, 'url'>,
  key: string,
  options: { schema?: string; timeoutMs?: number } = {},
): SupabaseClient<any, any, any> {
  return createClient(double.url, key, {
    db: { schema: options.schema ?? 'public', ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}) },
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: ws as never },
  });
}
