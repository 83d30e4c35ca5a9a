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
import { DateTime, IANAZone } from 'luxon';
import { clockParts, parseClockRange } from '../facility/dates.ts';
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
   * The instants (epoch ms) inside the local day that starts at `midnight` where the period
   * changes, ascending; excludes the midnights themselves.
   */
  changesOfDay(midnight: DateTime): number[];
  /**
   * The periods of the local day that starts at `midnight`: where each begins (epoch ms, the
   * first at the midnight) and which it is, ascending. Each lasts until the next or the day's end.
   */
  daySegments(midnight: DateTime): { start: number; period: TouPeriod }[];
}

/**
 * Builds the schedule of a tariff. The tariff is expected valid (`loadFacility` checks that
 * ranges parse, do not overlap within a season, and that every month is in one season).
 *
 * @throws RangeError for an unknown zone or a range that does not parse.
 */
export function touSchedule(tariff: ElectricityTariff | undefined, timezone: string): TouSchedule {
  if (!IANAZone.isValidZone(timezone)) throw new RangeError(`unknown time zone "${timezone}"`);
  const zone = IANAZone.create(timezone);
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
    timezone: zone.name,
    periodAt(epochMs) {
      const local = DateTime.fromMillis(epochMs, { zone });
      const minute = local.hour * 60 + local.minute + (local.second + local.millisecond / 1000) / 60;
      return periodOfMinute(byMonth[local.month - 1] ?? [], minute);
    },
    changesOfDay(midnight) {
      return this.daySegments(midnight)
        .slice(1)
        .map((segment) => segment.start);
    },
    daySegments(midnight) {
      const parts = byMonth[midnight.month - 1] ?? [];
      const minutes = new Set<number>();
      for (const part of parts) {
        if (part.start > 0) minutes.add(part.start);
        if (part.end < MINUTES_PER_DAY) minutes.add(part.end);
      }
      const start = midnight.toMillis();
      const out = [{ start, period: periodOfMinute(parts, 0) }];
      // A day without a UTC-offset change is 1440 plain minutes: no zone lookup per change.
      const plain = midnight.plus({ days: 1 }).offset === midnight.offset;
      for (const minute of [...minutes].sort((a, b) => a - b)) {
        const period = periodOfMinute(parts, minute);
        // Keep only real changes (two adjacent ranges of one period meet without a change).
        if (period === periodOfMinute(parts, minute - 0.5)) continue;
        out.push({ start: plain ? start + minute * 60_000 : atLocalMinute(midnight, minute), period });
      }
      return out;
    },
  };
}

/**
 * Epoch ms of a local clock time (minutes since midnight) on the local day starting at
 * `midnight`. A time skipped by a daylight-saving change moves forward by the gap, as luxon does
 * (the same rule as the work calendar).
 */
export function atLocalMinute(midnight: DateTime, minutes: number): number {
  if (minutes >= MINUTES_PER_DAY) return midnight.plus({ days: 1 }).startOf('day').toMillis();
  return midnight.set({ hour: Math.floor(minutes / 60), minute: minutes % 60 }).toMillis();
}
