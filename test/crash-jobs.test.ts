import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresJobQueue } from '../adapters/postgres/job-backend.js';
import { withPgSchema, type PgSchema } from './support/pg-schema.js';
import { DATABASE_URL, needs } from './support/services.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const workerSource = fileURLToPath(new URL('./fixtures/pg-job-worker.ts', import.meta.url));
// Bundled once up front: a worker started through tsx needs seconds to boot on a loaded machine,
// which would leave it little time to run between kills.
const workerFile = `${root}.tmp/crash-jobs-worker-${process.pid}.mjs`;
const JOBS = 2_000;
const KILL_EVERY_MS = 2_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.runIf(await needs('postgres'))('crash safety on Postgres', () => {
  let db: PgSchema<pg.Pool>;
  let pool: pg.Pool;
  let schema: string;

  beforeAll(async () => {
    mkdirSync(`${root}.tmp`, { recursive: true });
    await build({ entryPoints: [workerSource], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: workerFile, logLevel: 'error' });
    db = await withPgSchema('bw_crash', { max: 4 });
    ({ client: pool, schema } = db);
    // Count every transition into `completed`: a job completed twice would show up as 2.
    await pool.query(`
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
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(workerFile, { force: true });
  });

  it(`completes ${JOBS} jobs exactly once while the worker is SIGKILLed every ~2 s`, async () => {
    const queue = postgresJobQueue({ client: pool, schema, listen: false });
    // Plenty of attempts: a job may be in flight at several kills; backoff short to keep the test quick.
    for (let i = 0; i < JOBS; i += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, k) =>
        queue.add('work', { i: i + k }, { attempts: 50, backoff: { type: 'fixed', delayMs: 100 } })));
    }
    const count = async (sql: string): Promise<number> => Number((await pool.query(sql)).rows[0].n);
    const completed = (): Promise<number> => count(`SELECT count(*) AS n FROM "${schema}".jobs WHERE state = 'completed'`);

    let child: ChildProcess | undefined;
    let kills = 0;
    const deadline = Date.now() + 45_000;
    while ((await completed()) < JOBS && Date.now() < deadline) {
      child = spawn(process.execPath, [workerFile, DATABASE_URL, schema], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      // Kill ~2 s after the worker is up (its start-up time varies a lot on a loaded machine).
      await new Promise((r) => { child!.stdout!.once('data', r); child!.once('exit', r); });
      // The first two kills come early (0.5–1 s, a few hundred jobs each at ~400 jobs/s), so the
      // run always spans at least two kills; later ones at random points ~1–3 s in.
      await new Promise((r) => setTimeout(r, KILL_EVERY_MS * (kills < 2 ? 0.25 + 0.25 * Math.random() : 0.5 + Math.random())));
      if ((await completed()) < JOBS) {
        child.kill('SIGKILL');
        kills++;
        await new Promise((r) => child!.once('exit', r));
        child = undefined;
      }
    }
    // The last worker may still hold leases of jobs it finished; let it drain, then stop it.
    if (child) {
      const end = Date.now() + 10_000;
      while ((await completed()) < JOBS && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGKILL');
    }

    // Handlers take 10–40 ms, so 2,000 jobs span several kill cycles even on an idle machine.
    expect(kills).toBeGreaterThanOrEqual(2);
    expect(await completed()).toBe(JOBS);
    expect(await count(`SELECT count(*) AS n FROM "${schema}".jobs WHERE state <> 'completed'`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM "${schema}".job_completions`)).toBe(JOBS);
    expect(await count(`SELECT count(*) AS n FROM "${schema}".job_completions WHERE n <> 1`)).toBe(0);
    // At-least-once: every job ran, some more than once (their worker died mid-run).
    expect(await count(`SELECT count(*) AS n FROM "${schema}".job_exec`)).toBe(JOBS);
    const rerun = await count(`SELECT count(*) AS n FROM "${schema}".job_exec WHERE runs > 1`);
    console.log(`[crash-jobs] ${kills} kills, ${rerun} jobs ran more than once, every job completed exactly once`);
  }, 60_000);

  it('fails no job that never started when workers are SIGKILLed (attempts: 1)', async () => {
    await pool.query(`DELETE FROM "${schema}".jobs; DELETE FROM "${schema}".job_exec; DELETE FROM "${schema}".job_completions`);
    const total = 150;
    // Every start, appended synchronously by the handler before it does anything else.
    const log = `${root}.tmp/crash-jobs-starts-${process.pid}.log`;
    writeFileSync(log, '');
    const started = (): string[] => readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const queue = postgresJobQueue({ client: pool, schema, listen: false });
    await Promise.all(Array.from({ length: total }, (_, i) => queue.add('work', { i }, { id: `once-${i}`, attempts: 1 })));
    const finished = async (): Promise<number> =>
      Number((await pool.query(`SELECT count(*) AS n FROM "${schema}".jobs WHERE state IN ('completed', 'failed')`)).rows[0].n);
    const spawnWorker = (): Promise<ChildProcess> => new Promise((resolve) => {
      const child = spawn(process.execPath, [workerFile, DATABASE_URL, schema, log], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      child.stdout!.once('data', () => resolve(child));
    });
    const kill = async (child: ChildProcess): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    };
    // Two workers die while busy (every slot taken, completions claiming the next jobs ahead);
    // the third drains what is left once the dead workers' 1 s leases lapse.
    const t0 = Date.now();
    let child = await spawnWorker();
    try {
      for (const killAt of [30, 70]) {
        while (started().length < killAt && Date.now() - t0 < 20_000) await sleep(5);
        await kill(child);
        child = await spawnWorker();
      }
      while ((await finished()) < total && Date.now() - t0 < 25_000) await sleep(100);
    } finally {
      await kill(child);
    }

    const runs = new Map<string, number>();
    for (const id of started()) runs.set(id, (runs.get(id) ?? 0) + 1);
    const { rows } = await pool.query(`
      SELECT j.id, j.state, j.attempts, COALESCE(r.returns, 0) AS returns
        FROM "${schema}".jobs AS j LEFT JOIN "${schema}".job_ahead_returns AS r ON r.id = j.id`);
    const jobs = rows as Array<{ id: string; state: string; attempts: number; returns: number }>;
    expect(jobs).toHaveLength(total);
    // The defect this guards against: a job claimed (ahead or not), never started, failed by the reclaim.
    expect(jobs.filter((j) => j.state === 'failed' && !runs.has(j.id)).map((j) => j.id)).toEqual([]);
    expect(jobs.filter((j) => j.state !== 'completed' && j.state !== 'failed').map((j) => `${j.id}:${j.state}`)).toEqual([]);
    for (const j of jobs) {
      // Ran once; a second run only after a hand-back that did not count (a start the dead worker
      // had not recorded yet), and never more often than such hand-backs allow.
      expect(runs.get(j.id) ?? 0, j.id).toBeGreaterThanOrEqual(1);
      expect(runs.get(j.id) ?? 0, j.id).toBeLessThanOrEqual(1 + Number(j.returns));
    }
    const failed = jobs.filter((j) => j.state === 'failed').length;
    const returned = jobs.reduce((n, j) => n + Number(j.returns), 0);
    const twice = [...runs.values()].filter((n) => n > 1).length;
    console.log(`[crash-jobs attempts:1] ${failed} failed mid-run, ${returned} handed back uncounted, ${twice} ran twice, ${Date.now() - t0} ms`);
    rmSync(log, { force: true });
  }, 40_000);
});
