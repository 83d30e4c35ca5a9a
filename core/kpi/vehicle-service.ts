/**
 * Vehicle services: utilisation of the fleet, trips and track of one car. They read raw GPS fixes
 * through the {@link TimeSeriesStore} port, one query per car (a month of one car is a few tens
 * of thousands of fixes, so memory stays bounded whatever the fleet), column by column
 * (`queryColumns`: no object per fix), the next car's read running while this one is computed,
 * and leave the maths to the pure functions of `vehicle.ts`, where every definition is written down.
 *
 * Prices: gasoline and diesel at the facility's `tariffs.gasoline` / `tariffs.diesel` price per
 * litre; an electric car's kWh at the electricity tariff's time-of-use price of the instant its
 * counter rose (each increment of the `fuel` counter belongs to the fix that shows it, and the
 * period is cut at every time-of-use change: `fuelIncrements` over the energy timeline's edges).
 * The counter records energy used, not energy charged: without charger data this is what the
 * platform can price (a car charged overnight at the valley price costs less than this says).
 * No price → `costCny` and `costPerKm` null. A figure beyond the range of numbers (a counter of
 * 1.8e308) is null, never Infinity.
 */
import type { LonLat } from '../facility/geometry.ts';
import type { Facility, Vehicle } from '../facility/schema.ts';
import { UNITS } from '../facility/schema.ts';
import { numberColumn, queryColumns } from '../store.ts';
import { calendarOf, checkPeriod, isoAt, round } from './common.ts';
import { touPrices } from './energy.ts';
import { energyTimeline } from './energy-timeline.ts';
import { prefetched } from './prefetch.ts';
import { touSchedule } from './tou-schedule.ts';
import {
  type KpiContext,
  KpiError,
  type Period,
  type Trip,
  type VehicleItem,
  type VehicleTrack,
  type VehicleTrips,
  type VehicleUtilization,
  type VehicleUtilizationParams,
} from './types.ts';
import {
  DEFAULT_VEHICLE_RULES,
  fuelIncrements,
  type VehicleEnv,
  type VehicleFixColumns,
  type VehicleRules,
  vehicleFigures,
} from './vehicle.ts';

/** Thresholds of the vehicle figures; any left out take {@link DEFAULT_VEHICLE_RULES}. */
export type VehicleOptions = Partial<VehicleRules>;

/** A {@link VehicleItem} with the figures behind it (extra fields of the contract). */
export interface VehicleItemDetail extends VehicleItem {
  /** Energy used in the period, in `energyUnit` (null without fuel data). */
  readonly energyUsed: number | null;
  /** Working time of the period (the utilisation's denominator), hours. */
  readonly workingHours: number;
  /** The threshold speeding events were counted against, km/h. */
  readonly speedLimitKmh: number;
}

/** How far after `to` fixes are read so a trip starting before `to` can finish, ms. */
const LOOKAHEAD_MS = 6 * 3_600_000;

const FIELDS = ['lat', 'lon', 'speed', 'ignition', 'odometer', 'fuel'] as const;

