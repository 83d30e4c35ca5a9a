/**
 * TypeBox schemas of the API: query strings, bodies and responses. Response schemas are the
 * public contract (core/kpi/types.ts) and also what stops fields leaking: fastify serialises only
 * the properties listed here.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import {
  BuildingSchema,
  CalendarFileSchema,
  DepartmentFileSchema,
  QuotaSchema as FacilityQuotaSchema,
  GeofenceSchema,
  MeterSchema,
  RoomSchema,
  SensorSchema,
  SiteSchema,
  TariffsSchema,
  VehicleSchema,
} from '../core/facility/schema.ts';
import { NULL_REASONS, type NullReason } from '../core/kpi/types.ts';
import { MAX_PERIOD_DAYS, PERIOD_DESCRIPTION } from './period.ts';

/** A string enum as JSON Schema `enum` (one clear validation message, one OpenAPI `enum`). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string; default?: T[number] } = {},
) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/**
 * A value or null. A primitive becomes `type: [type, 'null']` (OpenAPI 3.1), which the response
 * serializer (fast-json-stringify) writes directly; an `anyOf` would make it validate every value
 * with Ajv to choose a branch, which cost a large summary tens of milliseconds.
 */
const Nullable = <T extends TSchema>(schema: T) => {
  const type = (schema as { type?: unknown }).type;
  if (typeof type === 'string' && type !== 'object' && type !== 'array') {
    const values = (schema as { enum?: unknown[] }).enum;
    return Type.Unsafe<Static<T> | null>({
      ...schema,
      type: [type, 'null'],
      ...(values ? { enum: [...values, null] } : {}),
    });
  }
  return Type.Union([schema, Type.Null()]);
};

// ------------------------------------------------------------------ common

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Machine-readable, e.g. INVALID_PARAMETER, NOT_FOUND, FORBIDDEN.' }),
      message: Type.String({ description: 'For a person; names the parameter at fault.' }),
      parameter: Type.Optional(Type.String({ description: 'The query, path or body parameter at fault.' })),
      retriable: Type.Optional(Type.Boolean()),
    }),
  },
  { description: 'Every error answer.' },
);

/** The error answers a route documents, by status. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorSchema]));
}

export const NameSchema = Type.Object({ zh: Type.String(), en: Type.String() });

const Instant = (description: string) => Type.String({ description });

export const PeriodQuery = {
  from: Type.String({
    description: `Start (inclusive). ${PERIOD_DESCRIPTION}; at most ${MAX_PERIOD_DAYS} days.`,
  }),
  to: Type.String({
    description: `End (exclusive). ${PERIOD_DESCRIPTION}; at most ${MAX_PERIOD_DAYS} days.`,
  }),
};

export const IdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, description: 'Vehicle id.' }),
});

const LatLon = Type.Object({ lat: Type.Number(), lon: Type.Number() });

// ------------------------------------------------------------------ energy

export const ENERGY_GROUP_BY = ['site', 'building', 'department', 'meter', 'system'] as const;
export const ENERGY_SCOPES = ['site', 'building', 'department', 'meter'] as const;
export const ENERGY_KINDS = ['electricity', 'water', 'gas'] as const;
export const SERIES_EVERY = ['15m', '1h', '1d'] as const;

/**
 * Defaults of the optional query parameters. Ajv writes them into the query (`useDefaults`); the
 * routes read them from here too, since the query's type calls them optional.
 */
export const QUERY_DEFAULTS = {
  groupBy: 'site',
  kind: 'electricity',
  every: '1h',
  limit: 100,
} as const satisfies {
  groupBy: (typeof ENERGY_GROUP_BY)[number];
  kind: (typeof ENERGY_KINDS)[number];
  every: (typeof SERIES_EVERY)[number];
  limit: number;
};

export const EnergySummaryQuery = Type.Object({
  ...PeriodQuery,
  groupBy: Type.Optional(
    StringEnum(ENERGY_GROUP_BY, {
      description:
        'Rows per site, building, department, meter or sub-system (分项). Default site. ' +
        'A department token may ask only department (its own row) or meter (its own meters).',
      default: QUERY_DEFAULTS.groupBy,
    }),
  ),
});

/** A `nulls` map: for each field of the object that is null, why (the reasons are listed). */
const NullsSchema = Type.Record(Type.String(), StringEnum(Object.keys(NULL_REASONS) as NullReason[]), {
  description:
    'Why each null figure of this object is null: field name → reason. Reasons: ' +
    Object.entries(NULL_REASONS)
      .map(([reason, text]) => `\`${reason}\` ${text}`)
      .join('; ') +
    '.',
});

