/**
 * Calendar periods of the site (day, ISO week, month, quarter, year) and the periods an energy
 * figure is compared with: 环比 (`previous`) and 同比 (`lastYear`), ARCHITECTURE "Comparisons".
 *
 * Definitions (all in the site's time zone, luxon for the calendar maths, so DST days are 23 or
 * 25 hours and still one day):
 * - **Recognised period**: `[from, to)` is a `day` when `from` is a local midnight and `to` the next
 *   one; a `week` when `from` is a Monday midnight and `to` seven days later (an ISO week); a
 *   `month`, `quarter` or `year` when `from` is the local midnight of the 1st of a month (of a
 *   quarter's first month: January, April, July, October; of January) and `to` one, three or
 *   twelve months later. Anything else is a `range`.
 * - **Previous** (环比): the calendar period just before (November → October, ISO week 48 → 47,
 *   Q4 → Q3); for a `range`, the range of equal length in ms just before `from`.
 * - **Last year** (同比): the same period a year earlier: the same dates (29 February → 28
 *   February), for a week the ISO week of the same number in the previous ISO week-year (week 53
 *   → week 52 when that year has none); for a `range`, both ends a calendar year earlier.
 * - **Elapsed part**: a period that reaches past now is measured up to now; what it is compared
 *   with is measured over the same elapsed part: from the comparison period's start, the same
 *   calendar distance (months, then days, then time of day — so 1–15 December 10:00 compares
 *   with 1–15 November 10:00) for a calendar period, the same ms for a range, never past the
 *   comparison period's end. A period wholly measured compares with the whole comparison period
 *   (November's 30 days with October's 31).
 * - **Twelve months**: `from` is the local midnight of the 1st of a month and `to` twelve months
 *   later (the period GB/T 51161 rates).
 */
import { DateTime, type DurationLikeObject, IANAZone } from 'luxon';
import { localDays } from '../facility/local-days.ts';
import type { Period } from './types.ts';

export type PeriodKind = 'day' | 'week' | 'month' | 'quarter' | 'year' | 'range';

const local = (epochMs: number, timezone: string) =>
  DateTime.fromMillis(epochMs, { zone: IANAZone.create(timezone) });

/** The kind of calendar period `[from, to)` is in the site's zone (see the module comment). */
export function periodKind(from: number, to: number, timezone: string): PeriodKind {
  const start = local(from, timezone);
  if (start.toMillis() !== start.startOf('day').toMillis()) return 'range';
  if (start.plus({ days: 1 }).startOf('day').toMillis() === to) return 'day';
  if (start.weekday === 1 && start.plus({ weeks: 1 }).toMillis() === to) return 'week';
  if (start.day !== 1) return 'range';
  if (start.plus({ months: 1 }).toMillis() === to) return 'month';
  if ((start.month - 1) % 3 === 0 && start.plus({ months: 3 }).toMillis() === to) return 'quarter';
  if (start.month === 1 && start.plus({ years: 1 }).toMillis() === to) return 'year';
  return 'range';
}

const UNIT: Readonly<Record<Exclude<PeriodKind, 'range'>, DurationLikeObject>> = {
  day: { days: 1 },
  week: { weeks: 1 },
  month: { months: 1 },
  quarter: { months: 3 },
  year: { years: 1 },
};

/** The period compared as 环比: the calendar period before, or the equal-length range before. */
export function previousPeriod(from: number, to: number, kind: PeriodKind, timezone: string): Period {
  if (kind === 'range') return { from: from - (to - from), to: from };
  return { from: local(from, timezone).minus(UNIT[kind]).toMillis(), to: from };
}

/** The period compared as 同比: the same period a year earlier. */
export function lastYearPeriod(from: number, to: number, kind: PeriodKind, timezone: string): Period {
  const start = local(from, timezone);
  if (kind === 'week') {
    const weekYear = start.weekYear - 1;
    const probe = DateTime.fromObject({ weekYear, weekNumber: 1, weekday: 1 }, { zone: start.zone });
    const weekNumber = Math.min(start.weekNumber, probe.weeksInWeekYear);
    const monday = DateTime.fromObject({ weekYear, weekNumber, weekday: 1 }, { zone: start.zone });
    return { from: monday.toMillis(), to: monday.plus({ weeks: 1 }).toMillis() };
  }
  if (kind === 'range') {
    return {
      from: start.minus({ years: 1 }).toMillis(),
      to: local(to, timezone).minus({ years: 1 }).toMillis(),
    };
  }
  const first = start.minus({ years: 1 });
  return { from: first.toMillis(), to: first.plus(UNIT[kind]).toMillis() };
}

/**
 * End of the part of `compared` that matches the elapsed part `[from, measuredTo)` of the period
 * `[from, to)` (see "Elapsed part" in the module comment).
 */
export function comparedEnd(
  period: Period,
  measuredTo: number,
  compared: Period,
  kind: PeriodKind,
  timezone: string,
): number {
  if (measuredTo >= period.to) return compared.to;
  if (measuredTo <= period.from) return compared.from;
  if (kind === 'range') return Math.min(compared.to, compared.from + (measuredTo - period.from));
  const elapsed = local(measuredTo, timezone).diff(local(period.from, timezone), [
    'months',
    'days',
    'hours',
    'minutes',
    'seconds',
    'milliseconds',
  ]);
  return Math.min(compared.to, local(compared.from, timezone).plus(elapsed).toMillis());
}

/** Whether `[from, to)` is twelve consecutive months from the local 1st of a month. */
export function isTwelveMonths(from: number, to: number, timezone: string): boolean {
  const start = local(from, timezone);
  return (
    start.day === 1 &&
    start.toMillis() === start.startOf('day').toMillis() &&
    start.plus({ months: 12 }).toMillis() === to
  );
}

/** The twelve months just before `from` (local calendar): `[from − 12 months, from)`. */
export function twelveMonthsBefore(from: number, timezone: string): Period {
  return { from: local(from, timezone).minus({ months: 12 }).toMillis(), to: from };
}

/**
 * Milliseconds of working days and of other days (the facility calendar's day kinds: workdays
 * and make-up workdays against weekends and holidays) inside `[from, to)`.
 */
export function dayTypeMs(
  from: number,
  to: number,
  calendar: { readonly timezone: string; isWorkday(date: string): boolean },
): { work: number; off: number } {
  const out = { work: 0, off: 0 };
  for (const day of localDays(calendar.timezone, from, to)) {
    const span = Math.min(day.end, to) - Math.max(day.start, from);
    if (calendar.isWorkday(day.date)) out.work += span;
    else out.off += span;
  }
  return out;
}
