import { errorFields, logs, type Logger } from '../logger.js';
import type { Telemetry, TelemetrySpan } from '../telemetry.js';
import type { NewJob, StoredJob } from './backend.js';
import type { RunOutcome } from './types.js';

/**
 * What a job's life reports to the queue's `logger` and `telemetry`: the trace context stored with
 * a job, and the logging and metrics of a run's outcome. Nothing here runs for a queue that has
 * neither.
 *
 * The `add` span's W3C `traceparent` travels inside the job's `backoff` text as a `tp` property:
 * that text is the core's own opaque JSON (see `StoredJob.backoff`), stored and returned byte for
 * byte by every backend, so the trace crosses from the adding process to the running one on every
 * adapter with no schema change, and jobs added without tracing carry nothing extra.
 *
 * @module
 */

const TP = ',"tp":"';
/** `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>` */
const TRACEPARENT_LENGTH = 55;

/** The backoff text of a job added under the span whose header is `traceparent`. */
export function withTrace(backoff: string, traceparent: string): string {
  // Backoff texts are JSON objects made by the core (`{"type":…}`): insert before the closing brace.
  return /^[\da-f-]+$/.test(traceparent) ? `${backoff.slice(0, -1)}${TP}${traceparent}"}` : backoff;
}

/** The `traceparent` stored with a job by {@link withTrace}, if any. */
export function traceOf(backoff: string): string | undefined {
  const at = backoff.lastIndexOf(TP);
  return at < 0 ? undefined : backoff.slice(at + TP.length, at + TP.length + TRACEPARENT_LENGTH);
}

/** Start the span of one job operation, with the job's id, name and attempt; undefined when not recorded. */
export function jobSpan(
  telemetry: Telemetry | undefined, name: string, kind: 'producer' | 'consumer' | 'internal',
  job: Pick<StoredJob, 'id' | 'name'> & { attempts?: number }, traceparent?: string,
): TelemetrySpan | undefined {
  const span = telemetry?.startSpan(name, kind, traceparent);
  if (span) {
    span.setAttribute('botwire.job.id', job.id);
    span.setAttribute('botwire.job.name', job.name);
    if (job.attempts !== undefined) span.setAttribute('botwire.job.attempt', job.attempts);
  }
  return span;
}

/** A run's outcome as metrics and spans name it: a failure that will run again is `retry`. */
export function outcomeName(outcome: RunOutcome, final: boolean): string {
  return outcome === 'failed' && !final ? 'retry' : outcome;
}

/** How a run's outcome is logged: level and message. `failed` and `partial` depend on retries left. */
const OUTCOME_LINES: Record<RunOutcome, ['debug' | 'info' | 'warn', string]> = {
  completed: ['debug', 'botwire job completed'],
  partial: ['info', 'botwire job partial; will run again for the missing parts'],
  failed: ['warn', 'botwire job failed; it will run again (see retryAt)'],
  released: ['info', 'botwire job handed back to the queue (shutdown); not counted as an attempt'],
  lost: ['warn', 'botwire job lease lost: it was cancelled, taken over after its lease lapsed, or its outcome could not be written'],
};

/**
 * Log and count one run's outcome. `final` marks a failure with no retries left (logged as an
 * error); `retryAt` is when a failed or partial job runs again.
 */
export function reportRun(
  logger: Logger | undefined, telemetry: Telemetry | undefined, raw: StoredJob, outcome: RunOutcome, durationMs: number,
  detail: { error?: { name: string; message: string } | undefined; final?: boolean; retryAt?: number | undefined } = {},
): void {
  const final = detail.final === true && outcome === 'failed';
  const [level, message] = final ? ['error', 'botwire job failed for good: no attempts or retry time left'] as const : OUTCOME_LINES[outcome];
  if (logs(logger, level)) {
    logger[level]({
      jobId: raw.id, name: raw.name, attempt: raw.attempts, durationMs, outcome,
      error: detail.error === undefined ? undefined : errorFields({ code: detail.error.name, message: detail.error.message }),
      retryAt: detail.retryAt === undefined ? undefined : new Date(detail.retryAt).toISOString(),
    }, message);
  }
  if (telemetry) {
    const attributes = outcomeAttributes(raw.name, outcomeName(outcome, final));
    telemetry.count('botwire.job.outcomes', attributes);
    telemetry.count('botwire.job.run_time', attributes, durationMs);
  }
}

/** One attributes object per job name and outcome, made once: counted on every run. */
const ATTRIBUTES = new Map<string, Record<string, { 'botwire.job.name': string; 'botwire.job.outcome': string }>>();

/** The metric attributes of runs of job `name` that ended with `outcome`. */
export function outcomeAttributes(name: string, outcome: string): { 'botwire.job.name': string; 'botwire.job.outcome': string } {
  let byOutcome = ATTRIBUTES.get(name);
  if (!byOutcome) ATTRIBUTES.set(name, (byOutcome = {}));
  return (byOutcome[outcome] ??= { 'botwire.job.name': name, 'botwire.job.outcome': outcome });
}

/** When the claim that took a job ran (`performance.now()` values) and how many jobs it took. */
export interface ClaimTiming { since: number; until: number; count: number }

/** The timing of a claim, for the claim spans of its jobs' runs; undefined without telemetry. */
export function claimTiming(telemetry: Telemetry | undefined, since: number, count: number): ClaimTiming | undefined {
  return telemetry && count > 0 ? { since, until: performance.now(), count } : undefined;
}

/**
 * A `botwire.job.claim` span under a run's span, covering the claim call that took the job: a child
 * of each run rather than a root of its own, so that it costs nothing when runs are not recorded.
 */
export function claimSpan(telemetry: Telemetry, run: TelemetrySpan, claim: ClaimTiming): void {
  const span = telemetry.startSpan('botwire.job.claim', 'internal', run, claim.since);
  span?.setAttribute('botwire.job.count', claim.count);
  span?.end(undefined, claim.until);
}

/** Log and count a job whose worker stopped renewing its lease, recovered by `reclaimLapsed`. */
export function reportLapsed(
  logger: Logger | undefined, telemetry: Telemetry | undefined, raw: StoredJob, error: { name: string; message: string }, retryAt: number | undefined,
): void {
  if (logs(logger, 'warn')) {
    logger.warn(
      { jobId: raw.id, name: raw.name, attempt: raw.attempts, error: { code: error.name, message: error.message }, retryAt: retryAt === undefined ? undefined : new Date(retryAt).toISOString() },
      retryAt === undefined ? 'botwire job lease lapsed (worker crashed or blocked); no attempts left, failed' : 'botwire job lease lapsed (worker crashed or blocked); it will run again',
    );
  }
  telemetry?.count('botwire.job.outcomes', outcomeAttributes(raw.name, retryAt === undefined ? 'failed' : 'lapsed'));
}

/** A `botwire.job.add` span for `addMany`, its traceparent stored with every job; undefined when not recorded. */
export function traceMany(telemetry: Telemetry | undefined, jobs: readonly NewJob[]): TelemetrySpan | undefined {
  const span = telemetry?.startSpan('botwire.job.add', 'producer');
  if (span) {
    span.setAttribute('botwire.job.count', jobs.length);
    const tp = span.traceparent();
    for (const job of jobs) job.backoff = withTrace(job.backoff, tp);
  }
  return span;
}
