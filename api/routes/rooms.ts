/** Rooms: `GET /api/v1/rooms/utilization`. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { notFound } from '../errors.ts';
import { cachePeriod, parsePeriod } from '../period.ts';
import { CSV_NOTE, LIST_PRODUCES, principalOf, type RouteContext, sendList } from '../reply.ts';
import { errorResponses, RoomItemSchema, RoomUtilizationQuery, RoomUtilizationSchema } from '../schemas.ts';

export const roomRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (
  app,
  { facility, kpi, services },
) => {
  app.get(
    '/api/v1/rooms/utilization',
    {
      config: { access: 'read', cachePeriod: cachePeriod(facility.site.timezone) },
      schema: {
        tags: ['rooms'],
        summary:
          'Occupancy, utilisation, seat use, conditioned-while-empty, set-point, CO2 and comfort per room',
        description: `A department token sees the rooms of its department only.${CSV_NOTE}`,
        querystring: RoomUtilizationQuery,
        produces: LIST_PRODUCES,
        response: { 200: RoomUtilizationSchema, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const { department } = principalOf(request);
      const { building } = request.query;
      const period = parsePeriod(request.query, facility.site.timezone);
      if (building !== undefined && !facility.buildings.some((b) => b.id === building)) {
        throw notFound('building', `no building "${building}" in the facility`);
      }
      const result = await services.roomUtilization(kpi, {
        ...period,
        ...(building === undefined ? {} : { building }),
        ...(department === undefined ? {} : { department }),
      });
      const rooms = new Map(facility.rooms.map((r) => [r.id, r]));
      const items = result.items.filter(
        (item) =>
          (building === undefined || item.building === building) &&
          (department === undefined || rooms.get(item.id)?.department === department),
      );
      return sendList(request, reply, { ...result, items }, items, 'rooms-utilization', RoomItemSchema);
    },
  );
};
