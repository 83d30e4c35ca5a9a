/**
 * Vehicle KPIs as pure functions over one car's GPS fixes (docs/architecture.md, "KPI definitions";
 * issue 4, "Vehicles"). `vehicle-service.ts` fetches the fixes and calls these.
 *
 * Definitions (each threshold is a field of {@link VehicleRules}):
 *
 * - **Moving**: a fix with the ignition on and a speed of at least `movingKmh` (2 km/h, so the
 *   speed noise of a standing receiver is not driving). **Idle**: ignition on, not moving.
 * - **A fix's state holds until the next fix**, unless the next one is more than `gapMs` (1 h)
 *   later: such a gap is unknown time, counted as neither idle nor driving, and it splits trips.
 * - **Trip**: begins at the first moving fix after a stop (or a gap, or the start of the data);
 *   ends at the first standing fix of a stop that lasts `stopMs` (5 min) or more — a stop is
 *   over when a later standing fix is at least 5 min after its first, or when the car moves
 *   again at least 5 min after it; a shorter stop (traffic lights, a drop-off) stays inside the
 *   trip. With a gap over an hour, or at the end of the data, the trip ends at its last fix
 *   before it (the first standing fix of an unfinished stop, else the last moving fix).
 * - **Where a trip starts**: the fix just before its first moving fix (the car's standing place),
 *   unless a gap separates them; its `from` position and the distance are taken from there, so the
 *   metres driven between those two fixes are not lost. Its start *time* is the first moving fix.
 * - **Distance**: the odometer difference between the trip's first and last fix when both carry
 *   one and it did not go down; otherwise the sum of haversine legs, accumulated from the last
 *   *accepted* fix: a fix less than `jitterM` (20 m) from it is skipped (GPS jitter while
 *   standing), a fix at 20 m or more adds its distance from the accepted fix and becomes the
 *   accepted fix. Slow driving is not lost (the distance from the accepted fix keeps growing); only
 *   the last < 20 m of a trip may be.
 * - **Driving time**: time on trips (start to end, short stops included) — docs/architecture.md's
 *   "time on trips". Idle time is counted wherever it happens, so idling at a red light is both.
 * - **Utilisation**: driving time inside working time ÷ working time of the period (calendar).
 * - **Off-hours trip**: a trip any part of which (start inclusive, end exclusive) lies outside
 *   working time — a night, a weekend, a holiday.
 * - **Leaving the service area**: any fix of the trip (from its start place to its end) outside
 *   the `service-area` geofence. A facility without that geofence has no area to leave: no trip
 *   counts as leaving.
 * - **Speeding event**: a run of consecutive fixes with the ignition on and a speed above
 *   `speedLimitKmh`, not interrupted by a gap. Default 80 km/h: the usual top limit of urban
 *   roads (GB 5768 / urban expressways) where official cars drive; 120 km/h (the national
 *   expressway limit) would never flag city driving.
 * - **Energy**: the increase of the `fuel` counter (cumulative litres or kWh used, not the tank
 *   level — see simulators/vehicles.ts) over fixes in the period, with counter-reset semantics
 *   (a drop means the counter restarted; the new value counts from zero), gaps included — a
 *   counter loses nothing in a gap. Each increment belongs to the instant of the fix that shows it
 *   ({@link fuelIncrements}). Energy per 100 km = energy ÷ distance × 100; cost per km = cost ÷
 *   distance, the cost being litres × the fuel price, or for an electric car each kWh increment ×
 *   the time-of-use price of the instant it was seen (vehicle-service.ts).
 *
 * Periods: a trip belongs to the period it starts in (trips, distance, driving hours, off-hours
 * and geofence counts, speeding events by their first fix); idle time, utilisation and energy are
 * clipped to the period. Summing months gives the year.
 */

import { type WorkCalendar, WorkingTime } from '../facility/calendar.ts';
import type { LonLat } from '../facility/geometry.ts';
import { pointInPolygon } from '../facility/geometry.ts';
import { haversineM } from './geo.ts';
import type { Period } from './types.ts';

/** One GPS fix. */
export interface VehicleFix {
  /** Epoch ms. */
  readonly time: number;
  readonly lat: number;
  readonly lon: number;
  /** km/h. */
  readonly speed: number;
  readonly ignition: boolean;
  /** km, when the tracker reports it. */
  readonly odometer: number | null;
  /** Cumulative litres or kWh used, when the tracker reports it. */
  readonly fuel: number | null;
}

