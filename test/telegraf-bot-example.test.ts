/**
 * examples/telegraf-bot passes the same edit-flow script as the grammY app: through telegram-test-api
 * and the relay, with the bot process killed and started again between `name:` and `buyin:`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, it } from 'vitest';
import { migrate } from 'botwire/postgres';
import { assertInOrder, EDIT_FLOW_EXPECTED, editFlow } from '../examples/webhook-app/src/demo/conversation.js';
import { Harness } from '../examples/webhook-app/src/demo/harness.js';
import { DATABASE_URL, needs, uniqueName } from './support/services.js';

const server = fileURLToPath(new URL('../examples/telegraf-bot/server.ts', import.meta.url));

async function run(env: Record<string, string>): Promise<void> {
  const h = await Harness.start({ env, server });
  try {
    await editFlow(h, () => h.restart());
    assertInOrder(h, EDIT_FLOW_EXPECTED);
  } finally {
    await h.close();
  }
}

describe('the Telegraf twin: the edit flow with a cold start', () => {
  it('on embedded PGlite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'telegraf-bot-'));
    try {
      await run({ BACKEND: 'pglite', PGLITE_DIR: dir });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  describe('on Postgres', async () => {
    const ok = await needs('postgres');
    const schema = uniqueName('telegraf_bot');
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    afterAll(async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await pool.end();
    });
    it.runIf(ok)('with the schema migrated beforehand', async () => {
      await migrate(pool, { schema });
      await run({ BACKEND: 'postgres', DATABASE_URL, BOTWIRE_SCHEMA: schema });
    }, 180_000);
  });
});
