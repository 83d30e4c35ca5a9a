/** The ingest: counters and the newest dead-letter entries. Site-wide: no department token. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { DeadLetterSink } from '../../core/dead-letter.ts';
import { ApiError } from '../errors.ts';
import { formatInstant } from '../period.ts';
import { CSV_NOTE, LIST_PRODUCES, type RouteContext, sendList } from '../reply.ts';
import {
  errorResponses,
  IngestStatsSchema,
  QUERY_DEFAULTS,
  RejectionSchema,
  RejectionsQuery,
  RejectionsSchema,
} from '../schemas.ts';

export interface IngestRouteOptions extends RouteContext {
  readonly ingestStats: (() => unknown) | undefined;
  readonly deadLetters: Pick<DeadLetterSink, 'list'>;
}

export const ingestRoutes: FastifyPluginAsyncTypebox<IngestRouteOptions> = async (
  app,
  { facility, ingestStats, deadLetters },
) => {
  app.get(
    '/api/v1/ingest/stats',
    {
      config: { access: 'site' },
      schema: {
        tags: ['ingest'],
        summary: 'Ingest counters: messages, points, rejections per device and reason, backlog',
        description: '503 when no ingest runs in this process. Not for department tokens.',
        response: { 200: IngestStatsSchema, ...errorResponses(401, 403, 429, 503) },
      },
    },
    async () => {
      if (!ingestStats) throw new ApiError(503, 'INGEST_NOT_RUNNING', 'no ingest runs in this process');
      return ingestStats() as Record<string, unknown>;
    },
  );

  app.get(
    '/api/v1/ingest/rejections',
    {
      config: { access: 'site' },
      schema: {
        tags: ['ingest'],
        summary: 'Dead-letter entries, newest first: every message the ingest could not store, and why',
        description: `Not for department tokens.${CSV_NOTE}`,
        querystring: RejectionsQuery,
        produces: LIST_PRODUCES,
        response: { 200: RejectionsSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const { limit = QUERY_DEFAULTS.limit, before, device } = request.query;
      const entries = await deadLetters.list({
        limit,
        ...(before === undefined ? {} : { before }),
        ...(device === undefined ? {} : { device }),
      });
      const items = entries.map((entry) => ({
        ...entry,
        time: formatInstant(entry.time, facility.site.timezone),
      }));
      return sendList(request, reply, { items }, items, 'ingest-rejections', RejectionSchema);
    },
  );
};