/** Thresholds of the vehicle figures; see the module comment. */
export interface VehicleRules {
  /** A stop this long or longer ends a trip, ms. Default 5 min. */
  readonly stopMs: number;
  /** A silence longer than this between fixes is unknown time and splits trips, ms. Default 1 h. */
  readonly gapMs: number;
  /** GPS legs shorter than this are jitter, m. Default 20. */
  readonly jitterM: number;
  /** Slowest speed that counts as moving, km/h. Default 2. */
  readonly movingKmh: number;
  /** Speeding is driving above this, km/h. Default 80. */
  readonly speedLimitKmh: number;
}

export const DEFAULT_VEHICLE_RULES: VehicleRules = {
  stopMs: 5 * 60_000,
  gapMs: 3_600_000,
  jitterM: 20,
  movingKmh: 2,
  speedLimitKmh: 80,
};

/** A trip found in a car's fixes. */
export interface DetectedTrip {
  /** First moving fix, epoch ms. */
  readonly start: number;
  /** First fix of the stop that ended it (or the last fix before a gap / the end of the data), epoch ms. */
  readonly end: number;
  /** Index of the fix the trip is measured from (its standing place) and of its end fix. */
  readonly first: number;
  readonly last: number;
  readonly distanceKm: number;
  /** Whether the distance is the odometer's or summed from GPS legs. */
  readonly distanceSource: 'odometer' | 'gps';
  readonly maxSpeedKmh: number;
  readonly from: { readonly lat: number; readonly lon: number };
  readonly to: { readonly lat: number; readonly lon: number };
  /**
   * Time of the fix whose arrival closed the trip (the end of a long enough stop, the car moving
   * again after one, or the fix after a gap); `null` when the data ended first: the trip is still
   * open, and later fixes may extend it.
   */
  readonly closedAt: number | null;
}

/**
 * A car's fixes column by column, sorted by time: what the service reads, and what the figures are
 * computed over (no object per fix). Index `i` of every column is one fix.
 */
export interface VehicleFixColumns {
  /** Epoch ms. */
  readonly time: Float64Array;
  readonly lat: Float64Array;
  readonly lon: Float64Array;
  /** km/h. */
  readonly speed: Float64Array;
  /** 1 on, 0 off. */
  readonly ignition: Float64Array;
  /** km; NaN where the tracker does not report it. */
  readonly odometer: Float64Array;
  /** Cumulative litres or kWh used; NaN where the tracker does not report it. */
  readonly fuel: Float64Array;
}

/** Fixes as {@link VehicleFixColumns}. */
export function fixColumns(fixes: readonly VehicleFix[]): VehicleFixColumns {
  const column = (value: (fix: VehicleFix) => number) => Float64Array.from(fixes, value);
  return {
    time: column((fix) => fix.time),
    lat: column((fix) => fix.lat),
    lon: column((fix) => fix.lon),
    speed: column((fix) => fix.speed),
    ignition: column((fix) => (fix.ignition ? 1 : 0)),
    odometer: column((fix) => fix.odometer ?? Number.NaN),
    fuel: column((fix) => fix.fuel ?? Number.NaN),
  };
}

function columnsOf(fixes: readonly VehicleFix[] | VehicleFixColumns): VehicleFixColumns {
  return 'time' in fixes && fixes.time instanceof Float64Array
    ? (fixes as VehicleFixColumns)
    : fixColumns(fixes as readonly VehicleFix[]);
}

/** Trips in fixes sorted by time (see the module comment for the rules). */
export function detectTrips(
  fixes: readonly VehicleFix[] | VehicleFixColumns,
  rules: VehicleRules = DEFAULT_VEHICLE_RULES,
): DetectedTrip[] {
  const columns = columnsOf(fixes);
  const { time, speed, ignition } = columns;
  const trips: DetectedTrip[] = [];
  let inTrip = false;
  let anchor = 0;
  let firstMoving = 0;
  let lastMoving = 0;
  let stop = -1;

  const close = (last: number, closedAt: number | null) => {
    trips.push({ ...measureTrip(columns, anchor, firstMoving, last, rules), closedAt });
    inTrip = false;
    stop = -1;
  };

  for (let k = 0; k < time.length; k++) {
    const t = time[k] as number;
    const gap = k > 0 && t - (time[k - 1] as number) > rules.gapMs;
    if (inTrip && gap) close(stop >= 0 ? stop : lastMoving, t);
    const moving = ignition[k] === 1 && (speed[k] as number) >= rules.movingKmh;
    if (moving) {
      if (inTrip && stop >= 0) {
        if (t - (time[stop] as number) >= rules.stopMs) close(stop, t);
        else stop = -1;
      }
      if (!inTrip) {
        inTrip = true;
        anchor = k > 0 && !gap ? k - 1 : k;
        firstMoving = k;
      }
      lastMoving = k;
    } else if (inTrip) {
      if (stop < 0) stop = k;
      else if (t - (time[stop] as number) >= rules.stopMs) close(stop, t);
    }
  }
  if (inTrip) close(stop >= 0 ? stop : lastMoving, null);
  return trips;
}

