import { fork } from 'node:child_process';
import type pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryJobBackend } from '../adapters/memory/index.js';
import { postgresJobBackend } from '../adapters/postgres/job-backend.js';
import { redisJobBackend } from '../adapters/redis/job-backend.js';
import type { JobBackend } from '../src/jobs/backend.js';
import { JobQueue } from '../src/jobs/job-queue.js';
import { runDue } from '../src/jobs/run-due.js';
import { Worker } from '../src/jobs/worker.js';
import { otelHarness, parentOf, type OtelHarness } from './support/otel.js';
import { withPgSchema, type PgSchema } from './support/pg-schema.js';
import { deleteKeys } from './support/redis-keys.js';
import { REDIS_URL, needs, uniqueName } from './support/services.js';

/**
 * The add → run trace across two "processes": the adding queue and the running queue are separate
 * objects with separate tracer providers, sharing only the backend's stored job. The run span's
 * parent is the add span, which only the traceparent stored with the job can tell it.
 */
function traceSuite(name: string, backends: () => { adder: JobBackend; runner: JobBackend }): void {
  describe(`job traces on ${name}`, () => {
    it('runs a job under a span whose parent is the add span of another process, with id, name and attempt', async () => {
      const { adder, runner } = backends();
      const producer = otelHarness();
      const consumer = otelHarness();
      const addQueue = new JobQueue(adder, { telemetry: producer.telemetry });
      const runQueue = new JobQueue(runner, { telemetry: consumer.telemetry });
      let handlerParent: string | undefined;
      const job = await producer.tracer.startActiveSpan('update', async (update) => {
        try {
          return await addQueue.add('report', { chatId: 1 });
        } finally {
          update.end();
        }
      });
      const summary = await runDue(runQueue, {
        report: async () => {
          // A span the handler starts (e.g. a fetch) is a child of the run span.
          const own = consumer.tracer.startSpan('handler work');
          handlerParent = parentOf(own as never);
          own.end();
          return 'done';
        },
      }, { budgetMs: 60_000 });
      expect(summary.completed).toBe(1);

      const [update] = producer.spans('update');
      const [add] = producer.spans('botwire.job.add');
      expect(add!.kind).toBe(3); // PRODUCER
      expect(parentOf(add!)).toBe(update!.spanContext().spanId);
      expect(add!.attributes).toMatchObject({ 'botwire.job.id': job.id, 'botwire.job.name': 'report', 'botwire.job.created': true });

      const [run] = consumer.spans('botwire.job.run');
      expect(run!.kind).toBe(4); // CONSUMER
      expect(run!.spanContext().traceId).toBe(add!.spanContext().traceId);
      expect(parentOf(run!)).toBe(add!.spanContext().spanId);
      expect(run!.attributes).toMatchObject({
        'botwire.job.id': job.id, 'botwire.job.name': 'report', 'botwire.job.attempt': 1, 'botwire.job.outcome': 'completed',
      });
      expect(handlerParent).toBe(run!.spanContext().spanId);
      const [complete] = consumer.spans('botwire.job.complete');
      expect(parentOf(complete!)).toBe(run!.spanContext().spanId);
      // The claim that took the job, as a child of its run (nothing is recorded for claims of unrecorded runs).
      const [claim] = consumer.spans('botwire.job.claim');
      expect(claim!.attributes['botwire.job.count']).toBe(1);
      expect(parentOf(claim!)).toBe(run!.spanContext().spanId);
      // What the job looks like to callers does not change.
      expect((await runQueue.get(job.id))!.result).toBe('done');
      await Promise.all([addQueue.close(), runQueue.close()]);
    });

    it('counts outcomes by job name: retry while attempts are left, then failed; marks failed runs as errors', async () => {
      const { adder } = backends();
      const o = otelHarness();
      let now = Date.now();
      const queue = new JobQueue(adder, { telemetry: o.telemetry, now: () => now });
      await queue.add('flaky', {}, { attempts: 2, backoff: { type: 'fixed', delayMs: 1_000 } });
      const handlers = { flaky: () => { throw new Error('upstream 502'); } };
      await runDue(queue, handlers, { budgetMs: 60_000 });
      now += 2_000;
      await runDue(queue, handlers, { budgetMs: 60_000 });
      expect(await o.sum('botwire.job.outcomes', { 'botwire.job.name': 'flaky', 'botwire.job.outcome': 'retry' })).toBe(1);
      expect(await o.sum('botwire.job.outcomes', { 'botwire.job.name': 'flaky', 'botwire.job.outcome': 'failed' })).toBe(1);
      const runs = o.spans('botwire.job.run');
      expect(runs.map((s) => s.attributes['botwire.job.attempt'])).toEqual([1, 2]);
      expect(runs.map((s) => s.status.code)).toEqual([2, 2]); // ERROR
      expect(runs[1]!.status.message).toBe('upstream 502');
      expect(await o.sum('botwire.job.run_time', { 'botwire.job.name': 'flaky' })).toBeGreaterThan(0);
      await queue.close();
    });
  });
}

