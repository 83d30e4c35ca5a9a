/**
 * The cost ledger and the cost indicators (issue 13): `POST/GET/DELETE /api/v1/costs`,
 * `POST /api/v1/costs/import` (the finance office's CSV), `GET /api/v1/costs/vehicles`,
 * `GET /api/v1/vehicles/{id}/lifecycle`, `GET /api/v1/costs/space`, `GET /api/v1/budgets` and the
 * audit trail `GET /api/v1/audit`. Definitions: core/management/costs.ts and service.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { dayOf, localDay } from '../../core/management/costs.ts';
import {
  checkAmount,
  checkDate,
  formatImportProblem,
  MAX_NOTE_LENGTH,
  parseCostCsv,
  parseDate,
  resolveSubject,
} from '../../core/management/ledger.ts';
import {
  BUDGET_ITEM_LABELS,
  budgetItemOf,
  LEDGER_ITEM_LABELS,
  SUBJECT_KINDS,
  type SubjectKind,
} from '../../core/management/model.ts';
import type { CostEntry } from '../../core/management/ports.ts';
import { budgets, spaceCosts, vehicleCosts, vehicleLifecycle } from '../../core/management/service.ts';
import { checkVehicle } from '../access.ts';
import { ApiError, badParameter, forbidden, notFound } from '../errors.ts';
import { checkDepartment, type ManagementRouteOptions, managementContext, view } from '../management-view.ts';
import { parsePeriod } from '../period.ts';
import { CSV_NOTE, LIST_PRODUCES, principalOf, sendList } from '../reply.ts';
import { errorResponses, IdParams, PeriodOnlyQuery } from '../schemas.ts';
import {
  AuditQuery,
  AuditSchema,
  BudgetQuery,
  BudgetsSchema,
  CostEntrySchema,
  CostIdParams,
  CostListQuery,
  CostListSchema,
  ImportResultSchema,
  LifecycleSchema,
  NewCostBody,
  SpaceCostsSchema,
  SpaceItemSchema,
  SpaceQuery,
  VehicleCostItemSchema,
  VehicleCostsSchema,
} from '../schemas-management.ts';

/** Largest CSV import body, bytes. */
export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;

