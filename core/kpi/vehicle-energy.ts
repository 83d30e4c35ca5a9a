/**
 * Fuel and electricity of official cars between edges: what the energy figures add to the
 * buildings' meters (a car's litres or kWh count in its department's and the site's standard
 * coal, CO2 and cost, as the vehicles line).
 *
 * Answered from the context's data (core/kpi/data.ts: the vehicle rollups, raw fixes only around
 * off-grid edges). Semantics of the answer:
 *
 * - `energy[i]` is the rise of the car's cumulative `fuel` counter (litres for gasoline and
 *   diesel, kWh for electric cars) shown by the fixes whose time lies in `[edges[i], edges[i+1])`:
 *   each fix carries the rise since the car's previous fix that reported the counter, however long
 *   ago (a counter loses nothing in a gap; a drop is a counter restart and the new value counts
 *   from zero), and the rise belongs to that fix's instant;
 * - `readings[i]` counts those fixes;
 * - a car with no fix reporting the counter inside `[edges[0], edges[last])` is left out of the
 *   answer (nothing is known of it there), like a meter without readings.
 */
import type { Vehicle } from '../facility/schema.ts';
import { dataOf } from './data.ts';
import type { KpiContext } from './types.ts';

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
  if (vehicles.length === 0 || edges.length < 2) return out;
  const data = await dataOf(ctx).vehicleIntervals(
    vehicles.map((v) => v.id),
    edges,
    ['energy', 'fuelFixes'],
  );
  for (const [id, x] of data) {
    if (!x.fuelFixes.some((n) => n > 0)) continue;
    out.set(id, { energy: x.energy.map((e) => e ?? 0), readings: x.fuelFixes });
  }
  return out;
}