const Percent = (description: string) => Type.Number({ description: `${description}, 0–100 %.` });

const QuotaSchema = Type.Object({
  kind: Type.String(),
  unit: Type.String(),
  annual: Type.Number(),
  year: Type.Integer(),
  amount: Type.Number({
    description: 'Annual quota pro-rated by days to the elapsed (measured) part of the period in the year.',
  }),
  used: Nullable(Type.Number({ description: 'Consumption measured in that part, in unit.' })),
  periodCoverage: Percent('Coverage of that part'),
  usedPercent: Nullable(
    Type.Number({
      description: 'Use at the measured rate over that part ÷ amount × 100 (covered time only).',
    }),
  ),
  asOf: Type.String({ description: 'End of the year-to-date (the measured end, or the year end).' }),
  usedToDate: Nullable(Type.Number({ description: 'Consumption measured from 1 January to asOf.' })),
  coverage: Percent('Share of the year so far (1 January → asOf) with data'),
  basis: StringEnum(['measured', 'partial'] as const, {
    description: 'measured: the year so far is measured throughout; partial: part of it is estimated.',
  }),
  projectedYearEnd: Nullable(
    Type.Number({
      description:
        'Measured use + the rest of the year (days not measured and days to come) at the covered days’ average per day type.',
    }),
  ),
  projectedPercent: Nullable(Type.Number({ description: 'projectedYearEnd ÷ annual × 100.' })),
  nulls: NullsSchema,
});

const StandardSchema = Type.Object({
  source: Type.String(),
  constraintKwhPerM2: Type.Number({ description: 'GB/T 51161 constraint value, kWh/m²·a.' }),
  guideKwhPerM2: Type.Number({ description: 'GB/T 51161 guide value, kWh/m²·a.' }),
  areaM2: Type.Number({ description: 'Floor area the intensity is over, m².' }),
  coverage: Percent('Coverage of the meters behind the intensity over the measured period'),
  annualisedKwhPerM2: Nullable(Type.Number({ description: 'kWh/m² of a year; see annualisedMethod.' })),
  annualisedMethod: StringEnum(['measured-year', 'last-year-profile', 'days'] as const, {
    description:
      'measured-year: the period is 12 months; last-year-profile: this period × the 12 months before it ÷ ' +
      'the same part a year earlier (estimate); days: × 365 ÷ the days measured (estimate).',
  }),
  estimate: Type.Boolean({ description: 'true unless annualisedMethod is measured-year.' }),
  hoursOfUse: Nullable(
    Type.Number({ description: 'T: working hours of the calendar over the 12 months, h.' }),
  ),
  gamma: Nullable(Type.Number({ description: 'γ = 0.3 + 0.7 × 2500 ÷ T.' })),
  correctedKwhPerM2: Nullable(Type.Number({ description: 'annualisedKwhPerM2 × γ: the rated value.' })),
  rating: Nullable(
    StringEnum(['below-guide', 'between', 'over-constraint'] as const, {
      description: 'Only over 12 consecutive months that are over, ≥ 90 % covered.',
    }),
  ),
  nulls: NullsSchema,
});

const PreviousSchema = Type.Object({
  from: Type.String({ description: 'The compared period (a calendar period, or the equal-length range).' }),
  to: Type.String(),
  measuredTo: Type.String({
    description: 'End of the part compared: the same elapsed part as the current one.',
  }),
  electricityKwh: Nullable(Type.Number()),
  waterM3: Nullable(Type.Number()),
  gasM3: Nullable(Type.Number()),
  kgce: Nullable(Type.Number({ description: 'Buildings and cars, kgce.' })),
  coverage: Percent('Coverage of the meters behind kgce over the compared part'),
  currentCoverage: Percent('The same over the current measured period'),
  changePercent: Nullable(
    Type.Number({
      description: '% change of kgce on covered time; null when either side is under 90 % covered.',
    }),
  ),
  nulls: NullsSchema,
});

const VehicleEnergySchema = Type.Object(
  {
    count: Type.Integer({ description: 'Official cars of the item.' }),
    reporting: Type.Integer({ description: 'Cars that reported their fuel counter in the period.' }),
    gasolineL: Nullable(Type.Number()),
    dieselL: Nullable(Type.Number()),
    electricKwh: Nullable(Type.Number()),
    kgce: Nullable(Type.Number()),
    co2Kg: Nullable(Type.Number()),
    costCny: Nullable(
      Type.Number({
        description: 'Fuel at its price; electricity at the time-of-use price of when it was used.',
      }),
    ),
    nulls: NullsSchema,
  },
  { description: 'Site and departments: their official cars, counted in kgce, co2Kg and costCny.' },
);

