/**
 * Five-field cron expressions read in an IANA time zone, edge-safe: the zone's offsets come from
 * `Intl.DateTimeFormat` (one cached formatter per zone), so no time-zone library or tz database
 * ships with botwire.
 *
 * Syntax: `minute hour day-of-month month day-of-week`, each a comma list of `*`, `n` or `a-b`, each
 * optionally followed by a step `/s` (on `*` or a range: every s-th value; on `n`: from n to the
 * field's end); month and weekday names (`JAN`, `MON`, any case); weekday `0` and `7` are Sunday;
 * `?` means `*` in the two day fields; `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily`
 * (`@midnight`), `@hourly`, `@minutely`, `@weekdays`, `@weekends`. When both day fields are
 * restricted (neither is exactly `*` or `?`), a day matches if either matches (Vixie cron's rule,
 * read as cron-parser reads it: a stepped `*` counts as restricted). Seconds, `L`, `W`, `#` and `H`
 * are refused.
 *
 * Slots are the local times the expression matches, mapped to instants:
 * - a local time the clock skips (spring forward) runs the gap's length later, on the new clock
 *   (02:30 on a 02:00→03:00 night runs at 03:30), so no day loses its run;
 * - a local time the clock shows twice (fall back) runs once, at its first occurrence, unless the
 *   hour field allows every hour: then it runs at both, so a schedule every 15 minutes keeps its
 *   rhythm in real time.
 * `next` and `prev` walk the same set of slots, so they always agree.
 *
 * @module
 */

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Widest clock shift around a transition that the search allows for (real ones are ≤ 2 h). */
const WINDOW = 3 * 3_600_000;
/** Every instant a local time can denote lies within 15 h of its naive reading (offsets span −12 h…+14 h). */
const SPAN_MARGIN = 15 * 3_600_000;
/** Bound on the local-time search: a valid expression matches within 8 years (Feb 29 across 2100: ~400 steps). */
const MAX_STEPS = 20_000;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
/** Longest length of each month (February: 29), to refuse a day of month that never occurs. */
const LONGEST = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *', '@minutely': '* * * * *',
  '@weekdays': '0 0 * * 1-5', '@weekends': '0 0 * * 0,6',
};

/** A parsed expression in one time zone. */
export interface CronSchedule {
  /** The first slot strictly after `after` (epoch ms). */
  next(after: number): number;
  /** The last slot strictly before `before` (epoch ms). */
  prev(before: number): number;
}

interface Spec { name: string; min: number; max: number; names?: string[] }
const SPECS: Spec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 0, max: 7, names: WEEKDAYS },
];

/** Allowed values as a lookup table indexed by value. */
type Field = boolean[];

function parseValue(text: string, spec: Spec): number {
  const named = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  const n = named >= 0 ? named + spec.min : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= spec.min && n <= spec.max)) {
    throw new Error(`${spec.name} field: ${JSON.stringify(text)} is not a value from ${spec.min} to ${spec.max}${spec.names ? ' or a name' : ''}`);
  }
  return n;
}

function parseField(text: string, spec: Spec, dayField: boolean): Field {
  const field: Field = new Array<boolean>(spec.max + 1).fill(false);
  for (const item of text.split(',')) {
    const [range = '', step, extra] = item.split('/');
    const by = step === undefined ? 1 : /^\d+$/.test(step) ? Number(step) : 0;
    if (extra !== undefined || !(by >= 1)) throw new Error(`${spec.name} field: bad step in ${JSON.stringify(item)}`);
    let lo: number;
    let hi: number;
    if (range === '*' || (dayField && range === '?')) {
      [lo, hi] = [spec.min, spec.max];
    } else {
      const [a = '', b, more] = range.split('-');
      if (more !== undefined) throw new Error(`${spec.name} field: bad range ${JSON.stringify(range)}`);
      lo = parseValue(a, spec);
      // `5/15` steps from 5 to the end of the field, as in most cron dialects.
      hi = b !== undefined ? parseValue(b, spec) : step !== undefined ? spec.max : lo;
      if (lo > hi) throw new Error(`${spec.name} field: range ${JSON.stringify(range)} runs backwards`);
    }
    for (let v = lo; v <= hi; v += by) field[v] = true;
  }
  return field;
}

