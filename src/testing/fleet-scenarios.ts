/**
 * The acceptance scenarios of fleet-wide limits, groups and semaphores, as a harness that runs the
 * same scenario in one process (several `Worker` objects on one backend: {@link runFleetScenario})
 * or across OS processes: each worker process builds its queue with `scenario.queueOptions`,
 * runs `new Worker(queue, scenario.handlers(log, id), scenario.workerOptions)` and appends to a
 * shared {@link ScenarioLog} (a Redis list, a table, a file); the driver calls
 * `scenario.enqueue(queue)`, waits until `scenario.isDone(await log.read())`, and calls
 * `scenario.check(events, { killed })`, which throws an `Error` naming the first violation.
 *
 * @module
 */
import type { JobQueue, JobQueueOptions } from '../jobs/job-queue.js';
import type { Semaphore } from '../jobs/semaphore.js';
import type { JobHandlers } from '../jobs/types.js';
import { Worker, type WorkerOptions } from '../jobs/worker.js';
import { peakInWindow, peakOverlap, sleep } from './job-contract-support.js';

/** One record of a run: its start (`end` undefined) or its end. Times are epoch ms (`Date.now()`). */
export interface ScenarioEvent {
  kind: 'start' | 'end';
  /** The job id (or `<holder>:<n>` for a semaphore acquisition). */
  id: string;
  /** The worker (process) that ran it. */
  worker: string;
  at: number;
  /** The job's group, if any. */
  group?: string | undefined;
  /** When the claim that started the run counted it (the job's `startedAt`), for rate windows. */
  claimedAt?: number | undefined;
}

/** Where workers record their runs; shared by all processes of a cross-process run. */
export interface ScenarioLog {
  append(event: ScenarioEvent): void | Promise<void>;
  read(): ScenarioEvent[] | Promise<ScenarioEvent[]>;
}

/** What a scenario's check measured. */
export interface ScenarioReport {
  /** Most runs (or holders) at the same moment. */
  peak: number;
  /** Jobs (acquisitions) that finished. */
  finished: number;
  /** Scenario-specific figures. */
  [figure: string]: number;
}

/** Options of {@link FleetScenario.check}. */
export interface CheckOptions {
  /** Workers killed during the run → when: their unfinished runs end at that moment. */
  killed?: Record<string, number>;
}

/** A job scenario: see the module comment for how to run it. */
export interface FleetScenario {
  readonly title: string;
  /** Options of every queue (driver and workers); add your adapter's own. */
  readonly queueOptions: JobQueueOptions;
  /** How many workers (processes) to start, and their options. */
  readonly workers: number;
  readonly workerOptions: WorkerOptions;
  /** The handlers of one worker, recording into `log` as `worker`. */
  handlers(log: ScenarioLog, worker: string): JobHandlers;
  /** Add the scenario's jobs (once, from the driver). */
  enqueue(queue: JobQueue): Promise<void>;
  /** Whether the log shows the scenario's end. */
  isDone(events: readonly ScenarioEvent[]): boolean;
  /** Throw an Error naming the first violated rule; return what was measured. */
  check(events: readonly ScenarioEvent[], options?: CheckOptions): ScenarioReport;
}

/** A log in this process's memory. */
export function memoryScenarioLog(): ScenarioLog & { events: ScenarioEvent[] } {
  const events: ScenarioEvent[] = [];
  return { events, append: (e) => { events.push(e); }, read: () => [...events] };
}

/** Runs as `[start, end)` intervals; runs of killed workers end at the kill, others never ended are dropped. */
type Run = ScenarioEvent & { start: number; end: number };
function runsOf(events: readonly ScenarioEvent[], killed: Record<string, number> = {}): Run[] {
  const open = new Map<string, ScenarioEvent>();
  const runs: Run[] = [];
  for (const e of [...events].sort((a, b) => a.at - b.at || (a.kind === 'end' ? -1 : 1))) {
    const key = `${e.worker}\n${e.id}`;
    const started = open.get(key);
    if (e.kind === 'start') open.set(key, e);
    else if (started) { runs.push({ ...started, start: started.at, end: e.at }); open.delete(key); }
  }
  for (const e of open.values()) if (killed[e.worker] !== undefined) runs.push({ ...e, start: e.at, end: killed[e.worker]! });
  return runs;
}

