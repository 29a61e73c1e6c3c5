/**
 * The whole app behind one `(Request) => Promise<Response>`: the Vercel functions in `api/` and the
 * Node server in `server.ts` both call `app.fetch`. Nothing here listens or keeps a process alive.
 *
 * | route | what |
 * | --- | --- |
 * | `POST /api/bot` | Telegram webhook (`X-Telegram-Bot-Api-Secret-Token` checked) |
 * | `GET/POST /api/cron/tick` | run due jobs (`Authorization: Bearer $CRON_SECRET`) |
 * | `GET/POST /api/cron/cleanup` | expired sessions, finished jobs, old rate-limit counters (same secret; `cleanupHandler`) |
 * | `/api/jobs/*` | botwire/http job API, for Mini Apps (`Authorization: tma <initData>`) and admins |
 * | `/api/admin/*` | admin API (`Authorization: Bearer $ADMIN_TOKEN`), see `src/http/admin.ts` |
 * | `GET /health` | sessions, jobs and bus reachable? (`healthHandler`) |
 * | `/admin/ops/` | botwire/dashboard: jobs, sessions, events, health (admin token or the panel's cookie) |
 */
import { webhookCallback, type Bot } from 'grammy';
import { SyncCache } from 'botwire/sync';
import type { JobHandlers, JobQueue } from 'botwire/jobs';
import { shutdown, type ShutdownTarget } from 'botwire';
import { cleanupHandler, healthHandler, initDataJobsAuthorize, jobsHttpHandler } from 'botwire/http';
import { dashboardHandler } from 'botwire/dashboard';
import { openBackend, type Backend } from './backend.js';
import { createBot, type BotContext } from './bot.js';
import { readConfig, type AppConfig } from './config.js';
import { AppData } from './data.js';
import { adminHandler } from './http/admin.js';
import { fromTelegram, hasBearer, isAdmin } from './http/auth.js';
import { jobHandlers } from './jobs.js';
import { createLogger, type Logger } from './log.js';
import { Records } from './records.js';

/** A running app instance. */
export interface App {
  config: AppConfig;
  backend: Backend;
  data: AppData;
  queue: JobQueue;
  bot: Bot<BotContext>;
  cache: SyncCache;
  log: Logger;
  /** Every HTTP route of the app. */
  fetch(request: Request): Promise<Response>;
  /**
   * What `shutdown()` stops besides the server's own parts: the keyboard cache, the bus, the queue,
   * the stores and their connections (`shutdown()` orders them by stage).
   */
  shutdownTargets(): ShutdownTarget[];
  /** Shut the app down now (tests, serverless instances that are told to stop). */
  close(): Promise<void>;
}

const notFound = (): Response => Response.json({ error: { code: 'NOT_FOUND', message: 'no such route' } }, { status: 404 });

/**
 * Open the backend, seed the default records and wire the bot, jobs and routes. `log` defaults to a
 * pino logger at `config.logLevel`.
 */