const QualitySchema = Type.Object(
  {
    status: StringEnum(['good', 'degraded'] as const, {
      description: 'degraded: a meter behind the figures had a rise counted that exceeds its maxRate.',
    }),
    notes: Type.Array(
      Type.Object({
        reason: StringEnum(['rate-exceeded', 'register-outlier', 'register-reset'] as const),
        meter: Type.String(),
        readings: Type.Integer({
          description: 'Readings so judged in the 15-minute buckets the period touches.',
        }),
        lowersQuality: Type.Boolean(),
        message: NameSchema,
      }),
    ),
  },
  {
    description:
      'How the readings of the meters behind the item were judged (README, "Meter readings"): rises faster than maxRate (counted, doubtful), outliers (left out), resets (counted from zero).',
  },
);

export const EnergyItemSchema = Type.Object({
  id: Type.String(),
  name: NameSchema,
  building: Type.Optional(Type.String()),
  department: Type.Optional(Type.String()),
  sharedServices: Type.Optional(Type.Boolean()),
  electricityKwh: Nullable(Type.Number({ description: 'Buildings’ meters, kWh.' })),
  waterM3: Nullable(Type.Number()),
  gasM3: Nullable(Type.Number()),
  kgce: Nullable(Type.Number({ description: 'Standard coal of meters and (site, departments) cars, kgce.' })),
  co2Kg: Nullable(Type.Number()),
  costCny: Nullable(Type.Number()),
  tariff: Type.Optional(
    Type.Record(Type.String(), Type.Object({ kwh: Type.Number(), costCny: Type.Number() }), {
      description: 'Electricity by time-of-use period.',
    }),
  ),
  areaM2: Nullable(
    Type.Number({
      description: 'Denominator of per-m² figures; a department’s own area + its share of common area.',
    }),
  ),
  ownAreaM2: Type.Optional(Type.Number({ description: 'Departments: the area of its own spaces, m².' })),
  commonAreaM2: Type.Optional(
    Type.Number({ description: 'Departments: its share of its buildings’ common area, m².' }),
  ),
  headcount: Nullable(Type.Number()),
  kwhPerM2: Nullable(Type.Number()),
  kgcePerM2: Nullable(Type.Number()),
  kgcePerCapita: Nullable(Type.Number()),
  waterM3PerCapita: Nullable(Type.Number()),
  offHoursShare: Nullable(Type.Number({ description: '0–1' })),
  coverage: Percent('Data coverage of the meters behind the item'),
  coverageByKind: Type.Object(
    {
      electricity: Type.Optional(Type.Number()),
      water: Type.Optional(Type.Number()),
      gas: Type.Optional(Type.Number()),
    },
    { description: 'Coverage per kind the item has meters of, %.' },
  ),
  quota: Type.Array(QuotaSchema),
  standard: Nullable(StandardSchema),
  previous: Nullable(PreviousSchema),
  lastYear: Nullable(PreviousSchema),
  vehicles: Type.Optional(VehicleEnergySchema),
  quality: QualitySchema,
  nulls: NullsSchema,
});

export const EnergySummarySchema = Type.Object({
  from: Instant('Start, ISO-8601 with the site offset.'),
  to: Instant('End (exclusive), as requested.'),
  measuredTo: Instant('Where measurement stops: to, or now for a period reaching into the future.'),
  periodKind: StringEnum(['day', 'week', 'month', 'quarter', 'year', 'range'] as const, {
    description: 'The calendar period [from, to) is (or range); picks the previous period.',
  }),
  groupBy: StringEnum(ENERGY_GROUP_BY),
  items: Type.Array(EnergyItemSchema),
});

export const EnergySeriesQuery = Type.Object({
  ...PeriodQuery,
  scope: StringEnum(ENERGY_SCOPES, { description: 'What the series sums.' }),
  id: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'Id of the scope; for scope=site, default the site.',
    }),
  ),
  kind: Type.Optional(
    StringEnum(ENERGY_KINDS, {
      description: 'Energy kind; default electricity.',
      default: QUERY_DEFAULTS.kind,
    }),
  ),
  every: Type.Optional(
    StringEnum(SERIES_EVERY, {
      description: 'Window, aligned to local midnight. Default 1h. At most 20,000 windows per answer.',
      default: QUERY_DEFAULTS.every,
    }),
  ),
});

