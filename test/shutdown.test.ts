import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemorySyncHub, memoryJobQueue, memorySessionStore, memorySyncBus } from 'botwire/memory';
import { redisJobQueue } from '../adapters/redis/job-backend.js';
import { postgresJobQueue } from '../adapters/postgres/index.js';
import { createSyncGateway } from '../integrations/ws/gateway.js';
import { Worker } from '../src/jobs/worker.js';
import type { JobQueue } from '../src/jobs/job-queue.js';
import type { LifecycleEvent } from '../src/lifecycle.js';
import { shutdown, type ShutdownTarget } from '../src/shutdown.js';
import { createSyncBus } from '../src/sync/sync-bus.js';
import type { SyncTransportEvents } from '../src/sync/backend.js';
import { connectPeer } from './support/ws-peer.js';
import { withPgSchema, type PgSchema } from './support/pg-schema.js';
import { REDIS_URL, needs, uniqueName } from './support/services.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const abortable = (ms: number, signal: AbortSignal): Promise<void> => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); });
});

describe('shutdown order and bounds', () => {
  it('stops intake everywhere before draining, flushes, then closes transports, stores and the rest', async () => {
    const log: string[] = [];
    const rec = (what: string, ms = 0) => async () => { log.push(`${what}:start`); await sleep(ms); log.push(`${what}:end`); };
    const worker: ShutdownTarget = { stopIntake: () => { log.push('worker.intake'); }, stop: rec('worker.drain', 30) };
    const gateway: ShutdownTarget = { shutdownStage: 'transport', stopIntake: () => { log.push('gateway.intake'); }, close: rec('gateway.close') };
    const bus: ShutdownTarget = { shutdownStage: 'transport', flush: rec('bus.flush'), close: rec('bus.close') };
    const store: ShutdownTarget = { shutdownStage: 'store', close: rec('store.close') };
    const pool: ShutdownTarget = { close: rec('pool.close') };
    const events: LifecycleEvent[] = [];
    // Listed in an unhelpful order on purpose: the stages decide, not the list.
    const result = await shutdown([pool, store, bus, gateway, worker], { graceMs: 1_000, onLifecycle: (e) => { events.push(e); } });
    expect(result.ok).toBe(true);
    const at = (s: string) => log.indexOf(s);
    expect(at('worker.intake')).toBeLessThan(at('worker.drain:start'));
    expect(at('gateway.intake')).toBeLessThan(at('worker.drain:start'));
    expect(at('worker.drain:end')).toBeLessThan(at('bus.flush:start'));
    expect(at('bus.flush:end')).toBeLessThan(at('gateway.close:start'));
    expect(Math.max(at('gateway.close:end'), at('bus.close:end'))).toBeLessThan(at('store.close:start'));
    expect(at('store.close:end')).toBeLessThan(at('pool.close:start'));
    expect(result.steps.map((s) => s.step)).toEqual(['intake', 'drain', 'flush', 'close-transports', 'close-stores', 'close-resources']);
    expect(events.map((e) => e.type)).toEqual(['shutdown.started', 'shutdown.finished']);
    expect(events[1]).toMatchObject({ type: 'shutdown.finished', ok: true });
  });

  it('bounds every step: a hung close times out, a throwing one is reported, later steps still run', async () => {
    const closed: string[] = [];
    const hung: ShutdownTarget = { shutdownStage: 'transport', close: () => new Promise(() => {}) };
    const throwing: ShutdownTarget = { shutdownStage: 'store', close: async () => { throw new TypeError('nope'); } };
    const after: ShutdownTarget = { close: async () => { closed.push('pool'); } };
    const slowWorker: ShutdownTarget = { stop: () => new Promise(() => {}) };
    const started = performance.now();
    const result = await shutdown([hung, throwing, after, slowWorker], { graceMs: 100, stepTimeoutMs: 150 });
    const took = performance.now() - started;
    expect(result.ok).toBe(false);
    const step = (name: string) => result.steps.find((s) => s.step === name)!;
    expect(step('drain')).toMatchObject({ ok: false, errors: ['timed out'] });
    expect(step('close-transports')).toMatchObject({ ok: false, errors: ['timed out'] });
    expect(step('close-stores')).toMatchObject({ ok: false, errors: ['TypeError'] });
    expect(step('close-resources').ok).toBe(true);
    expect(closed).toEqual(['pool']);
    // drain ≤ graceMs + stepTimeoutMs, transports ≤ stepTimeoutMs, the rest immediate.
    expect(took).toBeLessThan(100 + 150 + 150 + 300);
  });

  it('refuses what is not a list of objects, and bad times', () => {
    expect(() => shutdown([null as unknown as ShutdownTarget])).toThrow(/array of objects/);
    expect(() => shutdown([], { graceMs: -1 })).toThrow(/graceMs/);
  });
});

