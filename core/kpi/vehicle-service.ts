/**
 * Vehicle services: utilisation of the fleet, trips and track of one car. Trips, idle time,
 * speeding and energy come from the context's data (core/kpi/data.ts: the rollups' trip rows and
 * 15-minute buckets, with raw fixes read only around off-grid edges); the maths is in the pure
 * functions of `vehicle.ts`, where every definition is written down. The track reads raw fixes.
 *
 * Prices: gasoline and diesel at the facility's `tariffs.gasoline` / `tariffs.diesel` price per
 * litre; an electric car's kWh at the electricity tariff's time-of-use price of the instant its
 * counter rose (each increment of the `fuel` counter belongs to the fix that shows it, and the
 * period is cut at every time-of-use change of the energy timeline). The counter records energy
 * used, not energy charged: without charger data this is what the platform can price (a car
 * charged overnight at the valley price costs less than this says). No price → `costCny` and
 * `costPerKm` null. A figure beyond the range of numbers (a counter of 1.8e308) is null, never
 * Infinity.
 */
import type { Facility, Vehicle } from '../facility/schema.ts';
import { UNITS } from '../facility/schema.ts';
import { fixColumns } from '../rollup/rolling-store.ts';
import { queryColumns } from '../store.ts';
import { calendarOf, checkPeriod, isoAt, round } from './common.ts';
import { dataOf } from './data.ts';
import { touPrices } from './energy.ts';
import { energyTimeline } from './energy-timeline.ts';
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
  composeVehicleFigures,
  DEFAULT_VEHICLE_RULES,
  type VehicleFixColumns,
  type VehicleRules,
} from './vehicle.ts';

/** A {@link VehicleItem} with the figures behind it (extra fields of the contract). */
export interface VehicleItemDetail extends VehicleItem {
  /** Energy used in the period, in `energyUnit` (null without fuel data). */
  readonly energyUsed: number | null;
  /** Working time of the period (the utilisation's denominator), hours. */
  readonly workingHours: number;
  /** The threshold speeding events were counted against, km/h. */
  readonly speedLimitKmh: number;
}

/** The thresholds the rollups are folded with (core/rollup/rolling-store.ts uses the same defaults). */
const RULES: VehicleRules = DEFAULT_VEHICLE_RULES;

const FIELDS = ['lat', 'lon', 'speed', 'ignition', 'odometer', 'fuel'] as const;

/** How far back trips are looked for that overlap a period (no trip lasts longer). */
const TRIP_LOOKBACK_MS = 7 * 86_400_000;

/** Figures of some cars over a period, from the context's data (rollups by default). */
async function figuresOf(ctx: KpiContext, vehicles: readonly Vehicle[], period: Period) {
  const data = dataOf(ctx);
  const ids = vehicles.map((v) => v.id);
  const [trips, integrals] = await Promise.all([
    data.trips(ids, period.from - TRIP_LOOKBACK_MS, period.to),
    data.vehicleIntervals(ids, [period.from, period.to]),
  ]);
  const calendar = calendarOf(ctx.facility);
  return new Map(
    vehicles.map((vehicle) => {
      const x = integrals.get(vehicle.id);
      const own = (trips.get(vehicle.id) ?? []).filter((t) => t.start >= period.from || t.end > period.from);
      const figures = composeVehicleFigures({
        period,
        calendar,
        trips: own,
        idleMs: x?.idleMs[0] ?? 0,
        energy: x?.energy[0] ?? null,
      });
      return [vehicle.id, { ...figures, speedingEvents: x?.speedingStarts[0] ?? 0 }] as const;
    }),
  );
}

/** Utilisation figures of every vehicle (of one department, if given), in facility order. */
export async function vehicleUtilization(
  ctx: KpiContext,
  params: VehicleUtilizationParams,
): Promise<VehicleUtilization> {
  checkPeriod(params);
  const { facility } = ctx;
  if (params.department !== undefined && !facility.departments.some((d) => d.id === params.department)) {
    throw new KpiError(`unknown department "${params.department}"`, { status: 400, parameter: 'department' });
  }
  const zone = facility.site.timezone;
  const vehicles = facility.vehicles.filter(
    (vehicle) => params.department === undefined || vehicle.department === params.department,
  );
  const all = await figuresOf(ctx, vehicles, params);
  // Time-of-use edges of the period, to price electric cars' kWh by when they were used.
  const schedule = touSchedule(facility.tariffs.electricity, zone);
  const timeline = energyTimeline({
    from: params.from,
    to: params.to,
    calendar: calendarOf(facility),
    schedule,
  });
  const prices = facility.tariffs.electricity ? touPrices(facility) : null;
  const electric = vehicles.filter((v) => v.energy === 'electric').map((v) => v.id);
  const byTou =
    electric.length > 0 && prices
      ? await dataOf(ctx).vehicleIntervals(electric, timeline.edges, ['energy', 'fuelFixes'])
      : undefined;
  const items: VehicleItemDetail[] = vehicles.map((vehicle) => {
    const figures = all.get(vehicle.id) as NonNullable<ReturnType<typeof all.get>>;
    const cost = costOf(facility, vehicle, figures.energy, () => {
      const energy = byTou?.get(vehicle.id)?.energy;
      if (!prices || !energy) return null;
      let sum = 0;
      timeline.intervals.forEach((interval, i) => {
        sum += (energy[i] ?? 0) * prices[interval.tou];
      });
      return sum;
    });
    return {
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
      speedingEvents: figures.speedingEvents,
      energyPer100km: figures.energyPer100km === null ? null : finiteOrNull(round(figures.energyPer100km, 2)),
      energyUnit: UNITS[vehicle.energy],
      ratedPer100km: vehicle.ratedConsumption,
      costPerKm:
        cost !== null && figures.distanceKm > 0 ? finiteOrNull(round(cost / figures.distanceKm, 3)) : null,
      costCny: cost === null ? null : finiteOrNull(round(cost, 2)),
      energyUsed: figures.energy === null ? null : finiteOrNull(round(figures.energy, 3)),
      workingHours: round(figures.workingMs / 3_600_000, 4),
      speedLimitKmh: RULES.speedLimitKmh,
    };
  });
  return { from: isoAt(params.from, zone), to: isoAt(params.to, zone), items };
}

/** Trips of one car starting in the period, oldest first. */
export async function vehicleTrips(ctx: KpiContext, id: string, period: Period): Promise<VehicleTrips> {
  checkPeriod(period);
  const vehicle = vehicleOf(ctx.facility, id);
  const zone = ctx.facility.site.timezone;
  const figures = (await figuresOf(ctx, [vehicle], period)).get(id);
  const items = (figures?.trips ?? []).map(
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
  return fixColumns(
    await queryColumns(ctx.store, {
      measurement: 'vehicle',
      fields: FIELDS,
      where: { site: ctx.facility.site.id, vehicle: id },
      from,
      to,
    }),
  );
}
