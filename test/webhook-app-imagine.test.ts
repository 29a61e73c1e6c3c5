/**
 * webhook-app flow 6: /imagine jobs run at most 3 at once across workers and one at a time per chat,
 * on memory, Redis and Postgres — each job backend lists `limits` and `groups` in its features, and
 * the app turns them on wherever they are listed. `imagine()` also knows the fallback the README
 * describes for a backend without them (uncapped, every prompt still answered), but each test here
 * requires the capped, fair run.
 */
import TelegramServer from 'telegram-test-api';
import pg from 'pg';
import { Redis } from 'ioredis';
import { Worker } from 'botwire/jobs';
import { migrate } from 'botwire/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../examples/webhook-app/src/app.js';
import { readConfig } from '../examples/webhook-app/src/config.js';
import { DEMO_SECRETS, freePort } from '../examples/webhook-app/src/demo/harness.js';
import { DATABASE_URL, needs, REDIS_URL, uniqueName } from './support/services.js';

let telegram: TelegramServer;

beforeAll(async () => {
  telegram = new TelegramServer({ port: await freePort(), host: '127.0.0.1', storeTimeout: 3600 });
  await telegram.start();
});

afterAll(async () => {
  await telegram?.stop();
});

/**
 * Eight prompts over two workers: chat 1 asks four times, chats 2–5 once each. Resolves with
 * whether the backend had `limits` and `groups` (and so the capped, fair run was checked).
 */
async function imagine(env: Record<string, string>): Promise<boolean> {
  const app = await createApp(readConfig({
    ...DEMO_SECRETS, LOG_LEVEL: 'silent', TELEGRAM_API_ROOT: telegram.config.apiURL, IMAGINE_MS: '400-400', ...env,
  }));
  try {
    const fleet = app.backend.jobFeatures.includes('limits') && app.backend.jobFeatures.includes('groups');
    const chats = [1, 1, 1, 1, 2, 3, 4, 5];
    const prompts = chats.map((chatId, i) => `${env.BACKEND} p${i} for ${chatId}`);
    const jobs = [];
    for (const [i, chatId] of chats.entries()) {
      // As the bot adds them: grouped per chat where the backend has groups.
      jobs.push(await app.queue.add('imagine', { chatId, prompt: prompts[i] }, { timeoutMs: 10_000, ...(fleet ? { group: `chat:${chatId}` } : {}) }));
    }
    const workers = [0, 1].map(() => new Worker(app.queue, app.queue.handlers!, { concurrency: 8, pollIntervalMs: 50 }));
    try {
      for (let done = false; !done; await new Promise((resolve) => setTimeout(resolve, 50))) {
        const counts = await Promise.all((['waiting', 'delayed', 'active'] as const).map(async (state) => (await app.queue.list({ state, name: 'imagine', limit: 1 })).jobs.length));
        done = counts.every((n) => n === 0);
      }
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }

    const finished = await Promise.all(jobs.map(async (j) => (await app.queue.get(j.id))!));
    expect(finished.map((j) => j.state)).toEqual(chats.map(() => 'completed'));
    // Most jobs running at once, from the stored start and finish times (a slot freed at a finish
    // may be taken by a start at the same millisecond).
    const edges = finished.flatMap((j) => [[j.startedAt!.getTime(), 1], [j.finishedAt!.getTime(), -1]] as const)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let running = 0;
    let maxActive = 0;
    for (const [, delta] of edges) maxActive = Math.max(maxActive, running += delta);
    const answered = telegram.storage.botMessages.map((m) => String(m.message.text)).filter((t) => t.startsWith('🖼') && t.includes(`${env.BACKEND} p`));
    expect(answered.length).toBe(chats.length);
    if (!fleet) {
      // No cap without `limits`: two workers run more than 3 at once.
      expect(maxActive).toBeGreaterThan(3);
      return false;
    }
    expect(maxActive).toBe(3);
    // Chat 1's jobs never overlapped.
    const chat1 = finished.filter((_, i) => chats[i] === 1).sort((a, b) => a.startedAt!.getTime() - b.startedAt!.getTime());
    for (let i = 1; i < chat1.length; i++) expect(chat1[i]!.startedAt!.getTime()).toBeGreaterThanOrEqual(chat1[i - 1]!.finishedAt!.getTime());
    // The other chats did not wait for chat 1's backlog: each started before chat 1's last job.
    const lastOfChat1 = chat1.at(-1)!.startedAt!.getTime();
    for (const j of finished.filter((_, i) => chats[i] !== 1)) expect(j.startedAt!.getTime()).toBeLessThan(lastOfChat1);
    return true;
  } finally {
    await app.close();
  }
}

it('imagine on memory: at most 3 at once over two workers, one at a time per chat, every prompt answered', async () => {
  expect(await imagine({ BACKEND: 'memory' })).toBe(true);
});

describe('imagine on Redis', async () => {
  const run = await needs('redis');
  const prefix = `${uniqueName('webhook_imagine')}:`;
  afterAll(async () => {
    if (!run) return;
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });
  it.runIf(run)('the Redis job backend lists limits and groups: 3 at once, one per chat', async () => {
    expect(await imagine({ BACKEND: 'redis', REDIS_URL, REDIS_PREFIX: prefix })).toBe(true);
  }, 60_000);
});

describe('imagine on Postgres', async () => {
  const run = await needs('postgres');
  const schema = uniqueName('webhook_imagine');
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pool.end();
  });
  it.runIf(run)('the Postgres job backend lists limits and groups: 3 at once, one per chat', async () => {
    await migrate(pool, { schema });
    expect(await imagine({ BACKEND: 'postgres', DATABASE_URL, BOTWIRE_SCHEMA: schema })).toBe(true);
  }, 60_000);
});
