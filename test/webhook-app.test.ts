/**
 * examples/webhook-app end to end: the scripted conversation through telegram-test-api, the relay
 * and real app processes (server.ts), with a cold start in the middle, on every backend — and once
 * with two app processes behind a round-robin relay. Plus the routes' refusals, in process.
 */
import { createHmac } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from 'botwire/postgres';
import { createApp, type App } from '../examples/webhook-app/src/app.js';
import { readConfig } from '../examples/webhook-app/src/config.js';
import { assertInOrder, EDIT_FLOW_EXPECTED, playConversation } from '../examples/webhook-app/src/demo/conversation.js';
import { DEMO_SECRETS, Harness } from '../examples/webhook-app/src/demo/harness.js';
import type { AppTopics } from '../examples/webhook-app/src/topics.js';
import { DATABASE_URL, needs, REDIS_URL, uniqueName } from './support/services.js';
import { withSupabase } from './support/supabase.js';

const REPORT_RETRY_MS = 500;
const APP_ENV = { REPORT_RETRY_MS: String(REPORT_RETRY_MS), IMAGINE_MS: '50-100' };

/** Lines of the conversation that must appear, in this order. */
const EXPECTED = [
  'Welcome! Pick an action below.',
  '[📋 Tasks]',
  ...EDIT_FLOW_EXPECTED,
  '📊 Report queued…',
  'cron tick → 200 {"claimed":1,"completed":0,"partial":1,"failed":0}',
  'exchange unavailable, retrying at the next tick',
  'cron tick → 200 {"claimed":1,"completed":1,"partial":0,"failed":0}',
  '• exchange: USD/RUB 92.4',
  '🎉 Subscribe to the channel: +10. Balance: 10',
  'Sorry, this command is for admins only.',
  '👥 1 users, total balance 10',
  'admin PATCH /api/admin/buttons/1 {"label":"📋 Quests"} → 200',
  '[📋 Quests]',
  '⏳ Slow down: at most 10 commands a minute.',
  '🎨 Queued: “a red fox in the snow”.',
  '🖼 “a red fox in the snow” — generated in',
];

function expectConversation(h: Harness): void {
  assertInOrder(h, EXPECTED);
  const text = h.text();
  // Exactly the 11th command in a minute was refused, and it was the only one.
  expect(text.split('⏳ Slow down').length - 1).toBe(1);
  // The keyboard before the admin's edit still had the old label on every instance.
  expect(text.lastIndexOf('[📋 Tasks]')).toBeLessThan(text.indexOf('[📋 Quests]'));
}

/** `GET /health` of a running app process: 200, and each of its checks ok. */
async function expectHealthy(url: string): Promise<void> {
  const r = await fetch(`${url}/health`);
  const body = (await r.json()) as { ok: boolean; checks: Record<string, { ok: boolean; backend: string }> };
  expect({ status: r.status, ok: body.ok }, JSON.stringify(body)).toEqual({ status: 200, ok: true });
  expect(Object.keys(body.checks).sort()).toEqual(['bus', 'jobs', 'sessions']);
  for (const check of Object.values(body.checks)) expect(check).toMatchObject({ ok: true, backend: expect.any(String) });
}

async function converse(env: Record<string, string>, instances = 1): Promise<Harness> {
  const h = await Harness.start({ env: { ...APP_ENV, ...env }, instances });
  try {
    await playConversation(h, { reportRetryMs: REPORT_RETRY_MS });
    expectConversation(h);
    for (const app of h.apps) await expectHealthy(app.url);
  } finally {
    await h.close();
  }
  // Every process stopped by SIGTERM (the cold starts and the end) ran shutdown() with every step
  // clean — exit code 0, not a kill after the harness's 15 s.
  expect(h.exitCodes).toEqual(Array.from({ length: 2 * instances }, () => 0));
  return h;
}

