/**
 * The Telegraf twin as a Node webhook server. Sessions on embedded PGlite (`PGLITE_DIR`), Postgres
 * (`DATABASE_URL` + `BOTWIRE_SCHEMA`, migrated beforehand) or memory (`BACKEND=memory`).
 *
 *   BOT_TOKEN=… WEBHOOK_SECRET=… PORT=3000 npx tsx server.ts
 */
import { createServer } from 'node:http';
import type { SessionStore } from 'botwire';
import { createBot } from './bot.js';

async function openStore(): Promise<{ store: SessionStore; close: () => Promise<void> }> {
  if (process.env.BACKEND === 'memory') {
    const { memorySessionStore } = await import('botwire/memory');
    return { store: memorySessionStore(), close: async () => undefined };
  }
  const { migrate, postgresSessionStore } = await import('botwire/postgres');
  const schema = process.env.BOTWIRE_SCHEMA;
  if (process.env.BACKEND === 'postgres' || (!process.env.BACKEND && process.env.DATABASE_URL)) {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
    return { store: postgresSessionStore({ client: pool, schema }), close: () => pool.end() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const db = process.env.PGLITE_DIR ? new PGlite(process.env.PGLITE_DIR) : new PGlite();
  await migrate(db, { schema }); // embedded: this process owns the database
  return { store: postgresSessionStore({ client: db, schema }), close: () => db.close() };
}

const { store, close } = await openStore();
const bot = createBot({ token: process.env.BOT_TOKEN!, apiRoot: process.env.TELEGRAM_API_ROOT ?? 'https://api.telegram.org', store });
const callback = bot.webhookCallback('/api/bot', { secretToken: process.env.WEBHOOK_SECRET! });
const server = createServer((req, res) => { void callback(req, res, () => { res.statusCode = 404; res.end(); }); });
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', resolve));
const address = server.address();
process.on('SIGTERM', () => {
  server.close();
  void close().then(() => process.exit(0));
});
console.log(`telegraf-bot listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
