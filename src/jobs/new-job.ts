import { BotwireConfigError, JobPayloadTooLargeError } from '../errors.js';
import { intInRange, nonNegativeMs, positiveMs } from '../internal/validate.js';
import type { NewJob } from './backend.js';
import { validateBackoff } from './backoff.js';
import { assertCallerJobId, assertJobId, assertName, encodeJson, toEpoch, utf8Bytes } from './codec.js';
import type { JobFeature } from './fleet-backend.js';
import type { AddOptions } from './types.js';

/** What a queue fills in for options a caller left out, and what its backend can do. */
export interface JobDefaults {
  maxPayloadBytes: number;
  timeoutMs: number;
  attempts: number;
  /** The default backoff, encoded once. */
  backoffText: string;
  /** The queue has a `groups` option. */
  groups: boolean;
  /** `JobBackend.features` (or none). */
  features: readonly JobFeature[];
}

/**
 * Check one `add` call's arguments and build the job the backend stores, refusing bad input with
 * typed errors before anything is written (the shared half of `add` and `addMany`). The name is
 * checked by the caller.
 */
export function buildNewJob(name: string, payload: unknown, options: AddOptions, now: number, d: JobDefaults): NewJob {
  const { debounce, group } = options;
  if (debounce !== undefined) {
    if (options.id !== undefined || options.delayMs !== undefined || options.runAt !== undefined) {
      throw new BotwireConfigError('A debounced job gets its id and start from `debounce`: give no id, delayMs or runAt with it.');
    }
    if (typeof debounce !== 'object' || debounce === null) throw new BotwireConfigError('debounce must be { id, ms }.');
    try { assertJobId(debounce.id); } catch (err) { throw new BotwireConfigError(`debounce.id: ${(err as Error).message}`); }
    if (!d.features.includes('debounce')) throw unsupported('debounce');
  }
  if (group !== undefined) {
    assertName('group', group);
    if (!d.groups) throw new BotwireConfigError('AddOptions.group needs the queue\'s `groups` option (e.g. `groups: { concurrency: 1 }`).');
  }
  const id = options.id ?? crypto.randomUUID();
  assertCallerJobId(id);
  const text = encodeJson(name, 'payload', payload);
  const bytes = text.length * 3 > d.maxPayloadBytes ? utf8Bytes(text) : text.length;
  if (bytes > d.maxPayloadBytes) throw new JobPayloadTooLargeError(name, bytes, d.maxPayloadBytes);
  if (options.delayMs !== undefined && options.runAt !== undefined) {
    throw new BotwireConfigError('Give either delayMs or runAt when adding a job, not both.');
  }
  let runAt = now;
  if (options.delayMs !== undefined) runAt = now + nonNegativeMs('delayMs', options.delayMs);
  if (options.runAt !== undefined) runAt = toEpoch('runAt', options.runAt);
  if (debounce !== undefined) runAt = now + nonNegativeMs('debounce.ms', debounce.ms);
  const retryUntil = options.retryUntil === undefined ? undefined : toEpoch('retryUntil', options.retryUntil);
  const attempts = options.attempts === undefined
    ? (retryUntil === undefined ? d.attempts : 0)
    : intInRange('attempts', options.attempts, 1, 1_000_000);
  const priority = options.priority === undefined ? 0 : intInRange('priority', options.priority, -1000, 1000);
  const timeoutMs = positiveMs('timeoutMs', options.timeoutMs ?? d.timeoutMs);
  const backoff = options.backoff === undefined ? d.backoffText : JSON.stringify(validateBackoff(options.backoff));
  const job: NewJob = { id, name, payload: text, priority, runAt, maxAttempts: attempts, backoff, timeoutMs, retryUntil };
  if (group !== undefined) job.group = group;
  if (debounce !== undefined) job.debounce = debounce.id;
  return job;
}

/** The error for a feature the queue's backend does not implement. */
export function unsupported(feature: JobFeature | 'limits option' | 'groups option' | 'remove'): BotwireConfigError {
  return new BotwireConfigError(
    feature === 'remove'
      ? 'This job backend does not support remove: it has no JobBackend.remove method.'
      : `This job backend does not support ${feature}: its JobBackend.features do not list it.`,
  );
}
