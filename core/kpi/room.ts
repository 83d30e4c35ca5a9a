/**
 * Room KPIs as pure functions over a room's sensor states (docs/architecture.md, "KPI definitions";
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

/**
 * A room's samples column by column, sorted by time: what {@link roomFiguresOf} reads. Index `i`
 * of every column is one sample; `NaN` where the sample does not carry the field.
 */
export interface RoomColumns {
  /** Epoch ms. */
  readonly time: Float64Array;
  /** See {@link RoomSample.holdMs}. */
  readonly holdMs: Float64Array;
  readonly occupancy: Float64Array;
  readonly temperature: Float64Array;
  readonly co2: Float64Array;
  /** {@link hvacCode} of the mode. */
  readonly hvac: Float64Array;
  /** 1 on, 0 off. */
  readonly lights: Float64Array;
}

const HVAC_OFF = 0;
const HVAC_COOL = 1;
const HVAC_HEAT = 2;
const HVAC_OTHER = 3;

/** The number {@link RoomColumns.hvac} holds for a mode: `off` 0, `cool` 1, `heat` 2, any other 3; NaN for none. */
export function hvacCode(mode: string | null): number {
  if (mode === null) return Number.NaN;
  return mode === 'off' ? HVAC_OFF : mode === 'cool' ? HVAC_COOL : mode === 'heat' ? HVAC_HEAT : HVAC_OTHER;
}

/** {@link RoomSample}s as {@link RoomColumns}. */
export function roomColumns(samples: readonly RoomSample[]): RoomColumns {
  const n = samples.length;
  const columns = {
    time: new Float64Array(n),
    holdMs: new Float64Array(n),
    occupancy: new Float64Array(n),
    temperature: new Float64Array(n),
    co2: new Float64Array(n),
    hvac: new Float64Array(n),
    lights: new Float64Array(n),
  };
  samples.forEach((sample, i) => {
    columns.time[i] = sample.time;
    columns.holdMs[i] = sample.holdMs;
    columns.occupancy[i] = sample.occupancy ?? Number.NaN;
    columns.temperature[i] = sample.temperature ?? Number.NaN;
    columns.co2[i] = sample.co2 ?? Number.NaN;
    columns.hvac[i] = hvacCode(sample.hvac);
    columns.lights[i] = sample.lights === null ? Number.NaN : Number(sample.lights);
  });
  return columns;
}

/** Piecewise-constant values of one field: [starts[i], ends[i]) holds values[i], for i < count. */
interface Steps {
  readonly starts: Float64Array;
  readonly ends: Float64Array;
  readonly values: Float64Array;
  readonly count: number;
}

/** Steps of a field, written into `buffer` (3 × the samples' count). */
function stepsOf(
  columns: RoomColumns,
  field: Float64Array,
  from: number,
  to: number,
  buffer: Float64Array,
): Steps {
  const { time, holdMs } = columns;
  const n = time.length;
  const starts = buffer.subarray(0, n);
  const ends = buffer.subarray(n, 2 * n);
  const values = buffer.subarray(2 * n, 3 * n);
  let count = 0;
  // Each sample carrying the field holds from its time to the next one carrying it (k = n: none).
  let previous = -1;
  for (let k = 0; k <= n; k++) {
    if (k < n && Number.isNaN(field[k] as number)) continue;
    if (previous >= 0) {
      const at = time[previous] as number;
      const next = k < n ? (time[k] as number) : Number.POSITIVE_INFINITY;
      const start = Math.max(at, from);
      const end = Math.min(next, at + (holdMs[previous] as number), to);
      if (end > start) {
        starts[count] = start;
        ends[count] = end;
        values[count] = field[previous] as number;
        count++;
      }
    }
    previous = k;
  }
  return { starts, ends, values, count };
}

