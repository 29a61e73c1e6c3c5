import { describe, expect, it } from 'vitest';
import { createMemorySyncHub, memoryJobBackend, memoryJobQueue, memorySyncBus } from '../adapters/memory/index.js';
import { createSyncGateway } from '../integrations/ws/index.js';
import { JobQueue } from '../src/jobs/job-queue.js';
import { runDue } from '../src/jobs/run-due.js';
import { Worker } from '../src/jobs/worker.js';
import { createSyncBus } from '../src/sync/sync-bus.js';
import type { SyncTransport, SyncTransportEvents } from '../src/sync/backend.js';
import { otelHarness } from './support/otel.js';
import { recordingLogger } from './support/session-middleware-suite.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const tick = { budgetMs: 60_000 };

describe('job log lines', () => {
  it('warns on a failed run with retries left, errors once none are, with jobId, name, attempt, durationMs and error', async () => {
    const logger = recordingLogger();
    let now = Date.now();
    const queue = memoryJobQueue({ logger, now: () => now });
    const job = await queue.add('charge', {}, { attempts: 2, backoff: { type: 'fixed', delayMs: 1_000 } });
    const handlers = { charge: () => { throw Object.assign(new Error('card declined'), { name: 'PaymentError' }); } };
    await runDue(queue, handlers, tick);
    now += 2_000;
    await runDue(queue, handlers, tick);
    expect(logger.lines.warn).toHaveLength(1);
    expect(logger.lines.warn![0]).toMatchObject({
      message: expect.stringMatching(/failed; it will run again/),
      fields: {
        jobId: job.id, name: 'charge', attempt: 1, outcome: 'failed', durationMs: expect.any(Number),
        error: { code: 'PaymentError', message: 'card declined' }, retryAt: new Date(now - 2_000 + 1_000).toISOString(),
      },
    });
    expect(logger.lines.error).toHaveLength(1);
    expect(logger.lines.error![0]).toMatchObject({ message: expect.stringMatching(/failed for good/), fields: { jobId: job.id, attempt: 2 } });
    // The ticks that ran something each logged a summary at info.
    expect(logger.lines.info!.filter((l) => l.message === 'botwire tick')).toHaveLength(2);
  });

  it('logs partial runs at info, completions and adds at debug, and nothing at debug for a logger that drops it', async () => {
    const logger = recordingLogger();
    const queue = memoryJobQueue({ logger });
    await queue.add('fetch', {});
    await runDue(queue, { fetch: async ({ partial }) => { await partial({ a: 1 }, { missing: ['b'], retryInMs: 0 }); } }, tick);
    await runDue(queue, { fetch: () => ({ a: 1, b: 2 }) }, tick);
    expect(logger.lines.info!.find((l) => l.fields.outcome === 'partial')!.fields).toMatchObject({ name: 'fetch', attempt: 1 });
    expect(logger.lines.debug!.map((l) => l.message)).toEqual(expect.arrayContaining(['botwire job added', 'botwire job completed']));

    const quiet = { ...recordingLogger(), isLevelEnabled: (level: string) => level !== 'debug' };
    const q2 = memoryJobQueue({ logger: quiet });
    await q2.add('n', {});
    await runDue(q2, { n: () => 1 }, tick);
    expect(quiet.lines.debug).toEqual([]);
  });

  it('warns when a lapsed lease is recovered and logs worker start and stop', async () => {
    const logger = recordingLogger();
    let now = Date.now();
    const backend = memoryJobBackend();
    const queue = new JobQueue(backend, { logger, now: () => now, leaseMs: 1_000 });
    const job = await queue.add('n', {});
    // A worker that claimed the job and died: its lease lapses.
    await backend.claim({ names: ['n'], limit: 1, maxTimeoutMs: 1e9, token: 'dead', leaseMs: 1_000, now });
    now += 5_000;
    await queue.reclaimLapsed();
    expect(logger.lines.warn![0]).toMatchObject({ message: expect.stringMatching(/lease lapsed/), fields: { jobId: job.id, attempt: 1 } });
    const worker = new Worker(queue, { n: () => 1 }, { pollIntervalMs: 10 });
    await worker.start();
    await worker.stop();
    expect(logger.lines.info!.map((l) => l.message)).toEqual(expect.arrayContaining(['botwire worker started', 'botwire worker stopped']));
  });

  it('sends background errors to logger.error when no onError is given', async () => {
    const logger = recordingLogger();
    const queue = memoryJobQueue({ logger });
    queue.onError(Object.assign(new Error('bus hiccup'), { code: 'X' }));
    expect(logger.lines.error![0]!.fields).toEqual({ error: { code: 'X', message: 'bus hiccup' } });
  });
});

