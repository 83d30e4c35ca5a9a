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
  return DateTime.fromMillis(epochMs, { zone: IANAZone.create(timezone) }).toISO({
    suppressMilliseconds: true,
  }) as string;
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