export async function createApp(config: AppConfig = readConfig(), log: Logger = createLogger(config.logLevel)): Promise<App> {
  const backend = await openBackend(config);
  const data = new AppData(new Records(backend.records), backend.bus);
  await data.seed();
  const cache = new SyncCache({ bus: backend.bus, ttlMs: 60_000 });
  cache.invalidateOn({ 'buttons.*': { tag: 'buttons' }, 'settings.updated': { tag: 'settings' } });

  // The handlers need the bot's API and the bot needs the queue: the queue gets the handlers
  // object now, filled in below once the bot exists (before any job can run).
  const handlers: JobHandlers = {};
  const fleet = backend.jobFeatures;
  const queue = backend.jobQueue({
    handlers,
    ...(fleet.includes('limits') ? { limits: { imagine: { concurrency: 3 } } } : {}),
    ...(fleet.includes('groups') ? { groups: { concurrency: 1 } } : {}),
    // Job state changes as `jobs.<name>.<state>` events: the ops dashboard shows them live.
    bus: backend.bus,
    logger: log,
    onError: (err) => log.error({ err }, 'job error'),
  });
  const bot = createBot({ config, backend, data, cache, queue, log });
  Object.assign(handlers, jobHandlers(bot.api, config));
  if (!fleet.includes('limits')) {
    log.info({ backend: backend.kind }, 'this job backend has no fleet limits yet: /imagine runs without the 3-at-once cap');
  }

  const webhook = webhookCallback(bot, 'std/http', { secretToken: config.webhookSecret, timeoutMilliseconds: 9_000 });
  // A Mini App (signed initData, at most a day old) may start and read jobs of its own chat
  // (private chat id = user id); the admin token may do anything.
  const miniApp = initDataJobsAuthorize({
    botToken: config.botToken, maxAgeSec: 86_400,
    allow: (user, _action, subject) => (subject.payload as { chatId?: unknown } | null)?.chatId === user.id,
  });
  const jobs = jobsHttpHandler({
    queue, handlers, basePath: '/api', cronSecret: config.cronSecret, budgetMs: 50_000, startable: ['report', 'imagine'],
    onError: (err) => log.error({ err }, 'jobs route error'),
    authorize: async (...args) => (await hasBearer(args[0], config.adminToken)) || miniApp(...args),
  });
  const cleanup = cleanupHandler({
    cronSecret: config.cronSecret, basePath: '/api', budgetMs: 50_000,
    sessions: backend.sessions, queues: queue, rateLimits: backend.rateLimits,
    onError: (err) => log.error({ err }, 'cleanup error'),
  });
  // One session read, one job-backend round trip and the bus's state; every connection the app
  // holds is behind one of them, whatever the backend layout.
  const checks = { sessions: backend.sessions, jobs: queue, bus: backend.bus };
  const health = healthHandler({ checks, timeoutMs: 2_000 });
  const dashboard = dashboardHandler({
    queue, store: backend.sessions, bus: backend.bus, health: checks,
    basePath: '/admin/ops', loginUrl: '/admin/',
    // Every action, retry and session delete included: the admin token is the only sign-in.
    authorize: (request) => isAdmin(request, config.adminToken),
    onError: (err) => log.error({ err }, 'dashboard error'),
  });
  const admin = adminHandler(data, config.adminToken);

  async function route(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === '/api/bot') {
      if (request.method !== 'POST') return new Response(null, { status: 405, headers: { allow: 'POST' } });
      if (!(await fromTelegram(request, config.webhookSecret))) return Response.json({ error: { code: 'UNAUTHORIZED', message: 'wrong or missing X-Telegram-Bot-Api-Secret-Token' } }, { status: 401 });
      return webhook(request);
    }
    if (pathname === '/api/cron/cleanup') {
      const response = await cleanup(request);
      if (response.ok) log.info(await response.clone().json(), 'cleanup');
      return response;
    }
    if (pathname === '/api/cron/tick' || pathname.startsWith('/api/jobs/') || pathname === '/api/jobs') return jobs(request);
    if (pathname.startsWith('/api/admin/')) return admin(request, pathname.slice('/api/admin/'.length));
    if (pathname === '/health') return health(request);
    if (pathname === '/admin/ops' || pathname.startsWith('/admin/ops/')) return dashboard(request);
    return notFound();
  }

  // The cache listens on the bus: it stops with the transports, before the stores close.
  const shutdownTargets = (): ShutdownTarget[] => [{ shutdownStage: 'transport', close: async () => cache.close() }, ...backend.shutdownTargets()];

  return {
    config, backend, data, queue, bot, cache, log,
    fetch: async (request) => {
      const started = performance.now();
      try {
        const response = await route(request);
        log.debug({ method: request.method, path: new URL(request.url).pathname, status: response.status, ms: Math.round(performance.now() - started) }, 'request');
        return response;
      } catch (err) {
        log.error({ err, path: new URL(request.url).pathname }, 'request failed');
        return Response.json({ error: { code: 'INTERNAL', message: 'see the server logs' } }, { status: 500 });
      }
    },
    shutdownTargets,
    close: async () => { await shutdown(shutdownTargets()); },
  };
}

let shared: Promise<App> | undefined;

/** One app per serverless instance, created on the first request (a cold start) and reused. */
export function getApp(): Promise<App> {
  shared ??= createApp().catch((err: unknown) => { shared = undefined; throw err; });
  return shared;
}
