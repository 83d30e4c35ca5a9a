/**
 * Room KPIs as pure functions over a room's sensor states (ARCHITECTURE.md, "KPI definitions";
 * issue 4, "Rooms"). `room-service.ts` fetches the states and calls these.
 *
 * Definitions (thresholds are fields of {@link RoomRules}):
 *
 * - **A sample's value holds until the next sample carrying the same field**, for at most
 *   `holdIntervals` (3) × the reporting sensor's interval. Beyond that the field is *unknown* and
 *   the time counts toward no figure (a dead sensor is not an empty room, nor a full one) —
 *   the same 3-interval rule the facility file uses to call a device offline.
 * - **Occupied**: occupancy > 0. **Utilisation** = occupied time inside working time ÷ working
 *   time of the period (site calendar: weekends, holidays and make-up workdays).
 * - **Seat use** = time-weighted mean occupancy over the occupied time ÷ capacity (not capped:
 *   a packed room shows over 1); null when the room was never occupied.
 * - **Conditioned while empty**: occupancy known and 0, and HVAC known and not `off`, or lights
 *   known and on.
 * - **Set-point violation** (国办 2007 public-building rule): HVAC `cool` with the temperature
 *   below 26 °C, or `heat` with it above 20 °C — only while the plant runs in that mode; `fan`
 *   and `off` never violate.
 * - **CO2 over**: CO2 above 1000 ppm (GB/T 18883 limit, applied per instant rather than as the
 *   standard's daily mean, so the hours show *when*).
 * - **Comfort**: the share of occupied time (with a known temperature) within the season's band —
 *   24–28 °C in the cooling season (June–September), 16–22 °C in the heating season
 *   (December–February), bounds inclusive. Those months are the HVAC seasons of the hot-summer-
 *   cold-winter zone the reference site is in (and of `simulators/weather.ts`); each instant
 *   takes the season of its local month, shoulder months count nowhere, and a period with no
 *   occupied in-season time has comfort null.
 */
import { DateTime } from 'luxon';
import type { WorkCalendar } from '../facility/calendar.ts';
import type { Period } from './types.ts';

/** One sensor state message; a field the message does not carry is null. */
export interface RoomSample {
  /** Epoch ms. */
  readonly time: number;
  /** How long this sample's values may hold at most, ms (3 × the sensor's interval). */
  readonly holdMs: number;
  readonly occupancy: number | null;
  readonly temperature: number | null;
  readonly co2: number | null;
  /** `off` / `cool` / `heat` / `fan`. */
  readonly hvac: string | null;
  readonly lights: boolean | null;
}

export interface ComfortBand {
  /** Local months (1–12) of the season. */
  readonly months: readonly number[];
  /** °C, inclusive. */
  readonly min: number;
  readonly max: number;
}

/** Thresholds of the room figures; see the module comment. */
export interface RoomRules {
  /** A value holds for at most this many sensor intervals. Default 3. */
  readonly holdIntervals: number;
  /** ppm. Default 1000. */
  readonly co2LimitPpm: number;
  /** Cooling below this is a violation, °C. Default 26. */
  readonly coolingMinC: number;
  /** Heating above this is a violation, °C. Default 20. */
  readonly heatingMaxC: number;
  readonly comfort: { readonly cooling: ComfortBand; readonly heating: ComfortBand };
}

export const DEFAULT_ROOM_RULES: RoomRules = {
  holdIntervals: 3,
  co2LimitPpm: 1000,
  coolingMinC: 26,
  heatingMaxC: 20,
  comfort: {
    cooling: { months: [6, 7, 8, 9], min: 24, max: 28 },
    heating: { months: [12, 1, 2], min: 16, max: 22 },
  },
};

/** What the figures of one room need besides its samples. */
export interface RoomEnv {
  readonly calendar: WorkCalendar;
  readonly capacity: number;
  readonly rules: RoomRules;
  /**
   * Local month starts inside the period with their month (1–12), plus the month at `from`:
   * `[from, month]` first. Build it with {@link monthEdges}.
   */
  readonly months: readonly (readonly [number, number])[];
}

/** The figures of one room over a period, in ms, unrounded. */
export interface RoomFigures {
  readonly occupiedMs: number;
  readonly occupiedWorkMs: number;
  readonly workingMs: number;
  /** 0–1; 0 when the period holds no working time. */
  readonly utilization: number;
  /** Time integral of occupancy over the occupied time, person·ms. */
  readonly personMs: number;
  readonly seatUse: number | null;
  readonly conditionedEmptyMs: number;
  readonly setpointViolationMs: number;
  readonly co2OverMs: number;
  /** Occupied in-season time with a known temperature, and the part of it inside the band. */
  readonly comfortBaseMs: number;
  readonly comfortMs: number;
  readonly comfort: number | null;
  /** Time with a known occupancy. */
  readonly occupancyKnownMs: number;
}

type Field = 'occupancy' | 'temperature' | 'co2' | 'hvac' | 'lights';

/** Piecewise-constant values of one field: [starts[i], ends[i]) holds values[i]. */
interface Steps<T> {
  readonly starts: number[];
  readonly ends: number[];
  readonly values: T[];
}