export const EnergySeriesSchema = Type.Object({
  scope: StringEnum(ENERGY_SCOPES),
  id: Type.String(),
  kind: StringEnum(ENERGY_KINDS),
  unit: Type.String(),
  every: StringEnum(SERIES_EVERY),
  from: Type.String(),
  to: Type.String(),
  measuredTo: Type.String({ description: 'Where measurement stops: to, or now.' }),
  items: Type.Array(
    Type.Object({
      start: Type.String(),
      end: Type.String(),
      value: Nullable(Type.Number({ description: 'Measured consumption; null without data.' })),
      coverage: Type.Number(),
      nulls: NullsSchema,
    }),
  ),
});

// ------------------------------------------------------------------ vehicles

export const PeriodOnlyQuery = Type.Object(PeriodQuery);

export const VehicleItemSchema = Type.Object({
  id: Type.String(),
  plate: Type.String(),
  department: Type.String(),
  trips: Type.Integer(),
  distanceKm: Type.Number(),
  drivingHours: Type.Number(),
  idleHours: Type.Number(),
  utilization: Type.Number({ description: '0–1: driving time in working time ÷ working time.' }),
  offHoursTrips: Type.Integer(),
  geofenceExits: Type.Integer(),
  speedingEvents: Type.Integer(),
  energyPer100km: Nullable(Type.Number()),
  energyUnit: Type.String(),
  ratedPer100km: Type.Number(),
  costPerKm: Nullable(
    Type.Number({
      description: 'Cost ÷ distance; electricity at the time-of-use price of when it was used.',
    }),
  ),
  costCny: Nullable(Type.Number({ description: 'Energy cost of the period, CNY.' })),
  energyUsed: Type.Optional(
    Nullable(Type.Number({ description: 'Energy used in the period, in energyUnit.' })),
  ),
  workingHours: Type.Optional(Type.Number({ description: 'Working time of the period, h.' })),
  speedLimitKmh: Type.Optional(Type.Number({ description: 'Threshold of the speeding events.' })),
});

export const VehicleUtilizationSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  items: Type.Array(VehicleItemSchema),
});

export const TripSchema = Type.Object({
  start: Type.String(),
  end: Type.String(),
  distanceKm: Type.Number(),
  durationMin: Type.Number(),
  maxSpeedKmh: Type.Number(),
  offHours: Type.Boolean(),
  leftServiceArea: Type.Boolean(),
  from: LatLon,
  to: LatLon,
});

export const VehicleTripsSchema = Type.Object({
  id: Type.String(),
  from: Type.String(),
  to: Type.String(),
  items: Type.Array(TripSchema),
});

export const VehicleTrackSchema = Type.Object(
  {
    type: Type.Literal('Feature'),
    geometry: Type.Object({
      type: Type.Literal('LineString'),
      coordinates: Type.Array(Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }), {
        description: '[lon, lat], WGS-84.',
      }),
    }),
    properties: Type.Object({
      id: Type.String(),
      plate: Type.String(),
      from: Type.String(),
      to: Type.String(),
      times: Type.Array(Type.String(), { description: 'Time of each coordinate.' }),
    }),
  },
  { description: 'GeoJSON Feature (RFC 7946) with a LineString.' },
);

// ------------------------------------------------------------------ rooms

export const RoomUtilizationQuery = Type.Object({
  ...PeriodQuery,
  building: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only this building.' })),
});

export const RoomItemSchema = Type.Object({
  id: Type.String(),
  name: NameSchema,
  building: Type.String(),
  department: Type.Optional(Type.String()),
  capacity: Type.Integer(),
  occupiedHours: Type.Number(),
  utilization: Type.Number({ description: '0–1' }),
  seatUse: Nullable(Type.Number()),
  conditionedEmptyHours: Type.Number(),
  setpointViolationHours: Type.Number(),
  co2OverHours: Type.Number(),
  comfort: Nullable(Type.Number()),
  occupiedWorkingHours: Type.Optional(Type.Number({ description: 'Occupied time inside working time, h.' })),
  workingHours: Type.Optional(Type.Number({ description: 'Working time of the period, h.' })),
  reportedHours: Type.Optional(Type.Number({ description: 'Time the sensor state was known, h.' })),
});

export const RoomUtilizationSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  items: Type.Array(RoomItemSchema),
});

// ------------------------------------------------------------------ ingest

export const IngestStatsSchema = Type.Object(
  {},
  {
    additionalProperties: true,
    description: 'The ingest counters (messages, points, rejections, backlog…).',
  },
);

export const MAX_REJECTIONS = 1000;

