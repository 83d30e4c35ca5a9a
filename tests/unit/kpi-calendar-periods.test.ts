/**
 * Calendar periods and the periods compared with (环比, 同比), worked by hand.
 *
 * Asia/Shanghai is UTC+8 all year (no DST): local midnight of day D is 16:00Z of D − 1. Dates used:
 * 2026-11-30 is a Monday (ISO week 49 of 2026); 2026-01-01 is a Thursday, so ISO week 1 of 2026
 * starts Monday 2025-12-29, and 2026 has 53 ISO weeks (a year starting on a Thursday does);
 * 2025-01-01 is a Wednesday, so 2025 has 52 weeks and its week 1 starts Monday 2024-12-30.
 * Europe/Berlin changes to summer time on 2026-03-29 (that day is 23 hours long).
 */
import { describe, expect, it } from 'vitest';
import { buildCalendar } from '../../core/facility/calendar.ts';
import {
  comparedEnd,
  dayTypeMs,
  isTwelveMonths,
  lastYearPeriod,
  type PeriodKind,
  periodKind,
  previousPeriod,
  twelveMonthsBefore,
} from '../../core/kpi/calendar-periods.ts';

const SH = 'Asia/Shanghai';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Epoch ms of a Shanghai local time (UTC+8). */
const sh = (y: number, mo: number, d: number, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h - 8, mi);

describe('recognising a calendar period from from/to in the site zone', () => {
  it.each([
    ['a local day', sh(2026, 11, 25), sh(2026, 11, 26), 'day'],
    ['an ISO week (Monday to Monday)', sh(2026, 11, 30), sh(2026, 12, 7), 'week'],
    ['seven days from a Wednesday', sh(2026, 11, 25), sh(2026, 12, 2), 'range'],
    ['November', sh(2026, 11, 1), sh(2026, 12, 1), 'month'],
    ['February of a common year (28 days)', sh(2026, 2, 1), sh(2026, 3, 1), 'month'],
    ['Q4', sh(2026, 10, 1), sh(2027, 1, 1), 'quarter'],
    ['three months from November (not a quarter)', sh(2026, 11, 1), sh(2027, 2, 1), 'range'],
    ['2026', sh(2026, 1, 1), sh(2027, 1, 1), 'year'],
    ['12 months from July (not a calendar year)', sh(2026, 7, 1), sh(2027, 7, 1), 'range'],
    ['2 October to 1 November (the old equal-length window)', sh(2026, 10, 2), sh(2026, 11, 1), 'range'],
    ['a day from 08:00', sh(2026, 11, 25, 8), sh(2026, 11, 26, 8), 'range'],
    ['a UTC day (not the site’s)', Date.UTC(2026, 10, 25), Date.UTC(2026, 10, 26), 'range'],
  ] as const)('%s', (_name, from, to, kind) => {
    expect(periodKind(from, to, SH)).toBe(kind);
  });

  it('takes a 23-hour DST day as a day', () => {
    // Berlin 2026-03-29 00:00 (UTC+1) = 2026-03-28T23:00Z; 2026-03-30 00:00 (UTC+2) = 2026-03-29T22:00Z.
    expect(periodKind(Date.UTC(2026, 2, 28, 23), Date.UTC(2026, 2, 29, 22), 'Europe/Berlin')).toBe('day');
  });
});