describe('SyncBus.flush', () => {
  it('waits for sends the broker has not taken yet, and resolves at once when none are pending', async () => {
    const taken: string[] = [];
    const bus = createSyncBus({
      sendTimeoutMs: 2_000,
      transport: {
        name: 'slow', maxPayloadBytes: 10_000,
        open: (events: SyncTransportEvents) => queueMicrotask(() => events.up(false)),
        send: async (text) => { await sleep(80); taken.push(text); },
        close: async () => {},
      },
    });
    await bus.ready();
    await bus.flush();
    void bus.publish('a.b', 1);
    void bus.publish('a.c', 2);
    expect(taken).toHaveLength(0);
    await bus.flush();
    expect(taken).toHaveLength(2);
    await bus.close();
  });
});

async function handedBackUncounted(queue: JobQueue, id: string): Promise<void> {
  const job = await queue.get(id);
  expect(job).toMatchObject({ state: 'waiting', attempts: 0 });
}

describe('shutdown of real components on memory', () => {
  it('lets a short job finish, hands a long one back uncounted, refuses new gateway connections, and notifies', async () => {
    const hub = createMemorySyncHub();
    const bus = memorySyncBus({ hub });
    const store = memorySessionStore();
    const started = new Set<string>();
    const queue = memoryJobQueue({
      handlers: {
        short: async ({ job, signal }) => { started.add(job.id); await abortable(200, signal); return 'ok'; },
        long: async ({ job, signal }) => { started.add(job.id); await abortable(60_000, signal); return 'ok'; },
      },
    });
    const events: LifecycleEvent[] = [];
    const onLifecycle = (e: LifecycleEvent) => { events.push(e); };
    const worker = new Worker(queue, undefined, { concurrency: 2, pollIntervalMs: 20, onLifecycle });
    const gateway = await createSyncGateway({ bus, port: 0, host: '127.0.0.1', authorize: () => ({ allow: ['**'] }) });
    const peer = await connectPeer(`ws://127.0.0.1:${gateway.port}/sync`, { token: 'x' });
    const short = await queue.add('short', {});
    const long = await queue.add('long', {});
    while (started.size < 2) await sleep(5);

    const done = shutdown([worker, gateway, bus, queue, store], { graceMs: 500, stepTimeoutMs: 1_000, onLifecycle });
    await sleep(20);
    // Intake stopped: the gateway refuses a new connection while the worker is still draining.
    await expect(connectPeer(`ws://127.0.0.1:${gateway.port}/sync`, { token: 'x' })).rejects.toThrow();
    expect((await gateway.health()).ok).toBe(false);
    const result = await done;
    expect(result.ok).toBe(true);
    expect(result.durationMs).toBeLessThan(500 + 1_000);
    expect((await queue.get(short.id))?.state).toBe('completed');
    await handedBackUncounted(queue, long.id);
    expect(bus.state).toBe('closed');
    expect(gateway.connections).toBe(0);
    await peer.closed;
    expect(events.map((e) => e.type)).toEqual(['worker.started', 'shutdown.started', 'worker.stopped', 'shutdown.finished']);
    expect(events.find((e) => e.type === 'worker.stopped')).toMatchObject({ handedBack: 1 });
  });
});

