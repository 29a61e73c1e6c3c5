import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';
import { BotwireConfigError } from '../src/errors.js';
import { parseCron } from '../src/jobs/cron.js';
import { dueSlots, validateCron } from '../src/jobs/schedule.js';

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata'];
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Deterministic PRNG (mulberry32): a failure names its seed and replays exactly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The zone's UTC offset at `t`, computed independently of src/jobs/cron.ts (another locale, another formatter). */
const offsetFormatters = new Map<string, Intl.DateTimeFormat>();
function offsetOf(tz: string, t: number): number {
  let f = offsetFormatters.get(tz);
  if (!f) offsetFormatters.set(tz, f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }));
  const p = Object.fromEntries(f.formatToParts(t).map((x) => [x.type, Number(x.value)]));
  return Date.UTC(p.year!, p.month! - 1, p.day, p.hour, p.minute, p.second) - Math.floor(t / 1000) * 1000;
}

/** Instants (2015–2035) where the zone's offset changes, found by hourly sampling and bisection. */
function transitions(tz: string): number[] {
  const out: number[] = [];
  let t = Date.UTC(2015, 0, 1);
  let o = offsetOf(tz, t);
  for (const end = Date.UTC(2035, 0, 1); t < end; t += 6 * HOUR) {
    const o2 = offsetOf(tz, t + 6 * HOUR);
    if (o2 === o) continue;
    let lo = t;
    let hi = t + 6 * HOUR;
    while (hi - lo > MINUTE) {
      const mid = Math.floor((lo + hi) / 2 / MINUTE) * MINUTE;
      if (offsetOf(tz, mid) === o) lo = mid; else hi = mid;
    }
    out.push(hi);
    o = o2;
  }
  return out;
}

/**
 * Reference for the documented slot rules, written from the instant side (src/jobs/cron.ts works
 * from the local side) over cron-parser's own reading of the fields: is the whole-minute instant
 * `x` a slot of `expr` in `tz`?
 */
const fieldCache = new Map<string, ReturnType<typeof CronExpressionParser.parse>['fields']>();
function referenceIsSlot(expr: string, tz: string, x: number): boolean {
  let f = fieldCache.get(expr);
  if (!f) fieldCache.set(expr, f = CronExpressionParser.parse(expr, { tz: 'UTC' }).fields);
  const everyHour = f.hour.values.length === 24;
  const matches = (local: number): boolean => {
    const d = new Date(local);
    if (d.getUTCSeconds() !== 0) return false;
    const dom = (f.dayOfMonth.values as number[]).includes(d.getUTCDate());
    const dow = (f.dayOfWeek.values as number[]).some((v) => v % 7 === d.getUTCDay());
    const day = f.dayOfMonth.isWildcard || f.dayOfWeek.isWildcard ? dom && dow : dom || dow;
    return (f.minute.values as number[]).includes(d.getUTCMinutes()) && (f.hour.values as number[]).includes(d.getUTCHours())
      && (f.month.values as number[]).includes(d.getUTCMonth() + 1) && day;
  };
  const localOf = (t: number): number => t + offsetOf(tz, t);
  /** Every instant whose local reading is `local`, earliest first. */
  const readings = (local: number): number[] => {
    const found = new Set<number>();
    for (const probe of [local - 2 * DAY, local - DAY, local, local + DAY, local + 2 * DAY]) {
      const t = local - offsetOf(tz, probe);
      if (localOf(t) === local) found.add(t);
    }
    return [...found].sort((a, b) => a - b);
  };
  const local = localOf(x);
  // Shown by the clock at x: a slot unless it is a repeat of an earlier reading and the hour field names hours.
  if (matches(local) && (everyHour || readings(local)[0] === x)) return true;
  // Skipped by the clock: a local time with no reading runs at x when the old offset maps it to x.
  const skipped = x + offsetOf(tz, x - DAY);
  return skipped !== local && readings(skipped).length === 0 && matches(skipped);
}

/**
 * Random five-field expressions over the documented syntax, biased towards the hours transitions
 * happen in. cron-parser refuses lists that repeat a value (`1-3,2`), which botwire accepts; those
 * are drawn again so that every expression has an oracle.
 */
