/**
 * Electricity time-of-use (峰谷分时) periods of the facility's tariff, in the site's time zone.
 *
 * A tariff has seasons, each a set of months (the site's local month) with `sharp`, `peak` and
 * `valley` clock ranges; every minute no range names is `flat`. A range may wrap midnight
 * (`22:00-08:00` is 22:00–24:00 and 00:00–08:00 of the same local day). Without seasons, or
 * without an electricity tariff at all, every instant is flat.
 *
 * Pure: the schedule answers which period an instant is in, and where a local day's periods
 * change, so that the energy timeline can put an edge at each change and split consumption
 * exactly across periods.
 */
import { IANAZone } from 'luxon';
import { clockParts, parseClockRange } from '../facility/dates.ts';
import { atLocalMinute, type LocalDay, localDayAt, localMinuteOf } from '../facility/local-days.ts';
import { type ElectricityTariff, TOU_PERIODS, type TouPeriod } from '../facility/schema.ts';

/** Every period a tariff can name, flat last. */
export const ALL_TOU_PERIODS: readonly TouPeriod[] = [...TOU_PERIODS, 'flat'];

const MINUTES_PER_DAY = 1440;

/** One named range of a season, as `[start, end)` minutes of the local day (a wrap is two parts). */
interface SeasonPart {
  readonly period: TouPeriod;
  readonly start: number;
  readonly end: number;
}

export interface TouSchedule {
  /** IANA zone the clock ranges are read in. */
  readonly timezone: string;
  /** The period of an instant (epoch ms), by its local month and wall-clock time. */
  periodAt(epochMs: number): TouPeriod;
  /**
   * The instants (epoch ms) inside a local day where the period changes, ascending; excludes the
   * midnights themselves.
   */
  changesOfDay(day: LocalDay): number[];
  /**
   * The periods of a local day: where each begins (epoch ms, the first at the midnight) and
   * which it is, ascending. Each lasts until the next or the day's end.
   */
  daySegments(day: LocalDay): { start: number; period: TouPeriod }[];
}

/**
 * Builds the schedule of a tariff. The tariff is expected valid (`loadFacility` checks that
 * ranges parse, do not overlap within a season, and that every month is in one season).
 *
 * @throws RangeError for an unknown zone or a range that does not parse.
 */
export function touSchedule(tariff: ElectricityTariff | undefined, timezone: string): TouSchedule {
  if (!IANAZone.isValidZone(timezone)) throw new RangeError(`unknown time zone "${timezone}"`);
  const zone = IANAZone.create(timezone).name;
  // parts[month - 1]: the named ranges of that month's season.
  const byMonth: SeasonPart[][] = Array.from({ length: 12 }, () => []);
  for (const season of tariff?.seasons ?? []) {
    const parts: SeasonPart[] = [];
    for (const period of TOU_PERIODS) {
      for (const text of season[period] ?? []) {
        const parsed = parseClockRange(text);
        if (!parsed.ok) throw new RangeError(`tariff ${period} period: ${parsed.reason}`);
        for (const [start, end] of clockParts(parsed.value)) parts.push({ period, start, end });
      }
    }
    for (const month of season.months) byMonth[month - 1] = parts;
  }

  const periodOfMinute = (parts: readonly SeasonPart[], minute: number): TouPeriod => {
    for (const part of parts) if (part.start <= minute && minute < part.end) return part.period;
    return 'flat';
  };

  return {
    timezone: zone,
    periodAt(epochMs) {
      const day = localDayAt(zone, epochMs);
      return periodOfMinute(byMonth[day.month - 1] ?? [], localMinuteOf(zone, day, epochMs));
    },
    changesOfDay(day) {
      return this.daySegments(day)
        .slice(1)
        .map((segment) => segment.start);
    },
    daySegments(day) {
      const parts = byMonth[day.month - 1] ?? [];
      const minutes = new Set<number>();
      for (const part of parts) {
        if (part.start > 0) minutes.add(part.start);
        if (part.end < MINUTES_PER_DAY) minutes.add(part.end);
      }
      const out = [{ start: day.start, period: periodOfMinute(parts, 0) }];
      for (const minute of [...minutes].sort((a, b) => a - b)) {
        const period = periodOfMinute(parts, minute);
        // Keep only real changes (two adjacent ranges of one period meet without a change).
        if (period === periodOfMinute(parts, minute - 0.5)) continue;
        out.push({ start: atLocalMinute(zone, day, minute), period });
      }
      return out;
    },
  };
}
