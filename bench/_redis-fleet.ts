/**
 * The fleet cases of bench/jobs-redis.ts: a name limited to 3 running at once across 4 workers
 * (botwire `limits` vs BullMQ `queue.setGlobalConcurrency(3)`), and one bulk add of many jobs
 * (botwire `addMany` vs BullMQ `addBulk`). Each side's workers are in-process objects on their own
 * connections, as separate instances would be.
 */
import { Queue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { Worker } from 'botwire/jobs';
import { redisJobQueue } from 'botwire/redis';
import { jobPayload } from './_support.js';

/** One library's side of the fleet cases. */
export interface FleetImpl {
  name: string;
  /** Add `n` jobs in one bulk call of the library (it chunks as it does). */
  addMany(n: number): Promise<void>;
  /** Start `workers` workers × `concurrency` on a name limited to 3 fleet-wide; resolves when all are ready. */
  startLimited(workers: number, concurrency: number, onRun: () => void): Promise<{ stop(): Promise<void> }>;
  close(): Promise<void>;
}

const LIMIT = 3;

export function botwireFleet(url: string, prefix: string): FleetImpl {
  const clients: Redis[] = [];
  const open = (): Redis => { const c = new Redis(url); clients.push(c); return c; };
  const options = { prefix, limits: { noop: { concurrency: LIMIT } }, defaultTimeoutMs: 60_000 };
  const queue = redisJobQueue({ ...options, client: open(), handlers: { noop: () => null } });
  return {
    name: 'botwire',
    async addMany(n) {
      await queue.addMany(Array.from({ length: n }, (_, i) => ({ name: 'noop', payload: jobPayload(i) })));
    },
    async startLimited(workers, concurrency, onRun) {
      const started = Array.from({ length: workers }, () =>
        new Worker(redisJobQueue({ ...options, client: open() }), { noop: () => { onRun(); return null; } }, { concurrency, autostart: false }));
      await Promise.all(started.map((w) => w.start()));
      return { stop: async () => { await Promise.all(started.map((w) => w.stop())); } };
    },
    async close() {
      await queue.close();
      await Promise.all(clients.map((c) => c.quit()));
    },
  };
}

export function bullmqFleet(url: string, prefix: string): FleetImpl {
  const u = new URL(url);
  const connection = { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
  const queue = new Queue('bench', { connection, prefix });
  return {
    name: 'BullMQ 6',
    async addMany(n) {
      await queue.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'noop', data: jobPayload(i) })));
    },
    async startLimited(workers, concurrency, onRun) {
      await queue.setGlobalConcurrency(LIMIT);
      const started = Array.from({ length: workers }, () =>
        new BullWorker('bench', async () => { onRun(); return null; }, { connection, prefix, concurrency }));
      await Promise.all(started.map((w) => w.waitUntilReady()));
      return { stop: async () => { await Promise.all(started.map((w) => w.close())); } };
    },
    async close() { await queue.close(); },
  };
}