describe.runIf(await needs('postgres'))('shutdown of a Postgres worker', () => {
  let db: PgSchema<pg.Pool>;
  beforeAll(async () => { db = await withPgSchema('bw_shutdown', { max: 4 }); });
  afterAll(() => db?.drop());

  it('hands a job that outlives graceMs back uncounted', async () => {
    const started = new Set<string>();
    const queue = postgresJobQueue({
      client: db.client, schema: db.schema, listen: false,
      handlers: { long: async ({ job, signal }) => { started.add(job.id); await abortable(60_000, signal); } },
    });
    const worker = new Worker(queue, undefined, { pollIntervalMs: 20 });
    const job = await queue.add('long', {});
    while (!started.has(job.id)) await sleep(5);
    const result = await shutdown([worker, queue], { graceMs: 200 });
    expect(result.ok).toBe(true);
    await handedBackUncounted(queue, job.id);
  });
});

const root = fileURLToPath(new URL('..', import.meta.url));
const workerFile = `${root}.tmp/shutdown-worker-${process.pid}.mjs`;

describe.runIf(await needs('redis'))('SIGTERM to a worker process (Redis)', () => {
  beforeAll(async () => {
    mkdirSync(`${root}.tmp`, { recursive: true });
    await build({
      entryPoints: [fileURLToPath(new URL('./fixtures/shutdown-worker.ts', import.meta.url))],
      bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: workerFile, logLevel: 'error',
    });
  });
  afterAll(() => rmSync(workerFile, { force: true }));

  it('finishes the short job, hands the long one back uncounted, and exits 0 within graceMs + 1 s', async () => {
    const GRACE = 1_000;
    const prefix = uniqueName('bw:shut:');
    const client = new Redis(REDIS_URL);
    const queue = redisJobQueue({ client, prefix });
    const child = spawn(process.execPath, [workerFile, REDIS_URL, prefix, String(GRACE)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: Array<Record<string, unknown>> = [];
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) { lines.push(JSON.parse(buffered.slice(0, nl))); buffered = buffered.slice(nl + 1); }
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const waitFor = async (test: () => boolean, ms = 15_000) => {
        const until = Date.now() + ms;
        while (!test()) { if (Date.now() > until) throw new Error(`timed out; saw ${JSON.stringify(lines)}`); await sleep(10); }
      };
      await waitFor(() => lines.some((l) => l.type === 'worker.started'));
      const short = await queue.add('short', {});
      const long = await queue.add('long', {});
      await waitFor(() => lines.filter((l) => l.started).length === 2);
      const killedAt = performance.now();
      child.kill('SIGTERM');
      const code = await exited;
      const took = performance.now() - killedAt;
      console.log(`worker process exited ${String(code)} ${Math.round(took)} ms after SIGTERM (graceMs ${GRACE})`);
      expect(code).toBe(0);
      expect(took).toBeLessThan(GRACE + 1_000);
      expect((await queue.get(short.id))?.state).toBe('completed');
      await handedBackUncounted(queue, long.id);
      const types = lines.map((l) => l.type).filter(Boolean);
      expect(types).toEqual(['worker.started', 'shutdown.started', 'worker.stopped', 'shutdown.finished']);
      expect(lines.find((l) => l.type === 'shutdown.started')).toMatchObject({ signal: 'SIGTERM', graceMs: GRACE });
      expect(lines.find((l) => l.type === 'shutdown.finished')).toMatchObject({ ok: true, signal: 'SIGTERM' });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      const keys = await client.keys(`{${prefix}}*`);
      if (keys.length > 0) await client.del(...keys);
      client.disconnect();
    }
  });
});