function measureTrip(
  fixes: VehicleFixColumns,
  first: number,
  firstMoving: number,
  last: number,
  rules: VehicleRules,
): Omit<DetectedTrip, 'closedAt'> {
  const { time, lat, lon, speed, odometer } = fixes;
  let maxSpeed = 0;
  for (let k = firstMoving; k <= last; k++) maxSpeed = Math.max(maxSpeed, speed[k] as number);
  let distanceKm: number;
  let source: DetectedTrip['distanceSource'];
  const a = odometer[first] as number;
  const b = odometer[last] as number;
  // NaN (no odometer) fails the comparison.
  if (b >= a) {
    distanceKm = b - a;
    source = 'odometer';
  } else {
    distanceKm = gpsDistanceM(fixes, first, last, rules.jitterM) / 1000;
    source = 'gps';
  }
  return {
    start: time[firstMoving] as number,
    end: time[last] as number,
    first,
    last,
    distanceKm,
    distanceSource: source,
    maxSpeedKmh: maxSpeed,
    from: { lat: lat[first] as number, lon: lon[first] as number },
    to: { lat: lat[last] as number, lon: lon[last] as number },
  };
}

/** Haversine metres along fixes `first`…`last`, skipping legs under `jitterM` from the last accepted fix. */
export function gpsDistanceM(
  fixes: readonly VehicleFix[] | VehicleFixColumns,
  first: number,
  last: number,
  jitterM: number,
): number {
  const { lat, lon } = columnsOf(fixes);
  let acceptedLat = lat[first] as number;
  let acceptedLon = lon[first] as number;
  let metres = 0;
  for (let k = first + 1; k <= last; k++) {
    const leg = haversineM(acceptedLat, acceptedLon, lat[k] as number, lon[k] as number);
    if (leg >= jitterM) {
      metres += leg;
      acceptedLat = lat[k] as number;
      acceptedLon = lon[k] as number;
    }
  }
  return metres;
}

/** What the figures of one car need besides its fixes. */
export interface VehicleEnv {
  readonly calendar: WorkCalendar;
  /** The `service-area` polygon, `[lon, lat]`; undefined when the facility has none. */
  readonly serviceArea: readonly LonLat[] | undefined;
  readonly rules: VehicleRules;
}

/** A detected trip with what the period report says about it. */
export interface TripFigures extends DetectedTrip {
  readonly offHours: boolean;
  readonly leftServiceArea: boolean;
}

/** The figures of one car over a period, unrounded. */
export interface VehicleFigures {
  /** Trips starting in the period. */
  readonly trips: readonly TripFigures[];
  readonly distanceKm: number;
  readonly drivingMs: number;
  readonly idleMs: number;
  /** Driving time inside working time of the period, ms (trips clipped to the period). */
  readonly drivingWorkMs: number;
  readonly workingMs: number;
  /** 0–1; 0 when the period holds no working time. */
  readonly utilization: number;
  readonly offHoursTrips: number;
  readonly geofenceExits: number;
  /** Start times of speeding events in the period. */
  readonly speeding: readonly number[];
  /** Energy used in the period (L or kWh); null without fuel data. */
  readonly energy: number | null;
  /** Energy ÷ distance × 100; null without fuel data or distance. */
  readonly energyPer100km: number | null;
}

/**
 * The figures of one car over `period`, from its fixes sorted by time. The fixes should reach a
 * little before the period (at least `gapMs`, so a trip in progress at `from` is known) and a
 * little after it (so a trip starting before `to` can finish).
 */
export function vehicleFigures(
  fixes: readonly VehicleFix[] | VehicleFixColumns,
  period: Period,
  env: VehicleEnv,
): VehicleFigures {
  const { calendar, rules, serviceArea } = env;
  const columns = columnsOf(fixes);
  const inside = serviceArea === undefined ? undefined : insideTest(serviceArea);
  const trips = detectTrips(columns, rules).map((trip) => ({
    ...trip,
    leftServiceArea: inside !== undefined && leaves(columns, trip.first, trip.last, inside),
  }));
  const { idleMs, speeding, energy } = vehicleIntegrals(columns, period.from, period.to, rules);
  return { ...composeVehicleFigures({ period, calendar, trips, idleMs, energy }), speeding };
}

