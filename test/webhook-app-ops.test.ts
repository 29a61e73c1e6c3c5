/**
 * webhook-app in production wiring: the `/sync` gateway admits the admin token and Mini App
 * `initData` (botwire/ws `initDataAuthorizer`), and a server process stopped with SIGTERM runs
 * botwire's `shutdown()` — a job in flight finishes, the admins are told, the exit code is 0 — and
 * logs JSON lines through pino, one per update from `updateLog()`.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import TelegramServer from 'telegram-test-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDataToken } from 'botwire/client';
import type { SyncGateway } from 'botwire/ws';
import { createApp, type App } from '../examples/webhook-app/src/app.js';
import { readConfig } from '../examples/webhook-app/src/config.js';
import { DEMO_SECRETS, freePort, spawnApp } from '../examples/webhook-app/src/demo/harness.js';
import { createAppGateway } from '../examples/webhook-app/src/sync-gateway.js';
import type { AckFrame, ErrorFrame, EventFrame } from '../src/sync/protocol.js';
import { connectPeer } from './support/ws-peer.js';

/** Mini App `initData` signed the way Telegram does (node:crypto, independent of botwire). */
function initData(userId: number, token = DEMO_SECRETS.BOT_TOKEN): string {
  const fields: Record<string, string> = { auth_date: String(Math.floor(Date.now() / 1000)), user: JSON.stringify({ id: userId, first_name: 'U' }) };
  const check = Object.keys(fields).sort().map((k) => `${k}=${fields[k]}`).join('\n');
  const secret = createHmac('sha256', 'WebAppData').update(token).digest();
  return new URLSearchParams({ ...fields, hash: createHmac('sha256', secret).update(check).digest('hex') }).toString();
}