const ended = (events: readonly ScenarioEvent[], pick: (e: ScenarioEvent) => boolean = () => true): number =>
  new Set(events.filter((e) => e.kind === 'end' && pick(e)).map((e) => e.id)).size;

function recorder(log: ScenarioLog, worker: string, holdMs: () => number): JobHandlers[string] {
  return async ({ job }) => {
    const base = { id: job.id, worker, group: job.group, claimedAt: job.startedAt?.getTime() };
    await log.append({ ...base, kind: 'start', at: Date.now() });
    await sleep(holdMs());
    await log.append({ ...base, kind: 'end', at: Date.now() });
  };
}

const between = (min: number, max: number) => () => min + Math.floor(Math.random() * (max - min + 1));

/**
 * 200 jobs of a name limited to `concurrency: 3`, each holding 20–50 ms, on 4 workers ×
 * `concurrency: 5`: the most simultaneous runs is exactly 3, and all 200 complete (with `killed`,
 * each job at least once).
 */
export function limitScenario(o: { jobs?: number; leaseMs?: number } = {}): FleetScenario {
  const jobs = o.jobs ?? 200;
  return {
    title: `name limited to 3 over ${jobs} jobs, 4 workers × 5`,
    queueOptions: { limits: { 'ai.image': { concurrency: 3 } }, ...(o.leaseMs ? { leaseMs: o.leaseMs } : {}) },
    workers: 4,
    workerOptions: { concurrency: 5 },
    handlers: (log, worker) => ({ 'ai.image': recorder(log, worker, between(20, 50)) }),
    enqueue: async (queue) => { await queue.addMany(Array.from({ length: jobs }, (_, i) => ({ name: 'ai.image', payload: { i } }))); },
    isDone: (events) => ended(events) >= jobs,
    check(events, options) {
      const peak = peakOverlap(runsOf(events, options?.killed));
      const finished = ended(events);
      if (peak > 3) throw new Error(`${peak} runs of the limited name at once (limit 3)`);
      if (peak < 3) throw new Error(`at most ${peak} runs at once: the limit of 3 was never reached`);
      if (finished < jobs) throw new Error(`${finished} of ${jobs} jobs finished`);
      return { peak, finished };
    },
  };
}

/** `rate: { max: 10, perMs: 1000 }` over 50 jobs and 3 workers: no 1-second window holds more than 10 starts. */
export function rateScenario(o: { jobs?: number } = {}): FleetScenario {
  const jobs = o.jobs ?? 50;
  return {
    title: `rate 10/s over ${jobs} jobs, 3 workers`,
    queueOptions: { limits: { report: { rate: { max: 10, perMs: 1_000 } } } },
    workers: 3,
    workerOptions: { concurrency: 4 },
    handlers: (log, worker) => ({ report: recorder(log, worker, between(1, 5)) }),
    enqueue: async (queue) => { await queue.addMany(Array.from({ length: jobs }, (_, i) => ({ name: 'report', payload: { i } }))); },
    isDone: (events) => ended(events) >= jobs,
    check(events) {
      const starts = events.filter((e) => e.kind === 'start');
      // The window counts claims: the claim time the backend recorded is the start it limits.
      const peak = peakInWindow(starts.map((e) => e.claimedAt ?? e.at), 1_000);
      const finished = ended(events);
      if (peak > 10) throw new Error(`${peak} starts within one second (rate 10/s)`);
      if (finished < jobs) throw new Error(`${finished} of ${jobs} jobs finished`);
      return { peak, finished, handlerPeak: peakInWindow(starts.map((e) => e.at), 1_000) };
    },
  };
}

/**
 * Group A enqueues 1,000 jobs, then groups B…K 10 each, on 2 workers × `concurrency: 4` with the
 * default group concurrency (1): every job of B…K completes before A is 25 % done.
 */
