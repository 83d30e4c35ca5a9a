/**
 * The edges at which the energy engine cuts the meters' registers, and what each interval between
 * two edges is.
 *
 * Every energy figure is a sum of per-interval consumption (core/kpi/data.ts), so
 * each boundary a figure splits on must be an edge: every local midnight of the site (days and
 * years), every start and end of working time (work calendar, holidays, make-up workdays), every
 * change of time-of-use period of the season, and the period's `from` and `to`. Between two
 * consecutive edges nothing changes, so the attributes of an interval are those of its start.
 *
 * Pure (luxon for the zone maths); DST-safe because every instant is built from local dates.
 */
import type { WorkCalendar } from '../facility/calendar.ts';
import { localDayAt, localDays } from '../facility/local-days.ts';
import type { TouPeriod } from '../facility/schema.ts';
import type { TouSchedule } from './tou-schedule.ts';
import type { SeriesEvery } from './types.ts';

/** One interval `[start, end)` between consecutive edges. */
export interface TimelineInterval {
  readonly start: number;
  readonly end: number;
  /** Time-of-use period of electricity during the interval. */
  readonly tou: TouPeriod;
  /** Working time of the site calendar (the interval is wholly in or wholly out). */
  readonly working: boolean;
  /**
   * The interval lies on a working day of the site calendar (a workday or a make-up workday, not
   * a weekend or holiday): the day type the quota projection averages by. Lead-in intervals are
   * cut wherever the day type changes, so each is wholly one type too.
   */
  readonly workday: boolean;
  /** Local calendar year of the interval (it never straddles a local new year). */
  readonly year: number;
  /** Inside the requested period [from, to); false for lead-in intervals (year-to-date). */
  readonly inPeriod: boolean;
}

export interface EnergyTimeline {
  readonly from: number;
  readonly to: number;
  /** Strictly ascending; interval `i` is `[edges[i], edges[i + 1])`. */
  readonly edges: readonly number[];
  readonly intervals: readonly TimelineInterval[];
}

export interface TimelineInput {
  /** The period, epoch ms, `from < to`. */
  readonly from: number;
  readonly to: number;
  readonly calendar: WorkCalendar;
  readonly schedule: TouSchedule;
  /**
   * More edges, anywhere at or before `to` (e.g. the start of the year for a year-to-date
   * figure, or "now"). Those before `from` make lead-in intervals (`inPeriod: false`); those
   * after `to` are ignored.
   */
  readonly extraEdges?: readonly number[];
}

/** The local midnights strictly inside `(from, to)`, ascending, epoch ms. */
export function localMidnights(from: number, to: number, timezone: string): number[] {
  return localDays(timezone, from, to)
    .map((day) => day.start)
    .filter((start) => start > from);
}

/** Builds the timeline of a period (see the module comment). */
export function energyTimeline(input: TimelineInput): EnergyTimeline {
  const { from, to, calendar, schedule } = input;
  if (!(Number.isFinite(from) && Number.isFinite(to) && from < to)) {
    throw new RangeError(`a timeline needs from < to, got [${from}, ${to})`);
  }
  const zone = calendar.timezone;
  const set = new Set<number>([from, to]);
  // Each local day touching the period: its midnight, and where its ToU period changes. The
  // days' segments also give each interval its period and year without a zone lookup per edge.
  const days: {
    start: number;
    end: number;
    year: number;
    workday: boolean;
    segments: { start: number; period: TouPeriod }[];
  }[] = [];
  for (const day of localDays(zone, from, to)) {
    const segments = schedule.daySegments(day);
    days.push({
      start: day.start,
      end: day.end,
      year: day.year,
      workday: calendar.isWorkday(day.date),
      segments,
    });
    for (const segment of segments) set.add(segment.start);
  }
  const working = calendar.workingIntervals(from, to);
  for (const w of working) {
    set.add(w.start);
    set.add(w.end);
  }
  const lead = (input.extraEdges ?? []).filter((t) => Number.isFinite(t) && t <= to);
  const first = lead.reduce((min, t) => Math.min(min, t), from);
  for (const t of lead) set.add(t);
  // Lead-in intervals (before `from`) only need to split where an extra edge asks; they must
  // still not straddle a local new year nor a change of day type (working day or not), so add
  // the new years and the midnights where the day type changes between the first edge and from.
  if (first < from) {
    let previous: boolean | undefined;
    for (const day of localDays(zone, first, from)) {
      const workday = calendar.isWorkday(day.date);
      if (previous !== undefined && (workday !== previous || (day.month === 1 && day.day === 1))) {
        set.add(day.start);
      }
      previous = workday;
    }
  }
  const edges = [...set].filter((t) => t >= first && t <= to).sort((a, b) => a - b);
  const intervals: TimelineInterval[] = [];
  let d = 0;
  let s = 0;
  let w = 0;
  for (let i = 0; i + 1 < edges.length; i++) {
    const start = edges[i] as number;
    const end = edges[i + 1] as number;
    if (start < from) {
      // Lead-in: only its year and day type matter.
      const day = localDayAt(zone, start);
      const lead = {
        tou: schedule.periodAt(start),
        working: calendar.isWorkingTime(start),
        workday: calendar.isWorkday(day.date),
      };
      intervals.push({ start, end, ...lead, year: day.year, inPeriod: false });
      continue;
    }
    // Working intervals are sorted and their bounds are edges: walk them alongside.
    while (w < working.length && (working[w] as { end: number }).end <= start) w++;
    const current = working[w];
    const isWorking = current !== undefined && current.start <= start;
    while (d + 1 < days.length && (days[d] as (typeof days)[number]).end <= start) {
      d++;
      s = 0;
    }
    const day = days[d] as (typeof days)[number];
    while (s + 1 < day.segments.length && (day.segments[s + 1] as { start: number }).start <= start) s++;
    const tou = (day.segments[s] as { period: TouPeriod }).period;
    intervals.push({
      start,
      end,
      tou,
      working: isWorking,
      workday: day.workday,
      year: day.year,
      inPeriod: end <= to,
    });
  }
  return { from, to, edges, intervals };
}

const STEP_MINUTES: Readonly<Record<SeriesEvery, number>> = { '15m': 15, '1h': 60, '1d': 1440 };

/**
 * Window edges of a series: windows aligned to local midnight in the site's zone (`1d` is a
 * calendar day of the site, 23 or 25 hours long on a DST change; `15m` and `1h` step from each
 * local midnight and the last window of a day ends at the next midnight), cut to `[from, to)`:
 * the first and last windows may be partial. Returns the edges, `from` first and `to` last.
 */
export function windowEdges(from: number, to: number, every: SeriesEvery, timezone: string): number[] {
  if (!(Number.isFinite(from) && Number.isFinite(to) && from < to)) {
    throw new RangeError(`windows need from < to, got [${from}, ${to})`);
  }
  const stepMs = STEP_MINUTES[every] * 60_000;
  const edges = [from];
  // A day is one window whatever its length (23 or 25 hours on a DST change).
  const step = every === '1d' ? Number.POSITIVE_INFINITY : stepMs;
  for (const day of localDays(timezone, from, to)) {
    for (let t = day.start; t < day.end; t += step) {
      if (t > from && t < to) edges.push(t);
    }
  }
  edges.push(to);
  return edges;
}
