/**
 * Several processes through a private PgBouncer in transaction mode: concurrent session updates lose
 * nothing, and SIGKILLed job workers lose no job (every job completes exactly once).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, postgresJobQueue, postgresSessionStore } from '../adapters/postgres/index.js';
import { startPgBouncer, type PrivatePgBouncer } from './support/pgbouncer.js';
import { DATABASE_URL, needs, uniqueName } from './support/services.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const sessionWorker = fileURLToPath(new URL('./fixtures/session-increment-worker.ts', import.meta.url));
const jobWorkerSource = fileURLToPath(new URL('./fixtures/pg-job-worker.ts', import.meta.url));
const jobWorker = `${root}.tmp/pgbouncer-job-worker-${process.pid}.mjs`;
const PROCESSES = 4;
const CYCLES = 250;
const KEYS = 10;
const JOBS = 1_000;

interface WorkerReport { ok: number; failed: number; errors: Record<string, number>; ms: number }

function incrementWorker(url: string, schema: string): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', sessionWorker, '--backend', 'postgres', '--url', url,
      '--prefix-or-schema', schema, '--cycles', String(CYCLES), '--keys', String(KEYS), '--pooled'], { cwd: root });
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

describe.runIf(await needs('postgres'))('several processes through PgBouncer (transaction mode)', () => {
  let bouncer: PrivatePgBouncer;
  let direct: pg.Pool;
  const schema = uniqueName('bw_pgbx');

  beforeAll(async () => {
    mkdirSync(`${root}.tmp`, { recursive: true });
    await build({ entryPoints: [jobWorkerSource], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: jobWorker, logLevel: 'error' });
    bouncer = await startPgBouncer();
    direct = new pg.Pool({ connectionString: DATABASE_URL, max: 3 });
    direct.on('error', () => undefined);
    await migrate(direct, { schema });
  }, 30_000);

  afterAll(async () => {
    await direct?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await direct?.end();
    await bouncer?.stop();
    rmSync(jobWorker, { force: true });
  });

  it(`${PROCESSES} processes × ${CYCLES} concurrent increments on ${KEYS} keys lose none`, async () => {
    const reports = await Promise.all(Array.from({ length: PROCESSES }, () => incrementWorker(bouncer.url, schema)));
    expect(reports.map((r) => r.errors)).toEqual(reports.map(() => ({})));
    const store = postgresSessionStore<number>({ client: direct, schema });
    const records = await store.getMany(Array.from({ length: KEYS }, (_, i) => `counter:${i}`));
    await store.close();
    expect(records.reduce((sum, r) => sum + (r?.data ?? 0), 0)).toBe(PROCESSES * CYCLES);
    for (const r of records) expect(r?.version).toBe(r?.data);
  }, 60_000);

  it(`completes ${JOBS} jobs exactly once while polling workers are SIGKILLed`, async () => {
    await direct.query(`
      CREATE TABLE "${schema}".job_exec (id text PRIMARY KEY, runs integer NOT NULL);
      CREATE TABLE "${schema}".job_completions (id text PRIMARY KEY, n integer NOT NULL);
      CREATE FUNCTION "${schema}".count_completion() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO "${schema}".job_completions (id, n) VALUES (NEW.id, 1)
          ON CONFLICT (id) DO UPDATE SET n = "${schema}".job_completions.n + 1;
        RETURN NEW;
      END $$;
      CREATE TRIGGER count_completion AFTER UPDATE OF state ON "${schema}".jobs FOR EACH ROW
        WHEN (NEW.state = 'completed' AND OLD.state IS DISTINCT FROM 'completed') EXECUTE FUNCTION "${schema}".count_completion();
    `);
    const queue = postgresJobQueue({ client: direct, schema, listen: false });
    await queue.addMany(Array.from({ length: JOBS }, (_, i) => ({
      name: 'work', payload: { i }, options: { attempts: 50, backoff: { type: 'fixed' as const, delayMs: 100 } },
    })));
    const count = async (sql: string): Promise<number> => Number((await direct.query(sql)).rows[0].n);
    const completed = (): Promise<number> => count(`SELECT count(*) AS n FROM "${schema}".jobs WHERE state = 'completed'`);
    const env = { ...process.env, BOTWIRE_POOLED: '1' };
    let child: ChildProcess | undefined;
    let kills = 0;
    const deadline = Date.now() + 30_000;
    while ((await completed()) < JOBS && Date.now() < deadline) {
      child = spawn(process.execPath, [jobWorker, bouncer.url, schema], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise((r) => { child!.stdout!.once('data', r); child!.once('exit', r); });
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 700));
      if ((await completed()) < JOBS) {
        child.kill('SIGKILL');
        kills++;
        await new Promise((r) => child!.once('exit', r));
        child = undefined;
      }
    }
    if (child) {
      const end = Date.now() + 10_000;
      while ((await completed()) < JOBS && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGKILL');
    }
    expect(kills).toBeGreaterThanOrEqual(2);
    expect(await completed()).toBe(JOBS);
    expect(await count(`SELECT count(*) AS n FROM "${schema}".job_completions WHERE n <> 1`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM "${schema}".job_exec`)).toBe(JOBS);
    const rerun = await count(`SELECT count(*) AS n FROM "${schema}".job_exec WHERE runs > 1`);
    console.log(`[pgbouncer crash] ${kills} kills, ${rerun} jobs ran more than once, every job completed exactly once`);
  }, 60_000);
});