export function fairnessScenario(o: { groupConcurrency?: number } = {}): FleetScenario {
  const others = 'BCDEFGHIJK'.split('');
  return {
    title: `fair groups: A × 1,000 then B…K × 10, 2 workers × 4${o.groupConcurrency ? `, group concurrency ${o.groupConcurrency}` : ''}`,
    queueOptions: { groups: o.groupConcurrency ? { concurrency: o.groupConcurrency } : {} },
    workers: 2,
    workerOptions: { concurrency: 4 },
    handlers: (log, worker) => ({ chat: recorder(log, worker, between(1, 4)) }),
    async enqueue(queue) {
      await queue.addMany(Array.from({ length: 1_000 }, (_, i) => ({ name: 'chat', payload: { i }, options: { group: 'A' } })));
      for (const group of others) {
        await queue.addMany(Array.from({ length: 10 }, (_, i) => ({ name: 'chat', payload: { i }, options: { group } })));
      }
    },
    isDone: (events) => ended(events, (e) => e.group !== 'A') >= others.length * 10,
    check(events) {
      const ends = events.filter((e) => e.kind === 'end');
      const lastOther = Math.max(...ends.filter((e) => e.group !== 'A').map((e) => e.at));
      const aDone = new Set(ends.filter((e) => e.group === 'A' && e.at <= lastOther).map((e) => e.id)).size;
      const finished = ended(events, (e) => e.group !== 'A');
      if (finished < others.length * 10) throw new Error(`${finished} of ${others.length * 10} jobs of B…K finished`);
      if (aDone >= 250) throw new Error(`A had ${aDone} of 1,000 jobs done when B…K finished (must stay below 25 %)`);
      const peakA = peakOverlap(runsOf(events).filter((r) => r.group === 'A'));
      if (o.groupConcurrency === undefined && peakA > 1) throw new Error(`group A ran ${peakA} jobs at once (group concurrency 1)`);
      return { peak: peakOverlap(runsOf(events)), finished, aDoneWhenOthersFinished: aDone, peakA };
    },
  };
}

/** 4 holders (processes) × 50 acquisitions of a semaphore with limit 3: never more than 3 holders. */
export const semaphoreScenario = {
  title: 'semaphore limit 3, 4 holders × 50 acquisitions',
  holders: 4,
  acquisitions: 50,
  limit: 3,
  /** One holder's part: acquire, record, hold 1–5 ms, record, release — `acquisitions` times. */
  async run(sem: Semaphore, log: ScenarioLog, holder: string): Promise<void> {
    for (let n = 0; n < this.acquisitions; n++) {
      const permit = await sem.acquire({ waitMs: 60_000 });
      await log.append({ kind: 'start', id: `${holder}:${n}`, worker: holder, at: Date.now() });
      await sleep(between(1, 5)());
      await log.append({ kind: 'end', id: `${holder}:${n}`, worker: holder, at: Date.now() });
      await permit.release();
    }
  },
  check(events: readonly ScenarioEvent[], options?: CheckOptions): ScenarioReport {
    const peak = peakOverlap(runsOf(events, options?.killed));
    const finished = ended(events);
    if (peak > this.limit) throw new Error(`${peak} holders at once (limit ${this.limit})`);
    if (finished < this.holders * this.acquisitions) throw new Error(`${finished} of ${this.holders * this.acquisitions} acquisitions finished`);
    return { peak, finished };
  },
};

/**
 * Run a job scenario in this process: `scenario.workers` Worker objects, each on its own queue from
 * `makeQueue` (give them one shared backend), until the log shows its end; then check it.
 */
export async function runFleetScenario(
  scenario: FleetScenario, makeQueue: (options: JobQueueOptions) => JobQueue, options: { timeoutMs?: number } = {},
): Promise<ScenarioReport> {
  const log = memoryScenarioLog();
  const driver = makeQueue(scenario.queueOptions);
  const workers = Array.from({ length: scenario.workers }, (_, i) =>
    new Worker(makeQueue(scenario.queueOptions), scenario.handlers(log, `w${i}`), { ...scenario.workerOptions, autostart: false }));
  try {
    await Promise.all(workers.map((w) => w.start()));
    await scenario.enqueue(driver);
    const end = Date.now() + (options.timeoutMs ?? 60_000);
    while (!scenario.isDone(log.events)) {
      if (Date.now() > end) throw new Error(`${scenario.title}: not done after ${options.timeoutMs ?? 60_000} ms`);
      await sleep(10);
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop({ graceMs: 0 })));
  }
  return scenario.check(log.events);
}
