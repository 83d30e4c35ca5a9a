/**
 * Great-circle distance on WGS-84 coordinates, for vehicle distances when a tracker reports no
 * odometer. A sphere of the mean Earth radius is within 0.5 % of the ellipsoid everywhere, far
 * below what GPS jitter and sampling lose on a city trip.
 */

/** Mean Earth radius (IUGG), metres — the same figure `core/facility/geometry.ts` uses. */
export const EARTH_RADIUS_M = 6_371_008.8;

const RAD = Math.PI / 180;

/** Haversine distance in metres between two points given as latitude and longitude in degrees. */
export function haversineM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLon = (lon2 - lon1) * RAD;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}
