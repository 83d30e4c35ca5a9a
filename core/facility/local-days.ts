/**
 * The local days of a time zone as a table: where each starts and ends (epoch ms), its date, and
 * whether it is a plain 24-hour day. Every figure cuts time at local midnights (days, months,
 * years, working hours, time-of-use periods), and asking luxon for each midnight costs an `Intl`
 * lookup per day — a year's summary walked about 2,000 of them per request. Here each
 * zone-year is walked once with luxon (exactly the walk the callers did: the start of a day, plus
 * one day, start of that day) and kept; a day is then found by binary search.
 *
 * The table is a pure function of the zone, so keeping it is memoisation, not a cache of answers:
 * nothing a write does can change it. At most {@link MAX_YEARS} zone-years are kept.
 */
import { DateTime, IANAZone } from 'luxon';

/** One local day `[start, end)`. */
export interface LocalDay {
  /** Epoch ms of the local midnight (or the first instant of the day when a change skips midnight). */
  readonly start: number;
  /** Epoch ms of the next day's start. */
  readonly end: number;
  readonly year: number;
  /** 1–12. */
  readonly month: number;
  /** 1–31. */
  readonly day: number;
  /** ISO weekday, 1 = Monday … 7 = Sunday. */
  readonly weekday: number;
  /** `YYYY-MM-DD`. */
  readonly date: string;
  /** The day is 24 hours with one UTC offset throughout (no daylight-saving change inside). */
  readonly plain: boolean;
}

const MAX_YEARS = 256;
const DAY_MS = 86_400_000;
const years = new Map<string, readonly LocalDay[]>();

