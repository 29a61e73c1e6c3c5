// Publisher side of `npm run bench -- sync`, run as a separate OS process. Modes: botwire-redis,
// botwire-pg (each also with a `-secret` suffix: signed envelopes), raw-redis (ioredis PUBLISH),
// raw-pg (pg NOTIFY). Commands arrive on stdin as JSON lines.
// In every mode the publisher process also listens on the channel, as each app instance does.
import pg from 'pg';
import { Redis } from 'ioredis';
import { createInterface } from 'node:readline';
import { postgresSyncBus } from 'botwire/postgres';
import { redisSyncBus } from 'botwire/redis';

// The raw-pg mode fires concurrent client.query() calls on purpose (what naive code does); keep its deprecation notice out of the table.
process.noDeprecation = true;

const [mode, url, space] = process.argv.slice(2) as [string, string, string];
const pad = 'x'.repeat(60);
const now = (): number => performance.timeOrigin + performance.now();
let publish: (i: number) => Promise<unknown>;
let close: () => Promise<unknown>;

if (mode.startsWith('botwire-')) {
  // The `-secret` modes sign with the receiver's secret (bench/sync.ts).
  const secret = mode.endsWith('-secret') ? 'bench-secret-bench-secret-bench-secret-0123' : undefined;
  const bus = mode.startsWith('botwire-redis')
    ? redisSyncBus({ url, channelPrefix: space, sendTimeoutMs: 30_000, secret })
    : postgresSyncBus({ connectionString: url, schema: space, sendTimeoutMs: 30_000, secret });
  await bus.ready(20_000);
  publish = (i) => bus.publish('bench.ev', { t: now(), i, pad });
  close = () => bus.close();
} else if (mode === 'raw-redis') {
  const r = new Redis(url);
  // Like every botwire instance, this one also listens (and receives its own messages): same broker topology.
  const sub = new Redis(url);
  sub.on('pmessage', (_p, _c, m) => { JSON.parse(m); });
  await sub.psubscribe(`${space}*`);
  publish = (i) => r.publish(`${space}bench.ev`, JSON.stringify({ t: now(), i, pad }));
  close = async () => { sub.disconnect(); await r.quit(); };
} else {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const listener = new pg.Client({ connectionString: url });
  await listener.connect();
  listener.on('notification', (m) => { JSON.parse(m.payload ?? '{}'); });
  await listener.query(`LISTEN "${space}_sync"`);
  publish = (i) => c.query('SELECT pg_notify($1, $2)', [`${space}_sync`, JSON.stringify({ t: now(), i, pad })]);
  close = async () => { await listener.end(); await c.end(); };
}
process.stdout.write('ready\n');

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { cmd: string; count: number; paceMs?: number };
  if (cmd.cmd === 'paced') {
    for (let i = 0; i < cmd.count; i++) {
      await publish(i);
      await new Promise((r) => setTimeout(r, cmd.paceMs));
    }
  } else if (cmd.cmd === 'burst') {
    const pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < cmd.count; i++) {
      pending.push(publish(i));
      if (pending.length >= 500) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
  } else if (cmd.cmd === 'exit') {
    await close();
    process.exit(0);
  }
  process.stdout.write('done\n');
}