export const RejectionsQuery = Type.Object({
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_REJECTIONS,
      default: QUERY_DEFAULTS.limit,
      description: 'Most entries, newest first. Default 100.',
    }),
  ),
  before: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'Only entries with a smaller id (paging back).',
    }),
  ),
  device: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only this device id.' })),
});

export const RejectionSchema = Type.Object({
  id: Type.Integer(),
  time: Type.String({ description: 'When the ingest received it.' }),
  topic: Type.String(),
  device: Type.Optional(Type.Object({ kind: Type.String(), id: Type.String() })),
  reason: Type.String(),
  detail: Type.String(),
  payload: Type.String(),
  encoding: StringEnum(['utf8', 'base64'] as const),
  size: Type.Integer(),
  truncated: Type.Boolean(),
});

export const RejectionsSchema = Type.Object({ items: Type.Array(RejectionSchema) });

// ------------------------------------------------------------------ tokens

export const ROLE_VALUES = ['admin', 'operator', 'viewer'] as const;

export const TokenInfoSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: StringEnum(ROLE_VALUES),
  department: Type.Optional(Type.String()),
  createdAt: Type.String(),
  createdBy: Type.String(),
});

export const TokenListSchema = Type.Object({ items: Type.Array(TokenInfoSchema) });

export const NewTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: 'Who or what holds the token.' }),
    role: StringEnum(ROLE_VALUES),
    department: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'Limit the token to one department (operator or viewer only).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type NewTokenBody = Static<typeof NewTokenBody>;

export const CreatedTokenSchema = Type.Object({
  token: Type.String({ description: 'The bearer token. Shown this once; only its hash is kept.' }),
  ...TokenInfoSchema.properties,
});

export const TokenIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

// ------------------------------------------------------------------ facility

const FactorSet = Type.Record(Type.String(), Type.Number());
const SECRETS = ['secret', 'secretHash'] as const;

/** The facility model as served: every device credential left out (by the handler, and here). */
export const FacilityResponseSchema = Type.Object({
  version: Type.Integer(),
  site: SiteSchema,
  calendar: CalendarFileSchema,
  geofences: Type.Array(GeofenceSchema),
  buildings: Type.Array(BuildingSchema),
  departments: Type.Array(DepartmentFileSchema),
  meters: Type.Array(Type.Omit(MeterSchema, SECRETS)),
  vehicles: Type.Array(Type.Omit(VehicleSchema, SECRETS)),
  rooms: Type.Array(RoomSchema),
  sensors: Type.Array(Type.Omit(SensorSchema, SECRETS)),
  tariffs: TariffsSchema,
  factors: Type.Object({
    standardCoal: FactorSet,
    co2: FactorSet,
    sources: Type.Object({
      standardCoal: Type.Record(Type.String(), Type.String()),
      co2: Type.Record(Type.String(), Type.String()),
    }),
  }),
  quotas: Type.Array(FacilityQuotaSchema),
});

// ------------------------------------------------------------------ health

const WorkerCounts = {
  messages: Type.Object({ received: Type.Integer(), stored: Type.Integer(), rejected: Type.Integer() }),
  points: Type.Object({ stored: Type.Integer() }),
  backlog: Type.Object({ messages: Type.Integer(), points: Type.Integer(), deadLetters: Type.Integer() }),
};

/** An ingest worker of a shared subscription, as the api sees it (core/ingest-workers.ts). */
export const IngestWorkerSchema = Type.Object({
  name: Type.String(),
  state: StringEnum(['online', 'disconnected', 'silent', 'offline'] as const),
  share: StringEnum(['taking', 'queuing'] as const, {
    description: '`queuing`: its share of the stream waits at the broker until it is back.',
  }),
  lastSeen: Nullable(Type.String({ description: 'Last heard from online.' })),
  clientId: Type.String({ description: 'Its MQTT session at the broker.' }),
  metricsUrl: Type.Optional(Type.String()),
  ...WorkerCounts,
});

export const IngestWorkersSchema = Type.Object({
  watching: Type.Boolean({
    description: "Whether the api is connected to the broker the workers' status is on.",
  }),
  queuing: Type.Array(Type.String(), { description: 'Workers whose share is queuing at the broker.' }),
  workers: Type.Array(IngestWorkerSchema),
});

export const HealthSchema = Type.Object({
  status: StringEnum(['ok', 'degraded'] as const, {
    description: '`degraded`: the api serves, but something needs a person (see `reasons`).',
  }),
  version: Type.String(),
  store: Type.String(),
  uptimeSeconds: Type.Number(),
  reasons: Type.Array(Type.String(), { description: 'Why the status is degraded; empty when ok.' }),
  ingest: Type.Optional(IngestWorkersSchema),
});
