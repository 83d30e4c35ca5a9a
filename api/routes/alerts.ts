/**
 * Alerts: everyone reads (a department caller: the alerts of its department's subjects), operators
 * and admins acknowledge and comment, admins replace the rules.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AlertNotFoundError, type AlertService, type RulesInForce } from '../../alerts/service.ts';
import { AlertStateError } from '../../core/alerts/alert.ts';
import { alertJson } from '../../core/alerts/messages.ts';
import { RULE_TYPES } from '../../core/alerts/rules.ts';
import type { AlertQuery } from '../../core/alerts/store.ts';
import { formatPath } from '../../core/facility/problem.ts';
import {
  AckBody,
  AlertIdParams,
  AlertListSchema,
  AlertRulesSchema,
  AlertSchema,
  AlertsQuery,
  CommentBody,
  DeliveryListSchema,
  PutRulesBody,
} from '../alert-schemas.ts';
import { ApiError, badParameter, notFound } from '../errors.ts';
import { formatInstant, parseInstant } from '../period.ts';
import { principalOf, type RouteContext } from '../reply.ts';
import { errorResponses } from '../schemas.ts';

export interface AlertRouteOptions extends RouteContext {
  readonly alerts?: AlertService;
}

export const alertRoutes: FastifyPluginAsyncTypebox<AlertRouteOptions> = async (
  app,
  { facility, alerts },
) => {
  const zone = facility.site.timezone;
  const service = (): AlertService => {
    if (!alerts) throw new ApiError(503, 'ALERTS_NOT_RUNNING', 'alerts are not kept by this process');
    return alerts;
  };
  const rulesJson = (inForce: RulesInForce) => ({
    rules: inForce.rules.map((rule) => ({ ...rule })),
    source: inForce.source,
    savedAt: inForce.savedAt === null ? null : formatInstant(inForce.savedAt, zone),
    savedBy: inForce.savedBy,
    types: { ...RULE_TYPES },
  });
  /** An alert the caller may see, or a 404 (a department caller is not told other departments' alerts exist). */
  const visible = async (id: string, department: string | undefined) => {
    const alert = await service().get(id);
    if (!alert || (department !== undefined && alert.subject.department !== department)) {
      throw notFound('id', `no alert "${id}"`);
    }
    return alert;
  };
  const stateError = (error: unknown): never => {
    if (error instanceof AlertStateError) {
      const status = error.code === 'NOT_OPEN' || error.code === 'ALREADY_ACKNOWLEDGED' ? 409 : 400;
      throw new ApiError(
        status,
        status === 409 ? 'CONFLICT' : 'INVALID_PARAMETER',
        error.message,
        status === 400 ? 'text' : undefined,
      );
    }
    if (error instanceof AlertNotFoundError) throw notFound('id', error.message);
    throw error;
  };

  app.get(
    '/api/v1/alerts',
    {
      config: { access: 'read' },
      schema: {
        tags: ['alerts'],
        summary: 'Alerts, newest first',
        description:
          '`state`: firing, acknowledged, resolved or open (firing and acknowledged); `severity`: only that one; ' +
          '`from`/`to`: alerts open at some time in [from, to) (fired before `to`, not resolved before `from`). ' +
          'A caller limited to a department sees the alerts of its department’s meters, cars and rooms.',
        querystring: AlertsQuery,
        response: { 200: AlertListSchema, ...errorResponses(400, 401, 403, 429, 503) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { state, severity, from, to, limit } = request.query;
      const query: AlertQuery = {
        limit: limit ?? 200,
        ...(state === undefined ? {} : { states: state === 'open' ? ['firing', 'acknowledged'] : [state] }),
        ...(severity === undefined ? {} : { severities: [severity] }),
        ...(from === undefined ? {} : { from: parseInstant('from', from, zone) }),
        ...(to === undefined ? {} : { to: parseInstant('to', to, zone) }),
        ...(principal.department === undefined ? {} : { department: principal.department }),
      };
      if (query.from !== undefined && query.to !== undefined && query.to <= query.from) {
        throw badParameter('to', `must be after from (${from} .. ${to} is empty or reversed)`);
      }
      const list = await service().list(query);
      return { alerts: list.map((alert) => alertJson(alert, zone)) };
    },
  );

  app.get(
    '/api/v1/alerts/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['alerts'],
        summary: 'One alert',
        params: AlertIdParams,
        response: { 200: AlertSchema, ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request) => alertJson(await visible(request.params.id, principalOf(request).department), zone),
  );

  app.post(
    '/api/v1/alerts/:id/ack',
    {
      config: { access: 'operate' },
      schema: {
        tags: ['alerts'],
        summary: 'Acknowledge an alert (operators and admins)',
        description:
          'Who and when are recorded; `comment` is added to its comments. 409 when it is resolved or ' +
          'acknowledged already. The live feed and the webhooks are told.',
        params: AlertIdParams,
        body: AckBody,
        response: { 200: AlertSchema, ...errorResponses(400, 401, 403, 404, 409, 429, 503) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { id } = request.params;
      await visible(id, principal.department);
      const comment = request.body?.comment;
      const alert = await service().acknowledge(id, principal.name, comment).catch(stateError);
      request.log.info({ alert: id, by: principal.name }, 'alert acknowledged');
      return alertJson(alert, zone);
    },
  );

  app.post(
    '/api/v1/alerts/:id/comment',
    {
      config: { access: 'operate' },
      schema: {
        tags: ['alerts'],
        summary: 'Add a comment to an alert (operators and admins)',
        params: AlertIdParams,
        body: CommentBody,
        response: { 200: AlertSchema, ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { id } = request.params;
      await visible(id, principal.department);
      const alert = await service().comment(id, principal.name, request.body.text).catch(stateError);
      return alertJson(alert, zone);
    },
  );

  app.get(
    '/api/v1/alerts/:id/deliveries',
    {
      config: { access: 'site' },
      schema: {
        tags: ['alerts'],
        summary: 'Webhook deliveries of an alert: attempts, status, error',
        params: AlertIdParams,
        response: { 200: DeliveryListSchema, ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request) => {
      const { id } = request.params;
      await visible(id, undefined);
      const deliveries = await service().store.deliveries({ alert: id, limit: 100 });
      return { deliveries: deliveries.map((d) => ({ ...d, at: formatInstant(d.at, zone) })) };
    },
  );

  app.get(
    '/api/v1/alert-rules',
    {
      config: { access: 'read' },
      schema: {
        tags: ['alerts'],
        summary: 'The alert rules in force',
        description:
          'From the facility file’s `alerts:` section, or saved by an admin through PUT (`source`).',
        response: { 200: AlertRulesSchema, ...errorResponses(401, 403, 429, 503) },
      },
    },
    async () => rulesJson(await service().rules()),
  );

  app.put(
    '/api/v1/alert-rules',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary: 'Replace the alert rules (admins)',
        description:
          'The list replaces the rules in force, whole; each rule gives `id` and `type`, and any field of its ' +
          'type (the others take the type’s defaults). Every problem is named with its path ' +
          '(`rules[2].thresholdPpm: must be at least 400, not 12`). Open alerts of rules removed or turned off ' +
          'resolve. A facility file whose alerts section changes later wins over these.',
        body: PutRulesBody,
        response: { 200: AlertRulesSchema, ...errorResponses(400, 401, 403, 429, 503) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const result = await service().setRules(request.body.rules, principal.name);
      if (!result.ok) {
        const first = result.problems[0];
        const all = result.problems.map((p) => `${formatPath(p.path)}: ${p.message}`);
        throw new ApiError(
          400,
          'INVALID_PARAMETER',
          all.length === 1 ? (all[0] as string) : `rules: ${all.length} problems — ${all.join('; ')}`,
          first ? formatPath(first.path.slice(0, 1)) : 'rules',
        );
      }
      request.log.info({ by: principal.name, rules: result.rules.rules.length }, 'alert rules replaced');
      return rulesJson(result.rules);
    },
  );

  app.delete(
    '/api/v1/alert-rules',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['alerts'],
        summary: 'Go back to the facility file’s alert rules (admins)',
        response: { 200: AlertRulesSchema, ...errorResponses(401, 403, 429, 503) },
      },
    },
    async (request) => {
      const result = await service().resetRules();
      request.log.info({ by: principalOf(request).name }, 'alert rules reset to the facility file’s');
      return rulesJson(result);
    },
  );
};
