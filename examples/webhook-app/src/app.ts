/**
 * The whole app behind one `(Request) => Promise<Response>`: the Vercel functions in `api/` and the
 * Node server in `server.ts` both call `app.fetch`. Nothing here listens or keeps a process alive.
 *
 * | route | what |
 * | --- | --- |
 * | `POST /api/bot` | Telegram webhook (`X-Telegram-Bot-Api-Secret-Token` checked) |
 * | `GET/POST /api/cron/tick` | run due jobs (`Authorization: Bearer $CRON_SECRET`) |
 * | `GET/POST /api/cron/cleanup` | delete expired sessions (same secret) |
 * | `/api/jobs/*` | botwire/http job API, for Mini Apps (`Authorization: tma <initData>`) and admins |
 * | `/api/admin/*` | admin API (`Authorization: Bearer $ADMIN_TOKEN`), see `src/http/admin.ts` |
 * | `GET /health` | backend reachable? |
 * | `/admin/ops` | seam for botwire/dashboard |
 */
import { webhookCallback, type Bot } from 'grammy';
import { SyncCache } from 'botwire/sync';
import type { JobHandlers, JobQueue } from 'botwire/jobs';
import { jobsHttpHandler } from 'botwire/http';
import { openBackend, type Backend } from './backend.js';
import { createBot, type BotContext } from './bot.js';
import { readConfig, type AppConfig } from './config.js';
import { AppData } from './data.js';
import { healthResponse } from './health.js';
import { adminHandler } from './http/admin.js';
import { fromTelegram, hasBearer, miniAppUser } from './http/auth.js';
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
  /** Close the backend connections (the operations work's `shutdown()` wraps this). */
  close(): Promise<void>;
}

const notFound = (): Response => Response.json({ error: { code: 'NOT_FOUND', message: 'no such route' } }, { status: 404 });

/** Open the backend, seed the default records and wire the bot, jobs and routes. */
export async function createApp(config: AppConfig = readConfig(), log: Logger = createLogger()): Promise<App> {
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
    onError: (err) => log.error({ err }, 'job error'),
  });
  const bot = createBot({ config, backend, data, cache, queue, log });
  Object.assign(handlers, jobHandlers(bot.api, config));
  if (!fleet.includes('limits')) {
    log.info({ backend: backend.kind }, 'this job backend has no fleet limits yet: /imagine runs without the 3-at-once cap');
  }

  const webhook = webhookCallback(bot, 'std/http', { secretToken: config.webhookSecret, timeoutMilliseconds: 9_000 });
  const jobs = jobsHttpHandler({
    queue, handlers, basePath: '/api', cronSecret: config.cronSecret, budgetMs: 50_000, startable: ['report', 'imagine'],
    onError: (err) => log.error({ err }, 'jobs route error'),
    // A Mini App may start and read jobs of its own chat (private chat id = user id); admins any.
    authorize: async (request, _action, subject) => {
      if (await hasBearer(request, config.adminToken)) return true;
      const userId = await miniAppUser(request, config.botToken);
      return userId !== undefined && (subject.payload as { chatId?: unknown } | null)?.chatId === userId;
    },
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
      // Seam: the operations work adds a ready cleanup route; this one is the same in spirit.
      if (!(await hasBearer(request, config.cronSecret))) return Response.json({ error: { code: 'UNAUTHORIZED', message: 'Bearer CRON_SECRET required' } }, { status: 401 });
      const deleted = await backend.sessions.cleanup();
      log.info({ deleted }, 'sessions cleaned up');
      return Response.json({ deleted });
    }
    if (pathname === '/api/cron/tick' || pathname.startsWith('/api/jobs/') || pathname === '/api/jobs') return jobs(request);
    if (pathname.startsWith('/api/admin/')) return admin(request, pathname.slice('/api/admin/'.length));
    if (pathname === '/health') return healthResponse(backend);
    if (pathname === '/admin/ops' || pathname.startsWith('/admin/ops/')) {
      // Seam: mount botwire/dashboard here (jobs, sessions, events), behind the admin token.
      return Response.json({ error: { code: 'NOT_AVAILABLE', message: 'the ops dashboard (botwire/dashboard) is not part of this build' } }, { status: 501 });
    }
    return notFound();
  }

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
    close: async () => {
      cache.close();
      await backend.close();
    },
  };
}

let shared: Promise<App> | undefined;

/** One app per serverless instance, created on the first request (a cold start) and reused. */
export function getApp(): Promise<App> {
  shared ??= createApp().catch((err: unknown) => { shared = undefined; throw err; });
  return shared;
}