describe('webhook-app: the scripted conversation with a cold start', () => {
  it('on embedded PGlite (the demo), the admin told of the cold start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhook-app-'));
    try {
      const h = await converse({ BACKEND: 'pglite', PGLITE_DIR: dir, NOTIFY_ADMINS: '1' });
      // shutdown()'s lifecycle notices reached the admin's chat before the process exited.
      assertInOrder(h, ['cold start next', ': stopping (SIGTERM), running jobs get 10 s', ': stopped in ']);
      expect(h.text()).not.toContain('with errors');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  describe('on Postgres', async () => {
    const run = await needs('postgres');
    const schema = uniqueName('webhook_app');
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    afterAll(async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await pool.end();
    });
    it.runIf(run)('one process', async () => {
      await migrate(pool, { schema });
      await converse({ BACKEND: 'postgres', DATABASE_URL, BOTWIRE_SCHEMA: schema });
    }, 240_000);
    it.runIf(run)('two processes behind a round-robin relay: both answer, an admin edit on one reaches the other', async () => {
      const schema2 = `${schema}_2`;
      await migrate(pool, { schema: schema2 });
      try {
        const h = await converse({ BACKEND: 'postgres', DATABASE_URL, BOTWIRE_SCHEMA: schema2 }, 2);
        // Updates alternated between the two processes.
        expect(h.relay.served.slice(0, 6)).toEqual([0, 1, 0, 1, 0, 1]);
      } finally {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema2}" CASCADE`).catch(() => undefined);
      }
    }, 300_000);
  });

  describe('on Redis', async () => {
    const run = await needs('redis');
    const prefix = `${uniqueName('webhook_app')}:`;
    afterAll(async () => {
      if (!run) return;
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`*${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    });
    it.runIf(run)('one process', async () => {
      await converse({ BACKEND: 'redis', REDIS_URL, REDIS_PREFIX: prefix });
    }, 240_000);
  });

  describe('on Postgres + Redis (the VPS layout)', async () => {
    const run = (await needs('postgres')) && (await needs('redis'));
    const schema = uniqueName('webhook_app_vps');
    const prefix = `${schema}:`;
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    afterAll(async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await pool.end();
      if (!run) return;
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`*${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    });
    it.runIf(run)('two processes behind a round-robin relay', async () => {
      await migrate(pool, { schema });
      const h = await converse({ BACKEND: 'postgres-redis', DATABASE_URL, REDIS_URL, BOTWIRE_SCHEMA: schema, REDIS_PREFIX: prefix }, 2);
      expect(new Set(h.relay.served)).toEqual(new Set([0, 1]));
    }, 300_000);
  });

  describe('on Supabase (through the PostgREST double)', async () => {
    const run = await needs('postgres');
    it.runIf(run)('one process', async () => {
      const supa = await withSupabase('webhook_app');
      try {
        await converse({ BACKEND: 'supabase', SUPABASE_URL: supa.double.url, SUPABASE_SERVICE_ROLE_KEY: supa.double.serviceKey, BOTWIRE_SCHEMA: supa.schema });
      } finally {
        await supa.drop();
      }
    }, 240_000);
  });
});

