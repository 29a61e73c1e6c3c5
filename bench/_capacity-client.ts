/**
 * A client process of the cluster scaling run in bench/capacity.ts: a grammY bot with botwire's
 * session store on an ioredis `Cluster`, the same handler as the capacity bench, updates on 100,000
 * chats picked at random. Arguments: the masters' ports (JSON), updates in flight, client id.
 * It warms up, prints `ready`, then reads a duration (ms) on stdin, runs updates in a closed loop
 * for that long and prints `{ updates, cpuUs, errors }` as one JSON line.
 */
import { createInterface } from 'node:readline';
import { Cluster } from 'ioredis';
import type { Context } from 'grammy';
import { session, type SessionFlavor } from 'botwire/grammy';
import { redisSessionStore } from 'botwire/redis';
import { grammyBot, textUpdate } from '../test/support/telegram.js';

const [portsJson, inFlight, id] = process.argv.slice(2) as [string, string, string];
const ports = JSON.parse(portsJson) as number[];
const CHATS = 100_000;

interface Chat { count: number; step: string; lang: string; recent: string[] }
const cluster = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })));
const store = redisSessionStore({ client: cluster, prefix: `capscale${id}:` });
const bot = grammyBot<Context & SessionFlavor<Chat>>();
bot.use(session({ store, initial: (): Chat => ({ count: 0, step: 'start', lang: 'en', recent: [] }), concurrency: 'serialize', waitMs: 60_000 }));
bot.on('message:text', async (ctx) => {
  const s = ctx.session;
  const n = s.count;
  await new Promise((r) => setImmediate(r));
  s.count = n + 1;
  s.step = n % 2 ? 'menu' : 'ask';
  s.recent = [...s.recent.slice(-4), ctx.message.text];
});

let x = 12_345 + Number(id) * 7_919;
let updates = 0;
let errors = 0;
async function loop(until: () => boolean): Promise<void> {
  await Promise.all(Array.from({ length: Number(inFlight) }, async () => {
    while (!until()) {
      x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
      try {
        await bot.handleUpdate(textUpdate(1 + ((x >>> 8) % CHATS), `text ${updates}`) as never);
        updates++;
      } catch (err) {
        if (++errors === 1) console.error(String(err));
      }
    }
  }));
}

const warmUntil = Date.now() + 1_000;
await loop(() => Date.now() > warmUntil);
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const ms = Number((await lines.next()).value);
updates = 0;
errors = 0;
const c0 = process.cpuUsage();
const end = Date.now() + ms;
await loop(() => Date.now() > end);
const c = process.cpuUsage(c0);
process.stdout.write(`${JSON.stringify({ updates, cpuUs: c.user + c.system, errors })}\n`);
await store.close();
cluster.disconnect();
await lines.next();
process.exit(0);