function stepsOf<T>(samples: readonly RoomSample[], field: Field, from: number, to: number): Steps<T> {
  const out: Steps<T> = { starts: [], ends: [], values: [] };
  let previous: RoomSample | undefined;
  const push = (sample: RoomSample, next: number) => {
    const start = Math.max(sample.time, from);
    const end = Math.min(next, sample.time + sample.holdMs, to);
    if (end > start) {
      out.starts.push(start);
      out.ends.push(end);
      out.values.push(sample[field] as T);
    }
  };
  for (const sample of samples) {
    if (sample[field] === null) continue;
    if (previous) push(previous, sample.time);
    previous = sample;
  }
  if (previous) push(previous, Number.POSITIVE_INFINITY);
  return out;
}

/** A cursor over steps, for instants visited in ascending order. */
class Cursor<T> {
  private i = 0;
  /** The value at the instant last given to {@link seek}, or undefined when unknown there. */
  value: T | undefined;
  /** The next instant after it where the value changes (or becomes known / unknown). */
  next = Number.POSITIVE_INFINITY;
  constructor(readonly steps: Steps<T>) {}
  seek(t: number): void {
    const { starts, ends, values } = this.steps;
    while (this.i < ends.length && (ends[this.i] as number) <= t) this.i++;
    if (this.i >= starts.length) {
      this.value = undefined;
      this.next = Number.POSITIVE_INFINITY;
    } else if ((starts[this.i] as number) <= t) {
      this.value = values[this.i];
      this.next = ends[this.i] as number;
    } else {
      this.value = undefined;
      this.next = starts[this.i] as number;
    }
  }
}

/** The figures of one room over `period`, from its samples sorted by time (reaching back at least one hold before `from`). */
export function roomFigures(samples: readonly RoomSample[], period: Period, env: RoomEnv): RoomFigures {
  const { from, to } = period;
  const { calendar, rules } = env;
  const working = calendar.workingIntervals(from, to);
  const occupancy = new Cursor(stepsOf<number>(samples, 'occupancy', from, to));
  const temperature = new Cursor(stepsOf<number>(samples, 'temperature', from, to));
  const co2 = new Cursor(stepsOf<number>(samples, 'co2', from, to));
  const hvac = new Cursor(stepsOf<string>(samples, 'hvac', from, to));
  const lights = new Cursor(stepsOf<boolean>(samples, 'lights', from, to));
  const cursors = [occupancy, temperature, co2, hvac, lights];
  const { cooling, heating } = rules.comfort;

  let w = 0;
  let m = 0;
  let occupiedMs = 0;
  let occupiedWorkMs = 0;
  let personMs = 0;
  let conditionedEmptyMs = 0;
  let setpointViolationMs = 0;
  let co2OverMs = 0;
  let comfortBaseMs = 0;
  let comfortMs = 0;
  let occupancyKnownMs = 0;
  // Sweep from one change of any input (a field, working time, a month) to the next.
  let t = from;
  while (t < to) {
    let next = to;
    for (const cursor of cursors) {
      cursor.seek(t);
      if (cursor.next < next) next = cursor.next;
    }
    while (w < working.length && (working[w]?.end as number) <= t) w++;
    const work = working[w];
    const inWork = work !== undefined && work.start <= t;
    if (work !== undefined) next = Math.min(next, inWork ? work.end : work.start);
    while (m + 1 < env.months.length && (env.months[m + 1]?.[0] as number) <= t) m++;
    const nextMonth = env.months[m + 1];
    if (nextMonth !== undefined) next = Math.min(next, nextMonth[0]);
    const month = env.months[m]?.[1] ?? 0;
    const dt = next - t;

    const people = occupancy.value;
    const temp = temperature.value;
    const mode = hvac.value;
    if (people !== undefined) {
      occupancyKnownMs += dt;
      if (people > 0) {
        occupiedMs += dt;
        personMs += people * dt;
        if (inWork) occupiedWorkMs += dt;
        const band = cooling.months.includes(month)
          ? cooling
          : heating.months.includes(month)
            ? heating
            : undefined;
        if (band && temp !== undefined) {
          comfortBaseMs += dt;
          if (temp >= band.min && temp <= band.max) comfortMs += dt;
        }
      } else if ((mode !== undefined && mode !== 'off') || lights.value === true) {
        conditionedEmptyMs += dt;
      }
    }
    if (
      temp !== undefined &&
      ((mode === 'cool' && temp < rules.coolingMinC) || (mode === 'heat' && temp > rules.heatingMaxC))
    ) {
      setpointViolationMs += dt;
    }
    if (co2.value !== undefined && co2.value > rules.co2LimitPpm) co2OverMs += dt;
    t = next;
  }

  const workingMs = working.reduce((sum, x) => sum + x.end - x.start, 0);
  return {
    occupiedMs,
    occupiedWorkMs,
    workingMs,
    utilization: workingMs > 0 ? occupiedWorkMs / workingMs : 0,
    personMs,
    seatUse: occupiedMs > 0 ? personMs / occupiedMs / env.capacity : null,
    conditionedEmptyMs,
    setpointViolationMs,
    co2OverMs,
    comfortBaseMs,
    comfortMs,
    comfort: comfortBaseMs > 0 ? comfortMs / comfortBaseMs : null,
    occupancyKnownMs,
  };
}

/**
 * `[from, month of from]`, then every local month start inside (from, to) with its month (1–12),
 * in the site's zone — what {@link RoomEnv.months} wants.
 */
export function monthEdges(period: Period, zone: string): [number, number][] {
  const out: [number, number][] = [];
  let t = period.from;
  while (t < period.to) {
    const local = DateTime.fromMillis(t, { zone });
    out.push([t, local.month]);
    t = local.startOf('month').plus({ months: 1 }).toMillis();
  }
  return out;
}
