import { BotwireConfigError, JobAbortedError, UnknownJobError } from '../errors.js';
import type { TelemetrySpan } from '../telemetry.js';
import type { StoredJob } from './backend.js';
import { errorText } from './attempt-errors.js';
import { encodeJson, toJob, toJobError } from './codec.js';
import { queueInternals, type JobQueue } from './job-queue.js';
import { claimSpan, jobSpan, outcomeName, reportRun, traceOf, type ClaimTiming } from './job-telemetry.js';
import type { JobContext, JobError, JobHandler, JobHandlers, PartialOptions, RunOutcome } from './types.js';

export type { RunOutcome } from './types.js';

/** What the recording of an outcome tells the logger, when the queue has one (or telemetry). */
interface RunNote { error?: JobError | undefined; final?: boolean; retryAt?: number | undefined }

const ABORTED = Symbol('aborted');

/** Resolve the handler set a worker/tick runs with: the given one, else the queue's. */
export function resolveHandlers(queue: JobQueue, handlers: JobHandlers | undefined): JobHandlers {
  const h = handlers ?? queue.handlers;
  if (!h || Object.keys(h).length === 0) {
    throw new BotwireConfigError('No job handlers: pass them to the Worker/runDue, or as `handlers` when creating the queue.');
  }
  for (const [name, fn] of Object.entries(h)) {
    if (typeof fn !== 'function') throw new BotwireConfigError(`The handler for job "${name}" is not a function.`);
    if (queue.handlers && !Object.hasOwn(queue.handlers, name)) throw new UnknownJobError(name, Object.keys(queue.handlers));
  }
  return h;
}

/**
 * Run one claimed job to its end: heartbeats while it runs, aborts its signal on timeout, loss of
 * the lease or `stop`, and records the outcome fenced by the claim's token. `onSettled` is called
 * once the handler is done and before the outcome is written. Never throws: backend errors go to `queue.onError` and the lease lapses into a reclaim.
 */
export async function runJob(
  queue: JobQueue, handler: JobHandler, raw: StoredJob, token: string, stop?: AbortSignal, onSettled?: () => void, claim?: ClaimTiming,
): Promise<RunOutcome> {
  const internals = queueInternals(queue);
  const { logger, telemetry } = internals;
  const observed = logger !== undefined || telemetry !== undefined;
  const since = observed ? performance.now() : 0;
  // The run continues the trace of the `add` (its traceparent is stored with the job).
  const span = jobSpan(telemetry, 'botwire.job.run', 'consumer', raw, telemetry && traceOf(raw.backoff));
  if (span && claim) claimSpan(telemetry!, span, claim);
  const note: RunNote | undefined = observed ? {} : undefined;
  const ctrl = new AbortController();
  const abort = (reason: JobAbortedError): void => { if (!ctrl.signal.aborted) ctrl.abort(reason); };
  const onStop = (): void => abort(new JobAbortedError('shutdown', 'The worker is shutting down; the job will run again.', raw.id));
  let lost = false;
  const beat = async (progress?: { pct: number; message?: string | undefined }): Promise<void> => {
    if (lost) return;
    try {
      const ok = await internals.call('heartbeat', raw.id, () => queue.backend.heartbeat(raw.id, token, queue.leaseMs, queue.now(), progress));
      if (!ok && !lost) {
        lost = true;
        abort(new JobAbortedError('lost', 'The job was cancelled or taken over by another worker.', raw.id));
      }
    } catch (err) {
      // A missed beat is not fatal: the lease has two more thirds of its time left.
      queue.onError(err);
    }
  };
  const heartbeat = setInterval(() => void beat(), Math.max(10, queue.leaseMs / 3));
  const timeout = setTimeout(
    () => abort(new JobAbortedError('timeout', `The job ran longer than its timeoutMs (${raw.timeoutMs} ms) and was aborted.`, raw.id)),
    raw.timeoutMs,
  );
  if (stop?.aborted) onStop();
  stop?.addEventListener('abort', onStop);

  let partial: { result: string; missing: string[]; retryInMs: number | undefined } | undefined;
  const ctx: JobContext = {
    job: toJob(raw, queue.now()),
    signal: ctrl.signal,
    progress: async (pct: number, message?: string) => {
      if (!(Number.isFinite(pct) && pct >= 0 && pct <= 100)) throw new BotwireConfigError(`progress must be a number between 0 and 100, got ${String(pct)}.`);
      await beat(message === undefined ? { pct } : { pct, message: String(message) });
    },
    partial: async (result: unknown, options: PartialOptions) => {
      const missing = options?.missing;
      if (!Array.isArray(missing) || missing.some((m) => typeof m !== 'string')) {
        throw new BotwireConfigError('partial(result, { missing }) needs `missing` as an array of strings naming the parts still to fetch.');
      }
      if (options.retryInMs !== undefined && !(Number.isFinite(options.retryInMs) && options.retryInMs >= 0)) {
        throw new BotwireConfigError(`retryInMs must be a number of milliseconds >= 0, got ${String(options.retryInMs)}.`);
      }
      partial = { result: encodeJson(raw.name, 'result', result), missing: [...missing], retryInMs: options.retryInMs };
    },
  };

  const aborted = new Promise<typeof ABORTED>((resolve) => ctrl.signal.addEventListener('abort', () => resolve(ABORTED), { once: true }));
  // Decide the outcome first, then free the caller's slot (`onSettled`), then record it: a worker
  // may start its next job while this outcome is still being written.
  let record: () => Promise<RunOutcome>;
  try {
    const value = await Promise.race([Promise.resolve().then(() => {
      // In the handler's own step: the backend may write the start only once the handler began.
      queue.backend.started?.(raw.id, token, queue.now());
      return span ? telemetry!.withSpan(span, () => handler(ctx)) : handler(ctx);
    }), aborted]);
    if (value === ABORTED) {
      const reason = ctrl.signal.reason as JobAbortedError;
      record = () => onAbort(queue, raw, token, reason, note);
    } else if (partial && partial.missing.length > 0) {
      const p = partial;
      record = () => recordPartial(queue, raw, token, p, note);
    } else {
      const result = partial ? partial.result : encodeJson(raw.name, 'result', value);
      record = () => recordComplete(queue, raw, token, result);
    }
  } catch (err) {
    const reason = ctrl.signal.reason as JobAbortedError;
    record = ctrl.signal.aborted ? () => onAbort(queue, raw, token, reason, note) : () => recordFailure(queue, raw, token, toJobError(err), note);
  } finally {
    clearInterval(heartbeat);
    clearTimeout(timeout);
    stop?.removeEventListener('abort', onStop);
  }
  onSettled?.();
  if (!observed) return record();
  const outcome = await (span ? telemetry!.withSpan(span, () => recorded(queue, span, record)) : record());
  const durationMs = Math.round((performance.now() - since) * 10) / 10;
  reportRun(logger, telemetry, raw, outcome, durationMs, note);
  if (span) {
    span.setAttribute('botwire.job.outcome', outcomeName(outcome, note!.final === true));
    span.end(outcome === 'failed' || outcome === 'lost' ? note!.error ?? outcome : undefined);
  }
  return outcome;
}