/** A transport the test takes down and brings back, as a broker outage would. */
function switchableTransport(): SyncTransport & { events: SyncTransportEvents } {
  const t = {
    name: 'test', maxPayloadBytes: 1_000_000, events: undefined as unknown as SyncTransportEvents,
    open(events: SyncTransportEvents) { t.events = events; queueMicrotask(() => events.up(false)); },
    send: () => Promise.reject(new Error('broker down')),
    close: () => Promise.resolve(),
  };
  return t;
}

describe('sync bus log lines and counters', () => {
  it('warns once when the broker goes down, reports drops, and logs the reconnect at info', async () => {
    const logger = recordingLogger();
    const o = otelHarness();
    const transport = switchableTransport();
    const bus = createSyncBus({ transport, logger, telemetry: o.telemetry });
    await bus.ready();
    transport.events.down(new Error('ECONNRESET'));
    // Published from traced code: the publish spans are children of its span.
    await o.tracer.startActiveSpan('handler', async (span) => {
      await bus.publish('orders.created', { id: 1 });
      await bus.publish('orders.created', { id: 2 });
      span.end();
    });
    await sleep(5);
    transport.events.up(true);
    expect(logger.lines.warn).toHaveLength(1);
    expect(logger.lines.warn![0]!.fields.error).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(logger.lines.info![0]).toMatchObject({ message: 'botwire sync reconnected', fields: { dropped: 2 } });
    expect(await o.sum('botwire.sync.dropped')).toBe(2);
    expect(await o.sum('botwire.sync.resyncs')).toBe(1);
    const publishes = o.spans('botwire.sync.publish');
    expect(publishes).toHaveLength(2);
    expect(publishes[0]!.status.code).toBe(2);
    expect(publishes[0]!.attributes['botwire.sync.topic']).toBe('orders.created');
    await bus.close();
  });

  it('traces deliveries on another instance: handlers run inside botwire.sync.deliver', async () => {
    const o = otelHarness();
    const hub = createMemorySyncHub();
    const a = memorySyncBus({ hub, telemetry: o.telemetry });
    const b = memorySyncBus({ hub, telemetry: o.telemetry });
    const got: unknown[] = [];
    b.subscribe('chat.*', (e) => { got.push(e.data); });
    await Promise.all([a.ready(), b.ready()]);
    await a.publish('chat.7', { text: 'hi' });
    for (let i = 0; i < 50 && got.length === 0; i++) await sleep(2);
    expect(got).toEqual([{ text: 'hi' }]);
    const deliver = o.spans('botwire.sync.deliver').find((s) => s.attributes['botwire.sync.topic'] === 'chat.7');
    expect(deliver).toBeDefined();
    await Promise.all([a.close(), b.close()]);
  });
});

describe('gateway log lines', () => {
  it('warns on a refused upgrade without the token, and counts connections by outcome', async () => {
    const logger = recordingLogger();
    const o = otelHarness();
    const bus = memorySyncBus();
    const gateway = await createSyncGateway({
      bus, port: 0, logger, telemetry: o.telemetry, authorize: (_req, { token }) => (token === 'good' ? { allow: ['**'] } : false),
    });
    const { WebSocket } = await import('ws');
    const open = (token: string): Promise<string> => new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/sync?token=${token}`, 'botwire-sync.v1');
      ws.on('open', () => { ws.close(); resolve('open'); });
      ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      ws.on('error', () => resolve('error'));
    });
    expect(await open('stolen-token-123')).toBe('401');
    expect(await open('good')).toBe('open');
    await sleep(20);
    expect(logger.lines.warn).toHaveLength(1);
    expect(logger.lines.warn![0]!.fields).toMatchObject({ outcome: 'unauthorized', name: '/sync' });
    expect(JSON.stringify(logger.lines)).not.toContain('stolen-token-123');
    expect(await o.sum('botwire.gateway.connections', { 'botwire.gateway.outcome': 'unauthorized' })).toBe(1);
    expect(await o.sum('botwire.gateway.connections', { 'botwire.gateway.outcome': 'accepted' })).toBe(1);
    expect(o.spans('botwire.gateway.connect').map((s) => s.attributes['botwire.gateway.outcome']).sort()).toEqual(['accepted', 'unauthorized']);
    await gateway.close();
    await bus.close();
  });
});