function randomExpression(r: () => number): string {
  for (;;) {
    const expr = drawExpression(r);
    try { CronExpressionParser.parse(expr, { tz: 'UTC' }); return expr; } catch { /* draw again */ }
  }
}

function drawExpression(r: () => number): string {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  if (r() < 0.02) return pick(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
  const item = (lo: number, hi: number, names?: readonly string[], wild = '*'): string => {
    const v = (): string => (names && r() < 0.3 ? pick(names) : String(int(lo, hi)));
    const k = r();
    if (k < 0.35) return String(int(lo, hi));
    if (k < 0.45 && names) return pick(names);
    if (k < 0.6) { const a = int(lo, hi); return `${a}-${int(a, hi)}`; }
    if (k < 0.75) return `${wild}/${int(1, Math.max(1, Math.ceil((hi - lo) / 2)))}`;
    if (k < 0.85) { const a = int(lo, hi); return `${a}-${int(a, hi)}/${int(1, 10)}`; }
    if (k < 0.9) return `${int(lo, hi)}/${int(1, 20)}`;
    return v();
  };
  const field = (lo: number, hi: number, star: number, names?: readonly string[], wild = '*'): string => {
    if (r() < star) return r() < 0.1 && wild === '?' ? '?' : '*';
    const n = r() < 0.75 ? 1 : int(2, 3);
    return Array.from({ length: n }, () => item(lo, hi, names, r() < 0.2 ? wild : '*')).join(',');
  };
  const minute = r() < 0.3 ? pick(['0', '15', '30', '45', '0,30', '*/15', '*/20', '*/30', '10-50/20']) : field(0, 59, 0.2);
  const hour = r() < 0.4 ? pick(['0', '1', '2', '3', '1-3', '0-4/2', '2,3', '1,2,3,4']) : field(0, 23, 0.35);
  const dom = field(1, 28, 0.6, undefined, '?');
  const month = field(1, 12, 0.7, ['JAN', 'feb', 'Mar', 'APR', 'oct', 'NOV', 'dec']);
  const dow = field(0, 7, 0.6, ['SUN', 'mon', 'Tue', 'FRI', 'sat'], '?');
  return `${minute} ${hour} ${dom} ${month} ${dow}`;
}

function oracle(expr: string, tz: string, t: number, dir: 'next' | 'prev'): number | undefined {
  try {
    return CronExpressionParser.parse(expr, { currentDate: new Date(t), tz })[dir]().getTime();
  } catch {
    return undefined; // cron-parser gives up ("loop limit exceeded") on some DST days; the reference judges those.
  }
}

/** No slot strictly between `a` and `b` (whole minutes, a < b), by the reference. */
function noSlotBetween(expr: string, tz: string, a: number, b: number): boolean {
  for (let x = Math.floor(a / MINUTE) * MINUTE + MINUTE; x < b; x += MINUTE) {
    if (x > a && referenceIsSlot(expr, tz, x)) return false;
  }
  return true;
}

describe('cron expressions (src/jobs/cron.ts)', () => {
  it('finds the same next and previous slots as cron-parser away from DST transitions, and explains every difference near one', () => {
    const r = rng(12);
    const tally = { compared: 0, nearTransition: 0, differ: 0, oracleGaveUp: 0 };
    const spans = new Map(ZONES.map((tz) => [tz, transitions(tz)]));
    const nearTransition = (tz: string, t: number): boolean => spans.get(tz)!.some((x) => Math.abs(x - t) <= DAY);
    for (let i = 0; i < 2_400; i++) {
      const expr = randomExpression(r);
      const tz = ZONES[i % ZONES.length]!;
      const list = spans.get(tz)!;
      // A third of the instants fall within two days of a transition; random seconds and milliseconds.
      const t = list.length && r() < 0.35
        ? list[Math.floor(r() * list.length)]! + Math.round((r() - 0.5) * 4 * DAY)
        : Date.UTC(2016, 0, 1) + Math.floor(r() * 18 * 365 * DAY);
      const cron = parseCron(expr, tz);
      for (const dir of ['next', 'prev'] as const) {
        const ours = cron[dir](t);
        const theirs = oracle(expr, tz, t, dir);
        tally.compared++;
        if (nearTransition(tz, ours)) tally.nearTransition++;
        expect(dir === 'next' ? ours > t : ours < t, `${dir} ${expr} ${tz} ${t}`).toBe(true);
        if (theirs === ours) continue;
        if (theirs === undefined) tally.oracleGaveUp++; else tally.differ++;
        // Every disagreement concerns a slot within a day of a transition, and ours follows the documented rules.
        const ctx = `${dir} of ${JSON.stringify(expr)} in ${tz} from ${new Date(t).toISOString()}: ours ${new Date(ours).toISOString()}, cron-parser ${theirs === undefined ? 'gave up' : new Date(theirs).toISOString()}`;
        expect(referenceIsSlot(expr, tz, ours), ctx).toBe(true);
        const nearer = theirs === undefined ? ours : dir === 'next' ? Math.min(ours, theirs) : Math.max(ours, theirs);
        expect(nearTransition(tz, nearer), ctx).toBe(true);
        if (theirs !== undefined && nearer === theirs) expect(referenceIsSlot(expr, tz, theirs), ctx).toBe(false);
        if (Math.abs(ours - t) < 3 * DAY) expect(noSlotBetween(expr, tz, Math.min(t, ours), Math.max(t, ours)), ctx).toBe(true);
      }
    }
    // The comparison must actually have compared, and many slots must lie on DST days.
    expect(tally.compared).toBe(4_800);
    expect(tally.nearTransition).toBeGreaterThan(200);
    expect(tally.differ + tally.oracleGaveUp).toBeLessThan(tally.compared * 0.02);
    console.log(`cron oracle: ${JSON.stringify(tally)}`);
  }, 120_000);

  it('walks DST days slot by slot exactly as the reference rules say, in both directions', () => {
    const r = rng(7);
    for (const tz of ZONES.filter((z) => z !== 'UTC' && z !== 'Asia/Kolkata')) {
      const list = transitions(tz).filter((t) => t > Date.UTC(2023, 0, 1)).slice(0, 4);
      for (const edge of list) {
        for (let k = 0; k < 12; k++) {
          const expr = randomExpression(r);
          const cron = parseCron(expr, tz);
          const from = edge - 4 * HOUR;
          const to = edge + 4 * HOUR;
          const forward: number[] = [];
          for (let t = cron.next(from - 1); t <= to; t = cron.next(t)) forward.push(t);
          const backward: number[] = [];
          for (let t = cron.prev(to + 1); t >= from; t = cron.prev(t)) backward.push(t);
          const expected: number[] = [];
          for (let x = from; x <= to; x += MINUTE) if (referenceIsSlot(expr, tz, x)) expected.push(x);
          const ctx = `${JSON.stringify(expr)} in ${tz} around ${new Date(edge).toISOString()}`;
          expect(forward, ctx).toEqual(expected);
          expect(backward.reverse(), ctx).toEqual(expected);
        }
      }
    }
  }, 120_000);

  it('runs a time the clock skips the gap\'s length later and a repeated time once, unless every hour is allowed', () => {
    const iso = (t: number): string => new Date(t).toISOString();
    const walk = (expr: string, tz: string, from: string, n: number): string[] => {
      const cron = parseCron(expr, tz);
      const out: string[] = [];
      for (let t = Date.parse(from); out.length < n;) out.push(iso(t = cron.next(t)));
      return out;
    };
    // Berlin 2024-03-31 02:00 CET → 03:00 CEST: 02:30 runs at 03:30 CEST (01:30Z); prev agrees.
    expect(walk('30 2 * * *', 'Europe/Berlin', '2024-03-30T12:00:00Z', 2)).toEqual(['2024-03-31T01:30:00.000Z', '2024-04-01T00:30:00.000Z']);
    expect(iso(parseCron('30 2 * * *', 'Europe/Berlin').prev(Date.parse('2024-04-01T00:00:00Z')))).toBe('2024-03-31T01:30:00.000Z');
    // Berlin 2024-10-27 03:00 CEST → 02:00 CET: a daily 02:30 runs once (CEST); an hourly :15 runs in both 02:15s.
    expect(walk('30 2 * * *', 'Europe/Berlin', '2024-10-26T12:00:00Z', 2)).toEqual(['2024-10-27T00:30:00.000Z', '2024-10-28T01:30:00.000Z']);
    expect(iso(parseCron('30 2 * * *', 'Europe/Berlin').prev(Date.parse('2024-10-27T02:00:00Z')))).toBe('2024-10-27T00:30:00.000Z');
    expect(walk('15 * * * *', 'Europe/Berlin', '2024-10-26T23:30:00Z', 3)).toEqual(['2024-10-27T00:15:00.000Z', '2024-10-27T01:15:00.000Z', '2024-10-27T02:15:00.000Z']);
    // New York 2024-03-10 02:00 EST → 03:00 EDT and 2024-11-03 02:00 EDT → 01:00 EST.
    expect(walk('30 2 * * *', 'America/New_York', '2024-03-09T12:00:00Z', 1)).toEqual(['2024-03-10T07:30:00.000Z']);
    expect(walk('30 1 * * *', 'America/New_York', '2024-11-02T12:00:00Z', 2)).toEqual(['2024-11-03T05:30:00.000Z', '2024-11-04T06:30:00.000Z']);
    expect(walk('*/30 * * * *', 'America/New_York', '2024-11-03T05:10:00Z', 4)).toEqual(
      ['2024-11-03T05:30:00.000Z', '2024-11-03T06:00:00.000Z', '2024-11-03T06:30:00.000Z', '2024-11-03T07:00:00.000Z']);
    // Lord Howe shifts by 30 minutes: 2024-10-06 02:00 → 02:30 (+10:30 → +11), 2024-04-07 02:00 → 01:30.
    expect(walk('15 2 * * *', 'Australia/Lord_Howe', '2024-10-05T12:00:00Z', 1)).toEqual(['2024-10-05T15:45:00.000Z']);
    expect(walk('45 1 * * *', 'Australia/Lord_Howe', '2024-04-06T12:00:00Z', 2)).toEqual(['2024-04-06T14:45:00.000Z', '2024-04-07T15:15:00.000Z']);
    expect(walk('*/20 * * * *', 'Australia/Lord_Howe', '2024-10-05T15:00:00Z', 5)).toEqual(
      ['2024-10-05T15:10:00.000Z', '2024-10-05T15:30:00.000Z', '2024-10-05T15:40:00.000Z', '2024-10-05T15:50:00.000Z', '2024-10-05T16:00:00.000Z']);
    // Kolkata (+05:30, no DST).
    expect(walk('0 9 * * MON-FRI', 'Asia/Kolkata', '2024-01-05T04:00:00Z', 2)).toEqual(['2024-01-08T03:30:00.000Z', '2024-01-09T03:30:00.000Z']);
  });

  it('reads names, 7 as Sunday, steps, macros and the day-of-month/day-of-week OR rule', () => {
    const next = (expr: string, from: string): string => new Date(parseCron(expr, 'UTC').next(Date.parse(from))).toISOString();
    expect(next('0 0 13 * FRI', '2024-01-06T00:00:00Z')).toBe('2024-01-12T00:00:00.000Z'); // Friday wins (OR)
    expect(next('0 0 13 * FRI', '2024-01-12T00:00:00Z')).toBe('2024-01-13T00:00:00.000Z'); // the 13th wins (OR)
    expect(next('0 0 */10 * MON', '2024-01-01T00:00:00Z')).toBe('2024-01-08T00:00:00.000Z'); // `*/10` restricts: OR with Monday
    expect(next('0 0 * * 7', '2024-01-01T00:00:00Z')).toBe('2024-01-07T00:00:00.000Z');
    expect(next('0 0 * * 5-7', '2024-01-07T12:00:00Z')).toBe('2024-01-12T00:00:00.000Z');
    expect(next('0 12 1 jan-mar/2 *', '2024-01-02T00:00:00Z')).toBe('2024-03-01T12:00:00.000Z');
    expect(next('5/20 * * * *', '2024-01-01T00:06:00Z')).toBe('2024-01-01T00:25:00.000Z');
    expect(next('@weekly', '2024-01-01T00:00:00Z')).toBe('2024-01-07T00:00:00.000Z');
    expect(next('@MONTHLY', '2024-01-01T00:00:00Z')).toBe('2024-02-01T00:00:00.000Z');
    expect(next('0 0 29 2 *', '2097-03-01T00:00:00Z')).toBe('2104-02-29T00:00:00.000Z'); // 2100 is no leap year
    expect(new Date(parseCron('0 0 29 2 *', 'UTC').prev(Date.parse('2104-01-01T00:00:00Z'))).toISOString()).toBe('2096-02-29T00:00:00.000Z');
  });

  it('refuses what it cannot run with a config error naming the problem, where cron-parser refuses the same input', () => {
    const refusedByBoth: Array<[string, RegExp]> = [
      ['60 * * * *', /minute field: "60"/], ['* 24 * * *', /hour field/], ['* * 0 * *', /day-of-month field/],
      ['* * * 13 *', /month field/], ['* * * * 8', /day-of-week field/], ['* * * FOO *', /"FOO"/],
      ['5-1 * * * *', /backwards/], ['*/0 * * * *', /step/], ['1-2-3 * * * *', /range/], ['1,,2 * * * *', /minute/],
      ['0 0 30 2 *', /never occurs/], ['0 0 31 4,6 *', /never occurs/], ['every day', /five fields/],
    ];
    // Beyond the five documented fields: cron-parser reads seconds, `L`, `#`, `W` and `H`; botwire refuses them.
    const notSupported: Array<[string, RegExp]> = [
      ['', /five fields/], ['* * * *', /got 4/], ['0 * * * * *', /got 6/], ['* * L * *', /day-of-month field/],
      ['0 0 * * 5#3', /day-of-week field/], ['0 0 15W * *', /day-of-month field/], ['H * * * *', /minute field/],
      ['@reboot', /shorthand/], ['? * * * *', /minute/],
    ];
    for (const [expr, reason] of [...refusedByBoth, ...notSupported]) {
      expect(() => validateCron(expr, 'UTC'), expr).toThrow(BotwireConfigError);
      expect(() => validateCron(expr, 'UTC'), expr).toThrow(reason);
      expect(() => validateCron(expr, 'UTC'), expr).toThrow(/Use five fields/);
    }
    for (const [expr] of refusedByBoth) expect(() => CronExpressionParser.parse(expr, { tz: 'UTC' }).next(), expr).toThrow();
    expect(() => validateCron('* * * * *', 'Mars/Olympus')).toThrow(/time zone "Mars\/Olympus": unknown time zone/);
    expect(() => validateCron('0 0 31 2 MON', 'UTC')).not.toThrow(); // Mondays still match (OR rule)
  });

  it('accepts lists whose items overlap, which cron-parser refuses', () => {
    expect(() => CronExpressionParser.parse('0,0 1-3,2 * * *', { tz: 'UTC' })).toThrow(/duplicate/);
    const cron = parseCron('0,0 1-3,2 * * *', 'UTC');
    expect(new Date(cron.next(Date.parse('2024-01-01T01:00:00Z'))).toISOString()).toBe('2024-01-01T02:00:00.000Z');
  });

  it('keeps dueSlots() consistent on a spring-forward night: the catch-up slot and the next slot come from one set', () => {
    const entry = { key: 'k', name: 'n', cron: '30 2 * * *', payload: '{}', tz: 'Europe/Berlin', catchUpMs: undefined };
    // 03:40 CEST on 2024-03-31, ten minutes after the shifted 02:30 slot (03:30 CEST = 01:30Z).
    expect(dueSlots(entry, Date.parse('2024-03-31T01:40:00Z')).map((t) => new Date(t).toISOString()))
      .toEqual(['2024-03-31T01:30:00.000Z', '2024-04-01T00:30:00.000Z']);
  });
});
