/**
 * The offline demo (`npm start` at the repository root): the whole app on this machine, with no
 * Telegram token, no servers and no network.
 *
 * - `telegram-test-api` plays Telegram's Bot API; the bot talks to it through `apiRoot`.
 * - The app runs as a child process (`server.ts`) on embedded PGlite in a temporary directory.
 * - The webhook is registered, and a scripted conversation is played through it. Midway the app
 *   process is stopped (SIGTERM: botwire's `shutdown()`) and a new one started: the conversation
 *   goes on from the database. The admin (user 1) is told in the chat when the process stops
 *   (`NOTIFY_ADMINS=1`; harmless here, the "Telegram" is local).
 *
 *   npx tsx examples/webhook-app/demo.ts          # print the transcript, exit 0
 *   npx tsx examples/webhook-app/demo.ts --keep   # then stay up: admin API, ticks every 5 s
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { playConversation } from './src/demo/conversation.js';
import { Harness } from './src/demo/harness.js';

const keep = process.argv.includes('--keep');
if (keep) {
  // The admin panel is a Vite build; only --keep serves it.
  const { build } = await import('vite');
  await build({ configFile: fileURLToPath(new URL('./admin/vite.config.ts', import.meta.url)) });
}
const dir = process.env.PGLITE_DIR ?? mkdtempSync(join(tmpdir(), 'botwire-webhook-app-'));
const reportRetryMs = 1_000;

console.log('botwire webhook-app — offline demo (telegram-test-api as Telegram, embedded PGlite as the database)\n');
const h = await Harness.start({
  env: {
    BACKEND: 'pglite', PGLITE_DIR: dir, REPORT_RETRY_MS: String(reportRetryMs), IMAGINE_MS: '300-600', NOTIFY_ADMINS: '1',
    ...(keep ? { LOCAL_CRON_MS: '5000' } : {}),
  },
});
let failed = false;
try {
  await playConversation(h, { reportRetryMs });
} catch (err) {
  failed = true;
  console.error(err);
  console.error(`\napp logs:\n${h.apps.map((a) => a.logs()).join('\n')}`);
}
console.log(h.transcript());
console.log(`\n${h.lines.filter((l) => l.kind === 'user').length} updates through the webhook, ${h.lines.filter((l) => l.kind !== 'user' && l.kind !== 'system').length} bot messages and edits, ${(h.lines.at(-1)!.at / 1000).toFixed(1)} s.`);

if (keep && !failed) {
  const app = h.apps[0]!;
  console.log(`\nStaying up (Ctrl-C to stop). The app: ${app.url}
  admin panel: ${app.url}/admin/  (token: ${h.env.ADMIN_TOKEN})
  admin API:   curl -H 'authorization: Bearer ${h.env.ADMIN_TOKEN}' ${app.url}/api/admin/buttons
  ops:         ${app.url}/admin/ops/  (botwire/dashboard; log in to the admin panel first, it sets the cookie)
  health:      ${app.url}/health
  cleanup:     curl -H 'authorization: Bearer ${h.env.CRON_SECRET}' ${app.url}/api/cron/cleanup
  Telegram:    ${h.telegram.config.apiURL} (telegram-test-api); database: ${dir}`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
}
await h.close();
if (!process.env.PGLITE_DIR) rmSync(dir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