/** Utilisation figures of every vehicle (of one department, if given), in facility order. */
export async function vehicleUtilization(
  ctx: KpiContext,
  params: VehicleUtilizationParams,
  options: VehicleOptions = {},
): Promise<VehicleUtilization> {
  checkPeriod(params);
  const { facility } = ctx;
  if (params.department !== undefined && !facility.departments.some((d) => d.id === params.department)) {
    throw new KpiError(`unknown department "${params.department}"`, { status: 400, parameter: 'department' });
  }
  const env = envOf(facility, options);
  const zone = facility.site.timezone;
  const items: VehicleItemDetail[] = [];
  const vehicles = facility.vehicles.filter(
    (vehicle) => params.department === undefined || vehicle.department === params.department,
  );
  const read = (vehicle: Vehicle) =>
    readFixes(ctx, vehicle.id, params.from - env.rules.gapMs, params.to + LOOKAHEAD_MS);
  // Time-of-use edges of the period, to price electric cars' kWh by when they were used.
  const schedule = touSchedule(facility.tariffs.electricity, zone);
  const timeline = energyTimeline({ from: params.from, to: params.to, calendar: env.calendar, schedule });
  const prices = facility.tariffs.electricity ? touPrices(facility) : null;
  for await (const [vehicle, fixes] of prefetched(vehicles, read)) {
    const figures = vehicleFigures(fixes, params, env);
    const cost = costOf(facility, vehicle, figures.energy, () => {
      if (!prices) return null;
      const { energy } = fuelIncrements(fixes, timeline.edges);
      let sum = 0;
      timeline.intervals.forEach((interval, i) => {
        sum += (energy[i] as number) * prices[interval.tou];
      });
      return sum;
    });
    items.push({
      id: vehicle.id,
      plate: vehicle.plate,
      department: vehicle.department,
      trips: figures.trips.length,
      distanceKm: round(figures.distanceKm, 3),
      drivingHours: round(figures.drivingMs / 3_600_000, 4),
      idleHours: round(figures.idleMs / 3_600_000, 4),
      utilization: round(figures.utilization, 4),
      offHoursTrips: figures.offHoursTrips,
      geofenceExits: figures.geofenceExits,
      speedingEvents: figures.speeding.length,
      energyPer100km: figures.energyPer100km === null ? null : finiteOrNull(round(figures.energyPer100km, 2)),
      energyUnit: UNITS[vehicle.energy],
      ratedPer100km: vehicle.ratedConsumption,
      costPerKm:
        cost !== null && figures.distanceKm > 0 ? finiteOrNull(round(cost / figures.distanceKm, 3)) : null,
      costCny: cost === null ? null : finiteOrNull(round(cost, 2)),
      energyUsed: figures.energy === null ? null : finiteOrNull(round(figures.energy, 3)),
      workingHours: round(figures.workingMs / 3_600_000, 4),
      speedLimitKmh: env.rules.speedLimitKmh,
    });
  }
  return { from: isoAt(params.from, zone), to: isoAt(params.to, zone), items };
}

/** Trips of one car starting in the period, oldest first. */
export async function vehicleTrips(
  ctx: KpiContext,
  id: string,
  period: Period,
  options: VehicleOptions = {},
): Promise<VehicleTrips> {
  checkPeriod(period);
  vehicleOf(ctx.facility, id);
  const env = envOf(ctx.facility, options);
  const zone = ctx.facility.site.timezone;
  const fixes = await readFixes(ctx, id, period.from - env.rules.gapMs, period.to + LOOKAHEAD_MS);
  const figures = vehicleFigures(fixes, period, env);
  const items = figures.trips.map(
    (trip): Trip => ({
      start: isoAt(trip.start, zone),
      end: isoAt(trip.end, zone),
      distanceKm: round(trip.distanceKm, 3),
      durationMin: round((trip.end - trip.start) / 60_000, 2),
      maxSpeedKmh: trip.maxSpeedKmh,
      offHours: trip.offHours,
      leftServiceArea: trip.leftServiceArea,
      from: trip.from,
      to: trip.to,
    }),
  );
  return { id, from: isoAt(period.from, zone), to: isoAt(period.to, zone), items };
}

/**
 * The car's fixes in [from, to) as a GeoJSON Feature (LineString of `[lon, lat]`, times in
 * `properties.times`). Every fix is kept, parked heartbeats included; a period with fewer than two
 * fixes gives a line of that many positions (GeoJSON wants two: a client should draw it as a point).
 */
export async function vehicleTrack(ctx: KpiContext, id: string, period: Period): Promise<VehicleTrack> {
  checkPeriod(period);
  const vehicle = vehicleOf(ctx.facility, id);
  const zone = ctx.facility.site.timezone;
  const fixes = await readFixes(ctx, id, period.from, period.to);
  return {
    type: 'Feature',
    geometry: {
      type: 'LineString',
      coordinates: Array.from(
        fixes.time,
        (_, k) => [fixes.lon[k] as number, fixes.lat[k] as number] as const,
      ),
    },
    properties: {
      id,
      plate: vehicle.plate,
      from: isoAt(period.from, zone),
      to: isoAt(period.to, zone),
      times: Array.from(fixes.time, (time) => isoAt(time, zone)),
    },
  };
}