function up(field: Field, from: number): number {
  for (let v = from; v < field.length; v++) if (field[v]) return v;
  return -1;
}

function down(field: Field, from: number): number {
  for (let v = from; v >= 0; v--) if (field[v]) return v;
  return -1;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's formatter, made once per zone (construction is the expensive part). Throws on an unknown zone. */
function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
        hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
    } catch {
      throw new Error(`unknown time zone (use an IANA name such as "Europe/Berlin" or "UTC")`);
    }
    if (formatters.size >= 64) formatters.clear();
    formatters.set(tz, f);
  }
  return f;
}

/**
 * Parse `expression` for time zone `tz`. Throws an `Error` whose message says what is wrong; the
 * caller wraps it (`validateCron`).
 */
export function parseCron(expression: string, tz: string): CronSchedule {
  if (typeof expression !== 'string') throw new Error('the expression must be a string');
  const format = formatterFor(tz);
  const text = expression.trim();
  const macro = text.startsWith('@') ? MACROS[text.toLowerCase()] : text;
  if (macro === undefined) throw new Error(`unknown shorthand (use @yearly, @monthly, @weekly, @daily, @hourly or five fields)`);
  const parts = macro.split(/\s+/);
  if (parts.length !== 5) {
    throw new Error(`expected five fields (minute hour day-of-month month day-of-week), got ${text ? parts.length : 0}`);
  }
  const [minute, hour, dom, month, dow] = SPECS.map((spec, i) => parseField(parts[i]!, spec, i === 2 || i === 4)) as [Field, Field, Field, Field, Field];
  if (dow[7]) dow[0] = true;
  const domAll = parts[2] === '*' || parts[2] === '?';
  const dowAll = parts[4] === '*' || parts[4] === '?';
  if (dowAll && !month.some((on, m) => on && up(dom, 1) <= LONGEST[m - 1]!)) {
    throw new Error(`day-of-month ${JSON.stringify(parts[2])} never occurs in month ${JSON.stringify(parts[3])}`);
  }
  const everyHour = hour.every(Boolean);

  const dayMatches = (d: Date): boolean => {
    const a = dom[d.getUTCDate()]!;
    const b = dow[d.getUTCDay()]!;
    return domAll || dowAll ? a && b : a || b;
  };

  /**
   * The nearest local time at or after (`fwd`) or at or before `c` that every field allows, or NaN.
   * Local wall-clock times are "naive" epoch ms: the UTC reading of the local fields.
   */
  const seek = (c: number, fwd: boolean): number => {
    const pick = fwd ? up : down;
    // A miss moves to the first minute of the next unit, or the last minute of the previous one.
    const jump = (next: number, start: number): number => (fwd ? next : start - MINUTE);
    for (let i = 0; i < MAX_STEPS; i++) {
      const d = new Date(c);
      const y = d.getUTCFullYear();
      const mo = d.getUTCMonth();
      const day = d.getUTCDate();
      const h = d.getUTCHours();
      if (!month[mo + 1]) c = jump(Date.UTC(y, mo + 1), Date.UTC(y, mo));
      else if (!dayMatches(d)) c = jump(Date.UTC(y, mo, day + 1), Date.UTC(y, mo, day));
      else {
        const hh = pick(hour, h);
        if (hh < 0) c = jump(Date.UTC(y, mo, day + 1), Date.UTC(y, mo, day));
        else if (hh !== h) return Date.UTC(y, mo, day, hh, pick(minute, fwd ? 0 : 59));
        else {
          const mm = pick(minute, d.getUTCMinutes());
          if (mm >= 0) return Date.UTC(y, mo, day, h, mm);
          c = jump(Date.UTC(y, mo, day, h + 1), Date.UTC(y, mo, day, h));
        }
      }
    }
    return NaN;
  };

  /** The zone's UTC offset at instant `t`, in ms (one `Intl` call). */
  const offset = (t: number): number => {
    const p: Record<string, number> = {};
    for (const { type, value } of format.formatToParts(t)) p[type] = Number(value);
    // `% 24`: engines that ignore `hourCycle` write midnight as hour 24 of the same day.
    return Date.UTC(p.year!, p.month! - 1, p.day, p.hour! % 24, p.minute, p.second) - (t - (((t % 1000) + 1000) % 1000));
  };

  // The offsets over two days of instants: one offset, or two and the instant (to the second) where
  // they change. Kept between calls, so walking through a day costs no `Intl` call at all. Assumes at
  // most one change in any two days, which holds for every zone in the tz database since 1970.
  let span = { from: 0, to: -1, at: Infinity, before: 0, after: 0 };
  const spanAround = (t: number): typeof span => {
    if (span.from <= t - SPAN_MARGIN && span.to >= t + SPAN_MARGIN) return span;
    const x = Math.floor(t / 1000) * 1000;
    const from = x - DAY;
    const to = x + DAY;
    const before = offset(from);
    const after = offset(to);
    let lo = from;
    let hi = to;
    while (before !== after && hi - lo > 1000) {
      const mid = Math.floor((lo + hi) / 2000) * 1000;
      if (offset(mid) === before) lo = mid; else hi = mid;
    }
    return (span = { from, to, at: before === after ? Infinity : hi, before, after });
  };

  /**
   * The slots of local time `c`, and whether an offset change is near (then local order and instant
   * order may differ nearby).
   */
  const slotsAt = (c: number): { at: number[]; near: boolean } => {
    const s = spanAround(c);
    const first = c - s.before;
    if (s.at === Infinity) return { at: [first], near: false };
    const second = c - s.after;
    const firstOk = first < s.at;
    const secondOk = second >= s.at;
    if (firstOk && secondOk) return { at: everyHour ? [first, second] : [first], near: true };
    // Skipped by the clock (neither reading exists): the old offset puts it the gap's length later.
    return { at: [secondOk ? second : first], near: true };
  };

  /** Local time of instant `t`, and whether an offset change is within WINDOW of it. */
  const localOf = (t: number): { local: number; near: boolean } => {
    const s = spanAround(t);
    return { local: t + (t < s.at ? s.before : s.after), near: Math.abs(s.at - t) <= WINDOW };
  };

  /**
   * Walk local times from `c` in one direction (`step`) and keep the slot nearest `from` that
   * passes `beyond`. Away from transitions the first match is the answer; near one, local order and
   * instant order may differ, so the walk goes on for WINDOW of local time.
   */
  const walk = (c: number, dir: 1 | -1, from: number): number => {
    let best = NaN;
    let stop = dir * Infinity;
    for (;;) {
      if (Number.isNaN(c)) {
        if (!Number.isNaN(best)) return best;
        throw new Error(`no time matches ${JSON.stringify(expression)} within ${MAX_STEPS} steps`);
      }
      const slots = slotsAt(c);
      for (const t of slots.at) {
        if ((t - from) * dir > 0 && !((t - best) * dir >= 0)) {
          best = t;
          stop = slots.near ? c + dir * WINDOW : c;
        }
      }
      if ((stop - c) * dir <= 0) return best;
      c = seek(c + dir * MINUTE, dir > 0);
      if ((c - stop) * dir > 0) return best;
    }
  };

  return {
    next(after) {
      // Near a transition, times up to WINDOW before `after` on the local clock may still come after it.
      const { local, near } = localOf(after);
      return walk(seek(near ? Math.floor((local - WINDOW) / MINUTE) * MINUTE : Math.floor(local / MINUTE) * MINUTE + MINUTE, true), 1, after);
    },
    prev(before) {
      const { local, near } = localOf(before);
      return walk(seek(near ? Math.ceil((local + WINDOW) / MINUTE) * MINUTE : Math.ceil(local / MINUTE) * MINUTE - MINUTE, false), -1, before);
    },
  };
}
