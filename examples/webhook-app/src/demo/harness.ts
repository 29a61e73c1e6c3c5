/**
 * Everything the offline demo and the end-to-end tests need around the app, on this machine only:
 * `telegram-test-api` as the Bot API, a relay in front of the app's webhook, and the app itself as
 * one or two child processes (`server.ts`) that can be killed and started again (a cold start).
 *
 * The relay exists because the emulator does not send `X-Telegram-Bot-Api-Secret-Token` (real
 * Telegram does): it adds the header, and it deals updates round-robin to the app processes as a
 * load balancer in front of several instances would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import TelegramServer from 'telegram-test-api';
import { setWebhook } from '../../scripts/set-webhook.js';

const SERVER_TS = fileURLToPath(new URL('../../server.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** A free TCP port on 127.0.0.1 (the emulator needs its port up front). */
export async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** One app process. */
export interface AppProcess {
  url: string;
  child: ChildProcess;
  /** Its stderr (JSON log lines) so far. */
  logs: () => string;
  /** SIGTERM, wait for the exit; resolves with the exit code (0: `shutdown()` ran every step cleanly). */
  stop(): Promise<number | null>;
}

/** Start `server` (default: this app's `server.ts`) with `env`; resolves when it prints its URL. */
export async function spawnApp(env: Record<string, string>, server = SERVER_TS, timeoutMs = 90_000): Promise<AppProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', server], {
    cwd: REPO_ROOT, env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not start within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the app exited with ${code} before listening:\n${stderr}`)); });
  });
  return {
    url, child, logs: () => stderr,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
      return child.exitCode;
    },
  };
}

/** The relay: adds the secret header and deals requests round-robin to `upstreams`. */
export interface Relay {
  url: string;
  upstreams: string[];
  /** Which upstream (index) answered each relayed request, in order. */
  served: number[];
  close(): Promise<void>;
}

export async function startRelay(secret: string): Promise<Relay> {
  let next = 0;
  const relay: Relay = { url: '', upstreams: [], served: [], close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const i = next++ % relay.upstreams.length;
      relay.served.push(i);
      fetch(relay.upstreams[i] + (req.url ?? '/'), {
        method: req.method,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json', 'x-telegram-bot-api-secret-token': secret },
        body: Buffer.concat(chunks),
      }).then(async (r) => {
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/plain' });
        res.end(Buffer.from(await r.arrayBuffer()));
      }, (err: Error) => {
        res.writeHead(502);
        res.end(err.message);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  relay.close = () => new Promise((resolve) => server.close(() => resolve()));
  return relay;
}

/** A line of the transcript. */
export interface Line {
  /** ms since the conversation started. */
  at: number;
  /** ms the step took (user actions, ticks, admin calls). */
  ms?: number;
  kind: 'user' | 'bot' | 'edit' | 'system';
  who?: string;
  text: string;
}

type StoredMessage = { chat_id: number | string; text?: string; reply_markup?: { keyboard?: Array<Array<{ text: string } | string>>; inline_keyboard?: Array<Array<{ text: string; callback_data?: string }>> } };

/** Render a message with its keyboard as text. */
function render(m: StoredMessage): string {
  const rows = m.reply_markup?.keyboard ?? m.reply_markup?.inline_keyboard;
  const kb = rows?.map((row) => row.map((b) => `[${typeof b === 'string' ? b : b.text}]`).join(' ')).join(' ');
  return `${m.text ?? ''}${kb ? `\n${kb}` : ''}`;
}

export interface HarnessOptions {
  /** Environment of the app processes (backend selection and the like). */
  env: Record<string, string>;
  /** App processes behind the relay. @default 1 */
  instances?: number;
  /** The server script to run (another app speaking the same webhook, e.g. the Telegraf twin). */
  server?: string;
}

export const DEMO_SECRETS = {
  BOT_TOKEN: '123456789:demo-token-of-the-offline-demo',
  WEBHOOK_SECRET: 'demo-webhook-secret',
  CRON_SECRET: 'demo-cron-secret-0123456789',
  ADMIN_TOKEN: 'demo-admin-token',
  ADMIN_IDS: '1',
};

/** The emulator, the relay and the app processes, with a transcript of everything said. */
export class Harness {
  readonly lines: Line[] = [];
  readonly started = performance.now();
  telegram!: TelegramServer;
  relay!: Relay;
  apps: AppProcess[] = [];
  /** Exit codes of the app processes stopped so far (restarts, then `close()`); null when killed. */
  readonly exitCodes: Array<number | null> = [];
  env: Record<string, string> = {};
  server?: string;
  #known = new Map<number, string>();
  /** Names of the users' chats, and the chat that spoke last: messages to another chat are marked. */
  #names = new Map<string, string>();
  #lastChat = '';

  static async start(options: HarnessOptions): Promise<Harness> {
    const h = new Harness();
    h.server = options.server;
    const port = await freePort();
    h.telegram = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 3600 });
    await h.telegram.start();
    h.relay = await startRelay(DEMO_SECRETS.WEBHOOK_SECRET);
    h.env = { ...DEMO_SECRETS, TELEGRAM_API_ROOT: h.telegram.config.apiURL, LOG_LEVEL: 'warn', ...options.env };
    for (let i = 0; i < (options.instances ?? 1); i++) await h.startInstance(i);
    await setWebhook({ apiRoot: h.env.TELEGRAM_API_ROOT!, token: h.env.BOT_TOKEN!, url: `${h.relay.url}/api/bot`, secret: h.env.WEBHOOK_SECRET! });
    return h;
  }

  private async startInstance(i: number): Promise<void> {
    const t = performance.now();
    const app = await spawnApp(this.env, this.server);
    this.apps[i] = app;
    this.relay.upstreams[i] = app.url;
    this.note(`app process ${i + 1} up at ${app.url} (pid ${app.child.pid})`, performance.now() - t);
  }

  /** Kill app process `i` and start a new one: nothing survives but what the backend stores. */
  async restart(i = 0): Promise<void> {
    const t = performance.now();
    const old = this.apps[i]!;
    this.exitCodes.push(await old.stop());
    this.note(`app process ${i + 1} (pid ${old.child.pid}) stopped — cold start next`, performance.now() - t);
    await this.startInstance(i);
  }

  note(text: string, ms?: number): void {
    this.lines.push({ at: performance.now() - this.started, ms, kind: 'system', text });
  }

  /** Record the bot's new messages and edits since the last call. */
  private collect(): void {
    for (const u of this.telegram.storage.botMessages) {
      const text = render(u.message as StoredMessage);
      const before = this.#known.get(u.messageId);
      if (before === text) continue;
      this.#known.set(u.messageId, text);
      const chat = String(u.message.chat_id);
      const to = chat !== this.#lastChat && this.#names.has(chat) ? `→ ${this.#names.get(chat)}: ` : '';
      this.lines.push({ at: performance.now() - this.started, kind: before === undefined ? 'bot' : 'edit', text: to + text });
    }
  }

  /** A chat with one user (private chat: chat id = user id). */
  user(id: number, name: string) {
    const client = this.telegram.getClient(this.env.BOT_TOKEN!, { userId: id, chatId: id, firstName: name, userName: name.toLowerCase(), type: 'private' });
    this.#names.set(String(id), name);
    const act = async (shown: string, send: () => Promise<void>): Promise<void> => {
      this.collect();
      this.#lastChat = String(id);
      const t = performance.now();
      const line: Line = { at: t - this.started, kind: 'user', who: name, text: shown };
      this.lines.push(line);
      await send(); // the emulator resolves once the webhook has answered: the update was handled
      line.ms = performance.now() - t;
      this.collect();
    };
    return {
      say: (text: string) => act(text, () => (text.startsWith('/')
        ? this.telegram.addUserCommand(client.makeCommand(text) as never)
        : this.telegram.addUserMessage(client.makeMessage(text) as never))),
      photo: (caption: string) => act(`[photo] ${caption}`, () => this.telegram.addUserMessage(client.makeMessage('', {
        caption, photo: [{ file_id: 'demo-photo', file_unique_id: 'demo', width: 640, height: 480 }],
      } as never) as never)),
      /** Press an inline button of the bot's last message that has one with this callback data. */
      press: (data: string) => {
        const msg = [...this.telegram.storage.botMessages].reverse().find((u) => String(u.message.chat_id) === String(id)
          && (u.message as StoredMessage).reply_markup?.inline_keyboard?.some((row) => row.some((b) => b.callback_data === data)));
        if (!msg) throw new Error(`no message in chat ${id} has a button "${data}"`);
        const label = (msg.message as StoredMessage).reply_markup!.inline_keyboard!.flat().find((b) => b.callback_data === data)!.text;
        return act(`(presses [${label}])`, () => this.telegram.addUserCallback(client.makeCallbackQuery(data, {
          message: { message_id: msg.messageId, chat: { id, type: 'private' } },
        } as never) as never));
      },
    };
  }

  /** The conversation so far as plain text (messages and notes, no timings). */
  text(): string {
    return this.lines.map((l) => l.text).join('\n');
  }

  /** Call the cron tick as Vercel Cron would, on app process `i`. */
  async tick(i = 0): Promise<Record<string, unknown>> {
    this.collect();
    const t = performance.now();
    const r = await fetch(`${this.apps[i]!.url}/api/cron/tick`, { headers: { authorization: `Bearer ${this.env.CRON_SECRET}` } });
    const summary = await r.json() as Record<string, unknown>;
    const { claimed, completed, partial, failed } = summary;
    this.note(`cron tick → ${r.status} ${JSON.stringify({ claimed, completed, partial, failed })}`, performance.now() - t);
    this.collect();
    return summary;
  }

  /** Call the admin API on app process `i`. */
  async admin(method: string, path: string, body?: unknown, i = 0): Promise<{ status: number; body: unknown }> {
    const t = performance.now();
    const r = await fetch(`${this.apps[i]!.url}/api/admin/${path}`, {
      method, headers: { authorization: `Bearer ${this.env.ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    this.note(`admin ${method} /api/admin/${path}${body ? ` ${JSON.stringify(body)}` : ''} → ${r.status}`, performance.now() - t);
    return { status: r.status, body: text ? JSON.parse(text) as unknown : undefined };
  }

  /** The transcript as readable text. */
  transcript(): string {
    return this.lines.map((l) => {
      const at = `+${(l.at / 1000).toFixed(1).padStart(5)}s`;
      const ms = l.ms === undefined ? '        ' : `${Math.round(l.ms).toString().padStart(5)} ms`;
      const text = l.text.replace(/\n/g, '\n' + ' '.repeat(25));
      if (l.kind === 'user') return `${at} ${ms}  👤 ${l.who}: ${text}`;
      if (l.kind === 'bot') return `${at} ${' '.repeat(8)}  🤖 ${text}`;
      if (l.kind === 'edit') return `${at} ${' '.repeat(8)}  ✏️  (edited) ${text}`;
      return `${at} ${ms}  ── ${text}`;
    }).join('\n');
  }

  async close(): Promise<void> {
    this.exitCodes.push(...await Promise.all(this.apps.map((a) => a.stop())));
    await this.relay.close();
    await this.telegram.stop();
  }
}
