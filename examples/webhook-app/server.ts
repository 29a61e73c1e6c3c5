/**
 * The app as a plain Node server (a VPS, a container, the offline demo): the same `app.fetch` the
 * Vercel functions use, on `node:http` through `botwire/http/node`.
 *
 *   PORT=3000 npx tsx server.ts
 *
 * Also serves the admin panel at `/admin/` (build it first: admin/vite.config.ts), the ops
 * dashboard at `/admin/ops/` and live events over WebSocket at `/sync` (botwire/ws: the admin
 * token, or a Mini App's initData).
 *
 * Jobs: `WORKER=1` runs a botwire Worker in this process (wakes on new jobs at once);
 * `LOCAL_CRON_MS=300000` calls the tick route on a timer instead, as Vercel Cron would. Neither is
 * needed when an outside cron calls `/api/cron/tick`.
 *
 * SIGTERM/SIGINT run botwire's `shutdown()`: the server, the gateway and the worker stop taking
 * work, requests and jobs in flight get `SHUTDOWN_GRACE_MS` to finish (unfinished jobs go back to
 * the queue), then the gateway, the bus, the queue, the stores and their connections close, in
 * that order. Each step is logged (and told to the admins with `NOTIFY_ADMINS=1`).
 */
import { createServer } from 'node:http';
import { shutdown } from 'botwire';
import { Worker } from 'botwire/jobs';
import { toNodeHandler } from 'botwire/http/node';
import { adminPanel } from './src/admin-static.js';
import { createApp } from './src/app.js';
import { serverShutdown } from './src/http/node-server.js';
import { lifecycleNotices } from './src/lifecycle.js';
import { createAppGateway } from './src/sync-gateway.js';

const app = await createApp();
const onLifecycle = lifecycleNotices(app);
const server = createServer();
const http = serverShutdown(server, toNodeHandler(async (request) => {
  const { pathname } = new URL(request.url);
  if (pathname === '/admin') return Response.redirect(new URL('/admin/', request.url), 302);
  if (pathname.startsWith('/admin/') && !pathname.startsWith('/admin/ops')) return adminPanel(pathname);
  return app.fetch(request);
}), (url) => url.startsWith('/admin/ops/api/live'));
server.on('request', http.handler);
const gateway = await createAppGateway(app, server);
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', resolve));
const address = server.address();
const url = `http://${process.env.HOST ?? '127.0.0.1'}:${typeof address === 'object' && address ? address.port : 0}`;

const worker = process.env.WORKER === '1' ? new Worker(app.queue, app.queue.handlers ?? {}, { concurrency: 4, onLifecycle }) : undefined;
const cronMs = Number(process.env.LOCAL_CRON_MS ?? 0);
const cron = cronMs > 0
  ? setInterval(() => {
    void app.fetch(new Request(`${url}/api/cron/tick`, { headers: { authorization: `Bearer ${app.config.cronSecret}` } }));
  }, cronMs)
  : undefined;

void shutdown([
  ...(worker ? [worker] : []),
  { stopIntake: () => clearInterval(cron) },
  http.target,
  gateway,
  ...app.shutdownTargets(),
], { graceMs: app.config.shutdownGraceMs, signals: ['SIGTERM', 'SIGINT'], onLifecycle });

// The demo and the tests read this line to find the port.
console.log(`webhook-app listening on ${url} (backend: ${app.backend.kind})`);