describe('previous (环比) and last year (同比)', () => {
  const cases: [string, number, number, PeriodKind, [number, number], [number, number]][] = [
    // November → October (31 days), not 2 Oct – 1 Nov; last year November 2025.
    [
      'November',
      sh(2026, 11, 1),
      sh(2026, 12, 1),
      'month',
      [sh(2026, 10, 1), sh(2026, 11, 1)],
      [sh(2025, 11, 1), sh(2025, 12, 1)],
    ],
    // March → February (28 days in 2026).
    [
      'March',
      sh(2026, 3, 1),
      sh(2026, 4, 1),
      'month',
      [sh(2026, 2, 1), sh(2026, 3, 1)],
      [sh(2025, 3, 1), sh(2025, 4, 1)],
    ],
    // A day → the day before; last year the same date.
    [
      'a day',
      sh(2026, 11, 25),
      sh(2026, 11, 26),
      'day',
      [sh(2026, 11, 24), sh(2026, 11, 25)],
      [sh(2025, 11, 25), sh(2025, 11, 26)],
    ],
    // ISO week 49 of 2026 (Mon 30 Nov) → week 48 (Mon 23 Nov); last year week 49 of 2025: week 1 of
    // 2025 starts Mon 2024-12-30, so week 49 starts 48 weeks later = 2024-12-30 + 336 days = Mon 2025-12-01.
    [
      'ISO week 49',
      sh(2026, 11, 30),
      sh(2026, 12, 7),
      'week',
      [sh(2026, 11, 23), sh(2026, 11, 30)],
      [sh(2025, 12, 1), sh(2025, 12, 8)],
    ],
    // Q1 2026 → Q4 2025; last year Q1 2025.
    [
      'Q1',
      sh(2026, 1, 1),
      sh(2026, 4, 1),
      'quarter',
      [sh(2025, 10, 1), sh(2026, 1, 1)],
      [sh(2025, 1, 1), sh(2025, 4, 1)],
    ],
    // A year → the year before, which is also last year's.
    [
      '2026',
      sh(2026, 1, 1),
      sh(2027, 1, 1),
      'year',
      [sh(2025, 1, 1), sh(2026, 1, 1)],
      [sh(2025, 1, 1), sh(2026, 1, 1)],
    ],
    // A range of 10 days → the 10 days before it; last year both ends a year earlier.
    [
      'a 10-day range',
      sh(2026, 11, 3, 12),
      sh(2026, 11, 13, 12),
      'range',
      [sh(2026, 10, 24, 12), sh(2026, 11, 3, 12)],
      [sh(2025, 11, 3, 12), sh(2025, 11, 13, 12)],
    ],
  ];
  it.each(cases)('%s', (_name, from, to, kind, previous, lastYear) => {
    expect(periodKind(from, to, SH)).toBe(kind);
    expect(previousPeriod(from, to, kind, SH)).toEqual({ from: previous[0], to: previous[1] });
    expect(lastYearPeriod(from, to, kind, SH)).toEqual({ from: lastYear[0], to: lastYear[1] });
  });

  it('compares ISO week 53 with week 52 of a year that has no week 53', () => {
    // ISO week 53 of 2026 starts Mon 2026-12-28 (week 1 of 2026 starts 2025-12-29; + 52 weeks).
    // 2025 has 52 weeks: its week 52 starts 2024-12-30 + 51 weeks = Mon 2025-12-22.
    const from = sh(2026, 12, 28);
    expect(periodKind(from, from + 7 * DAY, SH)).toBe('week');
    expect(lastYearPeriod(from, from + 7 * DAY, 'week', SH)).toEqual({
      from: sh(2025, 12, 22),
      to: sh(2025, 12, 29),
    });
  });

  it('compares 29 February with 28 February, one day long', () => {
    // 2028 is a leap year.
    expect(lastYearPeriod(sh(2028, 2, 29), sh(2028, 3, 1), 'day', SH)).toEqual({
      from: sh(2027, 2, 28),
      to: sh(2027, 3, 1),
    });
  });
});