/** Write the outcome under a `botwire.job.complete` span (a child of the run's). */
async function recorded(queue: JobQueue, run: TelemetrySpan, record: () => Promise<RunOutcome>): Promise<RunOutcome> {
  const span = queueInternals(queue).telemetry!.startSpan('botwire.job.complete', 'internal', run);
  const outcome = await record();
  span?.setAttribute('botwire.job.outcome', outcome);
  span?.end();
  return outcome;
}

async function guarded(queue: JobQueue, run: () => Promise<RunOutcome>): Promise<RunOutcome> {
  try {
    return await run();
  } catch (err) {
    queue.onError(err);
    return 'lost';
  }
}

function onAbort(queue: JobQueue, raw: StoredJob, token: string, reason: JobAbortedError, note?: RunNote): Promise<RunOutcome> {
  if (reason.reason === 'lost') return Promise.resolve('lost');
  if (reason.reason === 'timeout') return recordFailure(queue, raw, token, { name: reason.name, message: reason.message }, note);
  return guarded(queue, async () => {
    const q = queueInternals(queue);
    const ok = await q.call('release', raw.id, () => queue.backend.release(raw.id, token, queue.now()));
    if (ok) q.publish({ ...raw, attempts: raw.attempts - 1 }, 'waiting');
    return ok ? 'released' : 'lost';
  });
}

function recordComplete(queue: JobQueue, raw: StoredJob, token: string, result: string): Promise<RunOutcome> {
  return guarded(queue, async () => {
    const q = queueInternals(queue);
    const ok = await q.call('complete', raw.id, () => queue.backend.complete(raw.id, token, result, queue.now()));
    if (ok) q.publish(raw, 'completed');
    return ok ? 'completed' : 'lost';
  });
}

function recordFailure(queue: JobQueue, raw: StoredJob, token: string, error: JobError, note?: RunNote): Promise<RunOutcome> {
  return guarded(queue, async () => {
    const q = queueInternals(queue);
    const now = queue.now();
    const at = q.retryAt(raw, now);
    if (note) { note.error = error; note.final = at === undefined; note.retryAt = at; }
    const ok = await q.call('fail', raw.id, () => queue.backend.fail(raw.id, token, errorText(raw, error, now), at, now));
    // Events stay small: the stack is kept with the job only.
    if (ok) q.publish(raw, at === undefined ? 'failed' : at <= now ? 'waiting' : 'delayed', { error: { name: error.name, message: error.message } });
    return ok ? 'failed' : 'lost';
  });
}

function recordPartial(
  queue: JobQueue, raw: StoredJob, token: string, p: { result: string; missing: string[]; retryInMs: number | undefined }, note?: RunNote,
): Promise<RunOutcome> {
  return guarded(queue, async () => {
    const q = queueInternals(queue);
    const now = queue.now();
    const at = q.retryAt(raw, now, p.retryInMs);
    const error: JobError | undefined = at === undefined
      ? { name: 'JobIncompleteError', message: `Still missing ${p.missing.join(', ')} after ${raw.attempts} run(s); no retries left (attempts or retryUntil).` }
      : undefined;
    if (note) { note.error = error; note.final = error !== undefined; note.retryAt = at; }
    const missing = JSON.stringify(p.missing);
    const ok = await q.call('partial', raw.id, () => queue.backend.partial(
      raw.id, token, p.result, missing, at ?? now, now, error ? { error: errorText(raw, error, now) } : undefined,
    ));
    if (ok) q.publish(raw, error ? 'failed' : 'partial', error ? { missing: p.missing, error } : { missing: p.missing });
    return ok ? (error ? 'failed' : 'partial') : 'lost';
  });
}
