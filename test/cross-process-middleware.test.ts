/**
 * 4 OS processes, each a real bot with botwire's session middleware, receive 1,000 updates for 10
 * chats concurrently; every update increments its chat's counter. With 'serialize' none may be
 * lost; with 'optimistic' each either lands or raises SessionConflictError (never a silent loss).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresSessionStore } from '../adapters/postgres/index.js';
import { redisSessionStore } from '../adapters/redis/index.js';
import type { SessionStore } from '../src/session/session-store.js';
import type { Configure } from './fixtures/grammy-bot-worker.js';
import { withPgSchema, type PgSchema } from './support/pg-schema.js';
import { textUpdate } from './support/telegram.js';
import { DATABASE_URL, needs, REDIS_URL, uniqueName } from './support/services.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const script = fileURLToPath(new URL('./fixtures/grammy-bot-worker.ts', import.meta.url));
const PROCESSES = 4;
const UPDATES = 1_000;
const CHATS = 10;

interface FleetResult { ok: number; conflict: number; errors: string[]; base: number }
interface Worker { child: ChildProcess; results: Map<number, (r: { outcome: string; message?: string }) => void> }

function once(child: ChildProcess, type: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string; message?: string }): void => {
      if (m.type === type) { child.off('message', onMessage); resolve(); }
      else if (m.type === 'error') { child.off('message', onMessage); reject(new Error(m.message)); }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

async function startWorker(): Promise<Worker> {
  const child = fork(script, [], { cwd: root, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const worker: Worker = { child, results: new Map() };
  const ready = once(child, 'ready');
  child.on('message', (m: { type: string; id: number; outcome: string; message?: string }) => {
    if (m.type !== 'result') return;
    worker.results.get(m.id)?.(m);
    worker.results.delete(m.id);
  });
  await ready;
  return worker;
}

/** Configure every worker, deliver the updates concurrently across them, count the outcomes. */
async function runFleet(workers: Worker[], config: Omit<Configure, 'type'>): Promise<FleetResult> {
  await Promise.all(workers.map(async (w) => {
    const configured = once(w.child, 'configured');
    w.child.send({ type: 'configure', ...config });
    await configured;
  }));
  const base = 7_000_000 + Math.floor(Math.random() * 1_000_000) * 100;
  const outcomes = await Promise.all(Array.from({ length: UPDATES }, (_, id) => {
    const w = workers[id % PROCESSES]!;
    return new Promise<{ outcome: string; message?: string }>((resolve) => {
      w.results.set(id, resolve);
      w.child.send({ type: 'update', id, update: textUpdate(base + (id % CHATS), 'inc') });
    });
  }));
  const count = (o: string): number => outcomes.filter((r) => r.outcome === o).length;
  return { ok: count('ok'), conflict: count('conflict'), errors: outcomes.filter((r) => r.outcome === 'error').map((r) => r.message!).slice(0, 3), base };
}

async function total(store: SessionStore<unknown>, base: number, key: (chat: number) => string): Promise<number> {
  const records = await store.getMany(Array.from({ length: CHATS }, (_, i) => key(base + i)));
  return records.reduce((sum, r) => sum + ((r?.data as { count: number } | undefined)?.count ?? 0), 0);
}

const redisUp = await needs('redis');
const postgresUp = await needs('postgres');

describe.runIf(redisUp && postgresUp)(`${PROCESSES} bot processes × ${UPDATES} concurrent updates on ${CHATS} chats`, () => {
  let workers: Worker[] = [];
  let db: PgSchema<pg.Pool> | undefined;
  let schema = '';
  const prefix = `${uniqueName('xmw')}:`;
  let redisStore: SessionStore<unknown>;
  let pgStore: SessionStore<unknown>;

  beforeAll(async () => {
    [workers, db] = await Promise.all([Promise.all(Array.from({ length: PROCESSES }, startWorker)), withPgSchema('bw_xmw', { max: 4 })]);
    schema = db.schema;
    redisStore = redisSessionStore({ url: REDIS_URL, prefix });
    pgStore = postgresSessionStore({ client: db.client, schema });
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) w.child.send({ type: 'exit' });
    await Promise.all(workers.map((w) => new Promise((r) => (w.child.exitCode !== null ? r(null) : w.child.once('exit', r)))));
    await redisStore?.close();
    await pgStore?.close();
    await db?.drop();
  });

  for (const framework of ['grammy', 'telegraf'] as const) {
    // grammY keys by chat id; Telegraf by `${from.id}:${chat.id}` (here from = chat).
    const key = framework === 'grammy' ? (c: number) => String(c) : (c: number) => `${c}:${c}`;
    for (const backend of ['redis', 'postgres'] as const) {
      const url = backend === 'redis' ? REDIS_URL : DATABASE_URL;
      const space = (): string => (backend === 'redis' ? prefix : schema);
      const store = (): SessionStore<unknown> => (backend === 'redis' ? redisStore : pgStore);

      it(`${framework} on ${backend}, 'serialize': exactly ${UPDATES} increments`, async () => {
        const r = await runFleet(workers, { framework, backend, mode: 'serialize', url, space: space() });
        expect(r.errors).toEqual([]);
        expect(r.ok).toBe(UPDATES);
        expect(await total(store(), r.base, key)).toBe(UPDATES);
      }, 60_000);

      it(`${framework} on ${backend}, 'optimistic': landed + SessionConflictError = ${UPDATES}`, async () => {
        const r = await runFleet(workers, { framework, backend, mode: 'optimistic', url, space: space() });
        expect(r.errors).toEqual([]);
        expect(r.ok + r.conflict).toBe(UPDATES);
        expect(r.conflict).toBeGreaterThan(0);
        expect(await total(store(), r.base, key)).toBe(r.ok);
      }, 60_000);
    }
  }
});
