/**
 * Gateway fan-out: 1,000 WebSocket clients on loopback, one bus publish → all 1,000 delivered.
 * The gateway runs in this process, the clients in a child process (the machine's other core).
 *
 * Scenarios, same client count and payload:
 * - botwire gateway → `connectSync` clients (botwire/client, what a browser runs);
 * - botwire gateway → raw `ws` clients that JSON.parse each frame (isolates the client library);
 * - baseline: a bare `ws` server that JSON.stringifies once and sends to every socket.
 *
 * Paced: one publish at a time, latency = publish → the last of the N clients has it (p50/p99);
 * "send" = time the server spends writing the event to all N sockets.
 * Burst: B publishes back to back, delivered messages per second until every client has all.
 *
 * Run: `npm run bench -- sync-gateway` (env: CLIENTS, PACED, BURST).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';

const N = Number(process.env.CLIENTS ?? 1000);
const PACED = Number(process.env.PACED ?? 200);
const BURST = Number(process.env.BURST ?? 500);

type Mode = 'botwire-client' | 'raw-gateway' | 'raw-baseline';
type ToMain = { ready: true } | { done: number; at: number };
const now = (): number => performance.timeOrigin + performance.now();

if (process.env.BENCH_CHILD) {
  const { url, mode, n } = JSON.parse(process.env.BENCH_CHILD) as { url: string; mode: Mode; n: number };
  const counts = new Map<number, number>();
  const post = (m: ToMain): void => { process.send!(m); };
  const seen = (i: number): void => {
    const c = (counts.get(i) ?? 0) + 1;
    if (c === n) { counts.delete(i); post({ done: i, at: now() }); } else counts.set(i, c);
  };
  const closers: (() => void)[] = [];
  let opened = 0;
  const onOpen = (): void => { if (++opened === n) post({ ready: true }); };
  if (mode === 'botwire-client') {
    const { connectSync } = await import('../integrations/client/index.js');
    for (let k = 0; k < n; k++) {
      const sync = connectSync(url, { token: 'bench', WebSocket: WebSocket as never, reconnectOnFocus: false, onError: (e) => console.error(e) });
      sync.on('bench.*', (e) => seen((e.data as { i: number }).i));
      const off = sync.onState((s) => { if (s === 'open') { off(); onOpen(); } });
      closers.push(() => sync.close());
    }
  } else {
    for (let k = 0; k < n; k++) {
      const ws = new WebSocket(url, mode === 'raw-gateway' ? ['botwire-sync.v1', 'bearer.bench'] : undefined);
      ws.on('open', () => {
        if (mode === 'raw-gateway') ws.send(JSON.stringify({ type: 'subscribe', patterns: ['bench.*'] }));
        onOpen();
      });
      ws.on('message', (data) => {
        const f = JSON.parse(String(data)) as { type?: string; envelope?: { data: { i: number } }; i?: number };
        if (mode === 'raw-baseline') seen(f.i!);
        else if (f.type === 'event') seen(f.envelope!.data.i);
      });
      closers.push(() => ws.terminate());
    }
  }
  process.on('message', (m: string) => { if (m === 'stop') { for (const c of closers) c(); process.exit(0); } });
} else {
  const { memorySyncBus } = await import('../adapters/memory/index.js');
  const { createSyncGateway } = await import('../integrations/ws/index.js');
  const { percentile, median } = await import('./_support.js');

  async function scenario(mode: Mode): Promise<Record<string, string | number>> {
    let publish: (i: number) => void;
    let stop: () => Promise<void>;
    let url: string;
    if (mode === 'raw-baseline') {
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
      await new Promise((r) => wss.once('listening', r));
      url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
      publish = (i) => { const text = JSON.stringify({ i, topic: 'bench.tick', at: Date.now() }); for (const c of wss.clients) c.send(text); };
      stop = () => new Promise((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); });
    } else {
      const bus = memorySyncBus();
      const gateway = await createSyncGateway({ bus, port: 0, host: '127.0.0.1', authorize: () => ({ allow: ['**'] }), maxConnections: N + 10 });
      url = `ws://127.0.0.1:${gateway.port}/sync`;
      publish = (i) => { void bus.publish('bench.tick', { i }); };
      stop = async () => { await gateway.close(); await bus.close(); };
    }
    const worker = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ['--import', 'tsx'], env: { ...process.env, BENCH_CHILD: JSON.stringify({ url, mode, n: N }) },
    });
    const waiting = new Map<number, (at: number) => void>();
    let ready!: () => void;
    const isReady = new Promise<void>((r) => { ready = r; });
    worker.on('message', (m: ToMain) => {
      if ('ready' in m) ready();
      else waiting.get(m.done)?.(m.at);
    });
    worker.on('error', (e) => { console.error(e); process.exit(1); });
    const delivered = (i: number): Promise<number> => new Promise((r) => waiting.set(i, r));
    const connectStart = now();
    await isReady;
    const connectMs = now() - connectStart;
    // Subscribe frames may still be in flight after 'open': probe until every client gets one.
    let probe = -1;
    for (;;) {
      const got = delivered(probe);
      publish(probe);
      const ok = await Promise.race([got.then(() => true), new Promise((r) => setTimeout(() => r(false), 200))]);
      if (ok) break;
      probe--;
    }
    const lat: number[] = [];
    const send: number[] = [];
    for (let i = 0; i < PACED; i++) {
      const got = delivered(i);
      const t0 = now();
      publish(i); // the memory bus delivers to the gateway synchronously: this is the whole fan-out write
      send.push(now() - t0);
      lat.push((await got) - t0);
      await new Promise((r) => setTimeout(r, 2));
    }
    const ids = Array.from({ length: BURST }, (_, k) => PACED + k);
    const all = Promise.all(ids.map((i) => delivered(i)));
    const b0 = now();
    for (const i of ids) publish(i);
    const last = Math.max(...(await all));
    const burstMs = last - b0;
    worker.send('stop');
    await new Promise((r) => worker.once('exit', r));
    await stop();
    return {
      scenario: mode, clients: N, 'connect all (ms)': Math.round(connectMs),
      'send 1,000 p50 (ms)': +median(send).toFixed(2),
      'p50 (ms)': +median(lat).toFixed(2), 'p99 (ms)': +percentile(lat, 99).toFixed(2),
      'burst msgs/s': Math.round((BURST * N) / (burstMs / 1000)), 'burst events/s': Math.round(BURST / (burstMs / 1000)),
    };
  }

  console.log(`Fan-out to ${N} clients on loopback: ${PACED} paced publishes, then a burst of ${BURST}.`);
  const rows = [];
  for (const mode of ['botwire-client', 'raw-gateway', 'raw-baseline'] as Mode[]) rows.push(await scenario(mode));
  console.table(rows);
}
