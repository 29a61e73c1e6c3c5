import { BotwireConfigError, JobPayloadTooLargeError } from '../errors.js';
import { nonNegativeMs } from '../internal/validate.js';
import { assertJobName, encodeJson, utf8Bytes } from './codec.js';
import { parseCron, type CronSchedule } from './cron.js';

/** Options of `JobQueue.schedule`. */
export interface ScheduleOptions {
  /** IANA time zone the cron expression is read in, e.g. `"Europe/Moscow"`. @default 'UTC' */
  tz?: string;
  /**
   * Distinguishes several schedules of the same job name (each gets its own slot ids).
   * @default the job name
   */
  key?: string;
  /**
   * A slot that passed while nothing was running (no worker, no tick) is still run when it is
   * at most this old; older missed slots are skipped. Keep it below the completed-job retention, so a
   * slot's job still exists when instances look at it. @default one period of the schedule, at most 1 h
   */
  catchUpMs?: number;
}

/** A registered recurring job. */
export interface ScheduleEntry {
  key: string;
  name: string;
  cron: string;
  payload: string;
  tz: string;
  catchUpMs: number | undefined;
}

/** Throw {@link BotwireConfigError} when the expression or time zone cannot be used; else the parsed schedule. */
export function validateCron(cron: string, tz: string): CronSchedule {
  try {
    return parseCron(cron, tz);
  } catch (err) {
    throw new BotwireConfigError(
      `Cannot use cron expression ${JSON.stringify(cron)} in time zone ${JSON.stringify(tz)}: ` +
        `${err instanceof Error ? err.message : String(err)}. Use five fields (minute hour day month weekday), e.g. "*/5 * * * *".`,
    );
  }
}

/** A checked schedule of job `name` (known to the queue), refusing bad input with typed errors. */
export function scheduleEntry(name: string, cron: string, payload: unknown, options: ScheduleOptions, maxPayloadBytes: number): ScheduleEntry {
  const tz = options.tz ?? 'UTC';
  validateCron(cron, tz);
  const key = options.key ?? name;
  // The key is part of the slot ids: the job-name rules keep them short and printable.
  if (options.key !== undefined) {
    try { assertJobName(key); } catch { throw new BotwireConfigError(`schedule key must follow the job-name rules (letters, digits, "_", ".", ":", "-"; at most 100), got ${JSON.stringify(key)}.`); }
  }
  if (options.catchUpMs !== undefined) nonNegativeMs('catchUpMs', options.catchUpMs);
  const text = encodeJson(name, 'payload', payload);
  const bytes = utf8Bytes(text);
  if (bytes > maxPayloadBytes) throw new JobPayloadTooLargeError(name, bytes, maxPayloadBytes);
  return { key, name, cron, tz, payload: text, catchUpMs: options.catchUpMs };
}

/** Parsed expressions per registered entry (entries live as long as their schedule). */
const parsed = new WeakMap<ScheduleEntry, CronSchedule>();

/**
 * The slots of `entry` worth enqueueing at `now`: the latest slot not after `now` (if it is recent
 * enough to catch up) and the next one (enqueued delayed, so a worker starts it on time).
 */
export function dueSlots(entry: ScheduleEntry, now: number): number[] {
  let cron = parsed.get(entry);
  if (!cron) parsed.set(entry, cron = parseCron(entry.cron, entry.tz));
  // +1 ms: a slot exactly at `now` counts as the latest one, not as the next.
  const prev = cron.prev(now + 1);
  const next = cron.next(now);
  const catchUp = entry.catchUpMs ?? Math.min(next - prev, 3_600_000);
  const slots: number[] = [];
  if (now - prev <= catchUp) slots.push(prev);
  slots.push(next);
  return slots;
}

/** A registered schedule as `JobQueue.schedules()` shows it. */
export interface ScheduleInfo {
  /** The key it is registered under (default: the job name). */
  key: string;
  /** The job name each slot runs. */
  name: string;
  /** The cron expression, read in `tz`. */
  cron: string;
  /** IANA time zone. */
  tz: string;
  /** The next slots after now, earliest first. */
  next: Date[];
  /** Id the job of each of `next` gets (the same on every instance). */
  nextIds: string[];
}

/** `entry` with its next `count` slots after `now`. */
export function scheduleInfo(entry: ScheduleEntry, now: number, count: number): ScheduleInfo {
  let cron = parsed.get(entry);
  if (!cron) parsed.set(entry, cron = parseCron(entry.cron, entry.tz));
  const next: number[] = [];
  for (let at = now; next.length < count;) next.push(at = cron.next(at));
  return { key: entry.key, name: entry.name, cron: entry.cron, tz: entry.tz, next: next.map((t) => new Date(t)), nextIds: next.map((t) => slotId(entry, t)) };
}

/** The idempotent job id of one slot: every instance computes the same id, so a slot runs once. */
export function slotId(entry: ScheduleEntry, slot: number): string {
  return `$schedule:${entry.key}:${new Date(slot).toISOString()}`;
}