function envOf(facility: Facility, options: VehicleOptions): VehicleEnv {
  const rules: VehicleRules = { ...DEFAULT_VEHICLE_RULES, ...definedOnly(options) };
  const area = facility.geofences.find((g) => g.id === 'service-area');
  return {
    calendar: calendarOf(facility),
    serviceArea: area?.polygon.map(([lon, lat]) => [lon, lat] as LonLat),
    rules,
  };
}

function definedOnly(options: VehicleOptions): Partial<VehicleRules> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

function vehicleOf(facility: Facility, id: string): Vehicle {
  const vehicle = facility.vehicles.find((v) => v.id === id);
  if (!vehicle) throw new KpiError(`unknown vehicle "${id}"`, { status: 404, parameter: 'id' });
  return vehicle;
}

/** Price per litre of a car's fuel, or null for an electric car or when the facility gives none. */
export function priceOf(facility: Facility, vehicle: Vehicle): number | null {
  if (vehicle.energy === 'electric') return null;
  return facility.tariffs[vehicle.energy]?.price ?? null;
}

/**
 * Cost of a car's energy in the period: litres × its fuel's price, or for an electric car
 * `electricCost()` (kWh priced by time of use); null without energy data or a price.
 */
function costOf(
  facility: Facility,
  vehicle: Vehicle,
  energy: number | null,
  electricCost: () => number | null,
): number | null {
  if (energy === null) return null;
  if (vehicle.energy === 'electric') return energy === 0 ? 0 : electricCost();
  const price = priceOf(facility, vehicle);
  return price === null ? (energy === 0 ? 0 : null) : energy * price;
}

const finiteOrNull = (value: number) => (Number.isFinite(value) ? value : null);

async function readFixes(ctx: KpiContext, id: string, from: number, to: number): Promise<VehicleFixColumns> {
  const series = await queryColumns(ctx.store, {
    measurement: 'vehicle',
    fields: FIELDS,
    where: { site: ctx.facility.site.id, vehicle: id },
    from,
    to,
  });
  // A fix needs the contract's required fields; a point without them (NaN) is not a fix.
  const parts = series.map((columns) => {
    const values = FIELDS.map((field) => numberColumn(columns, field));
    const [lat, lon, speed, ignition] = values as [Float64Array, Float64Array, Float64Array, Float64Array];
    const keep: number[] = [];
    for (let k = 0; k < columns.time.length; k++) {
      const required =
        (lat[k] as number) + (lon[k] as number) + (speed[k] as number) + (ignition[k] as number);
      if (!Number.isNaN(required)) keep.push(k);
    }
    return { columns: [columns.time, ...values], keep };
  });
  const n = parts.reduce((sum, part) => sum + part.keep.length, 0);
  const out = Array.from({ length: 1 + FIELDS.length }, () => new Float64Array(n));
  let at = 0;
  for (const { columns, keep } of parts) {
    out.forEach((column, c) => {
      const source = columns[c] as Float64Array;
      for (let i = 0; i < keep.length; i++) column[at + i] = source[keep[i] as number] as number;
    });
    at += keep.length;
  }
  // One series unless a car changed department: merge by time then (a stable sort).
  if (parts.length > 1) {
    const time = out[0] as Float64Array;
    const order = Array.from(time.keys()).sort((a, b) => (time[a] as number) - (time[b] as number));
    for (const [c, column] of out.entries()) out[c] = Float64Array.from(order, (k) => column[k] as number);
  }
  const [time, lat, lon, speed, ignition, odometer, fuel] = out as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  return { time, lat, lon, speed, ignition, odometer, fuel };
}