describe('webhook-app: the /sync gateway', () => {
  let app: App;
  let server: Server;
  let gateway: SyncGateway;
  let url: string;

  beforeAll(async () => {
    app = await createApp(readConfig({ ...DEMO_SECRETS, BACKEND: 'memory', LOG_LEVEL: 'silent', TELEGRAM_API_ROOT: 'http://127.0.0.1:1' }));
    server = createServer();
    gateway = await createAppGateway(app, server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/sync`;
  });

  afterAll(async () => {
    await gateway?.close();
    await new Promise((resolve) => server?.close(resolve));
    await app?.close();
  });

  it('the admin token may subscribe to everything', async () => {
    const peer = await connectPeer(url, { token: DEMO_SECRETS.ADMIN_TOKEN });
    try {
      peer.send({ type: 'subscribe', id: 's', patterns: ['users.*', 'jobs.**'] });
      expect((await peer.next<AckFrame>((f) => f.type === 'ack')).patterns).toEqual(['users.*', 'jobs.**']);
      await app.data.ensureUser(5, 'Eve');
      await app.data.addBalance(5, 3);
      expect((await peer.next<EventFrame>((f) => f.type === 'event' && f.envelope.topic === 'users.balance_updated')).envelope.data)
        .toEqual({ userId: 5, balance: 3, delta: 3 });
    } finally {
      await peer.close();
    }
  });

  it('a Mini App (signed initData) gets the public catalogue topics, not users\' balances', async () => {
    const peer = await connectPeer(url, { token: initDataToken(initData(5)) });
    try {
      peer.send({ type: 'subscribe', id: 's', patterns: ['tasks.*', 'users.*'] });
      expect(await peer.next<ErrorFrame>((f) => f.type === 'error')).toMatchObject({ code: 'forbidden', patterns: ['users.*'] });
      expect((await peer.next<AckFrame>((f) => f.type === 'ack')).patterns).toEqual(['tasks.*']);
      const task = await app.data.create('tasks', { title: 'Share a post', reward: 3 });
      expect((await peer.next<EventFrame>((f) => f.type === 'event')).envelope).toMatchObject({ topic: 'tasks.created', data: { id: task.id } });
      expect(gateway.disconnect('5')).toBe(1); // the connection's id is the Telegram user id
    } finally {
      await peer.close();
    }
  });

  it('refuses a wrong admin token, initData of another bot, a tampered one, and no token (401)', async () => {
    const tampered = initData(5).replace('%22id%22%3A5', '%22id%22%3A6');
    expect(tampered).not.toBe(initData(5));
    for (const token of ['not-the-admin-token', initDataToken(initData(5, '999:OTHER-BOT')), initDataToken(tampered), undefined]) {
      await expect(connectPeer(url, token === undefined ? {} : { token })).rejects.toThrow(/401/);
    }
  });
});

describe('webhook-app: SIGTERM runs shutdown()', () => {
  let telegram: TelegramServer;

  beforeAll(async () => {
    telegram = new TelegramServer({ port: await freePort(), host: '127.0.0.1', storeTimeout: 3600 });
    await telegram.start();
  });
  afterAll(async () => { await telegram?.stop(); });

  const sent = (chatId: number) => telegram.storage.botMessages
    .filter((m) => String(m.message.chat_id) === String(chatId)).map((m) => String(m.message.text));

  it('a job in flight finishes, the admins are told, every step is clean and the exit code is 0; pino lines, one per update', async () => {
    const app = await spawnApp({
      ...DEMO_SECRETS, ADMIN_IDS: '1,2', BACKEND: 'memory', TELEGRAM_API_ROOT: telegram.config.apiURL,
      WORKER: '1', NOTIFY_ADMINS: '1', LOG_LEVEL: 'info', IMAGINE_MS: '1500-1500', HOSTNAME: 'bot-1',
    });
    try {
      // worker.started: after the worker's first look at the queue.
      for (let i = 0; i < 100 && (sent(1).length === 0 || sent(2).length === 0); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(sent(1)).toEqual([expect.stringMatching(/^✅ bot-1: worker started \(report, imagine × 4\)$/)]);
      expect(sent(2)).toEqual(sent(1));

      // An update through the webhook: updateLog() writes one line for it through the app's pino logger.
      const hook = await fetch(`${app.url}/api/bot`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': DEMO_SECRETS.WEBHOOK_SECRET },
        body: JSON.stringify({ update_id: 9, message: { message_id: 1, date: Math.floor(Date.now() / 1000), text: '/help', entities: [{ type: 'bot_command', offset: 0, length: 5 }], chat: { id: 88, type: 'private' }, from: { id: 88, is_bot: false, first_name: 'H' } } }),
      });
      expect(hook.status).toBe(200);
      expect(sent(88)).toEqual([expect.stringContaining('/start — main menu')]);

      const added = await fetch(`${app.url}/api/jobs/imagine`, {
        method: 'POST', headers: { authorization: `Bearer ${DEMO_SECRETS.ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ chatId: 77, prompt: 'a lighthouse' }),
      });
      expect(added.status).toBe(201);
      const { id } = (await added.json()) as { id: string };
      const state = async () => ((await (await fetch(`${app.url}/api/jobs/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${DEMO_SECRETS.ADMIN_TOKEN}` } })).json()) as { state: string }).state;
      for (let i = 0; i < 100 && (await state()) !== 'active'; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await state()).toBe('active');

      const stopped = performance.now();
      expect(await app.stop()).toBe(0);
      // The job ran to its end during the drain (1.5 s, within the 10 s grace) before anything closed.
      expect(sent(77)).toEqual([expect.stringMatching(/^🖼 “a lighthouse” — generated in 1\.5 s$/)]);
      expect(performance.now() - stopped).toBeLessThan(8_000);
      for (const admin of [1, 2]) {
        expect(sent(admin).slice(1)).toEqual([
          expect.stringMatching(/^🔻 bot-1: stopping \(SIGTERM\), running jobs get 10 s$/),
          expect.stringMatching(/^🛑 bot-1: stopped in \d+ ms$/),
        ]);
      }
      const logs = app.logs().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
      const finished = logs.find((l) => l.event === 'shutdown.finished') as { ok: boolean; signal: string; steps: Array<{ step: string; ok: boolean }> };
      expect(finished).toMatchObject({ ok: true, signal: 'SIGTERM' });
      expect(finished.steps.map((s) => s.step)).toEqual(['intake', 'drain', 'flush', 'close-transports', 'close-stores', 'close-resources']);
      expect(logs.map((l) => l.event).filter(Boolean)).toEqual(['worker.started', 'shutdown.started', 'worker.stopped', 'shutdown.finished']);
      // pino's lines (pid, hostname, the level by name), the update's text redacted to its length.
      expect(logs.find((l) => l.msg === 'botwire update')).toMatchObject({
        level: 'info', name: 'webhook-app', pid: expect.any(Number), hostname: expect.any(String),
        updateId: 9, type: 'message', chatId: 88, userId: 88, command: '/help', outcome: 'ok', textLength: 5,
      });
      expect(app.logs()).not.toContain('"text":"/help"');
    } finally {
      await app.stop();
    }
  }, 60_000);
});