describe('webhook-app: routes refuse what they must', () => {
  let app: App;
  const env = { ...DEMO_SECRETS, BACKEND: 'memory', LOG_LEVEL: 'silent', TELEGRAM_API_ROOT: 'http://127.0.0.1:1' };
  const url = (path: string) => `http://app.test${path}`;

  it('cron routes answer 401 without the secret and run with it', async () => {
    app = await createApp(readConfig(env));
    for (const path of ['/api/cron/tick', '/api/cron/cleanup']) {
      expect((await app.fetch(new Request(url(path)))).status).toBe(401);
      expect((await app.fetch(new Request(url(path), { headers: { authorization: 'Bearer wrong-secret-wrong-secret' } }))).status).toBe(401);
      const ok = await app.fetch(new Request(url(path), { headers: { authorization: `Bearer ${DEMO_SECRETS.CRON_SECRET}` } }));
      expect(ok.status).toBe(200);
      if (path === '/api/cron/cleanup') {
        expect(await ok.json()).toMatchObject({ sessions: 0, jobs: 0, rateLimits: 0, complete: true, errors: [] });
      }
    }
  });

  it('/health answers 200 with the session store, job queue and bus checked', async () => {
    const r = await app.fetch(new Request(url('/health')));
    expect(r.status).toBe(200);
    const body = (await r.json()) as { ok: boolean; checks: Record<string, { ok: boolean; backend: string; latencyMs: number }> };
    expect(body.ok).toBe(true);
    expect(Object.keys(body.checks).sort()).toEqual(['bus', 'jobs', 'sessions']);
    for (const check of Object.values(body.checks)) expect(check).toMatchObject({ ok: true, backend: expect.any(String), latencyMs: expect.any(Number) });
    expect((await app.fetch(new Request(url('/health'), { method: 'POST' }))).status).toBe(405);
  });

  it('/admin/ops: the dashboard refuses without the admin token, serves the page with the token or the panel\'s cookie', async () => {
    const get = (path: string, headers: Record<string, string> = {}) => app.fetch(new Request(url(path), { headers }));
    // Refused: no credentials, a wrong token, a forged cookie. The page says to sign in (401).
    const refused: Array<Record<string, string>> = [{}, { authorization: 'Bearer not-the-admin-token' }, { cookie: 'webhook_app_admin=0123abcd' }];
    for (const headers of refused) {
      expect((await get('/admin/ops/', headers)).status).toBe(401);
      expect((await get('/admin/ops/api/overview', headers)).status).toBe(401);
    }
    expect(((await (await get('/admin/ops/api/overview')).json()) as { loginUrl: string }).loginUrl).toBe('/admin/');
    // The admin token as a Bearer header (scripts, curl).
    const bearer = { authorization: `Bearer ${DEMO_SECRETS.ADMIN_TOKEN}` };
    const page = await get('/admin/ops/', bearer);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const overview = await get('/admin/ops/api/overview', bearer);
    expect(overview.status).toBe(200);
    expect(((await overview.json()) as { features: { queues: string[]; sessions: boolean; events: boolean; health: string[] } }).features)
      .toMatchObject({ queues: ['default'], sessions: true, events: true, health: ['sessions', 'jobs', 'bus'] });
    const health = await get('/admin/ops/api/health', bearer);
    expect(health.status).toBe(200);
    // The admin panel signs the browser in: an HttpOnly cookie scoped to the dashboard, not the token itself.
    const signIn = await app.fetch(new Request(url('/api/admin/session'), { method: 'POST', headers: bearer }));
    expect(signIn.status).toBe(204);
    const setCookie = signIn.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^webhook_app_admin=[0-9a-f]{64}; Path=\/admin\/ops; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(setCookie).not.toContain(DEMO_SECRETS.ADMIN_TOKEN);
    const cookie = { cookie: `theme=dark; ${setCookie.split(';')[0]!}` };
    expect((await get('/admin/ops/', cookie)).status).toBe(200);
    expect((await get('/admin/ops/api/overview', cookie)).status).toBe(200);
    // The cookie opens the dashboard only, not the admin API; without the token nobody gets one.
    expect((await get('/api/admin/buttons', cookie)).status).toBe(401);
    expect((await app.fetch(new Request(url('/api/admin/session'), { method: 'POST' }))).status).toBe(401);
    const signOut = await app.fetch(new Request(url('/api/admin/session'), { method: 'DELETE', headers: bearer }));
    expect(signOut.headers.get('set-cookie')).toMatch(/^webhook_app_admin=; Path=\/admin\/ops; .*Max-Age=0/);
    const overHttps = await app.fetch(new Request('https://app.test/api/admin/session', { method: 'POST', headers: bearer }));
    expect(overHttps.headers.get('set-cookie')).toMatch(/; Secure$/);
  });

  it('the webhook refuses a missing or wrong secret token before the bot sees the update', async () => {
    const update = JSON.stringify({ update_id: 1, message: { message_id: 1, date: 0, text: '/start', chat: { id: 5, type: 'private' }, from: { id: 5, is_bot: false, first_name: 'X' } } });
    const post = (headers: Record<string, string>) => app.fetch(new Request(url('/api/bot'), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: update }));
    expect((await post({})).status).toBe(401);
    expect((await post({ 'x-telegram-bot-api-secret-token': 'not-the-secret' })).status).toBe(401);
    expect(await app.data.users()).toEqual([]); // nothing ran
  });

  it('the admin API needs its token and names bad input', async () => {
    expect((await app.fetch(new Request(url('/api/admin/buttons')))).status).toBe(401);
    const auth = { authorization: `Bearer ${DEMO_SECRETS.ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const bad = await app.fetch(new Request(url('/api/admin/buttons'), { method: 'POST', headers: auth, body: JSON.stringify({ label: 'X', action: 'fly' }) }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('buttons.action must be one of');
    const events: string[] = [];
    app.backend.bus.subscribe('buttons.*', (e) => { events.push(e.topic); });
    const created = await app.fetch(new Request(url('/api/admin/buttons'), { method: 'POST', headers: auth, body: JSON.stringify({ label: '❓ Help', action: 'help' }) }));
    expect(created.status).toBe(201);
    expect(events).toEqual(['buttons.created']);
  });

  it('payouts: approving debits the balance and publishes payouts.updated + approved; a decided payout stays decided', async () => {
    const auth = { authorization: `Bearer ${DEMO_SECRETS.ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const events: Array<[string, unknown]> = [];
    app.backend.bus.subscribe('payouts.*', (e) => { events.push([e.topic, e.data]); });
    app.backend.bus.subscribe('users.balance_updated', (e) => { events.push([e.topic, e.data]); });
    await app.data.ensureUser(7, 'Payee');
    await app.data.addBalance(7, 30);
    const p1 = await app.data.requestPayout(7, 20);
    const p2 = await app.data.requestPayout(7, 20);
    await expect(app.data.requestPayout(7, 31)).rejects.toThrow('your balance is 30');
    const approve = (id: number) => app.fetch(new Request(url(`/api/admin/payouts/${id}/approve`), { method: 'POST', headers: auth, body: '{}' }));
    expect((await approve(p1.id)).status).toBe(200);
    expect((await app.data.user(7))!.balance).toBe(10);
    const again = await approve(p1.id);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { message: string } }).error.message).toBe(`payout ${p1.id} is approved already`);
    const tooMuch = await approve(p2.id); // 20 > 10 left: refused, still pending, balance unchanged
    expect(tooMuch.status).toBe(400);
    expect((await app.data.payouts()).find((p) => p.id === p2.id)!.status).toBe('pending');
    expect((await app.data.user(7))!.balance).toBe(10);
    expect(events).toEqual([
      ['users.balance_updated', { userId: 7, balance: 30, delta: 30 }],
      ['payouts.created', { id: p1.id, userId: 7, amount: 20 }],
      ['payouts.created', { id: p2.id, userId: 7, amount: 20 }],
      ['users.balance_updated', { userId: 7, balance: 10, delta: -20 }],
      ['payouts.updated', { id: p1.id, status: 'approved' }],
      ['payouts.approved', { id: p1.id, userId: 7 }],
    ]);
  });

  it('the jobs API: a Mini App (signed initData) may start and read jobs of its own chat only; admins any', async () => {
    const tma = (userId: number, token = DEMO_SECRETS.BOT_TOKEN): string => {
      const fields: Record<string, string> = { auth_date: String(Math.floor(Date.now() / 1000)), user: JSON.stringify({ id: userId, first_name: 'U' }) };
      const check = Object.keys(fields).sort().map((k) => `${k}=${fields[k]}`).join('\n');
      const secret = createHmac('sha256', 'WebAppData').update(token).digest();
      return `tma ${new URLSearchParams({ ...fields, hash: createHmac('sha256', secret).update(check).digest('hex') }).toString()}`;
    };
    const enqueue = (authorization: string | undefined, chatId: number) => app.fetch(new Request(url('/api/jobs/report'), {
      method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ chatId, messageId: 1 }),
    }));
    const own = await enqueue(tma(5), 5);
    expect(own.status).toBe(201);
    const { id } = (await own.json()) as { id: string };
    expect((await enqueue(tma(5), 6)).status).toBe(403);              // another chat
    expect((await enqueue(tma(5, '999:OTHER-BOT'), 5)).status).toBe(403); // signed for another bot
    expect((await enqueue(undefined, 5)).status).toBe(403);
    expect((await enqueue(`Bearer ${DEMO_SECRETS.ADMIN_TOKEN}`, 6)).status).toBe(201);
    const read = (authorization: string) => app.fetch(new Request(url(`/api/jobs/${encodeURIComponent(id)}`), { headers: { authorization } }));
    expect((await read(tma(5))).status).toBe(200);
    expect((await read(tma(6))).status).toBe(403);
    await app.close();
  });
});

