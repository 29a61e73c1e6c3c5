/**
 * Register the webhook with Telegram (or any Bot API root), with the secret Telegram will send back
 * as `X-Telegram-Bot-Api-Secret-Token`:
 *
 *   BOT_TOKEN=… WEBHOOK_SECRET=… npx tsx scripts/set-webhook.ts https://your-app.vercel.app/api/bot
 */
import { pathToFileURL } from 'node:url';

/** `setWebhook` on the Bot API; throws with Telegram's description when it refuses. */
export async function setWebhook(o: { apiRoot: string; token: string; url: string; secret: string }): Promise<void> {
  const r = await fetch(`${o.apiRoot}/bot${o.token}/setWebhook`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: o.url, secret_token: o.secret, allowed_updates: ['message', 'callback_query'], drop_pending_updates: true }),
  });
  const body = await r.json() as { ok: boolean; description?: string };
  if (!body.ok) throw new Error(`setWebhook refused: ${body.description ?? r.status}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const url = process.argv[2];
  if (!url || !process.env.BOT_TOKEN || !process.env.WEBHOOK_SECRET) {
    console.error('usage: BOT_TOKEN=… WEBHOOK_SECRET=… npx tsx scripts/set-webhook.ts https://host/api/bot');
    process.exit(2);
  }
  await setWebhook({ apiRoot: process.env.TELEGRAM_API_ROOT ?? 'https://api.telegram.org', token: process.env.BOT_TOKEN, url, secret: process.env.WEBHOOK_SECRET });
  console.log(`webhook set to ${url}`);
}
