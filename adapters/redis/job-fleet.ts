import type { AddResult, JobCounts, JobLimit, JobLimitEntry, NewJob } from 'botwire/jobs';
import { createdJob } from 'botwire/adapter-kit';
import { decodeJob } from './job-codec.js';
import { jobAddMany } from './lua/job-add-many-1.js';
import { jobCounts } from './lua/job-counts-1.js';
import { jobGetLimits } from './lua/job-get-limits-1.js';
import { jobSetLimits } from './lua/job-set-limits-1.js';
import type { RedisArg } from './redis-like.js';
import type { LuaScript } from './script.js';

/** Runs one job script with the queue's key base prepended to `args`. */
export type RunJobScript = (script: LuaScript, keys: readonly string[], args: readonly RedisArg[]) => Promise<unknown>;

/** A limit as `T lim` stores it: `<concurrency>,<max>,<perMs>`, '' for a part not set. */
function encodeLimit(limit: JobLimit): string {
  return `${limit.concurrency ?? ''},${limit.rate?.max ?? ''},${limit.rate?.perMs ?? ''}`;
}

function decodeLimit(text: string): JobLimit {
  const [c, max, perMs] = text.split(',');
  const limit: JobLimit = {};
  if (c) limit.concurrency = Number(c);
  if (max && perMs) limit.rate = { max: Number(max), perMs: Number(perMs) };
  return limit;
}

/** One answer of job-add / job-add-many for `job` (see lua/job-add-lib.ts). */
export function addResult(job: NewJob, reply: unknown, now: number): AddResult {
  if (reply === 1) return { created: true, job: createdJob(job, now) };
  const [kind, row] = reply as [number, unknown];
  return kind === 2 ? { created: false, replaced: true, job: decodeJob(row)! } : { created: false, job: decodeJob(row)! };
}

/** The arguments of one job in a job-add-many call after its id. */
function addArgs(job: NewJob): RedisArg[] {
  return [
    job.name, job.payload, job.priority, job.runAt, job.maxAttempts, job.backoff, job.timeoutMs, job.retryUntil ?? '',
    job.group ?? '', job.debounce ?? '',
  ];
}

/**
 * The fleet features of the Redis job backend that are not part of a claim: bulk add, limits and
 * counts, each one script call (adapters/redis/lua/job-add-many-1.ts, job-set-limits-1.ts,
 * job-counts-1.ts).
 */
export class RedisJobFleet {
  readonly #run: RunJobScript;
  readonly #key: (suffix: string) => string;

  constructor(run: RunJobScript, key: (suffix: string) => string) {
    this.#run = run;
    this.#key = key;
  }

  async addMany(jobs: readonly NewJob[], now: number): Promise<AddResult[]> {
    if (jobs.length === 0) return [];
    const args: RedisArg[] = [now];
    for (const job of jobs) args.push(job.id, ...addArgs(job));
    const replies = (await this.#run(jobAddMany, [this.#key('all')], args)) as unknown[];
    return jobs.map((job, i) => addResult(job, replies[i], now));
  }

  async setLimits(entries: readonly JobLimitEntry[], now: number): Promise<void> {
    if (entries.length === 0) return;
    const args: RedisArg[] = [now];
    for (const { name, limit } of entries) args.push(name, limit ? encodeLimit(limit) : '');
    await this.#run(jobSetLimits, [this.#key('lim')], args);
  }

  async getLimits(): Promise<JobLimitEntry[]> {
    const flat = (await this.#run(jobGetLimits, [this.#key('lim')], [])) as string[];
    const out: JobLimitEntry[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ name: String(flat[i]), limit: decodeLimit(String(flat[i + 1])) });
    return out;
  }

  async counts(name: string | undefined, now: number): Promise<JobCounts> {
    const r = ((await this.#run(jobCounts, [this.#key('d')], [now, name ?? ''])) as unknown[]).map((v) => Number(v ?? 0));
    return { waiting: r[0]!, delayed: r[1]!, active: r[2]!, partial: r[3]!, completed: r[4]!, failed: r[5]!, cancelled: r[6]! };
  }
}
