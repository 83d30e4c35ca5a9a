/**
 * Outdoor climate, and how the building plant and the rooms answer it: shared by the meter and
 * room models so that a hot day shows both in the chillers' kWh and in the meeting rooms'
 * temperatures, and a cold one in the heat pumps' kWh and in rooms being heated, never cooled.
 *
 * The normals are Chengdu's (hot-summer-cold-winter zone, 夏热冬冷): monthly mean air temperature
 * about 5.6 °C in January to 25.6 °C in July, a small daily swing (the Sichuan basin is cloudy),
 * humid all year. Approximate climate-normal figures, good for a plausible simulation only.
 * Each day's weather departs from the normal by an anomaly drawn from the seed and carried over a
 * few days (warm and cold spells); the normal and the anomaly are interpolated between the noons
 * of neighbouring days, so the outdoor temperature is continuous in time, across midnight, month
 * ends and the new year alike.
 *
 * ## Heating and cooling: degree-hours around two balance points
 *
 * The plant (heat pumps / chillers with fan coils and fresh air) heats or cools according to the
 * outdoor temperature of each hour, not the month, so its load has no step at a month boundary:
 *
 * - **Heating below 15.5 °C** ({@link HEATING_BALANCE_C}) and **cooling above 22.5 °C**
 *   ({@link COOLING_BALANCE_C}), fans and fresh air only in the dead band between. A balance point
 *   is the outdoor temperature at which a room with no plant settles exactly at its set point:
 *   the set point minus the free gains (people, lights, equipment, sun). The set points are the
 *   national rule for public buildings (cooling not below 26 °C, heating not above 20 °C,
 *   国办发〔2007〕42号) with the simulator's half-degree margin, 26.5 °C and 19.5 °C; the free gains
 *   keep an unconditioned office about 4 °C above outdoors ({@link INTERNAL_GAIN_C}, the room
 *   model's own figure, an example). So 19.5 − 4 = 15.5 °C and 26.5 − 4 = 22.5 °C, and the room
 *   model and the plant agree on when heating or cooling is needed. (Chinese residential energy
 *   codes count degree-days below 18 °C and above 26 °C, HDD18 and CDD26; an office's larger
 *   free gains lower both balance points.)
 * - The load while running is the degree-hours' share of the design difference: 12 % for fans
 *   and fresh air ({@link FAN_LOAD}), plus the rest in proportion to (T − 22.5 °C) / (31.8 − 22.5)
 *   when cooling or (15.5 °C − T) / (15.5 − (−1.0)) when heating, so the plant reaches full load at
 *   Chengdu's air-conditioning design temperatures, 31.8 °C in summer and −1.0 °C in winter
 *   (GB 50736-2012 appendix A, as reprinted; approximate), and at most 125 % beyond them.
 */
import { keyOf, signed } from './random.ts';
import type { LocalDay } from './site-clock.ts';

/** Monthly mean outdoor temperature, °C, January first. */
const MONTHLY_MEAN_C = [5.6, 7.9, 12.0, 17.0, 21.3, 23.9, 25.6, 25.2, 21.6, 17.6, 12.6, 7.3] as const;
/** Half the daily swing of outdoor temperature, °C. */
export const DAILY_AMPLITUDE_C = 3.5;
/** Local hour of the daily maximum temperature (and minimum relative humidity). */
export const WARMEST_HOUR = 15;
/** A day's own weather draw departs from the normal by up to this, °C. */
const WEATHER_SPREAD_C = 5;
/**
 * Weights of the draws of a day and the four days before it in the day's anomaly. Example
 * figures chosen for the persistence of real weather: the anomaly's standard deviation is about
 * 1.4 °C, its day-to-day correlation about 0.75 (day-to-day changes of the daily mean about 1 °C,
 * at most 3 °C before the interpolation between noons smooths them further).
 */
const ANOMALY_KERNEL: readonly number[] = [0.3, 0.25, 0.2, 0.15, 0.1];

/** Heating set point of the rooms, °C: the 20 °C rule with a half-degree margin. */
export const HEAT_SETPOINT_C = 19.5;
/** Cooling set point of the rooms, °C: the 26 °C rule with a half-degree margin. */
export const COOL_SETPOINT_C = 26.5;
/** How far free gains keep an unconditioned room above outdoors, °C (example). */
export const INTERNAL_GAIN_C = 4;
/** Outdoor temperature below which the plant heats, °C (see the module comment). */
export const HEATING_BALANCE_C = HEAT_SETPOINT_C - INTERNAL_GAIN_C;
/** Outdoor temperature above which the plant cools, °C (see the module comment). */
export const COOLING_BALANCE_C = COOL_SETPOINT_C - INTERNAL_GAIN_C;
/** Outdoor temperatures at which the plant runs at full load, °C (GB 50736-2012, Chengdu). */
export const HEATING_DESIGN_C = -1;
export const COOLING_DESIGN_C = 31.8;
/** Load of the running plant in the dead band, × full load: fans, pumps and fresh air. */
export const FAN_LOAD = 0.12;
/** Most the plant runs beyond its design load, × full load. */
const MAX_DEMAND = 1.25;

