/**
 * TypeBox schemas of the management routes (issue 13): the cost ledger, cost indicators, budgets,
 * feedback, the scorecard and the monthly report. Response schemas are the public contract (field
 * names as the issue names them) and stop fields leaking.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import { BUDGET_ITEMS, SCORECARD_INDICATORS } from '../core/facility/schema.ts';
import { COST_NULL_REASONS } from '../core/management/costs.ts';
import { MAX_COMMENT_LENGTH } from '../core/management/feedback.ts';
import { MAX_NOTE_LENGTH } from '../core/management/ledger.ts';
import { FEEDBACK_CATEGORIES, LEDGER_ITEMS, SUBJECT_KINDS } from '../core/management/model.ts';
import { NameSchema, PeriodQuery, StringEnum } from './schemas.ts';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Cny = (description: string) => Type.Number({ description: `${description}, CNY.` });
const NullableCny = (description: string) => Nullable(Cny(description));

export const CostNullsSchema = Type.Record(Type.String(), Type.String(), {
  description:
    'Why each null figure of this object is null: field name → reason. Reasons: ' +
    Object.entries(COST_NULL_REASONS)
      .map(([reason, text]) => `\`${reason}\` ${text}`)
      .join('; ') +
    '.',
});

const Id = (description: string) => Type.String({ minLength: 1, maxLength: 64, description });

// ------------------------------------------------------------------ ledger

export const SubjectSchema = Type.Object({
  kind: StringEnum(SUBJECT_KINDS),
  id: Type.String(),
});

export const NewCostBody = Type.Object(
  {
    item: StringEnum(LEDGER_ITEMS, {
      description:
        'maintenance 维护保养, repair 维修, tyres 轮胎, cleaning 保洁, works 零星工程, propertyService 物业服务, other 其他.',
    }),
    subjectKind: StringEnum(SUBJECT_KINDS, { description: 'What the cost is booked to.' }),
    subject: Id('Id of the vehicle, building, department or room (a vehicle also by its plate).'),
    amountCny: Type.Number({ description: 'Amount, CNY, more than 0, at most two decimals.' }),
    date: Type.String({ description: 'Date of the cost, YYYY-MM-DD (site time), not in the future.' }),
    note: Type.Optional(Type.String({ maxLength: MAX_NOTE_LENGTH, description: 'What it was for.' })),
  },
  {
    additionalProperties: false,
    examples: [
      {
        item: 'tyres',
        subjectKind: 'vehicle',
        subject: 'v01',
        amountCny: 2400,
        date: '2026-11-20',
        note: '更换四条轮胎',
      },
    ],
  },
);

export const CostEntrySchema = Type.Object({
  id: Type.Integer(),
  item: StringEnum(LEDGER_ITEMS),
  itemName: NameSchema,
  subject: SubjectSchema,
  amountCny: Cny('Amount'),
  date: Type.String({ description: 'YYYY-MM-DD' }),
  note: Type.String(),
  source: StringEnum(['api', 'import', 'simulator'] as const),
  budgetItem: Nullable(StringEnum(BUDGET_ITEMS, { description: 'The budget item it counts toward.' })),
  createdAt: Type.String(),
  createdBy: Type.String({ description: 'Token id of who entered it.' }),
});

export const CostListQuery = Type.Object({
  ...PeriodQuery,
  subject: Type.Optional(
    Type.String({ description: 'Only this subject, written kind:id, e.g. vehicle:v01 or building:b1.' }),
  ),
});

export const CostListSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  totalCny: Cny('Sum of the entries'),
  items: Type.Array(CostEntrySchema),
});

export const CostIdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 20, description: 'Ledger entry id.' }),
});

export const ImportResultSchema = Type.Object({
  imported: Type.Integer({ description: 'Rows stored now.' }),
  alreadyImported: Type.Integer({
    description: 'Rows of this same file stored by an earlier import, not stored again.',
  }),
  totalCny: Cny('Sum of the rows imported'),
  encoding: StringEnum(['utf-8', 'gbk'] as const),
  ids: Type.Array(Type.Integer()),
});

export const AuditQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  before: Type.Optional(Type.Integer({ minimum: 1, description: 'Entries with a smaller id.' })),
});

export const AuditSchema = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Type.Integer(),
      time: Type.String(),
      actor: Type.String(),
      actorName: Type.String(),
      action: Type.String(),
      target: Type.String(),
      detail: Type.String({ description: 'JSON text.' }),
    }),
  ),
});

// ------------------------------------------------------------------ vehicle costs

const VehicleCostFields = {
  depreciationCny: NullableCny('Straight-line depreciation over the period (null without purchase data)'),
  insuranceCny: Cny('Yearly insurance accrued over the period'),
  maintenanceCny: Cny('Ledger entries of the car: maintenance, repairs, tyres…'),
  ledgerByItem: Type.Record(Type.String(), Type.Number(), {
    description: 'The ledger entries by item, CNY.',
  }),
  fuelCny: NullableCny('Fuel or electricity from telemetry at the configured prices'),
  totalCny: Cny('Sum of the parts that are known'),
  distanceKm: Type.Number({ description: 'km' }),
  trips: Type.Integer(),
  workingDaysInUse: Type.Integer({ description: 'Working days with at least one trip.' }),
  perKm: NullableCny('totalCny ÷ distanceKm, per km'),
  perTrip: NullableCny('totalCny ÷ trips, per trip'),
  perWorkingDayInUse: NullableCny('totalCny ÷ workingDaysInUse, per day'),
  nulls: CostNullsSchema,
};

export const VehicleCostItemSchema = Type.Object({
  id: Type.String(),
  plate: Type.String(),
  department: Type.String(),
  ...VehicleCostFields,
});

export const VehicleCostsSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  items: Type.Array(VehicleCostItemSchema),
  fleet: Type.Object(VehicleCostFields),
});

export const LifecycleSchema = Type.Object({
  id: Type.String(),
  plate: Type.String(),
  department: Type.String(),
  purchase: Nullable(
    Type.Object({
      price: Type.Number(),
      date: Type.String(),
      lifeYears: Type.Number(),
      residualPercent: Type.Optional(Type.Number()),
    }),
  ),
  asOf: Type.String(),
  years: Type.Array(
    Type.Object({ year: Type.Integer(), from: Type.String(), to: Type.String(), ...VehicleCostFields }),
    { description: 'Cost by calendar year; perKm is the cost per km of that year.' },
  ),
  cumulative: Type.Object(VehicleCostFields, { description: 'Purchase to now, by item.' }),
  bookValueCny: NullableCny('Value less depreciation to date'),
  replacement: Type.Object({
    replace: Type.Boolean(),
    reasons: Type.Array(StringEnum(['life-exceeded', 'cost-per-km'] as const)),
    message: NameSchema,
    lifeEndsOn: Nullable(Type.String()),
    last12MonthsPerKm: NullableCny('Cost per km over the last 12 months'),
    fleetMedianPerKm: NullableCny('Median of the fleet cars’ cost per km over the last 12 months'),
    multiple: Type.Number({ description: 'costs.replacementMultiple of the facility file (default 1.5).' }),
  }),
  nulls: CostNullsSchema,
});

// ------------------------------------------------------------------ space

export const SpaceQuery = Type.Object({
  ...PeriodQuery,
  groupBy: Type.Optional(
    StringEnum(['building', 'department', 'room'] as const, {
      default: 'building',
      description: 'Rows per building, department or room. Default building.',
    }),
  ),
});

export const SpaceItemSchema = Type.Object({
  id: Type.String(),
  name: NameSchema,
  building: Type.Optional(Type.String()),
  department: Type.Optional(Type.String()),
  areaM2: Type.Number({ description: 'm²' }),
  workstations: Nullable(
    Type.Number({ description: 'Headcount (buildings: by area share) or seats (rooms).' }),
  ),
  energyCostCny: NullableCny('Electricity, water and gas (a room: its area share of its building)'),
  propertyFeeCny: Cny('Property fee of the area over the period'),
  depreciationCny: Cny('Depreciation of the building (area share)'),
  ledgerCny: Cny('Ledger entries of the space'),
  totalCny: Cny('Sum'),
  perM2Year: NullableCny('totalCny ÷ m², annualised, per m² per year'),
  perWorkstationYear: NullableCny('totalCny ÷ workstations, annualised, per workstation per year'),
  occupiedHours: Type.Optional(Nullable(Type.Number({ description: 'h' }))),
  workingHours: Type.Optional(Type.Number({ description: 'h' })),
  emptyWorkingHours: Type.Optional(Nullable(Type.Number({ description: 'Working time known empty, h' }))),
  conditionedEmptyHours: Type.Optional(Nullable(Type.Number({ description: 'h' }))),
  costPerOccupiedHour: Type.Optional(NullableCny('totalCny ÷ occupied hours, per hour')),
  emptyHoursCostCny: Type.Optional(
    NullableCny('Cost of empty hours: totalCny × empty working hours ÷ working hours'),
  ),
  conditionedEmptyCostCny: Type.Optional(
    NullableCny('Conditioned-while-empty hours × m² × the building’s HVAC cost per m² and working hour'),
  ),
  nulls: CostNullsSchema,
});

export const SpaceCostsSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  groupBy: Type.String(),
  items: Type.Array(SpaceItemSchema),
});

// ------------------------------------------------------------------ budgets

export const BudgetQuery = Type.Object({
  year: Type.Integer({ minimum: 2000, maximum: 2100, description: 'Calendar year.', examples: [2026] }),
  department: Type.Optional(Type.String({ maxLength: 64, description: 'Only this department.' })),
});

const BudgetLineFields = {
  budget: NullableCny('Annual budget'),
  expectedToDate: NullableCny('Budget pro-rated to asOf'),
  actual: NullableCny('Spent to asOf'),
  variance: NullableCny('actual − expectedToDate'),
  variancePercent: Nullable(Type.Number({ description: 'variance ÷ expectedToDate × 100, %.' })),
  projectedYearEnd: NullableCny('Year-end projection (see method)'),
  projectedPercent: Nullable(Type.Number({ description: 'projectedYearEnd ÷ budget × 100, %.' })),
  method: StringEnum(['covered-rate', 'run-rate', 'scheduled'] as const),
  coverage: Nullable(Type.Number({ description: 'covered-rate: % of the elapsed time with data.' })),
  basis: Nullable(StringEnum(['measured', 'partial'] as const)),
  status: Nullable(StringEnum(['on-track', 'at-risk', 'over'] as const)),
  nulls: CostNullsSchema,
};

export const BudgetsSchema = Type.Object({
  year: Type.Integer(),
  asOf: Type.String(),
  items: Type.Array(
    Type.Object({
      department: Type.String(),
      name: NameSchema,
      items: Type.Array(
        Type.Object({ item: StringEnum(BUDGET_ITEMS), itemName: NameSchema, ...BudgetLineFields }),
      ),
      total: Type.Object(BudgetLineFields),
    }),
  ),
});

// ------------------------------------------------------------------ feedback

export const FeedbackBody = Type.Object(
  {
    room: Type.Optional(Type.String({ maxLength: 64, description: 'Room id (or give service).' })),
    service: Type.Optional(Type.String({ maxLength: 64, description: 'Service id (or give room).' })),
    score: Type.Integer({ minimum: 1, maximum: 5, description: '1 (very unhappy) – 5 (very happy).' }),
    categories: Type.Optional(
      Type.Array(StringEnum(FEEDBACK_CATEGORIES), {
        maxItems: FEEDBACK_CATEGORIES.length,
        uniqueItems: true,
      }),
    ),
    comment: Type.Optional(
      Type.String({
        maxLength: MAX_COMMENT_LENGTH,
        description: `At most ${MAX_COMMENT_LENGTH} characters.`,
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [{ room: 'b1-m0301', score: 2, categories: ['too-cold'], comment: '会议室太冷了' }],
  },
);

export const FeedbackCreatedSchema = Type.Object({
  id: Type.Integer(),
  subject: Type.Object({ kind: StringEnum(['room', 'service'] as const), id: Type.String() }),
  day: Type.String({ description: 'The site-local day: one answer per browser, subject and day.' }),
  message: NameSchema,
});

export const QrQuery = Type.Object({
  room: Type.Optional(Type.String({ maxLength: 64, description: 'Room id (or give service).' })),
  service: Type.Optional(Type.String({ maxLength: 64, description: 'Service id (or give room).' })),
});

export const FeedbackSummaryQuery = Type.Object({
  ...PeriodQuery,
  groupBy: Type.Optional(
    StringEnum(['room', 'building', 'service', 'department'] as const, { default: 'room' }),
  ),
});

const ComfortSchema = Type.Object({
  count: Type.Integer(),
  measured: Type.Integer({ description: 'Complaints with a temperature from the sensor.' }),
  meanTemperatureC: Nullable(Type.Number({ description: '°C' })),
  minTemperatureC: Nullable(Type.Number({ description: '°C' })),
  maxTemperatureC: Nullable(Type.Number({ description: '°C' })),
  meanCo2Ppm: Nullable(Type.Number({ description: 'ppm' })),
  maxCo2Ppm: Nullable(Type.Number({ description: 'ppm' })),
});

const GroupFields = {
  count: Type.Integer(),
  meanScore: Nullable(Type.Number({ description: '1–5' })),
  distribution: Type.Object({
    '1': Type.Integer(),
    '2': Type.Integer(),
    '3': Type.Integer(),
    '4': Type.Integer(),
    '5': Type.Integer(),
  }),
  topCategories: Type.Array(
    Type.Object({ category: StringEnum(FEEDBACK_CATEGORIES), count: Type.Integer() }),
  ),
  comfort: Type.Record(Type.String(), ComfortSchema, {
    description: 'Per comfort category (too-hot, too-cold, stuffy): what the room sensors measured.',
  }),
};

export const FeedbackSummarySchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  groupBy: Type.String(),
  total: Type.Object(GroupFields),
  items: Type.Array(
    Type.Object({
      id: Type.String(),
      name: NameSchema,
      ...GroupFields,
      comments: Type.Array(
        Type.Object({
          time: Type.String(),
          score: Type.Integer(),
          comment: Type.String({ description: 'As written: escape it wherever it is shown.' }),
        }),
      ),
      complaints: Type.Array(
        Type.Object({
          time: Type.String(),
          room: Type.String(),
          score: Type.Integer(),
          categories: Type.Array(Type.String()),
          temperatureC: Nullable(Type.Number({ description: '°C the sensor measured then' })),
          co2Ppm: Nullable(Type.Number({ description: 'ppm the sensor measured then' })),
          measuredAt: Nullable(Type.String()),
        }),
      ),
    }),
  ),
});

// ------------------------------------------------------------------ scorecard, report

export const MonthQuery = Type.Object({
  month: Type.String({ description: 'A month, YYYY-MM (site time).', examples: ['2026-11'] }),
});

const IndicatorSchema = Type.Object({
  id: Type.String(),
  name: NameSchema,
  unit: Type.String(),
  direction: StringEnum(['lower', 'higher'] as const, { description: 'Which way is better.' }),
  value: Nullable(Type.Number()),
  target: Nullable(Type.Number({ description: 'Scores 100.' })),
  zeroAt: Nullable(Type.Number({ description: 'Scores 0.' })),
  exampleTarget: Type.Boolean({ description: 'The target is the product’s example default: set your own.' }),
  score: Nullable(Type.Number({ description: '0–100' })),
  weight: Type.Number(),
  nulls: CostNullsSchema,
});

const PerspectiveSchema = Type.Object({
  score: Nullable(Type.Number({ description: '0–100' })),
  weight: Type.Number(),
  indicators: Type.Array(IndicatorSchema),
});

export const ScorecardSchema = Type.Object({
  month: Type.String(),
  from: Type.String(),
  to: Type.String(),
  weights: Type.Record(Type.String(), Type.Number()),
  items: Type.Array(
    Type.Object({
      department: Type.String(),
      name: NameSchema,
      perspectives: Type.Object(
        Object.fromEntries(Object.keys(SCORECARD_INDICATORS).map((p) => [p, PerspectiveSchema])) as Record<
          'cost' | 'process' | 'service' | 'improvement',
          typeof PerspectiveSchema
        >,
      ),
      total: Nullable(Type.Number({ description: '0–100' })),
      rank: Nullable(Type.Integer()),
      previousTotal: Nullable(Type.Number({ description: 'Last month’s total.' })),
      change: Nullable(Type.Number({ description: 'total − previousTotal.' })),
    }),
  ),
});
