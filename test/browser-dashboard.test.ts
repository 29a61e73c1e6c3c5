/**
 * The dashboard page in a real browser (Debian's chromium via playwright-core) on a Redis-backed
 * queue, session store and bus, mounted under /admin/jobs on node:http. Outside CI the test is
 * skipped when chromium or Redis is missing; under CI=true it runs and fails.
 *
 * Screenshots go to .tmp/dashboard-img/, or to docs/img/ with UPDATE_SCREENSHOTS=1.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseHolder } from 'botwire';
import { dashboardHandler } from 'botwire/dashboard';
import { toNodeHandler } from 'botwire/http/node';
import { Worker, type JobQueue } from 'botwire/jobs';
import { redisJobQueue, redisSessionStore, redisSyncBus } from 'botwire/redis';
import { deleteKeys } from './support/redis-keys.js';
import { needs, REDIS_URL, uniqueName } from './support/services.js';
import { startSyncPeer } from './support/sync-peer.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const available = existsSync(CHROMIUM);
if (!available && !IN_CI) console.warn(`[botwire tests] ${CHROMIUM} missing: skipping the dashboard browser test. apt-get install -y chromium to run it.`);
const SHOTS = fileURLToPath(new URL(process.env.UPDATE_SCREENSHOTS === '1' ? '../docs/img/' : '../.tmp/dashboard-img/', import.meta.url));
const COOKIE = 'dash-admin-cookie-0123456789';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.runIf((available || IN_CI) && (await needs('redis')))('browser: the dashboard on Redis', () => {
  const space = uniqueName('dash');
  const bus = redisSyncBus({ url: REDIS_URL, channelPrefix: `${space}:sync:`, onError: () => {} });
  const store = redisSessionStore({ url: REDIS_URL, prefix: `${space}:s:` });
  let flakyRuns = 0;
  let queue: JobQueue;
  let worker: Worker;
  let server: Server;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let at: string;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    queue = redisJobQueue({
      url: REDIS_URL, prefix: `${space}:j:`, bus, onError: () => {},
      handlers: {
        report: async ({ job, progress, partial }) => {
          const chat = (job.payload as { chat: number }).chat;
          if (job.missing.length === 0) {
            await progress(10, 'reading the chat');
            await sleep(1_500);
            await progress(45, 'summing up');
            await sleep(1_500);
            await partial({ summary: `chat ${chat}: 12 messages` }, { missing: ['prices'], retryInMs: 3_000 });
            return undefined;
          }
          await progress(80, 'fetching prices');
          await sleep(1_500);
          return { ...(job.result as object), prices: { BTC: 1 } };
        },
        flaky: async () => {
          if (flakyRuns++ === 0) throw new Error('upstream answered 503');
          return { ok: true };
        },
      },
    });
    queue.schedule('report', '0 9 * * 1-5', { chat: 0 }, { key: 'weekday-report', tz: 'Europe/Berlin' });
    worker = new Worker(queue, undefined, { concurrency: 2, pollIntervalMs: 100 });
    const handle = dashboardHandler({
      queue, store, bus, basePath: '/admin/jobs', loginUrl: '/login',
      health: { jobs: queue, sessions: store, 'sync bus': bus, 'my check': { health: async () => ({ ok: true, latencyMs: 1 }) } },
      authorize: (request) => (request.headers.get('cookie') ?? '').split(/;\s*/).includes(`admin=${COOKIE}`),
    });
    server = createServer(toNodeHandler(handle));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    at = `${origin}/admin/jobs/`;
    await bus.ready(10_000);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    context = await browser.newContext({ viewport: { width: 1200, height: 860 } });
    await context.addCookies([{ name: 'admin', value: COOKIE, url: origin }]);
    page = await context.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (server) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await worker?.stop();
    await queue?.close();
    await store.close();
    await bus.close();
    const client = new Redis(REDIS_URL);
    await deleteKeys(client, `*${space}*`);
    client.disconnect();
  });

  const stateOf = (p: Page): Promise<string | null> => p.locator('.job-title .state').getAttribute('data-state').catch(() => null);

  it('shows a job’s progress moving, then partial, then completed, without a reload', async () => {
    await page.goto(`${at}#/job/report-1`);
    await page.evaluate(() => { (window as unknown as { marker: number }).marker = 42; });
    await queue.add('report', { chat: 7 }, { id: 'report-1' });
    await page.waitForFunction(() => {
      const v = (document.getElementById('job-progress') as HTMLProgressElement | null)?.value ?? 0;
      return v > 0 && v < 45;
    }, undefined, { timeout: 15_000 });
    const first = await page.locator('#job-progress').evaluate((el) => (el as HTMLProgressElement).value);
    await page.screenshot({ path: `${SHOTS}dashboard-job.png` });
    await page.waitForFunction((v) => ((document.getElementById('job-progress') as HTMLProgressElement | null)?.value ?? 0) > v, first, { timeout: 15_000 });
    await page.waitForFunction(() => document.querySelector('.job-title .state')?.getAttribute('data-state') === 'partial', undefined, { timeout: 15_000 });
    await expect.poll(() => page.locator('#job-missing').textContent()).toContain('prices');
    await page.screenshot({ path: `${SHOTS}dashboard-job-partial.png` });
    await page.waitForFunction(() => document.querySelector('.job-title .state')?.getAttribute('data-state') === 'completed', undefined, { timeout: 20_000 });
    expect(await page.locator('#job-result').textContent()).toContain('"BTC": 1');
    expect(await page.locator('#job-progress').evaluate((el) => (el as HTMLProgressElement).value)).toBe(100);
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  }, 60_000);

  it('retries a failed job from its detail view until it completes', async () => {
    await queue.add('flaky', { url: 'https://api.example/rates' }, { id: 'flaky-1', attempts: 1 });
    await page.goto(`${at}#/job/flaky-1`);
    await page.waitForFunction(() => document.querySelector('.job-title .state')?.getAttribute('data-state') === 'failed', undefined, { timeout: 15_000 });
    expect(await page.locator('.error').first().textContent()).toContain('upstream answered 503');
    await page.click('summary');
    expect(await page.locator('#job-stack').textContent()).toMatch(/^Error: upstream answered 503\n\s+at /);
    await page.screenshot({ path: `${SHOTS}dashboard-job-failed.png` });
    const retry = page.locator('button[data-action="retry"]');
    await retry.focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('.job-title .state')?.getAttribute('data-state') === 'completed', undefined, { timeout: 15_000 });
    expect(await queue.get('flaky-1')).toMatchObject({ state: 'completed', result: { ok: true }, attempts: 1 });
    // The failed attempt's error stays listed after the success.
    expect(await page.locator('#job-errors > li').count()).toBe(1);
    expect(await page.locator('#job-errors').textContent()).toContain('Attempt 1');
  }, 60_000);

  it('removes a finished job from its detail view after confirming', async () => {
    await queue.add('flaky', {}, { id: 'flaky-rm' });
    await page.goto(`${at}#/job/flaky-rm`);
    await page.waitForFunction(() => document.querySelector('.job-title .state')?.getAttribute('data-state') === 'completed', undefined, { timeout: 15_000 });
    await page.click('button[data-action="remove"]');
    await page.locator('#job-remove-confirm').waitFor({ state: 'visible' });
    expect(await queue.get('flaky-rm')).toBeDefined();
    await page.click('#job-remove-confirm');
    await page.locator('#job-removed').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await queue.get('flaky-rm')).toBeUndefined();
  }, 60_000);

  it('lists jobs with counts and schedules, filters them, and reads at 375 px in dark mode', async () => {
    await queue.add('report', { chat: 8 }, { id: 'report-later', delayMs: 3_600_000 });
    await page.goto(`${at}#/jobs`);
    await page.waitForSelector('tr[data-id="report-later"]', { timeout: 10_000 });
    expect(await page.locator('table.counts tr[data-name="report"]').textContent()).toMatch(/\d/);
    expect(await page.locator('section', { hasText: 'Schedules' }).textContent()).toContain('0 9 * * 1-5');
    await page.screenshot({ path: `${SHOTS}dashboard-jobs.png`, fullPage: true });
    await page.fill('input[name="q"]', 'flaky');
    await page.waitForFunction(() => !document.querySelector('tr[data-id="report-later"]') && !!document.querySelector('tr[data-id="flaky-1"]'), undefined, { timeout: 10_000 });
    await page.fill('input[name="q"]', '');
    await page.selectOption('select[name="state"]', 'delayed');
    await page.waitForFunction(() => !document.querySelector('tr[data-id="flaky-1"]') && !!document.querySelector('tr[data-id="report-later"]'), undefined, { timeout: 10_000 });
    await page.selectOption('select[name="state"]', '');

    const phone = await context.newPage();
    await phone.setViewportSize({ width: 375, height: 740 });
    await phone.emulateMedia({ colorScheme: 'dark' });
    await phone.goto(`${at}#/jobs`);
    await phone.waitForSelector('tr[data-id="report-later"]', { timeout: 10_000 });
    // Readable at 375 px: the page itself does not scroll sideways (wide tables scroll in their box).
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    expect(await phone.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(17, 20, 24)');
    await phone.screenshot({ path: `${SHOTS}dashboard-mobile-dark.png` });
    await phone.close();
  }, 60_000);

  it('looks a session up with its lease holder and age, and deletes it after confirming', async () => {
    await store.set('chat:42', { step: 'checkout', cart: [{ sku: 'tea', qty: 2 }] }, { ttlMs: 3_600_000 });
    // A handler busy with this chat (a slow payment call) holds the lease while we look.
    const busy = await store.acquire('chat:42', { leaseMs: 30_000 });
    await sleep(1_200);
    await page.goto(`${at}#/sessions`);
    await page.fill('#session-key', 'chat:42');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#session-data', { timeout: 10_000 });
    expect(await page.locator('#session-data').textContent()).toContain('"step": "checkout"');
    expect(await page.locator('#session-version').textContent()).toBe('1');
    const lease = page.locator('#session-lease');
    expect(await lease.getAttribute('data-holder')).toBe(leaseHolder(busy.token));
    const shown = (await lease.textContent())!.match(new RegExp(`^held (\\d+\\.\\d) s by ${leaseHolder(busy.token)}, lapses in (\\d+\\.\\d) s \\(`));
    expect(shown, (await lease.textContent())!).not.toBeNull();
    expect(Number(shown![1])).toBeGreaterThanOrEqual(1.2);
    expect(Number(shown![1]) + Number(shown![2])).toBeCloseTo(30, 0);
    expect(await page.content()).not.toContain(busy.token);
    await page.screenshot({ path: `${SHOTS}dashboard-sessions.png` });
    await busy.release();
    await page.locator('#session-key').press('Enter'); // look again: free now
    await page.waitForFunction(() => document.getElementById('session-lease')?.textContent === 'free', undefined, { timeout: 10_000 });
    await page.click('#session-delete');
    expect(await store.get('chat:42')).toBeDefined();
    await page.click('#session-confirm');
    await page.waitForSelector('#session-deleted', { timeout: 10_000 });
    expect(await store.get('chat:42')).toBeUndefined();
  }, 60_000);

  it('shows an event published from another process in the live feed, and pauses', async () => {
    await page.goto(`${at}#/events`);
    await page.waitForFunction(() => document.getElementById('live')?.dataset.mode === 'live', undefined, { timeout: 10_000 });
    await page.fill('#events-pattern', 'xp.*');
    const peer = await startSyncPeer('redis', REDIS_URL, `${space}:sync:`);
    try {
      await bus.publish('other.topic', 1);
      peer.send({ cmd: 'ping', id: 1 });
      await page.waitForSelector('#events li[data-topic="xp.ping"]', { timeout: 15_000 });
      expect(await page.locator('#events li[data-topic="xp.ping"]').first().textContent()).toContain('{"id":1}');
      expect(await page.locator('#events li[data-topic="other.topic"]').count()).toBe(0);
      await page.click('#events-pause');
      peer.send({ cmd: 'ping', id: 2 });
      await expect.poll(() => page.locator('.filters [role="status"]').textContent(), { timeout: 10_000 }).toContain('1 new while paused');
      expect(await page.locator('#events li[data-topic="xp.ping"]').count()).toBe(1);
      await page.click('#events-pause');
      expect(await page.locator('#events li[data-topic="xp.ping"]').count()).toBe(2);
      await page.screenshot({ path: `${SHOTS}dashboard-events.png` });
    } finally {
      await peer.stop();
    }
  }, 60_000);

  it('falls back to polling where the platform cuts the event stream, and still shows events', async () => {
    // A proxy in front of the same handler that refuses the stream (as platforms that buffer or cut
    // long responses do): the page gives up on SSE and polls with ETag/304.
    const direct = server.listeners('request')[0] as (req: unknown, res: unknown) => void;
    const cut = createServer((req, res) => {
      if (req.url?.startsWith('/admin/jobs/api/live')) res.writeHead(503, { 'content-type': 'text/plain' }).end('streams are cut here');
      else direct(req, res);
    });
    await new Promise<void>((r) => cut.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(cut.address() as AddressInfo).port}`;
    await context.addCookies([{ name: 'admin', value: COOKIE, url: origin }]);
    const polling = await context.newPage();
    const statuses: number[] = [];
    polling.on('response', (r) => { if (r.url().includes('/api/events')) statuses.push(r.status()); });
    try {
      await polling.goto(`${origin}/admin/jobs/#/events`);
      await polling.waitForFunction(() => document.getElementById('live')?.dataset.mode === 'polling', undefined, { timeout: 20_000 });
      await bus.publish('orders.polled', { id: 3 });
      await polling.waitForSelector('#events li[data-topic="orders.polled"]', { timeout: 15_000 });
      await expect.poll(() => statuses.includes(304), { timeout: 10_000 }).toBe(true);
    } finally {
      await polling.close();
      cut.closeAllConnections();
      await new Promise((r) => cut.close(r));
    }
  }, 60_000);

  it('shows health checks with latency', async () => {
    await page.goto(`${at}#/health`);
    await page.waitForSelector('tr[data-check="jobs"]', { timeout: 10_000 });
    for (const label of ['jobs', 'sessions', 'sync bus']) {
      const row = await page.locator(`tr[data-check="${label}"]`).textContent();
      expect(row, label).toContain('ok');
      expect(row, label).toMatch(/\d+(\.\d+)? ms/);
      expect(row, label).toContain('"backend":"Redis"');
    }
    expect(await page.locator('tr[data-check="my check"]').textContent()).toContain('1 ms');
    await page.screenshot({ path: `${SHOTS}dashboard-health.png` });
  });

  it('answers 401 without authorization, and the page shows the sign-in hint', async () => {
    const stranger = await browser.newPage();
    const res = await stranger.goto(at);
    expect(res?.status()).toBe(401);
    await stranger.waitForSelector('#login:not([hidden])', { timeout: 10_000 });
    expect(await stranger.locator('#login').textContent()).toContain('Sign in required (401)');
    expect(await stranger.locator('#login-link').getAttribute('href')).toBe('/login');
    expect(await stranger.locator('#main').textContent()).toBe('');
    await stranger.screenshot({ path: `${SHOTS}dashboard-login.png` });
    await stranger.close();
  });
});