export const costRoutes: FastifyPluginAsyncTypebox<ManagementRouteOptions> = async (app, options) => {
  const { facility, state } = options;
  const zone = facility.site.timezone;
  const ctx = managementContext(options);
  const now = () => (options.kpi.now ?? Date.now)();

  app.addContentTypeParser(
    ['text/csv', 'application/csv'],
    { parseAs: 'buffer', bodyLimit: MAX_IMPORT_BYTES },
    (_request, body, done) => {
      done(null, body);
    },
  );

  const entryView = (e: CostEntry) => ({
    id: e.id,
    item: e.item,
    itemName: LEDGER_ITEM_LABELS[e.item],
    subject: e.subject,
    amountCny: e.amountCny,
    date: e.date,
    note: e.note,
    source: e.source,
    budgetItem: budgetItemOf(e.item, e.subject.kind),
    createdAt: e.createdAt,
    createdBy: e.createdBy,
  });

  const ownerOf = (e: { subject: { kind: SubjectKind; id: string } }) => {
    switch (e.subject.kind) {
      case 'vehicle':
        return facility.vehicles.find((v) => v.id === e.subject.id)?.department;
      case 'room':
        return facility.rooms.find((r) => r.id === e.subject.id)?.department;
      case 'department':
        return e.subject.id;
      default:
        return undefined;
    }
  };

  /** Operators and admins change the ledger; viewers only read it. */
  const writer = (request: Parameters<typeof principalOf>[0]) => {
    const principal = principalOf(request);
    if (principal.role === 'viewer')
      throw forbidden('a viewer token reads; entering costs needs an operator or admin token');
    return { tokenId: principal.tokenId, name: principal.name };
  };

  app.post(
    '/api/v1/costs',
    {
      config: { access: 'site' },
      schema: {
        tags: ['costs'],
        summary: 'Enter a cost in the ledger (operator or admin)',
        description:
          'What the telemetry cannot see: repairs, tyres, cleaning contracts, one-off works. The entry and an ' +
          'audit entry are stored together. `subject` is the id of the vehicle (or its plate), building, ' +
          'department or room.',
        body: NewCostBody,
        response: { 201: CostEntrySchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const actor = writer(request);
      const body = request.body;
      const subject = resolveSubject(facility, body.subjectKind, body.subject);
      if (!subject) throw badParameter('subject', `no ${body.subjectKind} "${body.subject}" in the facility`);
      const amount = checkAmount(body.amountCny);
      if (!amount.ok) throw badParameter('amountCny', amount.reason);
      const date = parseDate(body.date);
      if (!date.ok) throw badParameter('date', date.reason);
      const bad = checkDate(date.value, dayOf(now(), zone));
      if (bad) throw badParameter('date', bad);
      const note = (body.note ?? '').trim();
      if ([...note].length > MAX_NOTE_LENGTH)
        throw badParameter('note', `longer than ${MAX_NOTE_LENGTH} characters`);
      const [stored] = await state.addCosts(
        [{ item: body.item, subject, amountCny: amount.value, date: date.value, note, source: 'api' }],
        actor,
        { action: 'cost.create', target: `${subject.kind}:${subject.id}` },
      );
      if (!stored) throw new ApiError(500, 'INTERNAL', 'the entry was not stored');
      void reply.status(201);
      return view(entryView(stored), zone);
    },
  );

  app.post(
    '/api/v1/costs/import',
    {
      config: { access: 'site' },
      bodyLimit: MAX_IMPORT_BYTES,
      schema: {
        tags: ['costs'],
        summary:
          'Import the finance office’s CSV export into the ledger, all rows or none (operator or admin)',
        description:
          'Body: the CSV file (`Content-Type: text/csv`), UTF-8 or GBK, headers in Chinese or English ' +
          '(日期/date, 费用项目/item, 对象类型/subjectKind, 对象/subject, 金额/amount, 备注/note). Any bad row: ' +
          '400 whose `problems` list every problem with its line (the message the first 20), nothing stored. `facility costs import FILE.csv` ' +
          `does the same from the command line. At most ${MAX_IMPORT_BYTES / 1024 / 1024} MB.`,
        consumes: ['text/csv'],
        body: {
          description: 'The CSV file (text/csv), UTF-8 or GBK.',
          examples: [
            '日期,费用项目,对象类型,对象,金额,备注\n2026-11-03,轮胎,车辆,川A·3G816,2400,更换四条轮胎\n',
          ],
        },
        response: { 201: ImportResultSchema, ...errorResponses(400, 401, 403, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const actor = writer(request);
      const body = request.body as unknown;
      const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : '', 'utf8');
      if (bytes.length === 0)
        throw badParameter('body', 'empty: send the CSV file with Content-Type: text/csv');
      const result = parseCostCsv(bytes, facility, dayOf(now(), zone));
      if (!result.ok) {
        const error = badParameter(
          'body',
          `${result.problems.length} problem(s), nothing imported: ${result.problems.slice(0, 20).map(formatImportProblem).join('; ')}${result.problems.length > 20 ? '; … (all in problems)' : ''}`,
        );
        error.problems = result.problems;
        throw error;
      }
      const name =
        typeof request.headers['x-file-name'] === 'string'
          ? request.headers['x-file-name'].slice(0, 200)
          : 'upload.csv';
      const stored = await state.addCosts(result.entries, actor, {
        action: 'cost.import',
        target: `import:${name}`,
      });
      void reply.status(201);
      return {
        imported: stored.length,
        alreadyImported: result.entries.length - stored.length,
        totalCny: Math.round(stored.reduce((s, e) => s + e.amountCny * 100, 0)) / 100,
        encoding: result.encoding,
        ids: stored.map((e) => e.id),
      };
    },
  );

  app.get(
    '/api/v1/costs',
    {
      config: { access: 'read' },
      schema: {
        tags: ['costs'],
        summary: 'Ledger entries dated in the period',
        description: `A department token sees the entries of its cars, rooms and department.${CSV_NOTE}`,
        querystring: CostListQuery,
        produces: LIST_PRODUCES,
        response: { 200: CostListSchema, ...errorResponses(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const { department } = principalOf(request);
      const period = parsePeriod(request.query, zone);
      let subject: { kind: SubjectKind; id: string } | undefined;
      if (request.query.subject !== undefined) {
        const [kind, ...rest] = request.query.subject.split(':');
        const id = rest.join(':');
        if (!SUBJECT_KINDS.includes(kind as SubjectKind) || id === '') {
          throw badParameter(
            'subject',
            `"${request.query.subject}" is not kind:id (e.g. vehicle:v01, building:b1)`,
          );
        }
        subject = resolveSubject(facility, kind as SubjectKind, id);
        if (!subject) throw notFound('subject', `no ${kind} "${id}" in the facility`);
      }
      const entries = (
        await state.listCosts({
          from: localDay(dayOf(period.from, zone), zone),
          to: period.to,
          ...(subject ? { subject } : {}),
        })
      ).filter(
        (e) =>
          localDay(e.date, zone) >= period.from && (department === undefined || ownerOf(e) === department),
      );
      const items = view(entries.map(entryView), zone);
      const body = {
        from: period.from,
        to: period.to,
        totalCny: Math.round(entries.reduce((s, e) => s + e.amountCny * 100, 0)) / 100,
        items,
      };
      return sendList(request, reply, view(body, zone), items, 'costs', CostEntrySchema);
    },
  );

  app.delete(
    '/api/v1/costs/:id',
    {
      config: { access: 'site' },
      schema: {
        tags: ['costs'],
        summary: 'Delete a ledger entry (operator or admin), with an audit entry',
        description: 'The entry leaves every figure; it is kept, marked deleted, for the audit trail.',
        params: CostIdParams,
        response: {
          204: { type: 'null', description: 'Deleted.' },
          ...errorResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const actor = writer(request);
      const text = request.params.id;
      if (!/^[1-9]\d{0,14}$/.test(text))
        throw badParameter('id', `"${text}" is not a ledger entry id (a whole number)`);
      const removed = await state.deleteCost(Number(text), actor);
      if (!removed) throw notFound('id', `no ledger entry ${text}`);
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/v1/audit',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['costs'],
        summary: 'The audit trail of the ledger: entries created, imported and deleted, newest first',
        querystring: AuditQuery,
        response: { 200: AuditSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const items = await state.listAudit(request.query.limit ?? 100, request.query.before);
      return view({ items }, zone);
    },
  );

  app.get(
    '/api/v1/costs/vehicles',
    {
      config: { access: 'read' },
      schema: {
        tags: ['costs'],
        summary:
          'Cost per car and for the fleet: depreciation, insurance, ledger, fuel; per km, trip and day in use',
        description: `A department token sees its own cars, and their sum as the fleet line.${CSV_NOTE}`,
        querystring: PeriodOnlyQuery,
        produces: LIST_PRODUCES,
        response: { 200: VehicleCostsSchema, ...errorResponses(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const { department } = principalOf(request);
      const period = parsePeriod(request.query, zone);
      const result: { items: unknown[] } = view(await vehicleCosts(ctx, period, department), zone);
      return sendList(request, reply, result as never, result.items, 'vehicle-costs', VehicleCostItemSchema);
    },
  );

  app.get(
    '/api/v1/vehicles/:id/lifecycle',
    {
      config: { access: 'read' },
      schema: {
        tags: ['costs'],
        summary: 'A car from purchase to now: cost by year and item, cost per km by year, replacement signal',
        params: IdParams,
        response: { 200: LifecycleSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const vehicle = facility.vehicles.find((v) => v.id === request.params.id);
      if (!vehicle) throw notFound('id', `no vehicle "${request.params.id}" in the facility`);
      checkVehicle(principalOf(request), vehicle);
      return view(await vehicleLifecycle(ctx, vehicle.id), zone);
    },
  );

  app.get(
    '/api/v1/costs/space',
    {
      config: { access: 'read' },
      schema: {
        tags: ['costs'],
        summary:
          'Space costs per building, department or room: per m² and workstation a year, cost of empty hours',
        description:
          'Energy, property fee, depreciation and ledger costs. Rooms with a sensor: cost per occupied hour and the ' +
          'cost of empty hours. A department token may group by department (its row) or room (its rooms).' +
          CSV_NOTE,
        querystring: SpaceQuery,
        produces: LIST_PRODUCES,
        response: { 200: SpaceCostsSchema, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const { department } = principalOf(request);
      const groupBy = request.query.groupBy ?? 'building';
      if (department !== undefined && groupBy === 'building') {
        throw forbidden(
          `groupBy: a token of department "${department}" may group by department or room`,
          'groupBy',
        );
      }
      const period = parsePeriod(request.query, zone);
      const result: { items: unknown[] } = view(await spaceCosts(ctx, period, groupBy, department), zone);
      return sendList(
        request,
        reply,
        result as never,
        result.items,
        `space-costs-${groupBy}`,
        SpaceItemSchema,
      );
    },
  );

  app.get(
    '/api/v1/budgets',
    {
      config: { access: 'read' },
      schema: {
        tags: ['costs'],
        summary:
          'Budget, expected to date, actual, variance, year-end projection and status per department and item',
        description:
          'As of now (or the year end). Projection: electricity, water, gas and fuel at the rate of covered time; ' +
          'vehicle maintenance at its run-rate; property = the year’s fee + upkeep at its run-rate. Status: `over` ' +
          'once actual > budget, `at-risk` when the projection is over it, else `on-track`. A department token sees ' +
          'its own department.',
        querystring: BudgetQuery,
        response: { 200: BudgetsSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const department = checkDepartment(principalOf(request), request.query.department);
      if (department !== undefined && !facility.departments.some((d) => d.id === department)) {
        throw notFound('department', `no department "${department}" in the facility`);
      }
      const result = await budgets(ctx, request.query.year, department);
      return view(
        {
          ...result,
          items: result.items.map((d) => ({
            ...d,
            items: d.items.map((l) => ({ ...l, itemName: BUDGET_ITEM_LABELS[l.item] })),
          })),
        },
        zone,
      );
    },
  );
};
