/** What every KPI service shares: the period check, instants as site-local ISO strings, rounding, the calendar. */
import { DateTime, IANAZone } from 'luxon';
import { facilityCalendar, type WorkCalendar } from '../facility/calendar.ts';
import type { Facility } from '../facility/schema.ts';
import { KpiError, type Period } from './types.ts';

/** Throws a 400 {@link KpiError} naming `from` or `to` unless both are whole epoch ms and `to > from`. */
export function checkPeriod({ from, to }: Period): void {
  if (!Number.isInteger(from)) {
    throw new KpiError('from must be an instant in whole epoch milliseconds', {
      status: 400,
      parameter: 'from',
    });
  }
  if (!Number.isInteger(to)) {
    throw new KpiError('to must be an instant in whole epoch milliseconds', { status: 400, parameter: 'to' });
  }
  if (to <= from) throw new KpiError('to must be after from', { status: 400, parameter: 'to' });
}

/** ISO-8601 with the site's UTC offset, whole seconds when they are whole (2026-11-25T00:00:00+08:00). */
export function isoAt(epochMs: number, timezone: string): string {
  // The live feed writes one for every reading it pushes (thousands a second): the zone's offset
  // is looked up once a minute (luxon's lookup is the costly part) and the digits written here.
  // A summary asks for the same few instants once per item: the last minutes seen are kept.
  const minute = Math.floor(epochMs / MINUTE_MS) * MINUTE_MS;
  let minutes = offsetCache.get(timezone);
  if (!minutes) {
    minutes = new Map();
    offsetCache.set(timezone, minutes);
  }
  let known = minutes.get(minute);
  if (!known) {
    known = minuteOffset(minute, timezone);
    if (minutes.size >= MINUTES_KEPT) minutes.clear();
    minutes.set(minute, known);
  }
  if (known.suffix === undefined) return luxonIso(epochMs, timezone);
  const local = new Date(epochMs + known.offsetMs);
  const year = local.getUTCFullYear();
  if (year < 1000 || year > 9999) return luxonIso(epochMs, timezone);
  const ms = local.getUTCMilliseconds();
  return (
    `${year}-${pad2(local.getUTCMonth() + 1)}-${pad2(local.getUTCDate())}` +
    `T${pad2(local.getUTCHours())}:${pad2(local.getUTCMinutes())}:${pad2(local.getUTCSeconds())}` +
    `${ms === 0 ? '' : `.${String(ms).padStart(3, '0')}`}${known.suffix}`
  );
}

const MINUTE_MS = 60_000;
/**
 * Per time zone, the offset of the minutes last asked for, at most MINUTES_KEPT (suffix
 * undefined: the offset changes within that minute, and luxon writes the instant).
 */
const offsetCache = new Map<
  string,
  Map<number, { minute: number; offsetMs: number; suffix: string | undefined }>
>();
const MINUTES_KEPT = 256;

function luxonIso(epochMs: number, timezone: string): string {
  return DateTime.fromMillis(epochMs, { zone: IANAZone.create(timezone) }).toISO({
    suppressMilliseconds: true,
  }) as string;
}

function minuteOffset(
  minute: number,
  timezone: string,
): { minute: number; offsetMs: number; suffix: string | undefined } {
  const zone = IANAZone.create(timezone);
  const offset = zone.offset(minute);
  if (!zone.isValid || zone.offset(minute + MINUTE_MS - 1) !== offset)
    return { minute, offsetMs: 0, suffix: undefined };
  // The offset as luxon writes it (`+08:00`, `-05:00`), from its own ISO string of the minute.
  const iso = luxonIso(minute, timezone);
  const suffix = /(?:Z|[+-]\d\d:\d\d)$/.exec(iso)?.[0];
  return { minute, offsetMs: offset * MINUTE_MS, suffix };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * `value` rounded to `digits` decimals (no negative zero). A value too large to carry decimals
 * (|value| ≥ 2⁵², where every double is a whole number) is returned as it is: scaling it first
 * could overflow to Infinity.
 */
export function round(value: number, digits: number): number {
  if (!(Math.abs(value) < 2 ** 52)) return value === 0 ? 0 : value;
  const scale = 10 ** digits;
  const out = Math.round(value * scale) / scale;
  return out === 0 ? 0 : out;
}

const calendars = new WeakMap<Facility, WorkCalendar>();

/** The facility's working calendar, built once per facility object. */
export function calendarOf(facility: Facility): WorkCalendar {
  let calendar = calendars.get(facility);
  if (!calendar) {
    calendar = facilityCalendar(facility);
    calendars.set(facility, calendar);
  }
  return calendar;
}
