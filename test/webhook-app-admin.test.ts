/**
 * The webhook-app admin panel in a real browser (Debian chromium driven by playwright-core): an
 * admin renames a button and the bot's next /start keyboard has the new label; a user completes a
 * task in the bot and the open page shows the new balance without a reload (botwire/ws → botwire/react).
 * Then the panel's "ops dashboard" link opens botwire/dashboard, signed in by the cookie the panel
 * set, and its live event feed shows the bot's next balance change.
 * Takes the screenshot the example's README shows (`UPDATE_SCREENSHOT=1` writes it to docs/img/).
 */
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Harness } from '../examples/webhook-app/src/demo/harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The README's screenshot is rewritten only on request (UPDATE_SCREENSHOT=1); otherwise it goes to test-results/.
const SCREENSHOT = fileURLToPath(new URL(process.env.UPDATE_SCREENSHOT === '1' ? '../docs/img/webhook-app-admin.png' : '../test-results/webhook-app-admin.png', import.meta.url));

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  await build({ configFile: fileURLToPath(new URL('../examples/webhook-app/admin/vite.config.ts', import.meta.url)) });
  h = await Harness.start({ env: { BACKEND: 'memory' } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

it('an admin edits a button in the panel; a task completed in the bot shows up live', async () => {
  const alice = h.user(1001, 'Alice');
  await alice.say('/start');
  expect(h.text()).toContain('[📋 Tasks]');

  const page = await browser.newPage({ viewport: { width: 1100, height: 520 } });
  await page.goto(`${h.apps[0]!.url}/admin/`);
  await page.fill('input[name=token]', 'wrong');
  await page.click('text=Log in');
  await page.waitForSelector('text=That token was refused.');
  await page.fill('input[name=token]', h.env.ADMIN_TOKEN!);
  await page.click('text=Log in');
  await page.waitForSelector('[data-sync="open"]');
  await page.waitForSelector('[data-user="1001"]');
  await page.evaluate(() => { (window as unknown as { marker: number }).marker = 1; });

  // Rename button 1 in the page; the bot's next /start shows it.
  await page.fill('[aria-label="label of button 1"]', '📋 Missions');
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/admin/buttons/1') && r.status() === 200),
    page.click('[data-button="1"] button[type=submit]'),
  ]);
  await alice.say('/start');
  expect(h.text().slice(h.text().lastIndexOf('Welcome!'))).toContain('[📋 Missions]');

  // A task completed in the bot: the balance changes in the open page, no reload.
  expect(await page.textContent('[data-balance="1001"]')).toBe('0');
  await alice.say('/tasks');
  await alice.press('task:2');
  await page.waitForFunction(() => document.querySelector('[data-balance="1001"]')?.textContent === '25', undefined, { timeout: 10_000 });
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);

  await page.screenshot({ path: SCREENSHOT });

  // The ops dashboard: a page navigation (no Bearer header), admitted by the panel's HttpOnly cookie.
  expect(await page.evaluate(() => document.cookie)).toBe(''); // HttpOnly: not readable by scripts
  await Promise.all([page.waitForURL('**/admin/ops/'), page.click('text=ops dashboard')]);
  await page.goto(`${h.apps[0]!.url}/admin/ops/#/events`);
  await page.waitForFunction(() => document.getElementById('live')?.dataset.mode === 'live', undefined, { timeout: 10_000 });
  await alice.press('task:1');
  await page.waitForSelector('#events li[data-topic="users.balance_updated"]', { timeout: 10_000 });
  expect(await page.locator('#events li[data-topic="users.balance_updated"]').first().textContent()).toContain('"balance":35');
  // Another browser without the cookie is refused.
  const stranger = await browser.newPage();
  expect((await stranger.goto(`${h.apps[0]!.url}/admin/ops/`))!.status()).toBe(401);
  await stranger.close();
}, 120_000);
