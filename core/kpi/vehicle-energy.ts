/**
 * Fuel and electricity of official cars between edges: what the energy figures add to the
 * buildings' meters (a car's litres or kWh count in its department's and the site's standard
 * coal, CO2 and cost, as the vehicles line).
 *
 * `vehicleEnergyIntervals` is the seam with the store: today it reads each car's raw fixes (the
 * `fuel` field, one car at a time, the next car's read running while this one is cut) and cuts
 * them with {@link fuelIncrements}; it may be re-implemented on hourly rollups as long as it
 * answers the same. Semantics of the answer:
 *
 * - `energy[i]` is the rise of the car's cumulative `fuel` counter (litres for gasoline and
 *   diesel, kWh for electric cars) shown by the fixes whose time lies in `[edges[i], edges[i+1])`:
 *   each fix carries the rise since the car's previous fix that reported the counter (a drop is a
 *   counter restart and the new value counts from zero), and the rise belongs to that fix's
 *   instant;
 * - the previous fix is looked for up to {@link FUEL_LOOKBACK_MS} (1 h, the trip rules' gap)
 *   before `edges[0]`, as `GET /vehicles/utilization` does, so both give the same litres;
 * - `readings[i]` counts those fixes;
 * - a car with no fix reporting the counter inside `[edges[0], edges[last])` is left out of the
 *   answer (nothing is known of it there), like a meter without readings.
 */
import type { Vehicle } from '../facility/schema.ts';
import { numberColumn, queryColumns } from '../store.ts';
import { prefetched } from './prefetch.ts';
import type { KpiContext } from './types.ts';
import { DEFAULT_VEHICLE_RULES, fuelIncrements } from './vehicle.ts';

/** How far before the first edge a car's previous counter reading is looked for, ms (1 h). */
export const FUEL_LOOKBACK_MS = DEFAULT_VEHICLE_RULES.gapMs;

/** One car's answer, per interval between consecutive edges. */
export interface VehicleIntervals {
  /** Energy used (litres or kWh). */
  readonly energy: readonly number[];
  /** Fixes that reported the counter (how many readings the interval's energy rests on). */
  readonly readings: readonly number[];
}

/** The answer indexed by vehicle id; a car missing from it reported no counter in the range. */
export type VehicleData = ReadonlyMap<string, VehicleIntervals>;

/**
 * Energy of each car in each interval `[edges[i], edges[i+1])` (see the module comment).
 * `edges` strictly ascending, at least 2.
 */
export async function vehicleEnergyIntervals(
  ctx: KpiContext,
  vehicles: readonly Pick<Vehicle, 'id'>[],
  edges: readonly number[],
): Promise<VehicleData> {
  const out = new Map<string, VehicleIntervals>();
  const first = edges[0];
  const last = edges[edges.length - 1];
  if (vehicles.length === 0 || first === undefined || last === undefined || edges.length < 2) return out;
  const read = (vehicle: Pick<Vehicle, 'id'>) => readFuel(ctx, vehicle.id, first - FUEL_LOOKBACK_MS, last);
  for await (const [vehicle, fixes] of prefetched(vehicles, read)) {
    const increments = fuelIncrements(fixes, edges);
    if (increments.reported) {
      out.set(vehicle.id, {
        energy: Array.from(increments.energy),
        readings: Array.from(increments.readings),
      });
    }
  }
  return out;
}

async function readFuel(ctx: KpiContext, id: string, from: number, to: number) {
  const series = await queryColumns(ctx.store, {
    measurement: 'vehicle',
    fields: ['fuel'],
    where: { site: ctx.facility.site.id, vehicle: id },
    from,
    to,
  });
  let time: Float64Array;
  let fuel: Float64Array;
  const only = series[0];
  if (series.length === 1 && only) {
    time = only.time;
    fuel = numberColumn(only, 'fuel');
  } else {
    // One series unless a car changed department: merge them by time then (a stable sort).
    const times = series.flatMap((s) => Array.from(s.time));
    const values = series.flatMap((s) => Array.from(numberColumn(s, 'fuel')));
    const order = Array.from(times.keys()).sort((a, b) => (times[a] as number) - (times[b] as number));
    time = Float64Array.from(order, (k) => times[k] as number);
    fuel = Float64Array.from(order, (k) => values[k] as number);
  }
  // Only the time and the counter are read; the other columns of a fix are not used here.
  const unused = new Float64Array(time.length);
  return { time, fuel, lat: unused, lon: unused, speed: unused, ignition: unused, odometer: unused };
}
