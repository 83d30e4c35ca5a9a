/**
 * Local days of the site, as the simulators count them: day 0 is {@link SIM_EPOCH_DATE} in the
 * site's time zone, and every model works per local day (a day's meetings, a day's trips, a
 * day's load profile). Registers and odometers accumulate from the start of day 0, so a value
 * at any instant is the same whichever range it is generated in.
 */
import { DateTime, IANAZone } from 'luxon';
import { type DayKind, facilityCalendar, type WorkCalendar } from '../core/facility/calendar.ts';
import type { Facility } from '../core/facility/schema.ts';

/** First local day of every simulation (a Monday, so weeks start on day 0). */
export const SIM_EPOCH_DATE = '2024-01-01';

/** Milliseconds in an hour, a minute, a (24-hour) day. */
export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

/** One local day of the site. */
export interface LocalDay {
  /** Days since {@link SIM_EPOCH_DATE}. */
  readonly index: number;
  /** `YYYY-MM-DD`, local. */
  readonly date: string;
  /** Local midnight, epoch ms. */
  readonly start: number;
  /** Next local midnight, epoch ms (23 or 25 hours later on a daylight-saving change). */
  readonly end: number;
  /** Whole hours in the day (24, or 23/25 on a daylight-saving change). */
  readonly hours: number;
  readonly kind: DayKind;
  /** A usual workday or a make-up workday. */
  readonly worked: boolean;
  /** 1–12. */
  readonly month: number;
  /** 1 = Monday … 7 = Sunday. */
  readonly weekday: number;
  /** 0-based day of the year, for the seasonal climate. */
  readonly dayOfYear: number;
}

/** Local days and working time of one facility; days are computed once and kept. */
export class SiteClock {
  readonly calendar: WorkCalendar;
  readonly zone: IANAZone;
  /** Local midnight of {@link SIM_EPOCH_DATE}, epoch ms. */
  readonly epoch: number;
  readonly #days = new Map<number, LocalDay>();

  constructor(facility: Pick<Facility, 'site' | 'calendar'>) {
    this.calendar = facilityCalendar(facility);
    this.zone = IANAZone.create(facility.site.timezone);
    this.epoch = DateTime.fromISO(SIM_EPOCH_DATE, { zone: this.zone }).toMillis();
  }

  /** The local day `index` days after {@link SIM_EPOCH_DATE}. */
  day(index: number): LocalDay {
    let day = this.#days.get(index);
    if (day === undefined) {
      const midnight = DateTime.fromISO(SIM_EPOCH_DATE, { zone: this.zone })
        .plus({ days: index })
        .startOf('day');
      const next = midnight.plus({ days: 1 }).startOf('day');
      const date = midnight.toISODate() as string;
      const kind = this.calendar.dayKind(date);
      const start = midnight.toMillis();
      const end = next.toMillis();
      day = {
        index,
        date,
        start,
        end,
        hours: Math.round((end - start) / HOUR_MS),
        kind,
        worked: kind === 'workday' || kind === 'extra-workday',
        month: midnight.month,
        weekday: midnight.weekday,
        dayOfYear: midnight.ordinal - 1,
      };
      this.#days.set(index, day);
    }
    return day;
  }

  /** Index of the local day holding instant `ms`. */
  dayIndexOf(ms: number): number {
    let index = Math.floor((ms - this.epoch) / DAY_MS);
    while (ms < this.day(index).start) index--;
    while (ms >= this.day(index).end) index++;
    return index;
  }

  /** Index of the local day of a `YYYY-MM-DD` date. */
  dayIndexOfDate(date: string): number {
    const midnight = DateTime.fromISO(date, { zone: this.zone });
    if (!midnight.isValid) throw new RangeError(`"${date}" is not a date`);
    return this.dayIndexOf(midnight.toMillis());
  }

  /** Throws when `ms` is before the first simulated day. */
  assertSimulated(ms: number, what: string): void {
    if (!(ms >= this.epoch)) {
      throw new RangeError(
        `${what}: the simulation starts at ${SIM_EPOCH_DATE} 00:00 site time (${new Date(this.epoch).toISOString()}), got ${ms}`,
      );
    }
  }
}