traceSuite('memory', () => {
  const backend = memoryJobBackend();
  return { adder: backend, runner: backend };
});

describe.runIf(await needs('redis'))('on the shared Redis', () => {
  const run = uniqueName('bwtest_otel');
  let client: Redis;
  let n = 0;
  beforeAll(() => { client = new Redis(REDIS_URL); });
  afterAll(async () => {
    await deleteKeys(client, `{${run}:*`);
    await client.quit();
  });
  it('continues the trace of an add made in another OS process', async () => {
    const prefix = `${run}:fork:`;
    const child = fork('test/fixtures/otel-job-adder.ts', [REDIS_URL, prefix], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const added = await new Promise<{ jobId: string; traceId: string; spanId: string }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as never));
      child.once('exit', (code) => reject(new Error(`the adding process exited with ${code} before reporting`)));
    });
    const o = otelHarness();
    const queue = new JobQueue(redisJobBackend({ client, prefix }), { telemetry: o.telemetry });
    expect((await runDue(queue, { report: () => 'ok' }, { budgetMs: 60_000 })).completed).toBe(1);
    const [span] = o.spans('botwire.job.run');
    expect(span!.attributes['botwire.job.id']).toBe(added.jobId);
    expect(span!.spanContext().traceId).toBe(added.traceId);
    expect(parentOf(span!)).toBe(added.spanId);
  }, 60_000);

  traceSuite('Redis', () => {
    const prefix = `${run}:${++n}:`;
    return { adder: redisJobBackend({ client, prefix }), runner: redisJobBackend({ url: REDIS_URL, prefix }) };
  });
});

describe.runIf(await needs('postgres'))('on the shared Postgres', () => {
  let db: PgSchema<pg.Pool>;
  beforeAll(async () => { db = await withPgSchema('bw_otel', { max: 4 }); });
  afterAll(() => db?.drop());
  traceSuite('Postgres', () => {
    const backend = (): JobBackend => postgresJobBackend({ client: db.client, schema: db.schema, listen: false } as never);
    void db.client.query(`DELETE FROM "${db.schema}".jobs`);
    return { adder: backend(), runner: backend() };
  });
});

describe('job telemetry with sampling off', () => {
  it('records no span and stores no trace context, and still counts outcomes', async () => {
    const o: OtelHarness = otelHarness({ sampled: false });
    const backend = memoryJobBackend();
    const queue = new JobQueue(backend, { telemetry: o.telemetry });
    const job = await queue.add('n', {});
    expect((await backend.get(job.id))!.backoff).not.toContain('"tp"');
    const worker = new Worker(queue, { n: () => 1 }, { pollIntervalMs: 20 });
    for (let i = 0; i < 100 && (await queue.get(job.id))!.state !== 'completed'; i++) await new Promise((r) => setTimeout(r, 10));
    await worker.stop();
    expect(o.spans()).toEqual([]);
    expect(await o.sum('botwire.job.outcomes', { 'botwire.job.outcome': 'completed' })).toBe(1);
  });
});
