/**
 * The site's working calendar: which days are worked (weekly rule, public holidays, make-up
 * workdays 调休上班) and which instants fall in working hours, in the site's own time zone.
 *
 * Working time is what the off-hours share, vehicle and room utilisation are measured against,
 * so it is computed from local wall-clock times through luxon: a working day in a zone with
 * daylight saving starts at 09:00 local whatever the UTC offset that day, and the day of the
 * change is 23 or 25 hours long.
 */
import { IANAZone } from 'luxon';
import { parseClockRange, parseDay, parseDayRange, weekdayOf } from './dates.ts';
import { atLocalMinute, type LocalDay, localDayAt, localDays } from './local-days.ts';
import type { Facility, Weekday } from './schema.ts';

/**
 * What a local date is: a usual `workday`, a `weekend` (a day off by the weekly rule), a public
 * `holiday`, or an `extra-workday` (a make-up workday on a day otherwise off).
 */
export type DayKind = 'workday' | 'weekend' | 'holiday' | 'extra-workday';

/** A half-open interval `[start, end)` of epoch milliseconds (UTC). */
export interface Interval {
  start: number;
  end: number;
}

/** A site calendar. All methods are pure; local dates are `YYYY-MM-DD` in the site's zone. */
export interface WorkCalendar {
  /** IANA zone of the site. */
  readonly timezone: string;
  /** What kind of day a local date is. Throws `RangeError` for a string that is not a date. */
  dayKind(date: string): DayKind;
  /** Whether people work on a local date: a usual workday or a make-up workday, not a holiday. */
  isWorkday(date: string): boolean;
  /** Whether an instant is working time: a workday, within working hours (start inclusive, end exclusive). */
  isWorkingTime(epochMs: number): boolean;
  /**
   * The working time inside `[fromMs, toMs)`, as sorted, disjoint, non-adjacent UTC intervals
   * (empty when `toMs <= fromMs`). Throws `RangeError` for a non-finite bound.
   */
  workingIntervals(fromMs: number, toMs: number): Interval[];
  /** Milliseconds of working time inside `[fromMs, toMs)`. */
  workingMs(fromMs: number, toMs: number): number;
  /** The site-local date of an instant. */
  localDate(epochMs: number): string;
}

/** What {@link buildCalendar} needs: the file's calendar section and the site's zone. */
export interface CalendarInput {
  timezone: string;
  workdays: readonly Weekday[];
  workingHours: string;
  holidays?: readonly string[];
  extraWorkdays?: readonly string[];
}

/**
 * Builds a calendar. The input is expected to be valid (as `loadFacility` guarantees); invalid
 * input throws `RangeError`. A date both a holiday and a make-up workday counts as a make-up
 * workday (validation refuses that combination anyway).
 */
export function buildCalendar(input: CalendarInput): WorkCalendar {
  if (!IANAZone.isValidZone(input.timezone)) throw new RangeError(`unknown time zone "${input.timezone}"`);
  const tz = IANAZone.create(input.timezone).name;
  const hours = unwrap(parseClockRange(input.workingHours), 'workingHours');
  if (hours.end <= hours.start) {
    throw new RangeError(`working hours "${input.workingHours}" run past midnight`);
  }
  const workdays = new Set(input.workdays);
  const holidays = new Set<number>();
  for (const text of input.holidays ?? []) {
    const range = unwrap(parseDayRange(text), 'holidays');
    for (let day = range.first; day <= range.last; day++) holidays.add(day);
  }
  const extras = new Set((input.extraWorkdays ?? []).map((text) => unwrap(parseDay(text), 'extraWorkdays')));

  const kindOfDay = (day: number): DayKind => {
    if (extras.has(day)) return 'extra-workday';
    if (holidays.has(day)) return 'holiday';
    return workdays.has(weekdayOf(day)) ? 'workday' : 'weekend';
  };
  const dayNumber = (date: string) => unwrap(parseDay(date), 'date');
  const worked = (kind: DayKind) => kind === 'workday' || kind === 'extra-workday';

  /** Working interval of a local day, or undefined on a day off. */
  const workOf = (day: LocalDay): Interval | undefined => {
    if (!worked(kindOfDay(dayNumber(day.date)))) return undefined;
    return { start: atLocalMinute(tz, day, hours.start), end: atLocalMinute(tz, day, hours.end) };
  };

  // isWorkingTime is called per data point, usually in time order: keep the last day looked up.
  let cached: { from: number; to: number; work: Interval | undefined } | undefined;
  const dayAround = (epochMs: number) => {
    if (cached && cached.from <= epochMs && epochMs < cached.to) return cached;
    const day = localDayAt(tz, epochMs);
    cached = { from: day.start, to: day.end, work: workOf(day) };
    return cached;
  };

  const workingIntervals = (fromMs: number, toMs: number): Interval[] => {
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) {
      throw new RangeError(`working intervals need a finite range, not [${fromMs}, ${toMs})`);
    }
    const out: Interval[] = [];
    for (const day of localDays(tz, fromMs, toMs)) {
      const work = workOf(day);
      if (!work) continue;
      const start = Math.max(work.start, fromMs);
      const end = Math.min(work.end, toMs);
      const last = out[out.length - 1];
      if (end > start) {
        if (last && last.end === start) last.end = end;
        else out.push({ start, end });
      }
    }
    return out;
  };

  return {
    timezone: tz,
    dayKind: (date) => kindOfDay(dayNumber(date)),
    isWorkday: (date) => worked(kindOfDay(dayNumber(date))),
    isWorkingTime: (epochMs) => {
      const { work } = dayAround(epochMs);
      return work !== undefined && work.start <= epochMs && epochMs < work.end;
    },
    workingIntervals,
    workingMs: (fromMs, toMs) =>
      workingIntervals(fromMs, toMs).reduce((sum, interval) => sum + interval.end - interval.start, 0),
    localDate: (epochMs) => localDayAt(tz, epochMs).date,
  };
}

