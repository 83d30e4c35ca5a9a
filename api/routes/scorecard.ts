/**
 * The department scorecard and the monthly cost-benefit report (issue 13):
 * `GET /api/v1/scorecard?month=YYYY-MM` and `GET /api/v1/reports/monthly?month=YYYY-MM`, whose
 * `Accept` header chooses JSON, HTML (printable A4) or .xlsx.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { KpiError } from '../../core/kpi/types.ts';
import { monthlyReport } from '../../core/management/report.ts';
import { reportHtml } from '../../core/management/report-html.ts';
import { reportXlsx, XLSX_TYPE } from '../../core/management/report-xlsx.ts';
import { monthPeriod, scorecard } from '../../core/management/service.ts';
import { badParameter } from '../errors.ts';
import { type ManagementRouteOptions, managementContext, view } from '../management-view.ts';
import { principalOf } from '../reply.ts';
import { errorResponses } from '../schemas.ts';
import { MonthQuery, ScorecardSchema } from '../schemas-management.ts';

/** The report format an `Accept` header prefers: xlsx, html or json (the default, wildcards included). */
export function reportFormat(accept: string | undefined): 'xlsx' | 'html' | 'json' {
  if (!accept) return 'json';
  let best: { format: 'xlsx' | 'html' | 'json'; q: number } = { format: 'json', q: 0 };
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    const q = Number(
      params
        .map((p) => p.trim())
        .find((p) => p.startsWith('q='))
        ?.slice(2) ?? 1,
    );
    if (!Number.isFinite(q)) continue;
    const type = range.trim();
    const format =
      type === XLSX_TYPE
        ? 'xlsx'
        : type === 'text/html'
          ? 'html'
          : type === 'application/json'
            ? 'json'
            : undefined;
    if (format && q > best.q) best = { format, q };
  }
  return best.format;
}

/** A month `YYYY-MM` checked, as a 400 naming `month`. */
function checkMonth(month: string, zone: string): void {
  try {
    monthPeriod(month, zone);
  } catch (error) {
    if (error instanceof KpiError) throw badParameter('month', `"${month}" is not a month written YYYY-MM`);
    throw error;
  }
  if (month < '2000-01' || month > '2100-12') throw badParameter('month', `${month} is outside 2000–2100`);
}

export const scorecardRoutes: FastifyPluginAsyncTypebox<ManagementRouteOptions> = async (app, options) => {
  const { facility } = options;
  const zone = facility.site.timezone;
  const ctx = managementContext(options);

  app.get(
    '/api/v1/scorecard',
    {
      config: { access: 'read' },
      schema: {
        tags: ['scorecard'],
        summary: 'Department scorecard of a month: four perspectives, indicators, total, rank, last month',
        description:
          'Per department: `perspectives` cost, process, service and improvement, each with its indicators (value, ' +
          'target, zeroAt, score 0–100, weight), `total` (weighted), `rank`, `previousTotal` and `change`. Weights ' +
          'and targets: the facility file’s `scorecard:`, defaults documented in api/README.md (targets marked ' +
          '`exampleTarget` are examples). A department token sees its own row (with its rank).',
        querystring: MonthQuery,
        response: { 200: ScorecardSchema, ...errorResponses(400, 401, 429) },
      },
    },
    async (request) => {
      checkMonth(request.query.month, zone);
      const { department } = principalOf(request);
      return view(await scorecard(ctx, request.query.month, department), zone);
    },
  );

  app.get(
    '/api/v1/reports/monthly',
    {
      config: { access: 'site' },
      schema: {
        tags: ['scorecard'],
        summary: 'The monthly cost-benefit report (成本效益分析月报): JSON, HTML or .xlsx by Accept',
        description:
          `\`Accept: text/html\` gives a printable A4 page in Chinese with SVG charts; \`Accept: ${XLSX_TYPE}\` a ` +
          'workbook (summary sheet, one per perspective, budgets, avoidable costs; numbers as numbers, units in the ' +
          'headers); otherwise JSON. `facility report --month … --out FILE` writes the same.',
        querystring: MonthQuery,
        produces: ['application/json', 'text/html', XLSX_TYPE],
        response: { 200: Type.Any(), ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const { month } = request.query;
      checkMonth(month, zone);
      const report = await monthlyReport(ctx, month);
      const format = reportFormat(request.headers.accept);
      if (format === 'xlsx') {
        void reply
          .type(XLSX_TYPE)
          .header('content-disposition', `attachment; filename="report-${month}.xlsx"`);
        return reply.send(await reportXlsx(report, facility));
      }
      if (format === 'html') {
        void reply.type('text/html; charset=utf-8');
        return reply.send(reportHtml(report, zone));
      }
      return view(report, zone);
    },
  );
};
