/** Energy figures: `GET /api/v1/energy/summary` and `GET /api/v1/energy/series`. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EnergyScope, SeriesEvery } from '../../core/kpi/types.ts';
import { checkGroupBy, checkSeriesScope, energyItemVisible } from '../access.ts';
import { badParameter, notFound } from '../errors.ts';
import { cachePeriod, parsePeriod } from '../period.ts';
import { CSV_NOTE, LIST_PRODUCES, principalOf, type RouteContext, sendList } from '../reply.ts';
import {
  EnergyItemSchema,
  EnergySeriesQuery,
  EnergySeriesSchema,
  EnergySummaryQuery,
  EnergySummarySchema,
  errorResponses,
  QUERY_DEFAULTS,
} from '../schemas.ts';

/** Most windows one series answer holds. */
export const MAX_SERIES_WINDOWS = 20_000;
const EVERY_MS: Record<SeriesEvery, number> = { '15m': 900_000, '1h': 3_600_000, '1d': 86_400_000 };

export const energyRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (
  app,
  { facility, kpi, services },
) => {
  const timezone = facility.site.timezone;

  app.get(
    '/api/v1/energy/summary',
    {
      config: { access: 'read', cachePeriod: cachePeriod(timezone) },
      schema: {
        tags: ['energy'],
        summary:
          'Consumption, standard coal, CO2, cost, intensities, quota, standard, 环比/同比 and official cars per group',
        description:
          'One item per site, building, department, meter or sub-system for [from, to), measured up to ' +
          '`measuredTo` (now, for a period reaching into the future). A figure the maths cannot give is ' +
          'null, with its reason in the `nulls` beside it. A department ' +
          'token may group by `department` (its own row) or `meter` (its own meters); other group-bys are ' +
          `403.${CSV_NOTE}`,
        querystring: EnergySummaryQuery,
        produces: LIST_PRODUCES,
        response: { 200: EnergySummarySchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { groupBy = QUERY_DEFAULTS.groupBy } = request.query;
      const period = parsePeriod(request.query, timezone);
      checkGroupBy(principal, groupBy);
      const department = principal.department;
      const summary = await services.energySummary(kpi, {
        ...period,
        groupBy,
        ...(department === undefined ? {} : { department }),
      });
      const items =
        department === undefined
          ? summary.items
          : summary.items.filter((item) => energyItemVisible(facility, department, groupBy, item));
      return sendList(request, reply, { ...summary, items }, items, `energy-${groupBy}`, EnergyItemSchema);
    },
  );

  app.get(
    '/api/v1/energy/series',
    {
      config: { access: 'read', cachePeriod: cachePeriod(timezone) },
      schema: {
        tags: ['energy'],
        summary: 'Consumption per window of one scope and energy kind',
        description:
          'Windows aligned to local midnight in the site time zone. A department token may ask for its ' +
          `department or one of its meters.${CSV_NOTE}`,
        querystring: EnergySeriesQuery,
        produces: LIST_PRODUCES,
        response: { 200: EnergySeriesSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { scope, kind = QUERY_DEFAULTS.kind, every = QUERY_DEFAULTS.every } = request.query;
      const id = request.query.id ?? (scope === 'site' ? facility.site.id : undefined);
      if (id === undefined) throw badParameter('id', `is required for scope=${scope}`);
      const period = parsePeriod(request.query, timezone);
      if (!scopeExists(scope, id)) throw notFound('id', `no ${scope} "${id}" in the facility`);
      checkSeriesScope(facility, principal, scope, id);
      if ((period.to - period.from) / EVERY_MS[every] > MAX_SERIES_WINDOWS) {
        throw badParameter(
          'every',
          `${every} windows over this period would be more than ${MAX_SERIES_WINDOWS}; ask for a coarser every or a shorter period`,
        );
      }
      const series = await services.energySeries(kpi, { ...period, scope, id, kind, every });
      return sendList(
        request,
        reply,
        series,
        series.items,
        `energy-series-${scope}-${id}-${kind}`,
        EnergySeriesSchema.properties.items.items,
      );
    },
  );

  function scopeExists(scope: EnergyScope, id: string): boolean {
    switch (scope) {
      case 'site':
        return id === facility.site.id;
      case 'building':
        return facility.buildings.some((b) => b.id === id);
      case 'department':
        return facility.departments.some((d) => d.id === id);
      case 'meter':
        return facility.meters.some((m) => m.id === id);
    }
  }
};
