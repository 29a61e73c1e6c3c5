/**
 * `npm run bench -- jobs-cost [--jobs=N] [--runs=N] [--batch=K]`
 *
 * Where the Postgres server's time goes when a queue drains, botwire against graphile-worker 0.17
 * tuned (`localQueue.size: 50`, `completeJobBatchDelay: 0`), on the same Postgres:
 * 1. Drain: N no-op jobs with a 1 KB payload, added in bulk, drained by one worker at concurrency
 *    10. Printed per job: the client's CPU (this process, all threads) and the Postgres server's
 *    CPU (every postgres process on this machine, backends that exited included), read from /proc —
 *    so Postgres must run on this machine.
 * 2. Statements: N jobs claimed K at a time (`job_worker_batch`, as a worker's claim ahead) and each
 *    batch completed at once (`job_complete_many`), on one connection: each statement's time and
 *    WAL per job, and the backend's CPU per job for both. Run on the shipped schema and on variants that drop what keeping
 *    finished jobs costs — the counts triggers; the listing indexes; completing by DELETE, as
 *    graphile-worker does — to show which storage choice costs what.
 * Each figure is the median of `--runs` runs (3).
 */
import { Logger, makeWorkerUtils, run as graphileRun } from 'graphile-worker';
import pg from 'pg';
import { Worker } from 'botwire/jobs';
import { migrate, postgresJobQueue } from 'botwire/postgres';
import { parentPid, processCpuUs, serverCpuUs } from './_postgres-server.js';
import { jobPayload, median } from './_support.js';

const flag = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(flag('jobs') ?? 20_000);
const RUNS = Number(flag('runs') ?? 3);
const K = Number(flag('batch') ?? 30);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const payloads = (): Array<{ i: number; pad: string }> => Array.from({ length: N }, (_, i) => jobPayload(i));

interface Drain { jobsPerSec: number; clientUs: number; serverUs: number }

/** Time N starts of a worker started by `start`; CPU per job of this process and of Postgres. */
async function drain(postmaster: number, start: (onStart: () => void) => Promise<() => Promise<void>>): Promise<Drain> {
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => { finished = r; });
  const cpu0 = process.cpuUsage();
  const pg0 = serverCpuUs(postmaster);
  const t0 = performance.now();
  const stop = await start(() => { if (++done === N) finished(); });
  await all;
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const server = serverCpuUs(postmaster) - pg0;
  await stop();
  return { jobsPerSec: (N / ms) * 1000, clientUs: (cpu.user + cpu.system) / N, serverUs: server / N };
}

async function botwireDrain(admin: pg.Pool, postmaster: number, schema: string): Promise<Drain> {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 6 });
  await migrate(pool, { schema });
  const queue = postgresJobQueue({ client: pool, schema, handlers: { noop: () => null } });
  await queue.addMany(payloads().map((payload) => ({ name: 'noop', payload })));
  await admin.query(`VACUUM ANALYZE "${schema}".jobs`);
  try {
    return await drain(postmaster, async (onStart) => {
      const worker = new Worker(queue, { noop: () => { onStart(); return null; } }, { concurrency: 10 });
      await worker.start();
      return () => worker.stop();
    });
  } finally {
    await queue.close();
    await pool.end();
  }
}

async function graphileDrain(admin: pg.Pool, postmaster: number, schema: string): Promise<Drain> {
  const utils = await makeWorkerUtils({ connectionString: DATABASE_URL, schema });
  await utils.migrate();
  await utils.addJobs(payloads().map((payload) => ({ identifier: 'noop', payload })));
  await admin.query(`VACUUM ANALYZE "${schema}"._private_jobs`);
  try {
    return await drain(postmaster, async (onStart) => {
      const runner = await graphileRun({
        connectionString: DATABASE_URL, schema, concurrency: 10, noHandleSignals: true, pollInterval: 100,
        preset: { worker: { localQueue: { size: 50 }, completeJobBatchDelay: 0 } },
        logger: new Logger(() => () => undefined), taskList: { noop: async () => { onStart(); } },
      });
      return () => runner.stop();
    });
  } finally {
    await utils.release();
  }
}

/** Per job: wall time of the claim and the completion statements, the backend's CPU for both (incl. the WAL reads), WAL bytes. */
interface Statements { claimUs: number; completeUs: number; cpuUs: number; claimWal: number; completeWal: number }

/** A schema variant: statements run after the migration ({s} = the schema), and how a batch completes. */
interface Variant { name: string; alter: string[]; complete?: string }

const NO_TRIGGERS = ['ins', 'upd', 'del'].map((t) => `DROP TRIGGER jobs_counts_${t} ON {s}.jobs`);
const NO_LISTING = ['jobs_list_idx', 'jobs_list_state_idx', 'jobs_finished_idx'].map((i) => `DROP INDEX {s}.${i}`);
const BY_DELETE = 'DELETE FROM {s}.jobs AS j USING ROWS FROM (unnest($1::text[]), unnest($2::text[])) AS c(id, token) '
  + 'WHERE j.id = c.id AND j.lease_token = c.token AND $3::text[] IS NOT NULL AND $4::float8 > 0';
const VARIANTS: Variant[] = [
  { name: 'as shipped', alter: [] },
  { name: 'without the counts triggers', alter: NO_TRIGGERS },
  { name: 'without the listing indexes', alter: NO_LISTING },
  { name: 'without both', alter: [...NO_TRIGGERS, ...NO_LISTING] },
  { name: 'without both, completed by DELETE', alter: [...NO_TRIGGERS, ...NO_LISTING], complete: BY_DELETE },
];

