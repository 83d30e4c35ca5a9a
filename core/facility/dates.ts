/**
 * Calendar dates and clock-time ranges as the facility file writes them, parsed strictly and
 * without any time zone: a date here is a day number (days since 1970-01-01), a clock range is
 * minutes since local midnight. Zone maths lives in `calendar.ts`.
 */
import type { Weekday } from './schema.ts';

const DAY_MS = 86_400_000;
const MINUTES_PER_DAY = 1440;
const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
// Date.getUTCDay() order.
const WEEKDAY_BY_UTC_DAY: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Outcome of a parse: the value, or why the text is not one (a phrase for a person). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** An inclusive range of days, as day numbers. */
export interface DayRange {
  first: number;
  last: number;
}

/**
 * A clock-time range in minutes since local midnight. `end` is 1440 for `24:00`; `end <= start`
 * means the range wraps past midnight (`22:00-08:00`).
 */
export interface ClockRange {
  start: number;
  end: number;
}

/** Parses `YYYY-MM-DD` into a day number (days since 1970-01-01), rejecting impossible dates. */
export function parseDay(text: string): Parsed<number> {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return { ok: false, reason: `"${text}" is not a date written YYYY-MM-DD` };
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12)
    return { ok: false, reason: `"${text}" is not a date (there is no month ${month})` };
  const length = daysInMonth(year, month);
  if (day < 1 || day > length) {
    return {
      ok: false,
      reason: `"${text}" is not a date (${MONTH_NAMES[month - 1]} ${year} has ${length} days)`,
    };
  }
  return { ok: true, value: utcDate(year, month - 1, day) / DAY_MS };
}

/**
 * `Date.UTC` for every year: `Date.UTC` itself reads years 0–99 as 1900–1999, so a date of the
 * years 0–99 would land in the wrong century (and 0000-02-29, a leap day, would not exist).
 */
function utcDate(year: number, monthIndex: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  return date.getTime();
}

/** Parses `YYYY-MM-DD` or an inclusive range `YYYY-MM-DD..YYYY-MM-DD`. */
export function parseDayRange(text: string): Parsed<DayRange> {
  const parts = text.split('..');
  if (parts.length > 2) return { ok: false, reason: `"${text}" is not a date range YYYY-MM-DD..YYYY-MM-DD` };
  const first = parseDay(parts[0] ?? '');
  if (!first.ok) return first;
  if (parts.length === 1) return { ok: true, value: { first: first.value, last: first.value } };
  const last = parseDay(parts[1] ?? '');
  if (!last.ok) return last;
  if (last.value < first.value) {
    return { ok: false, reason: `"${text}" starts after it ends` };
  }
  return { ok: true, value: { first: first.value, last: last.value } };
}

/** The `YYYY-MM-DD` of a day number. */
export function dayToIso(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** Day of the week of a day number. */
export function weekdayOf(day: number): Weekday {
  return WEEKDAY_BY_UTC_DAY[new Date(day * DAY_MS).getUTCDay()] as Weekday;
}

/** Number of days of a month (1–12) in a proleptic Gregorian year. */
export function daysInMonth(year: number, month: number): number {
  return new Date(utcDate(year, month, 0)).getUTCDate();
}

function parseClock(text: string, isEnd: boolean): Parsed<number> {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text);
  if (!match) return { ok: false, reason: `"${text}" is not a time written HH:MM` };
  const hour = Number(match[1]);
  const minute = Number(match[2]);
  if (isEnd && hour === 24 && minute === 0) return { ok: true, value: MINUTES_PER_DAY };
  if (hour > 23 || minute > 59) return { ok: false, reason: `"${text}" is not a time of day` };
  return { ok: true, value: hour * 60 + minute };
}

/**
 * Parses `HH:MM-HH:MM`. `24:00` is accepted as an end (`00:00-24:00` is the whole day). A range
 * that starts and ends at the same time is refused as empty; whether a wrap past midnight is
 * allowed is the caller's call.
 */
export function parseClockRange(text: string): Parsed<ClockRange> {
  const parts = text.split('-');
  if (parts.length !== 2) return { ok: false, reason: `"${text}" is not a time range written HH:MM-HH:MM` };
  const start = parseClock(parts[0] ?? '', false);
  if (!start.ok) return { ok: false, reason: `${start.reason} in "${text}"` };
  const end = parseClock(parts[1] ?? '', true);
  if (!end.ok) return { ok: false, reason: `${end.reason} in "${text}"` };
  if (start.value === end.value % MINUTES_PER_DAY && !(start.value === 0 && end.value === MINUTES_PER_DAY)) {
    return { ok: false, reason: `"${text}" is empty (it starts when it ends)` };
  }
  return { ok: true, value: { start: start.value, end: end.value } };
}

/**
 * The parts of a clock range within one day, as `[start, end)` minute pairs: one part, or two
 * when the range wraps past midnight.
 */
export function clockParts(range: ClockRange): Array<[number, number]> {
  if (range.end > range.start) return [[range.start, range.end]];
  const parts: Array<[number, number]> = [[range.start, MINUTES_PER_DAY]];
  if (range.end > 0) parts.unshift([0, range.end]);
  return parts;
}

/** Whether two clock ranges share at least one minute. */
export function clockRangesOverlap(a: ClockRange, b: ClockRange): boolean {
  for (const [aStart, aEnd] of clockParts(a)) {
    for (const [bStart, bEnd] of clockParts(b)) {
      if (aStart < bEnd && bStart < aEnd) return true;
    }
  }
  return false;
}