describe('the same elapsed part of a period reaching into the future', () => {
  const december = { from: sh(2026, 12, 1), to: sh(2027, 1, 1) };
  const november = { from: sh(2026, 11, 1), to: sh(2026, 12, 1) };

  it('a month measured to 15 December 10:00 compares 1–15 November 10:00', () => {
    // Elapsed: 14 days 10 hours after 1 December → 14 days 10 hours after 1 November.
    const now = sh(2026, 12, 15, 10);
    expect(comparedEnd(december, now, november, 'month', SH)).toBe(sh(2026, 11, 15, 10));
    // Last year: 1–15 December 2025, 10:00.
    const lastYear = { from: sh(2025, 12, 1), to: sh(2026, 1, 1) };
    expect(comparedEnd(december, now, lastYear, 'month', SH)).toBe(sh(2025, 12, 15, 10));
  });

  it('never runs past the compared period: 31 March 12:00 compares all of February', () => {
    // 30 days 12 hours after 1 March; 1 February + 30 d 12 h is past 1 March, so February's end.
    const march = { from: sh(2026, 3, 1), to: sh(2026, 4, 1) };
    const february = { from: sh(2026, 2, 1), to: sh(2026, 3, 1) };
    expect(comparedEnd(march, sh(2026, 3, 31, 12), february, 'month', SH)).toBe(sh(2026, 3, 1));
  });

  it('a period wholly measured compares the whole compared period (November’s 30 days with October’s 31)', () => {
    const october = { from: sh(2026, 10, 1), to: sh(2026, 11, 1) };
    expect(comparedEnd(november, november.to, october, 'month', SH)).toBe(sh(2026, 11, 1));
    expect(comparedEnd(november, november.to + 5 * DAY, october, 'month', SH)).toBe(sh(2026, 11, 1));
  });

  it('a year measured to 1 March compares January–February of last year (months, not 59 days)', () => {
    // 2 months after 1 January 2028 (leap: 60 days) → 2 months after 1 January 2027 = 1 March 2027.
    const year = { from: sh(2028, 1, 1), to: sh(2029, 1, 1) };
    const last = { from: sh(2027, 1, 1), to: sh(2028, 1, 1) };
    expect(comparedEnd(year, sh(2028, 3, 1), last, 'year', SH)).toBe(sh(2027, 3, 1));
  });

  it('a range compares the same milliseconds', () => {
    const range = { from: sh(2026, 11, 3, 12), to: sh(2026, 11, 13, 12) };
    const before = { from: sh(2026, 10, 24, 12), to: sh(2026, 11, 3, 12) };
    // 2 days 3 hours measured → 2 days 3 hours of the range before.
    expect(comparedEnd(range, range.from + 51 * HOUR, before, 'range', SH)).toBe(before.from + 51 * HOUR);
  });

  it('a period not begun compares nothing', () => {
    expect(comparedEnd(december, december.from, november, 'month', SH)).toBe(november.from);
  });
});

describe('twelve months', () => {
  it.each([
    [sh(2026, 1, 1), sh(2027, 1, 1), true],
    [sh(2026, 7, 1), sh(2027, 7, 1), true],
    [sh(2026, 7, 2), sh(2027, 7, 2), false],
    [sh(2026, 6, 1), sh(2026, 7, 1), false],
    [sh(2026, 1, 1, 8), sh(2027, 1, 1, 8), false],
  ])('[%i, %i) → %s', (from, to, twelve) => {
    expect(isTwelveMonths(from, to, SH)).toBe(twelve);
  });

  it('the twelve months before June 2026 are June 2025 – May 2026', () => {
    expect(twelveMonthsBefore(sh(2026, 6, 1), SH)).toEqual({ from: sh(2025, 6, 1), to: sh(2026, 6, 1) });
  });
});

describe('time of working days and other days', () => {
  const calendar = buildCalendar({
    timezone: SH,
    workdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
    workingHours: '09:00-18:00',
    holidays: ['2026-10-01'],
    extraWorkdays: ['2026-10-10'],
  });

  it('counts October 2026 by day type', () => {
    // October 2026: weekdays 1–2 (Thu, Fri), 5–9, 12–16, 19–23, 26–30 = 2 + 4 × 5 = 22; the holiday
    // (Thu 1) is not worked → 21; the make-up Saturday 10 is → 22 working days; other days
    // 31 − 22 = 9 (1, 3, 4, 11, 17, 18, 24, 25, 31).
    expect(dayTypeMs(sh(2026, 10, 1), sh(2026, 11, 1), calendar)).toEqual({ work: 22 * DAY, off: 9 * DAY });
  });

  it('counts 2026 by day type: 261 working days, 104 others', () => {
    // 2026 starts on a Thursday and has 365 days = 52 weeks + one more Thursday (31 December):
    // weekdays 52 × 5 + 1 = 261, minus the holiday (Thu 1 Oct), plus the make-up Saturday = 261.
    expect(dayTypeMs(sh(2026, 1, 1), sh(2027, 1, 1), calendar)).toEqual({ work: 261 * DAY, off: 104 * DAY });
  });

  it('clips partial days', () => {
    // Fri 2026-10-09 12:00 → Sat 10-10 (make-up, working) 06:00 → Sun 10-11 18:00:
    // working 12 h (Fri) + 24 h (Sat) = 36 h; other 18 h (Sun).
    expect(dayTypeMs(sh(2026, 10, 9, 12), sh(2026, 10, 11, 18), calendar)).toEqual({
      work: 36 * HOUR,
      off: 18 * HOUR,
    });
  });
});
