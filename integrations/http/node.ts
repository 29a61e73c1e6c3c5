/**
 * Mount a web-standard `(Request) => Promise<Response>` handler on `node:http` or Express.
 *
 * @module botwire/http/node
 */
import { BotwireConfigError, BotwireError } from '../../src/errors.js';

/** The parts of `http.IncomingMessage` (or an Express request) the adapter reads. */
export interface NodeRequestLike extends AsyncIterable<Uint8Array | string> {
  method?: string | undefined;
  url?: string | undefined;
  /** Express's mount-independent URL, preferred over `url` when present. */
  originalUrl?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  /** Set by body-parsing middleware (e.g. `express.json()`), which has then consumed the stream. */
  body?: unknown;
  readableEnded?: boolean;
  /** A TLS socket has `encrypted: true`. */
  socket?: unknown;
}

/** The parts of `http.ServerResponse` the adapter writes. */
export interface NodeResponseLike {
  statusCode: number;
  setHeader(name: string, value: string | string[]): unknown;
  end(chunk?: Uint8Array): unknown;
  /** Used to stream `text/event-stream` responses chunk by chunk (Server-Sent Events). */
  write?(chunk: Uint8Array): unknown;
  /** Sends the status and headers before the first chunk of a stream. */
  flushHeaders?(): unknown;
  /** `'close'` ends a stream whose client went away. */
  on?(event: 'close', listener: () => void): unknown;
}

/** Options of {@link toNodeHandler}. */
export interface NodeHandlerOptions {
  /** Origin used to build absolute request URLs when the Host header is missing. @default 'http://localhost' */
  origin?: string;
}

function bodyStream(req: NodeRequestLike): ReadableStream<Uint8Array> {
  // Streamed (not buffered up front) so the handler's body-size limit stops reading early.
  const it = req[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await it.next();
      if (done) controller.close();
      else controller.enqueue(typeof value === 'string' ? new TextEncoder().encode(value) : value);
    },
    async cancel() { await it.return?.(); },
  });
}

/** Characters that would move a Host header's text out of the authority part of a URL. */
const HOST_BREAKERS = /[\s/?#@\\]/;

function badRequest(message: string): BotwireError {
  return new BotwireError('BAD_REQUEST', message);
}

/**
 * Turn a Node request into a web `Request`.
 *
 * @throws {BotwireError} with code `BAD_REQUEST` when the Host header or request target cannot form a
 * URL (`toNodeHandler` answers those with 400).
 */
export function toWebRequest(req: NodeRequestLike, options: NodeHandlerOptions = {}): Request {
  const proto = (req.socket as { encrypted?: boolean } | undefined)?.encrypted ? 'https' : 'http';
  const host = req.headers.host;
  let origin = options.origin ?? 'http://localhost';
  if (typeof host === 'string' && host) {
    if (HOST_BREAKERS.test(host)) throw badRequest('The Host header is not a valid host.');
    origin = `${proto}://${host}`;
  }
  const target = req.originalUrl ?? req.url ?? '/';
  let url: URL;
  try {
    const root = new URL(origin);
    // Appended, not resolved: a target like `//other/x` must stay a path, not become another host.
    url = target.startsWith('/') ? new URL(root.origin + target) : new URL(target, root);
  } catch {
    throw badRequest('The Host header or request target is not a valid URL.');
  }
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) headers.append(k, item);
    else headers.set(k, v);
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (method !== 'GET' && method !== 'HEAD') {
    if (req.body !== undefined && req.readableEnded !== false) {
      // A body parser already read the stream: send on what it parsed.
      init.body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
      headers.delete('content-length');
    } else {
      init.body = bodyStream(req);
      init.duplex = 'half';
    }
  }
  return new Request(url, init);
}

/** Write a web `Response` to a Node response. */
export async function sendWebResponse(res: NodeResponseLike, response: Response, method = 'GET'): Promise<void> {
  res.statusCode = response.status;
  const cookies = response.headers.getSetCookie?.() ?? [];
  response.headers.forEach((value, key) => { if (key !== 'set-cookie') res.setHeader(key, value); });
  if (cookies.length) res.setHeader('set-cookie', cookies);
  if (method === 'HEAD' || response.body === null) { res.end(); return; }
  if (res.write && response.headers.get('content-type')?.startsWith('text/event-stream')) {
    await streamBody(res as NodeResponseLike & Required<Pick<NodeResponseLike, 'write'>>, response.body);
    return;
  }
  res.end(new Uint8Array(await response.arrayBuffer()));
}

/** Write an event stream as it comes, until it ends or the client goes away. */
async function streamBody(res: NodeResponseLike & Required<Pick<NodeResponseLike, 'write'>>, body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader();
  res.on?.('close', () => { reader.cancel().catch(() => undefined); });
  res.flushHeaders?.();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      res.write(value);
    }
  } finally {
    res.end();
  }
}

/**
 * Adapt a web handler (e.g. `jobsHttpHandler(...)`) to `node:http` and Express. A request whose Host
 * header or target forms no URL answers 400; unexpected failures answer 500 (or go to Express's
 * `next(err)`) instead of crashing the process.
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * import { jobsHttpHandler } from 'botwire/http';
 * import { toNodeHandler } from 'botwire/http/node';
 * const jobs = jobsHttpHandler({ queue, authorize, cronSecret: process.env.CRON_SECRET });
 * http.createServer(toNodeHandler(jobs)).listen(3000);
 * // Express: app.use('/api', toNodeHandler(jobsHttpHandler({ queue, authorize, basePath: '/api' })));
 * ```
 */
export function toNodeHandler(
  handler: (request: Request) => Promise<Response>,
  options: NodeHandlerOptions = {},
): (req: NodeRequestLike, res: NodeResponseLike, next?: (err?: unknown) => void) => void {
  if (options.origin !== undefined && !URL.canParse(options.origin)) {
    throw new BotwireConfigError(`toNodeHandler: origin must be an absolute URL like "https://bot.example", got ${JSON.stringify(options.origin)}.`);
  }
  return (req, res, next) => {
    void (async () => {
      let request: Request;
      try {
        request = toWebRequest(req, options);
      } catch (err) {
        // A malformed request is the client's fault (RFC 9112 asks for 400 on a bad Host), not the app's.
        const bad = err instanceof BotwireError && err.code === 'BAD_REQUEST';
        sendError(res, bad ? 400 : 500, bad ? 'BAD_REQUEST' : 'INTERNAL', bad ? err.message : 'Internal error.');
        return;
      }
      try {
        const response = await handler(request);
        await sendWebResponse(res, response, req.method);
      } catch (err) {
        if (next) { next(err); return; }
        sendError(res, 500, 'INTERNAL', 'Internal error.');
      }
    })();
  };
}

function sendError(res: NodeResponseLike, status: number, code: string, message: string): void {
  try {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(new TextEncoder().encode(JSON.stringify({ error: { code, message } })));
  } catch { /* headers already sent: nothing more to do */ }
}