describe('webhook-app: /api/cron/cleanup on PGlite', () => {
  it('deletes expired sessions and past rate-limit windows, keeps the app\'s records, answers the counts', async () => {
    const app = await createApp(readConfig({ ...DEMO_SECRETS, BACKEND: 'pglite', LOG_LEVEL: 'silent', TELEGRAM_API_ROOT: 'http://127.0.0.1:1' }));
    try {
      const cleanup = async () => {
        const r = await app.fetch(new Request('http://app.test/api/cron/cleanup', { method: 'POST', headers: { authorization: `Bearer ${DEMO_SECRETS.CRON_SECRET}` } }));
        expect(r.status).toBe(200);
        return r.json();
      };
      await app.backend.sessions.set('cleanup:1', { step: 1 }, { ttlMs: 1 });
      await app.backend.sessions.set('cleanup:2', { step: 2 }, { ttlMs: 1 });
      await app.backend.sessions.set('cleanup:live', { step: 3 }, { ttlMs: 600_000 });
      await app.backend.rateLimits.hit('cleanup:user', { limit: 5, windowMs: 1 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await cleanup()).toMatchObject({ sessions: 2, jobs: 0, rateLimits: 1, complete: true, errors: [] });
      expect(await app.backend.sessions.get('cleanup:live')).not.toBeUndefined();
      // The app's records share the sessions table on Postgres and PGlite; they have no expiry and stay.
      expect((await app.data.list('buttons')).length).toBe(4);
      expect(await cleanup()).toMatchObject({ sessions: 0, jobs: 0, rateLimits: 0, complete: true });
    } finally {
      await app.close();
    }
  }, 60_000);
});

describe('webhook-app: the log level comes from the config', () => {
  /** Run the fixture with `LOG_LEVEL: level` in the config and `envLevel` in its environment; its pino lines. */
  const run = (level: string, envLevel: string): Array<Record<string, unknown>> => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/fixtures/webhook-app-log-level.ts', level], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, LOG_LEVEL: envLevel },
    });
    expect({ status: r.status, stdout: r.stdout.trim() }, r.stderr).toEqual({ status: 0, stdout: '{"hook":200,"cleanup":200}' });
    return r.stderr.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
  };

  it('silent in the config: no pino line on stderr, whatever LOG_LEVEL the process has', () => {
    expect(run('silent', 'info')).toEqual([]);
  });

  it('info in the config: the update line and the cleanup line, whatever LOG_LEVEL the process has', () => {
    const lines = run('info', 'silent');
    expect(lines.find((l) => l.msg === 'botwire update')).toMatchObject({ level: 'info', name: 'webhook-app', updateId: 9, command: '/help', outcome: 'ok' });
    expect(lines.find((l) => l.msg === 'cleanup')).toMatchObject({ level: 'info', complete: true });
  });

  it('readConfig: LOG_LEVEL defaults to info and must be one of pino\'s levels', () => {
    expect(readConfig({ ...DEMO_SECRETS }).logLevel).toBe('info');
    expect(readConfig({ ...DEMO_SECRETS, LOG_LEVEL: 'debug' }).logLevel).toBe('debug');
    expect(() => readConfig({ ...DEMO_SECRETS, LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL must be one of/);
  });
});

