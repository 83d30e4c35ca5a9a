/**
 * Corrections of stored readings (core/corrections.ts): admins write them, with a reason; every
 * one is kept in an audit that site-wide callers read. Not for department tokens.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  CorrectionError,
  type CorrectionLog,
  correctedPoint,
  correctionDevice,
  storedFields,
} from '../../core/corrections.ts';
import { MEASUREMENTS, type TimeSeriesStore } from '../../core/store.ts';
import { parseTimestamp } from '../../core/telemetry.ts';
import { ApiError, badParameter, notFound } from '../errors.ts';
import { formatInstant } from '../period.ts';
import { CSV_NOTE, LIST_PRODUCES, principalOf, type RouteContext, sendList } from '../reply.ts';
import {
  CorrectionBody,
  CorrectionSchema,
  CorrectionsQuery,
  CorrectionsSchema,
  errorResponses,
  QUERY_DEFAULTS,
} from '../schemas.ts';

export interface CorrectionRouteOptions extends RouteContext {
  readonly store: TimeSeriesStore;
  readonly corrections: CorrectionLog | undefined;
  readonly now: () => number;
}

export const correctionRoutes: FastifyPluginAsyncTypebox<CorrectionRouteOptions> = async (
  app,
  { facility, store, corrections, now },
) => {
  const log = (): CorrectionLog => {
    if (!corrections) {
      throw new ApiError(503, 'CORRECTIONS_UNAVAILABLE', 'no correction audit is kept in this process');
    }
    return corrections;
  };
  const timezone = facility.site.timezone;
  const shown = <T extends { at: number; time: number }>(entry: T) => ({
    ...entry,
    at: formatInstant(entry.at, timezone),
    time: formatInstant(entry.time, timezone),
  });

  app.post(
    '/api/v1/corrections',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['ingest'],
        summary: 'Correct a stored reading, with a reason; audited',
        description:
          'Sets fields of the reading of `device` at `time` (the stored reading, or a new one where there is none), ' +
          "checked by the same rules as a device's reading, and writes it through the store: rollups and cached " +
          'answers follow. The audit entry keeps what was there before. Readings arriving by MQTT past the late ' +
          'window may only fill gaps; this is how history is changed on purpose. Admins only.',
        body: CorrectionBody,
        response: { 201: CorrectionSchema, ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request, reply) => {
      const audit = log();
      const body = request.body;
      const time = parseTimestamp(body.time);
      if (typeof time !== 'number') throw badParameter('time', time.text);
      const reason = body.reason.trim();
      if (reason.length < 3) throw badParameter('reason', 'say why, in at least 3 characters');
      try {
        const device = correctionDevice(facility, body.device, body.kind);
        const schema = MEASUREMENTS[device.kind];
        const rows = await store.query({
          measurement: device.kind,
          fields: Object.keys(schema.fields),
          where: { site: facility.site.id, [schema.key]: device.id },
          from: time,
          to: time + 1,
        });
        const row = rows[0]?.rows[0];
        const previous = row ? storedFields(row.values) : null;
        const point = correctedPoint(
          facility,
          device,
          { time, value: body.value, ...(body.field === undefined ? {} : { field: body.field }) },
          previous,
          now(),
        );
        const principal = principalOf(request);
        const entry = await audit.add({
          at: now(),
          by: { name: principal.name, tokenId: principal.tokenId, role: principal.role },
          device,
          time,
          previous,
          value: storedFields(point.fields),
          reason,
        });
        try {
          await store.write([point]);
        } catch (error) {
          // No entry for a correction that did not happen.
          await audit.remove(entry.id).catch(() => undefined);
          throw error;
        }
        request.log.info({ correction: entry.id, device, time, reason }, 'reading corrected');
        return reply.code(201).send(shown(entry));
      } catch (error) {
        if (error instanceof CorrectionError) {
          throw error.status === 404
            ? notFound(error.parameter, error.message)
            : badParameter(error.parameter, error.message);
        }
        throw error;
      }
    },
  );

  app.get(
    '/api/v1/corrections',
    {
      config: { access: 'site' },
      schema: {
        tags: ['ingest'],
        summary: 'The corrections made, newest first: who, when, why, and the reading before and after',
        description: `Not for department tokens.${CSV_NOTE}`,
        querystring: CorrectionsQuery,
        produces: LIST_PRODUCES,
        response: { 200: CorrectionsSchema, ...errorResponses(400, 401, 403, 429, 503) },
      },
    },
    async (request, reply) => {
      const { limit = QUERY_DEFAULTS.limit, before, device } = request.query;
      const entries = await log().list({
        limit,
        ...(before === undefined ? {} : { before }),
        ...(device === undefined ? {} : { device }),
      });
      const items = entries.map(shown);
      return sendList(request, reply, { items }, items, 'corrections', CorrectionSchema);
    },
  );
};