/** What the plant does at an outdoor temperature: heat, cool, or only move air. */
export type PlantMode = 'heat' | 'cool' | 'fan';

/** The plant's mode at outdoor temperature `outdoorC`. */
export function plantMode(outdoorC: number): PlantMode {
  if (outdoorC > COOLING_BALANCE_C) return 'cool';
  if (outdoorC < HEATING_BALANCE_C) return 'heat';
  return 'fan';
}

/**
 * Heating or cooling demand at outdoor temperature `outdoorC`, as a share of the design
 * difference: 0 in the dead band, 1 at the design temperature, at most 1.25. Summed over hours it
 * is degree-hours divided by the design difference.
 */
export function plantDemand(outdoorC: number): number {
  const cooling = (outdoorC - COOLING_BALANCE_C) / (COOLING_DESIGN_C - COOLING_BALANCE_C);
  const heating = (HEATING_BALANCE_C - outdoorC) / (HEATING_BALANCE_C - HEATING_DESIGN_C);
  return Math.min(MAX_DEMAND, Math.max(0, cooling, heating));
}

/**
 * Load of a heat pump / chiller plant while running, × its full load: fans and fresh air, plus
 * heating or cooling in proportion to the degree-hours. Continuous in the outdoor temperature.
 */
export function plantLoad(outdoorC: number): number {
  return FAN_LOAD + (1 - FAN_LOAD) * plantDemand(outdoorC);
}

/** The normal (climate mean) temperature of a day of the year, °C, interpolated between months. */
function normalTemperature(dayOfYear: number): number {
  // Month means are taken to fall mid-month, each month a twelfth of a 365.25-day year, so the
  // curve closes on itself at the new year (leap years included) within a few hundredths of a °C.
  const position = ((dayOfYear + 0.5) * 12) / 365.25 - 0.5;
  const lower = Math.floor(position);
  const fraction = position - lower;
  const a = MONTHLY_MEAN_C[((lower % 12) + 12) % 12] as number;
  const b = MONTHLY_MEAN_C[(((lower + 1) % 12) + 12) % 12] as number;
  return a + (b - a) * fraction;
}

/** Outdoor conditions of the site, deterministic from the seed. */
export class Weather {
  readonly #key: number;
  readonly #anomalies = new Map<number, number>();

  constructor(seed: number) {
    this.#key = keyOf(seed, 'weather');
  }

  /**
   * How far a day's mean temperature departs from the normal, °C: a weighted mean of the draws
   * of that day and the days before, so warm and cold spells last a few days.
   */
  anomaly(dayIndex: number): number {
    let cached = this.#anomalies.get(dayIndex);
    if (cached === undefined) {
      cached = 0;
      for (let i = 0; i < ANOMALY_KERNEL.length; i++) {
        cached += (ANOMALY_KERNEL[i] as number) * signed(this.#key, dayIndex - i) * WEATHER_SPREAD_C;
      }
      this.#anomalies.set(dayIndex, cached);
    }
    return cached;
  }

  /** Mean outdoor temperature of a day, °C: its value at noon without the daily swing. */
  dayMean(day: LocalDay): number {
    return normalTemperature(day.dayOfYear) + this.anomaly(day.index);
  }

  /**
   * Outdoor temperature at `hour` (0–24, fractional) of a day, °C: the normal and the anomaly
   * interpolated between the noons of neighbouring days (so the weather has no step at
   * midnight), plus the daily swing.
   */
  temperature(day: LocalDay, hour: number): number {
    const offset = (hour - 12) / 24;
    const other = offset < 0 ? day.index - 1 : day.index + 1;
    const share = Math.abs(offset);
    const anomaly = (1 - share) * this.anomaly(day.index) + share * this.anomaly(other);
    return (
      normalTemperature(day.dayOfYear + offset) +
      anomaly +
      DAILY_AMPLITUDE_C * Math.cos((2 * Math.PI * (hour - WARMEST_HOUR)) / 24)
    );
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

/**
 * Normal mean temperature of a day of the year with no weather, °C: continuous across months and
 * the turn of the year (for sizing, and for the seasonal multipliers of the load profiles).
 */
export function normalDayMean(dayOfYear: number): number {
  return normalTemperature(dayOfYear);
}

/** Coldest and warmest monthly normal, °C (January and July). */
export const COLDEST_NORMAL_C = Math.min(...MONTHLY_MEAN_C);
export const WARMEST_NORMAL_C = Math.max(...MONTHLY_MEAN_C);