describe('webhook-app: the Vercel functions and crons', () => {
  it('api/ files answer through the shared app, and vercel.json crons point at existing functions', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { ...DEMO_SECRETS, BACKEND: 'memory', LOG_LEVEL: 'silent', TELEGRAM_API_ROOT: 'http://127.0.0.1:1' });
    try {
      const tick = await import('../examples/webhook-app/api/cron/tick.js');
      const cleanup = await import('../examples/webhook-app/api/cron/cleanup.js');
      const admin = await import('../examples/webhook-app/api/admin.js');
      const health = await import('../examples/webhook-app/api/health.js');
      const bearer = (s: string) => ({ headers: { authorization: `Bearer ${s}` } });
      expect((await tick.GET(new Request('https://x.vercel.app/api/cron/tick'))).status).toBe(401);
      expect((await tick.GET(new Request('https://x.vercel.app/api/cron/tick', bearer(DEMO_SECRETS.CRON_SECRET)))).status).toBe(200);
      expect((await cleanup.GET(new Request('https://x.vercel.app/api/cron/cleanup', bearer(DEMO_SECRETS.CRON_SECRET)))).status).toBe(200);
      // A rewrite keeps the original path: /api/admin/buttons reaches api/admin.ts.
      const buttons = await admin.GET(new Request('https://x.vercel.app/api/admin/buttons', bearer(DEMO_SECRETS.ADMIN_TOKEN)));
      expect(((await buttons.json()) as unknown[]).length).toBe(4);
      const checked = await health.GET(new Request('https://x.vercel.app/api/health'));
      expect(checked.status).toBe(200);
      expect(Object.keys(((await checked.json()) as { checks: object }).checks).sort()).toEqual(['bus', 'jobs', 'sessions']);
      // The ops dashboard: a rewrite keeps /admin/ops/… as the path.
      const ops = await import('../examples/webhook-app/api/ops.js');
      expect((await ops.GET(new Request('https://x.vercel.app/admin/ops/'))).status).toBe(401);
      expect((await ops.GET(new Request('https://x.vercel.app/admin/ops/', bearer(DEMO_SECRETS.ADMIN_TOKEN)))).status).toBe(200);
      const vercel = JSON.parse(readFileSync(new URL('../examples/webhook-app/vercel.json', import.meta.url), 'utf8')) as {
        crons: Array<{ path: string; schedule: string }>; rewrites: Array<{ source: string; destination: string }>;
      };
      expect(vercel.crons).toEqual([{ path: '/api/cron/tick', schedule: '*/5 * * * *' }, { path: '/api/cron/cleanup', schedule: '0 */6 * * *' }]);
      for (const c of vercel.crons) expect(existsSync(new URL(`../examples/webhook-app${c.path}.ts`, import.meta.url))).toBe(true);
      expect(vercel.rewrites).toContainEqual({ source: '/admin/ops/:path*', destination: '/api/ops' });
      for (const r of vercel.rewrites) expect(existsSync(new URL(`../examples/webhook-app${r.destination}.ts`, import.meta.url))).toBe(true);
      await (await (await import('../examples/webhook-app/src/app.js')).getApp()).close();
    } finally {
      process.env = saved;
    }
  });
});