/**
 * The working time of one range, walked through the calendar once, then asked about any part of
 * it by binary search: for code that asks per trip or per sample, where each
 * {@link WorkCalendar.workingMs} call would walk the local days again. Answers equal the
 * calendar's own; outside the range it asks the calendar.
 */
export class WorkingTime {
  /** The calendar's working intervals of the range. */
  readonly intervals: readonly Interval[];
  readonly #calendar: WorkCalendar;
  readonly #from: number;
  readonly #to: number;
  readonly #starts: Float64Array;
  readonly #ends: Float64Array;
  /** Working ms before interval `i` (length n + 1). */
  readonly #before: Float64Array;

  constructor(calendar: WorkCalendar, fromMs: number, toMs: number) {
    this.#calendar = calendar;
    this.#from = fromMs;
    this.#to = toMs;
    this.intervals = calendar.workingIntervals(fromMs, toMs);
    const n = this.intervals.length;
    this.#starts = new Float64Array(n);
    this.#ends = new Float64Array(n);
    this.#before = new Float64Array(n + 1);
    this.intervals.forEach(({ start, end }, i) => {
      this.#starts[i] = start;
      this.#ends[i] = end;
      this.#before[i + 1] = (this.#before[i] as number) + end - start;
    });
  }

  /** Milliseconds of working time inside `[fromMs, toMs)`, as {@link WorkCalendar.workingMs}. */
  workingMs(fromMs: number, toMs: number): number {
    if (toMs <= fromMs) return 0;
    if (fromMs < this.#from || toMs > this.#to) return this.#calendar.workingMs(fromMs, toMs);
    return this.#upTo(toMs) - this.#upTo(fromMs);
  }

  /** Whether an instant is working time, as {@link WorkCalendar.isWorkingTime}. */
  isWorkingTime(epochMs: number): boolean {
    if (!(epochMs >= this.#from && epochMs < this.#to)) return this.#calendar.isWorkingTime(epochMs);
    const k = this.#endedBy(epochMs);
    return k < this.#starts.length && (this.#starts[k] as number) <= epochMs;
  }

  /** Total working time of the range, ms. */
  get totalMs(): number {
    return this.#before[this.#starts.length] as number;
  }

  /** Working ms in `[from, t)`. */
  #upTo(t: number): number {
    const k = this.#endedBy(t);
    const start = this.#starts[k];
    return (this.#before[k] as number) + (start !== undefined && start < t ? t - start : 0);
  }

  /** How many intervals end at or before `t`. */
  #endedBy(t: number): number {
    let lo = 0;
    let hi = this.#ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#ends[mid] as number) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The calendar of a loaded facility. */
export function facilityCalendar(facility: Pick<Facility, 'site' | 'calendar'>): WorkCalendar {
  return buildCalendar({ timezone: facility.site.timezone, ...facility.calendar });
}

function unwrap<T>(parsed: { ok: true; value: T } | { ok: false; reason: string }, what: string): T {
  if (!parsed.ok) throw new RangeError(`calendar ${what}: ${parsed.reason}`);
  return parsed.value;
}