/** What a trip must tell for the figures of a period. */
export interface PeriodTrip {
  readonly start: number;
  readonly end: number;
  readonly distanceKm: number;
  readonly leftServiceArea: boolean;
}

/**
 * The figures of a car over a period from its trips and its idle time and energy in the period
 * (the definitions of the module comment): trips starting in the period are counted with their
 * distance, driving time, off-hours and geofence flags; driving time inside working time is
 * clipped to the period from every trip that overlaps it.
 *
 * @param input.trips - every trip starting in the period or overlapping it, sorted by start.
 */
export function composeVehicleFigures<T extends PeriodTrip>(input: {
  readonly period: Period;
  readonly calendar: WorkCalendar;
  readonly trips: readonly T[];
  readonly idleMs: number;
  readonly energy: number | null;
}): Omit<VehicleFigures, 'trips' | 'speeding'> & { trips: (T & { offHours: boolean })[] } {
  const { calendar, period, idleMs, energy } = input;
  const { from, to } = period;
  // One walk of the calendar over everything asked below (the period, and trips running past it).
  let low = from;
  let high = to;
  for (const trip of input.trips) {
    low = Math.min(low, trip.start);
    high = Math.max(high, trip.end + 1);
  }
  const working = new WorkingTime(calendar, low, high);
  const trips: (T & { offHours: boolean })[] = [];
  let drivingWorkMs = 0;
  for (const trip of input.trips) {
    const start = Math.max(trip.start, from);
    const end = Math.min(trip.end, to);
    if (end > start) drivingWorkMs += working.workingMs(start, end);
    if (trip.start < from || trip.start >= to) continue;
    trips.push({ ...trip, offHours: touchesOffHours(working, trip.start, trip.end) });
  }
  const distanceKm = trips.reduce((sum, trip) => sum + trip.distanceKm, 0);
  const workingMs = working.workingMs(from, to);
  return {
    trips,
    distanceKm,
    drivingMs: trips.reduce((sum, trip) => sum + trip.end - trip.start, 0),
    idleMs,
    drivingWorkMs,
    workingMs,
    utilization: workingMs > 0 ? drivingWorkMs / workingMs : 0,
    offHoursTrips: trips.filter((trip) => trip.offHours).length,
    geofenceExits: trips.filter((trip) => trip.leftServiceArea).length,
    energy,
    energyPer100km: energy !== null && distanceKm > 0 ? (energy / distanceKm) * 100 : null,
  };
}

/** What a car did in an interval, apart from its trips: what a vehicle rollup row holds per bucket. */
export interface VehicleIntegrals {
  /** Ignition on and standing, ms (each fix's state holds until the next fix, unless a gap). */
  idleMs: number;
  /** Times of the fixes in the interval that start a speeding event. */
  speeding: number[];
  /** Fuel counter increments at fixes in the interval (L or kWh); null when no fix there has fuel. */
  energy: number | null;
  /** Fixes in the interval. */
  fixes: number;
}

