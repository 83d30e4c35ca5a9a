/**
 * Outdoor climate and the HVAC season, shared by the meter and room models so that a hot day
 * shows both in the chillers' kWh and in the meeting rooms' temperatures.
 *
 * The normals are Chengdu's (hot-summer-cold-winter zone, 夏热冬冷): monthly mean air temperature
 * about 5.6 °C in January to 25.6 °C in July, a small daily swing (the Sichuan basin is cloudy),
 * humid all year. Approximate climate-normal figures, good for a plausible simulation only.
 */
import { keyOf, signed } from './random.ts';
import type { LocalDay } from './site-clock.ts';

/** Monthly mean outdoor temperature, °C, January first. */
const MONTHLY_MEAN_C = [5.6, 7.9, 12.0, 17.0, 21.3, 23.9, 25.6, 25.2, 21.6, 17.6, 12.6, 7.3] as const;
/** Half the daily swing of outdoor temperature, °C. */
export const DAILY_AMPLITUDE_C = 3.5;
/** Local hour of the daily maximum temperature (and minimum relative humidity). */
export const WARMEST_HOUR = 15;
/** Day-to-day weather departs from the normal by up to this, °C. */
const WEATHER_SPREAD_C = 4;

/**
 * The plant's operating season: chillers cool June–September, heat pumps heat December–February,
 * fans only in between (the changeover of two-pipe systems common in the region).
 */
export type HvacSeason = 'cooling' | 'heating' | 'shoulder';

/** The HVAC season of a month (1–12). */
export function hvacSeason(month: number): HvacSeason {
  if (month >= 6 && month <= 9) return 'cooling';
  if (month === 12 || month <= 2) return 'heating';
  return 'shoulder';
}

/** The normal (climate mean) temperature of a day of the year, °C, interpolated between months. */
function normalTemperature(dayOfYear: number): number {
  // Month means are taken to fall mid-month (day 15 of 30.4).
  const position = (dayOfYear - 15) / 30.4;
  const lower = Math.floor(position);
  const fraction = position - lower;
  const a = MONTHLY_MEAN_C[((lower % 12) + 12) % 12] as number;
  const b = MONTHLY_MEAN_C[(((lower + 1) % 12) + 12) % 12] as number;
  return a + (b - a) * fraction;
}

/** Outdoor conditions of the site, deterministic from the seed. */
export class Weather {
  readonly #key: number;

  constructor(seed: number) {
    this.#key = keyOf(seed, 'weather');
  }

  /**
   * How far a day's mean temperature departs from the normal, °C: a weighted mean of three
   * days' draws, so warm and cold spells last a few days.
   */
  anomaly(dayIndex: number): number {
    const w = (d: number) => signed(this.#key, d) * WEATHER_SPREAD_C;
    return 0.5 * w(dayIndex) + 0.3 * w(dayIndex - 1) + 0.2 * w(dayIndex - 2);
  }

  /** Mean outdoor temperature of a day, °C. */
  dayMean(day: LocalDay): number {
    return normalTemperature(day.dayOfYear) + this.anomaly(day.index);
  }

  /** Outdoor temperature at `hour` (0–24, fractional) of a day, °C. */
  temperature(day: LocalDay, hour: number): number {
    return this.dayMean(day) + DAILY_AMPLITUDE_C * Math.cos((2 * Math.PI * (hour - WARMEST_HOUR)) / 24);
  }

  /** Outdoor relative humidity at `hour` of a day, %: about 80 %, lowest in the warm afternoon. */
  humidity(hour: number): number {
    return 80 - 12 * Math.cos((2 * Math.PI * (hour - WARMEST_HOUR)) / 24);
  }
}

/** Water vapour at saturation, g/m³, at air temperature `celsius` (Magnus formula). */
export function saturationVapour(celsius: number): number {
  const pressureHpa = 6.112 * Math.exp((17.62 * celsius) / (243.12 + celsius));
  return (216.7 * pressureHpa) / (celsius + 273.15);
}

/** Normal mean temperature of a day of the year with no weather, °C (for sizing). */
export function normalDayMean(dayOfYear: number): number {
  return normalTemperature(dayOfYear);
}