describe('webhook-app: the events catalogue', () => {
  /** The seed's catalogue (seeds/004): every topic must be published by the app's own paths. */
  const CATALOGUE = [
    'scenarios.created', 'scenarios.updated', 'scenarios.deleted',
    'buttons.created', 'buttons.updated', 'buttons.deleted',
    'tasks.created', 'tasks.updated', 'tasks.deleted',
    'settings.updated',
    'users.created', 'users.updated', 'users.balance_updated',
    'payouts.created', 'payouts.updated', 'payouts.approved', 'payouts.declined',
  ] as const satisfies ReadonlyArray<keyof AppTopics>;

  it('every create, update and delete — admin API, bot paths, payouts — publishes its catalogue topic', async () => {
    const app = await createApp(readConfig({ ...DEMO_SECRETS, BACKEND: 'memory', LOG_LEVEL: 'silent', TELEGRAM_API_ROOT: 'http://127.0.0.1:1' }));
    try {
      const seen: string[] = [];
      app.backend.bus.subscribe('**', (e) => { if (!e.topic.startsWith('jobs.')) seen.push(e.topic); });
      const auth = { authorization: `Bearer ${DEMO_SECRETS.ADMIN_TOKEN}`, 'content-type': 'application/json' };
      /** Call the admin API; return the topics that call published. */
      const admin = async (method: string, path: string, body?: unknown, status = 200): Promise<string[]> => {
        const from = seen.length;
        const r = await app.fetch(new Request(`http://app.test/api/admin/${path}`, { method, headers: auth, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }));
        expect(r.status, `${method} ${path}: ${r.status === 204 ? '' : await r.clone().text()}`).toBe(status);
        return seen.slice(from);
      };
      /** Run a data path the bot uses; return the topics it published. */
      const bot = async (run: () => Promise<unknown>): Promise<string[]> => {
        const from = seen.length;
        await run();
        return seen.slice(from);
      };

      const rows = { buttons: { label: '❓ Help', action: 'help' }, tasks: { title: 'Share a post', reward: 3 }, scenarios: { title: 'Intro', text: 'Hello' } };
      for (const [collection, row] of Object.entries(rows)) {
        const created = await app.fetch(new Request(`http://app.test/api/admin/${collection}`, { method: 'POST', headers: auth, body: JSON.stringify(row) }));
        expect(created.status).toBe(201);
        expect(seen.at(-1)).toBe(`${collection}.created`);
        const { id } = (await created.json()) as { id: number };
        expect(await admin('PATCH', `${collection}/${id}`, collection === 'buttons' ? { label: '❔ Help' } : { title: 'Renamed' })).toEqual([`${collection}.updated`]);
        expect(await admin('DELETE', `${collection}/${id}`, undefined, 204)).toEqual([`${collection}.deleted`]);
      }
      // A refused write publishes nothing.
      expect(await admin('PATCH', 'buttons/999', { label: 'x' }, 400)).toEqual([]);
      expect(await admin('PUT', 'settings', { key: 'welcome', value: 'Hi!' })).toEqual(['settings.updated']);

      // The bot's paths: /start registers the user, a task credits the balance, /payout requests one.
      expect(await bot(() => app.data.ensureUser(42, 'Dana'))).toEqual(['users.created']);
      expect(await bot(() => app.data.ensureUser(42, 'Dana'))).toEqual([]); // seen before: no event
      expect(await bot(() => app.data.completeTask(42, 2))).toEqual(['users.balance_updated']);
      expect(await admin('PATCH', 'users/42', { name: 'Dana S.' })).toEqual(['users.updated']);
      expect(await admin('POST', 'users/42/balance', { delta: 5 })).toEqual(['users.balance_updated']);
      const p1 = await app.data.requestPayout(42, 10);
      const p2 = await app.data.requestPayout(42, 10);
      expect(seen.slice(-2)).toEqual(['payouts.created', 'payouts.created']);
      expect(await admin('POST', `payouts/${p1.id}/approve`, {})).toEqual(['users.balance_updated', 'payouts.updated', 'payouts.approved']);
      expect(await admin('POST', `payouts/${p2.id}/decline`, {})).toEqual(['payouts.updated', 'payouts.declined']);

      expect([...new Set(seen)].filter((t) => (CATALOGUE as readonly string[]).includes(t)).sort()).toEqual([...CATALOGUE].sort());
    } finally {
      await app.close();
    }
  });
});