/** A cursor over steps, for instants visited in ascending order. */
class Cursor {
  private i = 0;
  /** The value at the instant last given to {@link seek}, or NaN when unknown there. */
  value = Number.NaN;
  /** The next instant after it where the value changes (or becomes known / unknown). */
  next = Number.POSITIVE_INFINITY;
  constructor(readonly steps: Steps) {}
  seek(t: number): void {
    const { starts, ends, values, count } = this.steps;
    while (this.i < count && (ends[this.i] as number) <= t) this.i++;
    if (this.i >= count) {
      this.value = Number.NaN;
      this.next = Number.POSITIVE_INFINITY;
    } else if ((starts[this.i] as number) <= t) {
      this.value = values[this.i] as number;
      this.next = ends[this.i] as number;
    } else {
      this.value = Number.NaN;
      this.next = starts[this.i] as number;
    }
  }
}

/** The figures of one room over `period`, from its samples sorted by time (reaching back at least one hold before `from`). */
export function roomFigures(samples: readonly RoomSample[], period: Period, env: RoomEnv): RoomFigures {
  return roomFiguresOf(roomColumns(samples), period, env);
}

/** {@link roomFigures} over samples held column by column. */
export function roomFiguresOf(columns: RoomColumns, period: Period, env: RoomEnv): RoomFigures {
  const { from, to } = period;
  const { calendar, rules } = env;
  const working = calendar.workingIntervals(from, to);
  const workStarts = Float64Array.from(working, (x) => x.start);
  const workEnds = Float64Array.from(working, (x) => x.end);
  // One allocation for the steps of the five fields.
  const n = columns.time.length;
  const buffer = new Float64Array(15 * n);
  const steps = (field: Float64Array, k: number) =>
    new Cursor(stepsOf(columns, field, from, to, buffer.subarray(3 * k * n, 3 * (k + 1) * n)));
  const occupancy = steps(columns.occupancy, 0);
  const temperature = steps(columns.temperature, 1);
  const co2 = steps(columns.co2, 2);
  const hvac = steps(columns.hvac, 3);
  const lights = steps(columns.lights, 4);
  const { cooling, heating } = rules.comfort;
  // The comfort band of each month of env.months (undefined outside both seasons).
  const bands = env.months.map(([, month]) =>
    cooling.months.includes(month) ? cooling : heating.months.includes(month) ? heating : undefined,
  );
  const monthStarts = Float64Array.from(env.months, ([start]) => start);

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
    occupancy.seek(t);
    if (occupancy.next < next) next = occupancy.next;
    temperature.seek(t);
    if (temperature.next < next) next = temperature.next;
    co2.seek(t);
    if (co2.next < next) next = co2.next;
    hvac.seek(t);
    if (hvac.next < next) next = hvac.next;
    lights.seek(t);
    if (lights.next < next) next = lights.next;
    while (w < workEnds.length && (workEnds[w] as number) <= t) w++;
    const inWork = w < workEnds.length && (workStarts[w] as number) <= t;
    if (w < workEnds.length)
      next = Math.min(next, inWork ? (workEnds[w] as number) : (workStarts[w] as number));
    while (m + 1 < monthStarts.length && (monthStarts[m + 1] as number) <= t) m++;
    if (m + 1 < monthStarts.length) next = Math.min(next, monthStarts[m + 1] as number);
    const dt = next - t;

    const people = occupancy.value;
    const temp = temperature.value;
    const mode = hvac.value;
    if (!Number.isNaN(people)) {
      occupancyKnownMs += dt;
      if (people > 0) {
        occupiedMs += dt;
        personMs += people * dt;
        if (inWork) occupiedWorkMs += dt;
        const band = bands[m];
        if (band && !Number.isNaN(temp)) {
          comfortBaseMs += dt;
          if (temp >= band.min && temp <= band.max) comfortMs += dt;
        }
      } else if ((!Number.isNaN(mode) && mode !== HVAC_OFF) || lights.value === 1) {
        conditionedEmptyMs += dt;
      }
    }
    if (
      !Number.isNaN(temp) &&
      ((mode === HVAC_COOL && temp < rules.coolingMinC) || (mode === HVAC_HEAT && temp > rules.heatingMaxC))
    ) {
      setpointViolationMs += dt;
    }
    if (co2.value > rules.co2LimitPpm) co2OverMs += dt;
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
