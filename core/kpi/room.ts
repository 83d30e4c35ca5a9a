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

/** Interval assumed for a sensor no longer in the facility file (its samples are still stored), s. */
export const UNKNOWN_SENSOR_INTERVAL_S = 300;

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

/** Steps of a field from samples `lo` up to `hi` (exclusive), written into `buffer` (3 × (hi − lo)). */
function stepsOf(
  columns: RoomColumns,
  field: Float64Array,
  from: number,
  to: number,
  buffer: Float64Array,
  lo = 0,
  hi = columns.time.length,
): Steps {
  const { time, holdMs } = columns;
  const n = hi - lo;
  const starts = buffer.subarray(0, n);
  const ends = buffer.subarray(n, 2 * n);
  const values = buffer.subarray(2 * n, 3 * n);
  let count = 0;
  // Each sample carrying the field holds from its time to the next one carrying it (k = hi: none
  // before `to`, which is where the steps are cut anyway).
  let previous = -1;
  for (let k = lo; k <= hi; k++) {
    if (k < hi && Number.isNaN(field[k] as number)) continue;
    if (previous >= 0) {
      const at = time[previous] as number;
      const next = k < hi ? (time[k] as number) : Number.POSITIVE_INFINITY;
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

/**
 * The calendar-free time integrals of a room over an interval: what a room rollup row holds per
 * bucket (core/rollup/room.ts), and what the figures of any period are composed of
 * ({@link roomFiguresOf}), so that whole buckets and the raw samples give the same figures.
 */
export interface RoomIntegrals {
  occupiedMs: number;
  /** Σ occupancy × time while occupied, person·ms. */
  personMs: number;
  conditionedEmptyMs: number;
  setpointViolationMs: number;
  co2OverMs: number;
  /** Occupied time with a known temperature. */
  occupiedTempMs: number;
  /** …of which inside the cooling band, and inside the heating band (bands of the rules). */
  comfortCoolMs: number;
  comfortHeatMs: number;
  occupancyKnownMs: number;
}

export function emptyIntegrals(): RoomIntegrals {
  return {
    occupiedMs: 0,
    personMs: 0,
    conditionedEmptyMs: 0,
    setpointViolationMs: 0,
    co2OverMs: 0,
    occupiedTempMs: 0,
    comfortCoolMs: 0,
    comfortHeatMs: 0,
    occupancyKnownMs: 0,
  };
}

/** Adds `b` into `a`. */
export function addIntegrals(a: RoomIntegrals, b: RoomIntegrals): void {
  a.occupiedMs += b.occupiedMs;
  a.personMs += b.personMs;
  a.conditionedEmptyMs += b.conditionedEmptyMs;
  a.setpointViolationMs += b.setpointViolationMs;
  a.co2OverMs += b.co2OverMs;
  a.occupiedTempMs += b.occupiedTempMs;
  a.comfortCoolMs += b.comfortCoolMs;
  a.comfortHeatMs += b.comfortHeatMs;
  a.occupancyKnownMs += b.occupancyKnownMs;
}

/** Index of the first sample at or after `t` (binary search). */
function firstAtOrAfter(time: Float64Array, t: number): number {
  let lo = 0;
  let hi = time.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((time[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The integrals of [from, to) from samples sorted by time. Only samples that can hold into the
 * interval are read (those after `from` − the longest hold), so a bucket costs its own samples.
 */
export function roomIntegrals(
  columns: RoomColumns,
  from: number,
  to: number,
  rules: RoomRules,
): RoomIntegrals {
  const out = emptyIntegrals();
  if (!(to > from)) return out;
  const { time, holdMs } = columns;
  let longest = 0;
  for (let k = 0; k < holdMs.length; k++) longest = Math.max(longest, holdMs[k] as number);
  const lo = firstAtOrAfter(time, from - longest);
  const hi = firstAtOrAfter(time, to);
  const n = hi - lo;
  const buffer = new Float64Array(15 * n);
  const steps = (field: Float64Array, k: number) =>
    new Cursor(stepsOf(columns, field, from, to, buffer.subarray(3 * k * n, 3 * (k + 1) * n), lo, hi));
  const occupancy = steps(columns.occupancy, 0);
  const temperature = steps(columns.temperature, 1);
  const co2 = steps(columns.co2, 2);
  const hvac = steps(columns.hvac, 3);
  const lights = steps(columns.lights, 4);
  const { cooling, heating } = rules.comfort;
  // Sweep from one change of any field to the next.
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
    const dt = next - t;
    const people = occupancy.value;
    const temp = temperature.value;
    const mode = hvac.value;
    if (!Number.isNaN(people)) {
      out.occupancyKnownMs += dt;
      if (people > 0) {
        out.occupiedMs += dt;
        out.personMs += people * dt;
        if (!Number.isNaN(temp)) {
          out.occupiedTempMs += dt;
          if (temp >= cooling.min && temp <= cooling.max) out.comfortCoolMs += dt;
          if (temp >= heating.min && temp <= heating.max) out.comfortHeatMs += dt;
        }
      } else if ((!Number.isNaN(mode) && mode !== HVAC_OFF) || lights.value === 1) {
        out.conditionedEmptyMs += dt;
      }
    }
    if (
      !Number.isNaN(temp) &&
      ((mode === HVAC_COOL && temp < rules.coolingMinC) || (mode === HVAC_HEAT && temp > rules.heatingMaxC))
    ) {
      out.setpointViolationMs += dt;
    }
    if (co2.value > rules.co2LimitPpm) out.co2OverMs += dt;
    t = next;
  }
  return out;
}

/** The figures of one room over `period`, from its samples sorted by time (reaching back at least one hold before `from`). */
export function roomFigures(samples: readonly RoomSample[], period: Period, env: RoomEnv): RoomFigures {
  return roomFiguresOf(roomColumns(samples), period, env);
}

/**
 * The pieces of a period that are wholly inside or outside working time and within one local
 * month: the period cut at every working-time edge and month start. Every room figure is a sum of
 * {@link RoomIntegrals} over these pieces, each counted by what the piece is.
 */
export function roomPieces(period: Period, env: Pick<RoomEnv, 'calendar' | 'months'>): RoomPiece[] {
  const { from, to } = period;
  const cuts = new Set<number>([from, to]);
  const working = env.calendar.workingIntervals(from, to);
  for (const w of working) {
    cuts.add(Math.max(from, w.start));
    cuts.add(Math.min(to, w.end));
  }
  for (const [start] of env.months) if (start > from && start < to) cuts.add(start);
  const edges = [...cuts].sort((a, b) => a - b);
  const pieces: RoomPiece[] = [];
  let w = 0;
  let m = 0;
  for (let i = 0; i + 1 < edges.length; i++) {
    const start = edges[i] as number;
    const end = edges[i + 1] as number;
    while (w < working.length && (working[w] as { end: number }).end <= start) w++;
    const inWork = w < working.length && (working[w] as { start: number }).start <= start;
    while (
      m + 1 < env.months.length &&
      ((env.months[m + 1] as readonly [number, number])[0] as number) <= start
    )
      m++;
    const month = (env.months[m] as readonly [number, number] | undefined)?.[1] ?? 0;
    pieces.push({ start, end, working: inWork, month });
  }
  return pieces;
}

/** A piece of a period (see {@link roomPieces}). */
export interface RoomPiece {
  readonly start: number;
  readonly end: number;
  readonly working: boolean;
  /** Local month, 1–12. */
  readonly month: number;
}

/**
 * The figures of a period from the integrals of its pieces (in the order of {@link roomPieces}):
 * occupied time inside working time counts toward utilisation; a piece's occupied time with a
 * known temperature counts toward comfort in the cooling or heating months, with the in-band time
 * of that season's band.
 */
export function composeRoomFigures(
  pieces: readonly RoomPiece[],
  integrals: readonly RoomIntegrals[],
  capacity: number,
  rules: RoomRules,
): RoomFigures {
  const sum = emptyIntegrals();
  let occupiedWorkMs = 0;
  let workingMs = 0;
  let comfortBaseMs = 0;
  let comfortMs = 0;
  const { cooling, heating } = rules.comfort;
  pieces.forEach((piece, i) => {
    const x = integrals[i] as RoomIntegrals;
    addIntegrals(sum, x);
    if (piece.working) {
      occupiedWorkMs += x.occupiedMs;
      workingMs += piece.end - piece.start;
    }
    if (cooling.months.includes(piece.month)) {
      comfortBaseMs += x.occupiedTempMs;
      comfortMs += x.comfortCoolMs;
    } else if (heating.months.includes(piece.month)) {
      comfortBaseMs += x.occupiedTempMs;
      comfortMs += x.comfortHeatMs;
    }
  });
  return {
    occupiedMs: sum.occupiedMs,
    occupiedWorkMs,
    workingMs,
    utilization: workingMs > 0 ? occupiedWorkMs / workingMs : 0,
    personMs: sum.personMs,
    seatUse: sum.occupiedMs > 0 ? sum.personMs / sum.occupiedMs / capacity : null,
    conditionedEmptyMs: sum.conditionedEmptyMs,
    setpointViolationMs: sum.setpointViolationMs,
    co2OverMs: sum.co2OverMs,
    comfortBaseMs,
    comfortMs,
    comfort: comfortBaseMs > 0 ? comfortMs / comfortBaseMs : null,
    occupancyKnownMs: sum.occupancyKnownMs,
  };
}

/** {@link roomFigures} over samples held column by column. */
export function roomFiguresOf(columns: RoomColumns, period: Period, env: RoomEnv): RoomFigures {
  const pieces = roomPieces(period, env);
  const integrals = pieces.map((p) => roomIntegrals(columns, p.start, p.end, env.rules));
  return composeRoomFigures(pieces, integrals, env.capacity, env.rules);
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