async function statements(admin: pg.Pool, schema: string, v: Variant): Promise<Statements> {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  await migrate(pool, { schema });
  for (const q of v.alter) await admin.query(q.replaceAll('{s}', `"${schema}"`));
  const queue = postgresJobQueue({ client: pool, schema, handlers: { noop: () => null } });
  await queue.addMany(payloads().map((payload) => ({ name: 'noop', payload })));
  await queue.close();
  await admin.query(`VACUUM ANALYZE "${schema}".jobs`);
  const c = await pool.connect();
  try {
    const pid = (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p as number;
    const walAt = async (): Promise<number> => Number((await c.query(`SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn AS b`)).rows[0].b);
    const claim = `SELECT (r.job).id FROM "${schema}".job_worker_batch('{}', '{}', '{}', $1::float8, '{}', '{}', '{}', '{noop}', $2::int, 1e9, $3, 30000, 'w', NULL, true) AS r`;
    const complete = (v.complete ?? 'SELECT id FROM {s}.job_complete_many($1::text[], $2::text[], $3::text[], $4::float8)').replaceAll('{s}', `"${schema}"`);
    const t = { claimMs: 0, completeMs: 0, claimWal: 0, completeWal: 0 };
    // The split between claim and complete is by each statement's wall time on this connection.
    const cpu0 = processCpuUs(pid);
    for (let i = 0; ; i++) {
      let wal = await walAt();
      let at = performance.now();
      const { rows } = await c.query({ name: 'claim', text: claim, values: [Date.now(), K, `t${i}`] });
      t.claimMs += performance.now() - at;
      t.claimWal += (await walAt()) - wal;
      if (rows.length === 0) break;
      const ids = rows.map((r) => r.id as string);
      wal = await walAt();
      at = performance.now();
      await c.query({ name: 'complete', text: complete, values: [ids, ids.map(() => `t${i}`), ids.map(() => 'null'), Date.now()] });
      t.completeMs += performance.now() - at;
      t.completeWal += (await walAt()) - wal;
    }
    return {
      claimUs: (t.claimMs * 1000) / N, completeUs: (t.completeMs * 1000) / N, cpuUs: (processCpuUs(pid) - cpu0) / N,
      claimWal: t.claimWal / N, completeWal: t.completeWal / N,
    };
  } finally {
    c.release();
    await pool.end();
  }
}

async function main(): Promise<void> {
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  // The server's CPU: its postmaster (a backend's parent), its live processes and those that exited.
  const postmaster = parentPid((await admin.query('SELECT pg_backend_pid() AS p')).rows[0].p as number);
  const schemas: string[] = [];
  const fresh = (): string => { const s = `bwcost_${process.pid}_${schemas.length}`; schemas.push(s); return s; };
  const drains: Record<string, Drain[]> = { botwire: [], 'graphile-worker 0.17 tuned': [] };
  const stmts = new Map<string, Statements[]>(VARIANTS.map((v) => [v.name, []]));
  console.log(`${N} jobs, ${RUNS} run(s), statements in batches of ${K}`);
  try {
    for (let run = 0; run < RUNS; run++) {
      drains.botwire!.push(await botwireDrain(admin, postmaster, fresh()));
      drains['graphile-worker 0.17 tuned']!.push(await graphileDrain(admin, postmaster, fresh()));
      for (const v of VARIANTS) stmts.get(v.name)!.push(await statements(admin, fresh(), v));
      console.log(`run ${run + 1}/${RUNS} done`);
    }
  } finally {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch(() => undefined);
    await admin.end();
  }
  const med = <T>(xs: T[], f: (x: T) => number): number => median(xs.map(f));
  console.log('\n| drain, concurrency 10 | jobs/s | client CPU µs/job | Postgres CPU µs/job |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const [name, xs] of Object.entries(drains)) {
    console.log(`| ${name} | ${Math.round(med(xs, (x) => x.jobsPerSec)).toLocaleString('en-US')} | ${med(xs, (x) => x.clientUs).toFixed(1)} | ${med(xs, (x) => x.serverUs).toFixed(1)} |`);
  }
  const b = drains.botwire!;
  const g = drains['graphile-worker 0.17 tuned']!;
  console.log(`\nbotwire ÷ graphile-worker tuned: ${(med(b, (x) => x.jobsPerSec) / med(g, (x) => x.jobsPerSec)).toFixed(2)}× jobs/s; `
    + `Postgres CPU per job ${(med(b, (x) => x.serverUs) / med(g, (x) => x.serverUs)).toFixed(2)}× graphile's`);
  console.log(`\n| botwire schema, per job | claim µs | complete µs | both µs | backend CPU µs | claim WAL B | complete WAL B |`);
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, xs] of stmts) {
    const claim = med(xs, (x) => x.claimUs);
    const complete = med(xs, (x) => x.completeUs);
    console.log(`| ${name} | ${claim.toFixed(1)} | ${complete.toFixed(1)} | ${(claim + complete).toFixed(1)} | ${med(xs, (x) => x.cpuUs).toFixed(1)} | ${Math.round(med(xs, (x) => x.claimWal))} | ${Math.round(med(xs, (x) => x.completeWal))} |`);
  }
}

await main();
