/** Official vehicles: utilisation, trips and tracks. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Vehicle } from '../../core/facility/schema.ts';
import { checkVehicle } from '../access.ts';
import { notFound } from '../errors.ts';
import { cachePeriod, formatInstant, MAX_TRACK_DAYS, parsePeriod } from '../period.ts';
import { CSV_NOTE, LIST_PRODUCES, principalOf, type RouteContext, sendList } from '../reply.ts';
import {
  errorResponses,
  IdParams,
  PeriodOnlyQuery,
  TripSchema,
  VehicleItemSchema,
  VehicleTrackSchema,
  VehicleTripsSchema,
  VehicleUtilizationSchema,
} from '../schemas.ts';

export const vehicleRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (
  app,
  { facility, kpi, services },
) => {
  const timezone = facility.site.timezone;

  function vehicle(id: string): Vehicle {
    const found = facility.vehicles.find((v) => v.id === id);
    if (!found) throw notFound('id', `no vehicle "${id}" in the facility`);
    return found;
  }

  app.get(
    '/api/v1/vehicles/utilization',
    {
      config: { access: 'read', cachePeriod: cachePeriod(timezone) },
      schema: {
        tags: ['vehicles'],
        summary:
          'Trips, distance, driving and idle time, utilisation, off-hours and geofence figures per vehicle',
        description: `A department token sees its own vehicles only.${CSV_NOTE}`,
        querystring: PeriodOnlyQuery,
        produces: LIST_PRODUCES,
        response: { 200: VehicleUtilizationSchema, ...errorResponses(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const { department } = principalOf(request);
      const period = parsePeriod(request.query, timezone);
      const result = await services.vehicleUtilization(kpi, {
        ...period,
        ...(department === undefined ? {} : { department }),
      });
      const items =
        department === undefined
          ? result.items
          : result.items.filter((item) => item.department === department);
      return sendList(request, reply, { ...result, items }, items, 'vehicles-utilization', VehicleItemSchema);
    },
  );

  app.get(
    '/api/v1/vehicles/:id/trips',
    {
      config: { access: 'read', cachePeriod: cachePeriod(timezone) },
      schema: {
        tags: ['vehicles'],
        summary: 'Trips of one vehicle',
        description: `A department token may ask for its own vehicles only.${CSV_NOTE}`,
        params: IdParams,
        querystring: PeriodOnlyQuery,
        produces: LIST_PRODUCES,
        response: { 200: VehicleTripsSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const found = vehicle(request.params.id);
      const period = parsePeriod(request.query, timezone);
      checkVehicle(principalOf(request), found);
      const trips = await services.vehicleTrips(kpi, found.id, period);
      return sendList(request, reply, trips, trips.items, `trips-${found.id}`, TripSchema);
    },
  );

  app.get(
    '/api/v1/vehicles/:id/track',
    {
      config: { access: 'read', cachePeriod: cachePeriod(timezone, MAX_TRACK_DAYS) },
      schema: {
        tags: ['vehicles'],
        summary: 'GPS track of one vehicle as a GeoJSON LineString',
        description:
          `Raw points, so the period is at most ${MAX_TRACK_DAYS} days. With \`Accept: text/csv\`, one row ` +
          'per point (time, lon, lat). A department token may ask for its own vehicles only.',
        params: IdParams,
        querystring: PeriodOnlyQuery,
        produces: ['application/geo+json', 'application/json', 'text/csv'],
        response: { 200: VehicleTrackSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const found = vehicle(request.params.id);
      const period = parsePeriod(request.query, timezone, MAX_TRACK_DAYS);
      checkVehicle(principalOf(request), found);
      const track = await services.vehicleTrack(kpi, found.id, period);
      const points = track.geometry.coordinates.map(([lon, lat], i) => ({
        time: track.properties.times[i] ?? formatInstant(period.from, timezone),
        lon,
        lat,
      }));
      return sendList(request, reply, track, points, `track-${found.id}`);
    },
  );
};
