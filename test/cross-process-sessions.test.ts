import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { DATABASE_URL, REDIS_URL, needs, uniqueName } from './support/services.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/session-increment-worker.ts', import.meta.url));
const PROCESSES = 4;
const CYCLES = 250;
const KEYS = 10;

interface WorkerReport { ok: number; failed: number; errors: Record<string, number>; ms: number }

type Backend = 'redis' | 'postgres' | 'supabase';

function runWorker(backend: Backend, url: string, space: string, extra: string[] = []): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, '--backend', backend, '--url', url,
      '--prefix-or-schema', space, '--cycles', String(CYCLES), '--keys', String(KEYS), ...extra], { cwd: root });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('exit', () => {
      const line = out.trim().split('\n').pop();
      try { resolve(JSON.parse(line ?? '') as WorkerReport); } catch { reject(new Error(`worker printed no report: ${out}\n${err}`)); }
    });
  });
}

async function runFleet(backend: Backend, url: string, space: string, extra: string[] = []): Promise<WorkerReport[]> {
  return Promise.all(Array.from({ length: PROCESSES }, () => runWorker(backend, url, space, extra)));
}

const counters = Array.from({ length: KEYS }, (_, i) => `counter:${i}`);

describe.runIf(await needs('redis'))('cross-process lease serialization on Redis', () => {
  const prefix = `${uniqueName('bwtest_xproc')}:`;
  afterAll(async () => {
    const client = new Redis(REDIS_URL);
    const keys = await client.keys(`${prefix}*`);
    if (keys.length) await client.del(...keys);
    await client.quit();
  });

  it(`${PROCESSES} processes × ${CYCLES} concurrent increments on ${KEYS} keys lose none`, async () => {
    const reports = await runFleet('redis', REDIS_URL, prefix);
    expect(reports.map((r) => r.errors)).toEqual(reports.map(() => ({})));
    const { redisSessionStore } = await import('../adapters/redis/index.js');
    const store = redisSessionStore<number>({ url: REDIS_URL, prefix });
    const records = await store.getMany(counters);
    await store.close();
    expect(records.reduce((sum, r) => sum + (r?.data ?? 0), 0)).toBe(PROCESSES * CYCLES);
    for (const r of records) expect(r?.version).toBe(r?.data);
  }, 120_000);
});

// Enabled once the Postgres adapter is in the tree (adapters/postgres/index.ts).
const postgresAdapter = existsSync(fileURLToPath(new URL('../adapters/postgres/index.ts', import.meta.url)));
describe.runIf(postgresAdapter && (await needs('postgres')))('cross-process lease serialization on Postgres', () => {
  it(`${PROCESSES} processes × ${CYCLES} concurrent increments on ${KEYS} keys lose none`, async () => {
    const { postgresSessionStore } = await import('../adapters/postgres/index.js');
    const { withPgSchema } = await import('./support/pg-schema.js');
    const { client: pool, schema, drop } = await withPgSchema('bwtest_xproc');
    try {
      const reports = await runFleet('postgres', DATABASE_URL, schema);
      expect(reports.map((r) => r.errors)).toEqual(reports.map(() => ({})));
      const store = postgresSessionStore<number>({ client: pool, schema });
      const records = await store.getMany(counters);
      await store.close();
      expect(records.reduce((sum, r) => sum + (r?.data ?? 0), 0)).toBe(PROCESSES * CYCLES);
      for (const r of records) expect(r?.version).toBe(r?.data);
    } finally {
      await drop();
    }
  }, 120_000);
});

describe.runIf(await needs('postgres'))('cross-process lease serialization on Supabase (supabase-js → PostgREST double → Postgres)', () => {
  it(`${PROCESSES} processes × ${CYCLES} concurrent increments on ${KEYS} keys lose none (waiters poll: no LISTEN over HTTP)`, async () => {
    const { supabaseSessionStore } = await import('../adapters/supabase/index.js');
    const { withSupabase } = await import('./support/supabase.js');
    const s = await withSupabase('bwtest_xproc_supa', { poolSize: 20 });
    try {
      const reports = await runFleet('supabase', s.double.url, s.schema, ['--key', s.double.serviceKey]);
      expect(reports.map((r) => r.errors)).toEqual(reports.map(() => ({})));
      const store = supabaseSessionStore<number>({ client: s.client, schema: s.schema });
      const records = await store.getMany(counters);
      expect(records.reduce((sum, r) => sum + (r?.data ?? 0), 0)).toBe(PROCESSES * CYCLES);
      for (const r of records) expect(r?.version).toBe(r?.data);
      console.log(`supabase: ${s.double.requests.total} HTTP requests for ${PROCESSES * CYCLES} increments; worker ms ${reports.map((r) => r.ms).join(', ')}`);
    } finally {
      await s.drop();
    }
  }, 180_000);
});
