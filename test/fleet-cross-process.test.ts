/**
 * The fleet acceptance scenarios (botwire/testing fleet-scenarios) across OS processes: worker
 * processes (test/fixtures/fleet-worker.ts) on their own connections, runs recorded with
 * timestamps in a shared append-only log file, checked by the scenario. Written once for every
 * backend in test/support/fleet-backends.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fairnessScenario, limitScenario, rateScenario, semaphoreScenario, type CheckOptions, type FleetScenario, type ScenarioEvent,
  type ScenarioReport,
} from '../src/testing/fleet-scenarios.js';
import { fleetBackends, type FleetBackendKind } from './support/fleet-backends.js';
import { needs } from './support/services.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// Bundled once: a worker started through tsx needs seconds to boot on a loaded machine.
const workerFile = `${root}.tmp/fleet-worker-${process.pid}.mjs`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function readLog(file: string): ScenarioEvent[] {
  if (!existsSync(file)) return [];
  // Workers append whole lines, but a read racing an append may see the newest line half written:
  // only lines that already end in a newline are complete.
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop();
  return lines.filter(Boolean).map((line) => JSON.parse(line) as ScenarioEvent);
}

/** Runs `worker` started and has not ended yet. */
function openRuns(events: readonly ScenarioEvent[], worker: string): number {
  const mine = events.filter((e) => e.worker === worker);
  return mine.filter((e) => e.kind === 'start').length - mine.filter((e) => e.kind === 'end').length;
}

interface Options {
  scenario?: object;
  /** Queue options of every process, beside the scenario's. */
  queue?: object;
  /** Worker options of every worker process, beside the scenario's. */
  worker?: object;
  /** SIGKILL the worker running the most jobs once this many runs ended. */
  killAfter?: number;
  timeoutMs?: number;
}

/** Start the scenario's workers as processes, enqueue from this one, wait for its end, check it. */
async function acrossProcesses(kind: string, name: 'limit' | 'rate' | 'fairness', make: (o: object) => FleetScenario, o: Options = {}): Promise<ScenarioReport> {
  const backend: FleetBackendKind = fleetBackends[kind]!;
  const storage = await backend.setup();
  const conn = backend.open(storage.config);
  const scenario = make(o.scenario ?? {});
  const logFile = `${root}.tmp/fleet-log-${process.pid}-${Math.random().toString(36).slice(2)}.jsonl`;
  const children: ChildProcess[] = [];
  const killed: NonNullable<CheckOptions['killed']> = {};
  let victim: string | undefined;
  try {
    for (let i = 0; i < scenario.workers; i++) {
      const args = [kind, storage.config, name, JSON.stringify({ scenario: o.scenario, queue: o.queue, worker: o.worker }), `w${i}`, logFile];
      children.push(fork(workerFile, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
    }
    await Promise.all(children.map((c) => new Promise((resolve, reject) => {
      c.once('message', resolve);
      c.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
    })));
    await scenario.enqueue(conn.queue({ ...scenario.queueOptions, ...o.queue, onError: () => {} }));
    const end = Date.now() + (o.timeoutMs ?? 45_000);
    for (let events = readLog(logFile); !scenario.isDone(events); events = readLog(logFile)) {
      // Killed while it runs a job (the worker with the most open runs): those runs' slots stay
      // taken until their leases lapse.
      if (o.killAfter !== undefined && victim === undefined && events.filter((e) => e.kind === 'end').length >= o.killAfter) {
        const open = children.map((_, i) => openRuns(events, `w${i}`));
        const busiest = open.indexOf(Math.max(...open));
        if (open[busiest]! > 0) {
          children[busiest]!.kill('SIGKILL');
          victim = `w${busiest}`;
          killed[victim] = Date.now();
        }
      }
      if (Date.now() > end) throw new Error(`${scenario.title}: not done after ${o.timeoutMs ?? 45_000} ms`);
      await sleep(20);
    }
    const events = readLog(logFile);
    const report = scenario.check(events, { killed });
    if (victim !== undefined) report.killedRuns = openRuns(events, victim);
    return report;
  } finally {
    await Promise.all(children.map((c) => new Promise((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve(undefined);
      c.once('exit', resolve);
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 5_000).unref();
    })));
    await conn.close();
    await storage.teardown();
    rmSync(logFile, { force: true });
  }
}

/** The semaphore scenario: one holder per process, all started together. */
async function semaphoreAcrossProcesses(kind: string): Promise<ScenarioReport> {
  const backend = fleetBackends[kind]!;
  const storage = await backend.setup();
  const logFile = `${root}.tmp/fleet-log-${process.pid}-${Math.random().toString(36).slice(2)}.jsonl`;
  const children = Array.from({ length: semaphoreScenario.holders }, (_, i) =>
    fork(workerFile, [kind, storage.config, 'semaphore', '{}', `h${i}`, logFile], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  try {
    await Promise.all(children.map((c) => new Promise((r) => c.once('message', r))));
    const exits = children.map((c) => new Promise<number | null>((r) => c.once('exit', r)));
    for (const c of children) c.send('go');
    expect(await Promise.all(exits)).toEqual(children.map(() => 0));
    return semaphoreScenario.check(readLog(logFile));
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await storage.teardown();
    rmSync(logFile, { force: true });
  }
}

beforeAll(async () => {
  mkdirSync(`${root}.tmp`, { recursive: true });
  await build({ entryPoints: [`${root}test/fixtures/fleet-worker.ts`], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: workerFile, logLevel: 'error' });
});
afterAll(() => { rmSync(workerFile, { force: true }); });

for (const [kind, backend] of Object.entries(fleetBackends)) {
  describe.runIf(await needs(backend.service))(`fleet scenarios across processes on ${kind}`, () => {
    it('runs 200 jobs of a name limited to 3 on 4 processes × 5 with exactly 3 at once at the peak', async () => {
      expect(await acrossProcesses(kind, 'limit', limitScenario)).toMatchObject({ peak: 3, finished: 200 });
    }, 60_000);

    it('stays at 3 and completes every job when a worker process is SIGKILLed mid-run', async () => {
      // A short lease and quick maintenance: the killed worker's slots free and its jobs come back soon.
      const report = await acrossProcesses(kind, 'limit', limitScenario, {
        scenario: { leaseMs: 1_000 }, queue: { defaultBackoff: { type: 'fixed', delayMs: 50 } }, worker: { maintenanceIntervalMs: 300 },
        killAfter: 60,
      });
      expect(report).toMatchObject({ peak: 3, finished: 200 });
      expect(report.killedRuns).toBeGreaterThan(0);
    }, 60_000);

    it('starts no more than 10 jobs in any second under rate 10/s (50 jobs, 3 processes)', async () => {
      const report = await acrossProcesses(kind, 'rate', rateScenario);
      expect(report).toMatchObject({ peak: 10, finished: 50 });
    }, 60_000);

    it('finishes every job of groups B…K before group A is 25 % done (2 processes × 4)', async () => {
      const report = await acrossProcesses(kind, 'fairness', fairnessScenario);
      expect(report.aDoneWhenOthersFinished).toBeLessThan(250);
      expect(report.peakA).toBe(1);
    }, 60_000);

    it('keeps 4 processes × 50 acquisitions to 3 semaphore holders at once', async () => {
      expect(await semaphoreAcrossProcesses(kind)).toMatchObject({ peak: 3, finished: 200 });
    }, 60_000);
  });
}