function yearTable(zone: IANAZone, year: number): readonly LocalDay[] {
  const key = `${zone.name}\u0000${year}`;
  const known = years.get(key);
  if (known) {
    // Most recently used last, so the oldest is dropped first.
    years.delete(key);
    years.set(key, known);
    return known;
  }
  const days: LocalDay[] = [];
  // The dates of the year follow each other; only where a day starts needs the zone. A day whose
  // start, middle and next start have one UTC offset is 24 hours (an offset lookup or two per
  // day); around a change the next start is searched for.
  const date = new Date(0);
  date.setUTCFullYear(year, 0, 1);
  const firstDay = Math.round(date.getTime() / DAY_MS);
  // Offsets are within ±14 hours: the day's start is within 36 hours of its UTC midnight.
  let start = firstInstantOfDay(
    zone,
    firstDay,
    date.getTime() - 36 * 3_600_000,
    date.getTime() + 36 * 3_600_000,
  );
  let offset = zone.offset(start);
  while (date.getUTCFullYear() === year) {
    let end = start + DAY_MS;
    let nextOffset = zone.offset(end);
    const plain =
      (start + offset * 60_000) % DAY_MS === 0 &&
      nextOffset === offset &&
      zone.offset(start + DAY_MS / 2) === offset;
    if (!plain) {
      end = nextDayStart(zone, start);
      nextOffset = zone.offset(end);
    }
    const month = date.getUTCMonth() + 1;
    const day = date.getUTCDate();
    days.push({
      start,
      end,
      year,
      month,
      day,
      weekday: ((date.getUTCDay() + 6) % 7) + 1,
      date: `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
      plain,
    });
    // The next date is the one the next start shows (a zone that skipped a whole day, as Samoa
    // did on 2011-12-30, goes on with the day after).
    date.setTime(localDayNumber(zone, end) * DAY_MS);
    start = end;
    offset = nextOffset;
  }
  years.set(key, days);
  if (years.size > MAX_YEARS) years.delete(years.keys().next().value as string);
  return days;
}

const zones = new Map<string, IANAZone>();

/** The local day number (days since 1970-01-01 by the wall clock) of an instant. */
function localDayNumber(zone: IANAZone, epochMs: number): number {
  return Math.floor((epochMs + zone.offset(epochMs) * 60_000) / DAY_MS);
}

/**
 * The first instant in `(lo, hi]` whose wall-clock date is `day` or later, by halves to the
 * millisecond. The wall-clock date never goes back (a change turning the clock back over midnight
 * does so from 00:00 to 23:00, so the new date begins at the second midnight), so halving finds
 * the one boundary; `lo` must be before the day and `hi` in or after it.
 */
function firstInstantOfDay(zone: IANAZone, day: number, lo: number, hi: number): number {
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDayNumber(zone, mid) >= day) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The next local day's start after a day starting at `start`: the next local midnight, or, where
 * a change skips midnight (Havana, Santiago in spring), the instant of the change. A day lasts
 * 12 to 36 hours whatever a zone does.
 */
function nextDayStart(zone: IANAZone, start: number): number {
  const next = localDayNumber(zone, start) + 1;
  return firstInstantOfDay(zone, next, start + 12 * 3_600_000, start + 36 * 3_600_000);
}

function zoneOf(timezone: string): IANAZone {
  const known = zones.get(timezone);
  if (known) return known;
  if (!IANAZone.isValidZone(timezone)) throw new RangeError(`unknown time zone "${timezone}"`);
  const zone = IANAZone.create(timezone);
  if (zones.size < MAX_YEARS) zones.set(timezone, zone);
  return zone;
}

/** The local day holding an instant. */
export function localDayAt(timezone: string, epochMs: number): LocalDay {
  if (!Number.isFinite(epochMs)) throw new RangeError(`not an instant: ${epochMs}`);
  const zone = zoneOf(timezone);
  // A zone's offset is under a day, so the local year is the UTC year or one either side.
  const utcYear = new Date(epochMs).getUTCFullYear();
  for (const year of [utcYear, utcYear - 1, utcYear + 1]) {
    const table = yearTable(zone, year);
    const first = table[0];
    const last = table[table.length - 1];
    if (!first || !last || epochMs < first.start || epochMs >= last.end) continue;
    let lo = 0;
    let hi = table.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((table[mid] as LocalDay).start <= epochMs) lo = mid;
      else hi = mid - 1;
    }
    return table[lo] as LocalDay;
  }
  throw new RangeError(`no local day of ${timezone} holds ${epochMs}`);
}

/** The local days that overlap `[from, to)`, ascending (the first may start before `from`). */
export function localDays(timezone: string, from: number, to: number): LocalDay[] {
  if (!(Number.isFinite(from) && Number.isFinite(to))) {
    throw new RangeError(`local days need a finite range, not [${from}, ${to})`);
  }
  const out: LocalDay[] = [];
  if (!(to > from)) return out;
  const zone = zoneOf(timezone);
  const first = localDayAt(timezone, from);
  let table = yearTable(zone, first.year);
  let i = table.indexOf(first);
  let year = first.year;
  for (;;) {
    const day = table[i];
    if (day === undefined) {
      year += 1;
      table = yearTable(zone, year);
      i = 0;
      continue;
    }
    if (day.start >= to) break;
    out.push(day);
    i += 1;
  }
  return out;
}

/**
 * Epoch ms of a local clock time (minutes since midnight, 0–1440) on a local day; 1440 is the
 * next day's start. A time skipped by a daylight-saving change moves forward by the gap, as luxon
 * does.
 */
export function atLocalMinute(timezone: string, day: LocalDay, minutes: number): number {
  if (minutes >= 1440) return day.end;
  if (day.plain) return day.start + minutes * 60_000;
  return DateTime.fromMillis(day.start, { zone: zoneOf(timezone) })
    .set({ hour: Math.floor(minutes / 60), minute: minutes % 60 })
    .toMillis();
}

/** Minutes since the local midnight of an instant on its day (fractional), by the wall clock. */
export function localMinuteOf(timezone: string, day: LocalDay, epochMs: number): number {
  if (day.plain) return (epochMs - day.start) / 60_000;
  const local = DateTime.fromMillis(epochMs, { zone: zoneOf(timezone) });
  return local.hour * 60 + local.minute + (local.second + local.millisecond / 1000) / 60;
}
