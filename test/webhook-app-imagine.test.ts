/**
 * webhook-app flow 6: /imagine jobs run at most 3 at once across workers and one at a time per chat.
 * On the memory backend, whose job backend has `limits` and `groups` today; the app turns them on
 * for any backend that lists them in its features.
 */
import TelegramServer from 'telegram-test-api';
import { Worker } from 'botwire/jobs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApp, type App } from '../examples/webhook-app/src/app.js';
import { readConfig } from '../examples/webhook-app/src/config.js';
import { DEMO_SECRETS, freePort } from '../examples/webhook-app/src/demo/harness.js';

let telegram: TelegramServer;
let app: App;

beforeAll(async () => {
  telegram = new TelegramServer({ port: await freePort(), host: '127.0.0.1', storeTimeout: 3600 });
  await telegram.start();
  app = await createApp(readConfig({
    ...DEMO_SECRETS, BACKEND: 'memory', LOG_LEVEL: 'silent', TELEGRAM_API_ROOT: telegram.config.apiURL, IMAGINE_MS: '150-150',
  }));
});

afterAll(async () => {
  await app?.close();
  await telegram?.stop();
});

it('imagine: at most 3 at once over two workers, one at a time per chat, every prompt answered', async () => {
  expect(app.backend.jobFeatures).toEqual(expect.arrayContaining(['limits', 'groups']));
  // Chat 1 asks four times, chats 2–5 once each: chat 1 must not hold the others back.
  const chats = [1, 1, 1, 1, 2, 3, 4, 5];
  const jobs = [];
  for (const [i, chatId] of chats.entries()) {
    jobs.push(await app.queue.add('imagine', { chatId, prompt: `p${i}` }, { group: `chat:${chatId}`, timeoutMs: 10_000 }));
  }
  const workers = [0, 1].map(() => new Worker(app.queue, app.queue.handlers!, { concurrency: 8, pollIntervalMs: 50 }));
  let maxActive = 0;
  for (let done = false; !done;) {
    const counts = await app.queue.counts('imagine');
    maxActive = Math.max(maxActive, counts.active);
    done = counts.waiting + counts.active + counts.delayed === 0;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await Promise.all(workers.map((w) => w.stop()));

  expect(maxActive).toBe(3);
  const finished = await Promise.all(jobs.map(async (j) => (await app.queue.get(j.id))!));
  expect(finished.map((j) => j.state)).toEqual(chats.map(() => 'completed'));
  // Chat 1's jobs never overlapped.
  const chat1 = finished.filter((_, i) => chats[i] === 1).sort((a, b) => a.startedAt!.getTime() - b.startedAt!.getTime());
  for (let i = 1; i < chat1.length; i++) expect(chat1[i]!.startedAt!.getTime()).toBeGreaterThanOrEqual(chat1[i - 1]!.finishedAt!.getTime());
  // The other chats did not wait for chat 1's backlog: each started before chat 1's last job.
  const lastOfChat1 = chat1.at(-1)!.startedAt!.getTime();
  for (const j of finished.filter((_, i) => chats[i] !== 1)) expect(j.startedAt!.getTime()).toBeLessThan(lastOfChat1);
  expect(telegram.storage.botMessages.filter((m) => String(m.message.text).startsWith('🖼')).length).toBe(chats.length);
});