/** Index of the first fix at or after `t` (binary search). */
function firstFixAtOrAfter(time: Float64Array, t: number): number {
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
 * Idle time, speeding starts and energy of [from, to) from fixes sorted by time (see the module
 * comment): idle time is clipped to the interval; a speeding event and a fuel increment belong to
 * the interval of the fix where they happen, judged against the fixes before it. Reads only the
 * fixes in the interval and the ones just before it, so a bucket costs its own fixes.
 */
export function vehicleIntegrals(
  fixes: VehicleFixColumns,
  from: number,
  to: number,
  rules: VehicleRules,
): VehicleIntegrals {
  const { time, speed, ignition, fuel } = fixes;
  const lo = firstFixAtOrAfter(time, from);
  const hi = firstFixAtOrAfter(time, to);
  let idleMs = 0;
  // The fix before the interval may be idle into it.
  for (let k = Math.max(0, lo - 1); k < hi && k + 1 < time.length; k++) {
    const at = time[k] as number;
    const next = time[k + 1] as number;
    if (next - at > rules.gapMs || ignition[k] !== 1 || (speed[k] as number) >= rules.movingKmh) continue;
    const start = Math.max(at, from);
    const end = Math.min(next, to);
    if (end > start) idleMs += end - start;
  }
  const over = (k: number) => ignition[k] === 1 && (speed[k] as number) > rules.speedLimitKmh;
  const speeding: number[] = [];
  for (let k = lo; k < hi; k++) {
    const at = time[k] as number;
    const continues = k > 0 && over(k - 1) && at - (time[k - 1] as number) <= rules.gapMs;
    if (over(k) && !continues) speeding.push(at);
  }
  // The last fuel reading before the interval: the counter loses nothing in a gap.
  let lastFuel: number | null = null;
  for (let k = lo - 1; k >= 0; k--) {
    if (!Number.isNaN(fuel[k] as number)) {
      lastFuel = fuel[k] as number;
      break;
    }
  }
  let energy: number | null = null;
  for (let k = lo; k < hi; k++) {
    const used = fuel[k] as number;
    if (Number.isNaN(used)) continue;
    energy ??= 0;
    if (lastFuel !== null) energy += used >= lastFuel ? used - lastFuel : used;
    lastFuel = used;
  }
  return { idleMs, speeding, energy, fixes: hi - lo };
}

/** What {@link fuelIncrements} finds in one car's fixes. */
export interface FuelIncrements {
  /** Energy used in each interval `[edges[i], edges[i + 1])`, litres or kWh. */
  readonly energy: Float64Array;
  /** How many fixes reported the counter in each interval. */
  readonly readings: Float64Array;
  /** Whether any fix inside `[edges[0], edges[last])` reported the counter. */
  readonly reported: boolean;
}

/**
 * The rise of a car's cumulative `fuel` counter (litres or kWh used) in each interval between
 * consecutive `edges` — the "Energy" definition of the module comment, cut at edges:
 *
 * - each fix that reports the counter carries the increment since the previous such fix among
 *   `fixes` (which should start a little before `edges[0]`, as the services read `gapMs` before):
 *   `fuel − previous` when the counter did not go down, else `fuel` (the counter restarted at
 *   zero); the first such fix carries nothing;
 * - the increment belongs to the instant of the fix that shows it, so it counts in the interval
 *   holding that instant (a time-of-use split therefore prices it at the period it was seen in);
 * - fixes before `edges[0]` or at or after the last edge only set the previous value.
 *
 * Summing the intervals gives exactly the energy of {@link vehicleFigures} over `[edges[0],
 * edges[last])`. A non-finite counter value is not a reading (skipped). Pure.
 */
export function fuelIncrements(
  fixes: readonly VehicleFix[] | VehicleFixColumns,
  edges: readonly number[],
): FuelIncrements {
  const { time, fuel } = columnsOf(fixes);
  const energy = new Float64Array(Math.max(0, edges.length - 1));
  const readings = new Float64Array(energy.length);
  const first = edges[0];
  const last = edges[edges.length - 1];
  let reported = false;
  if (first === undefined || last === undefined) return { energy, readings, reported };
  let lastFuel: number | null = null;
  let i = 0;
  for (let k = 0; k < time.length; k++) {
    const used = fuel[k] as number;
    if (!Number.isFinite(used)) continue;
    const at = time[k] as number;
    if (at >= first && at < last) {
      reported = true;
      while (i + 2 < edges.length && (edges[i + 1] as number) <= at) i++;
      readings[i] = (readings[i] as number) + 1;
      if (lastFuel !== null) energy[i] = (energy[i] as number) + (used >= lastFuel ? used - lastFuel : used);
    }
    lastFuel = used;
  }
  return { energy, readings, reported };
}

/** Whether [start, end) has any instant outside working time (a zero-length trip: its instant). */
export function touchesOffHours(
  calendar: Pick<WorkCalendar, 'isWorkingTime' | 'workingMs'>,
  start: number,
  end: number,
): boolean {
  if (end <= start) return !calendar.isWorkingTime(start);
  return calendar.workingMs(start, end) < end - start;
}

function leaves(
  fixes: VehicleFixColumns,
  first: number,
  last: number,
  inside: (lon: number, lat: number) => boolean,
): boolean {
  const { lat, lon } = fixes;
  for (let k = first; k <= last; k++) {
    if (!inside(lon[k] as number, lat[k] as number)) return true;
  }
  return false;
}

/**
 * `pointInPolygon` of core/facility/geometry.ts with the polygon's bounding box checked first:
 * nearly every fix of a city car is well inside its service area, and a fix outside the box is
 * outside the polygon.
 */
function insideTest(area: readonly LonLat[]): (lon: number, lat: number) => boolean {
  const lons = area.map((p) => p[0]);
  const lats = area.map((p) => p[1]);
  const [w, e, s, n] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  return (lon, lat) => lon >= w && lon <= e && lat >= s && lat <= n && pointInPolygon([lon, lat], area);
}
