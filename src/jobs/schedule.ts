import { CronExpressionParser } from 'cron-parser';
import { BotwireConfigError } from '../errors.js';

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

/** Throw {@link BotwireConfigError} when the expression or time zone cannot be used. */
export function validateCron(cron: string, tz: string): void {
  try {
    CronExpressionParser.parse(cron, { currentDate: new Date(0), tz, strict: false }).next();
  } catch (err) {
    throw new BotwireConfigError(
      `Cannot use cron expression ${JSON.stringify(cron)} in time zone ${JSON.stringify(tz)}: ` +
        `${err instanceof Error ? err.message : String(err)}. Use five fields (minute hour day month weekday), e.g. "*/5 * * * *".`,
    );
  }
}

/**
 * The slots of `entry` worth enqueueing at `now`: the latest slot not after `now` (if it is recent
 * enough to catch up) and the next one (enqueued delayed, so a worker starts it on time).
 */
export function dueSlots(entry: ScheduleEntry, now: number): number[] {
  const at = new Date(now);
  // +1 ms: a slot exactly at `now` counts as the latest one, not as the next.
  const prev = CronExpressionParser.parse(entry.cron, { currentDate: new Date(now + 1), tz: entry.tz }).prev().getTime();
  const next = CronExpressionParser.parse(entry.cron, { currentDate: at, tz: entry.tz }).next().getTime();
  const catchUp = entry.catchUpMs ?? Math.min(next - prev, 3_600_000);
  const slots: number[] = [];
  if (now - prev <= catchUp) slots.push(prev);
  slots.push(next);
  return slots;
}

/** The idempotent job id of one slot: every instance computes the same id, so a slot runs once. */
export function slotId(entry: ScheduleEntry, slot: number): string {
  return `$schedule:${entry.key}:${new Date(slot).toISOString()}`;
}
