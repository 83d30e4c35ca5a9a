/**
 * The vehicle rollup fold: a car's GPS fixes turned into one row per 15-minute bucket of the
 * figures that are not about trips ({@link vehicleIntegrals}: idle time, speeding starts, energy,
 * fixes), and into trip rows, one per trip of core/kpi/vehicle.ts keyed by its start.
 *
 * Bucket figures look back one fix (idle time, speeding) or to the last fix with fuel, so new
 * fixes at time T change only the bucket rows from the fix before T on. Trips come from a state
 * machine that reads fixes in order and decides from what it has seen; it is idle (between trips)
 * at the fix a trip is measured from, and after a trip was closed by a fix. So a fold may resume
 * at the anchor of the trip that was still open at T (closed at or after T, or not yet), or, when
 * none was, at the last fix before T, and rewrite the trips from there on. Pure.
 */
import type { LonLat } from '../facility/geometry.ts';
import { pointInPolygon } from '../facility/geometry.ts';
import {
  type DetectedTrip,
  detectTrips,
  type VehicleFixColumns,
  type VehicleRules,
  vehicleIntegrals,
} from '../kpi/vehicle.ts';
import { BUCKET_MS, bucketOf } from './schema.ts';

export interface VehicleBucket {
  readonly time: number;
  readonly idleMs: number;
  readonly energy: number;
  /** Fixes in the bucket that carry the fuel counter (energy is unknown without any). */
  readonly fuelFixes: number;
  readonly speedingStarts: number;
  readonly fixes: number;
}

/**
 * Rows of the buckets from `from` (a bucket boundary) to the last fix's, for those holding a fix
 * or idle time. `fixes` must hold every fix from the last one before `from` on, and the fuel
 * counter's last value before them as a fix of its own if it is further back.
 */
export function foldVehicleBuckets(
  fixes: VehicleFixColumns,
  from: number,
  rules: VehicleRules,
): VehicleBucket[] {
  const { time, fuel } = fixes;
  const n = time.length;
  if (n === 0) return [];
  const rows: VehicleBucket[] = [];
  const last = time[n - 1] as number;
  let k = 0;
  while (k < n && (time[k] as number) < from) k++;
  for (let bucket = from; bucket <= last; bucket += BUCKET_MS) {
    let fuelFixes = 0;
    const start = k;
    while (k < n && (time[k] as number) < bucket + BUCKET_MS) {
      if (!Number.isNaN(fuel[k] as number)) fuelFixes++;
      k++;
    }
    const x = vehicleIntegrals(fixes, bucket, bucket + BUCKET_MS, rules);
    if (k > start || x.idleMs > 0) {
      rows.push({
        time: bucket,
        idleMs: x.idleMs,
        energy: x.energy ?? 0,
        fuelFixes,
        speedingStarts: x.speeding.length,
        fixes: x.fixes,
      });
    }
  }
  return rows;
}

/** A trip as a trip rollup row stores it. */
export interface TripRecord {
  readonly start: number;
  readonly end: number;
  readonly anchor: number;
  readonly closedAt: number | null;
  readonly distanceKm: number;
  readonly odometer: boolean;
  readonly maxSpeedKmh: number;
  readonly from: { readonly lat: number; readonly lon: number };
  readonly to: { readonly lat: number; readonly lon: number };
  readonly leftServiceArea: boolean;
}

/** Trips of `fixes` (from a point where the state machine is idle on), with the service-area test. */
export function foldTrips(
  fixes: VehicleFixColumns,
  rules: VehicleRules,
  serviceArea: readonly LonLat[] | undefined,
): TripRecord[] {
  const inside = serviceArea === undefined ? undefined : insideTest(serviceArea);
  return detectTrips(fixes, rules).map((trip) => tripRecord(fixes, trip, inside));
}

function tripRecord(
  fixes: VehicleFixColumns,
  trip: DetectedTrip,
  inside: ((lon: number, lat: number) => boolean) | undefined,
): TripRecord {
  let left = false;
  if (inside !== undefined) {
    for (let k = trip.first; k <= trip.last; k++) {
      if (!inside(fixes.lon[k] as number, fixes.lat[k] as number)) {
        left = true;
        break;
      }
    }
  }
  return {
    start: trip.start,
    end: trip.end,
    anchor: fixes.time[trip.first] as number,
    closedAt: trip.closedAt,
    distanceKm: trip.distanceKm,
    odometer: trip.distanceSource === 'odometer',
    maxSpeedKmh: trip.maxSpeedKmh,
    from: trip.from,
    to: trip.to,
    leftServiceArea: left,
  };
}

/** `pointInPolygon` with the polygon's bounding box checked first (as core/kpi/vehicle.ts does). */
export function insideTest(area: readonly LonLat[]): (lon: number, lat: number) => boolean {
  const lons = area.map((p) => p[0]);
  const lats = area.map((p) => p[1]);
  const [w, e, s, n] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  return (lon, lat) => lon >= w && lon <= e && lat >= s && lat <= n && pointInPolygon([lon, lat], area);
}

/**
 * Where a trip fold for fixes arriving from `earliest` on resumes: the anchor of the last trip that
 * starts before `earliest` if it was still open then (closed at or after `earliest`, or never),
 * else `earliest` itself (the fold then starts from the last fix before it, idle).
 */
export function tripResume(
  trips: readonly Pick<TripRecord, 'start' | 'anchor' | 'closedAt'>[],
  earliest: number,
): number {
  let resume = earliest;
  for (const trip of trips) {
    if (trip.start >= earliest) continue;
    if (trip.closedAt === null || trip.closedAt >= earliest) resume = Math.min(resume, trip.anchor);
  }
  return resume;
}

/** The bucket a bucket fold for fixes arriving from `earliest` on starts at, given the fix before it. */
export function vehicleBucketResume(previousFix: number | undefined, earliest: number): number {
  return bucketOf(previousFix ?? earliest);
}
