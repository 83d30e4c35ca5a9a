/** `GET /api/v1/facility`: the facility model, without device credentials, cut to the caller's department. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { visibleFacility } from '../access.ts';
import { principalOf, type RouteContext } from '../reply.ts';
import { errorResponses, FacilityResponseSchema } from '../schemas.ts';

export const facilityRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, { facility }) => {
  app.get(
    '/api/v1/facility',
    {
      config: { access: 'read' },
      schema: {
        tags: ['facility'],
        summary: 'The facility model (no device secrets)',
        description:
          'Site, calendar, buildings, departments, meters, vehicles, rooms, sensors, tariffs, factors and ' +
          'quotas. Device secrets and secret hashes are never included. A department token sees its ' +
          'department, its meters, vehicles, rooms and sensors, the buildings it occupies and its quotas.',
        response: { 200: FacilityResponseSchema, ...errorResponses(401, 403) },
      },
    },
    async (request) => visibleFacility(facility, principalOf(request).department),
  );
};
