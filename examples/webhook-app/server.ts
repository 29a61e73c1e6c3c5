/**
 * The app as a plain Node server (a VPS, a container, the offline demo): the same `app.fetch` the
 * Vercel functions use, on `node:http` through `botwire/http/node`.
 *
 *   PORT=3000 npx tsx server.ts
 *
 * Also serves the admin panel at `/admin/` (build it first: admin/vite.config.ts) and its live
 * events over WebSocket at `/sync` (botwire/ws, admin token required).
 *
 * Jobs: `WORKER=1` runs a botwire Worker in this process (wakes on new jobs at once);
 * `LOCAL_CRON_MS=300000` calls the tick route on a timer instead, as Vercel Cron would. Neither is
 * needed when an outside cron calls `/api/cron/tick`. SIGTERM/SIGINT close the server, let running
 * jobs finish and close the backend.
 */
import { createServer } from 'node:http';
import { Worker } from 'botwire/jobs';
import { toNodeHandler } from 'botwire/http/node';
import { createSyncGateway, safeEqual } from 'botwire/ws';
import { adminPanel } from './src/admin-static.js';
import { createApp } from './src/app.js';

const app = await createApp();
const server = createServer(toNodeHandler(async (request) => {
  const { pathname } = new URL(request.url);
  if (pathname === '/admin') return Response.redirect(new URL('/admin/', request.url), 302);
  if (pathname.startsWith('/admin/') && !pathname.startsWith('/admin/ops')) return adminPanel(pathname);
  return app.fetch(request);
}));
// The admin panel's live updates: the app's events, to browsers holding the admin token.
const gateway = await createSyncGateway({
  bus: app.backend.bus, server, path: '/sync',
  authorize: (_request, { token }) => (token && safeEqual(token, app.config.adminToken) ? { allow: ['**'], id: 'admin' } : false),
  onError: (err) => app.log.warn({ err }, 'sync gateway'),
});
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', resolve));
const address = server.address();
const url = `http://${process.env.HOST ?? '127.0.0.1'}:${typeof address === 'object' && address ? address.port : 0}`;

const worker = process.env.WORKER === '1' ? new Worker(app.queue, app.queue.handlers ?? {}, { concurrency: 4 }) : undefined;
const cronMs = Number(process.env.LOCAL_CRON_MS ?? 0);
const cron = cronMs > 0
  ? setInterval(() => {
    void app.fetch(new Request(`${url}/api/cron/tick`, { headers: { authorization: `Bearer ${app.config.cronSecret}` } }));
  }, cronMs)
  : undefined;

// Seam: botwire's operations work brings `shutdown()` (ordered, bounded); this is its stand-in.
let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  app.log.info({ signal }, 'shutting down');
  if (cron) clearInterval(cron);
  await gateway.close();
  await new Promise((resolve) => server.close(resolve));
  await worker?.stop({ graceMs: 10_000 });
  await app.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

// The demo and the tests read this line to find the port.
console.log(`webhook-app listening on ${url} (backend: ${app.backend.kind})`);
