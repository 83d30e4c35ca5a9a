/**
 * The facility file, format version 1: the schema (TypeBox) and the types derived from it.
 *
 * The facility file is domain data an operator writes by hand: the site, its calendar, the
 * buildings, departments, meters, vehicles, rooms, sensors, geofences, tariffs, conversion
 * factors and quotas. `load.ts` parses it; `validate.ts` checks it against {@link FacilitySchema},
 * runs the cross-checks of `checks.ts` (what a schema cannot express) and returns a
 * {@link Facility} with every default filled in.
 *
 * Two families of types:
 * - `…File` types ({@link FacilityFile}) are what the file may say: optional collections and
 *   fields may be absent.
 * - The resolved types ({@link Facility} and its parts) are what the program works with: every
 *   collection present (possibly empty), factors complete with their sources.
 *
 * Units throughout: m² (areas), kWh (electricity), m³ (water, gas), litres (gasoline, diesel),
 * seconds (intervals), km/h, CNY (or the tariff's currency). Coordinates are WGS-84 `[lon, lat]`.
 */
import { type SchemaOptions, type Static, type TLiteral, type TUnion, Type } from '@sinclair/typebox';
import type { AlertSettings } from '../alerts/rules.ts';

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

/**
 * Syntax of every id (site, buildings, departments, meters, vehicles, rooms, sensors,
 * geofences). Ids become MQTT topic levels and usernames (`fac/{site}/meter/{id}/reading`), so
 * they must not contain the topic separator `/`, the wildcards `+` `#`, a leading `$` (reserved
 * for broker topics, [MQTT-4.7.2-1]) or white space; lower case keeps them unambiguous.
 */
export const ID_PATTERN = '^[a-z0-9][a-z0-9._-]*$';
/** Longest id accepted; keeps topics and store tags short. */
export const ID_MAX_LENGTH = 64;

/** A calendar date, `YYYY-MM-DD`. */
export const DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';
/** A date or an inclusive date range, `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD`. */
export const DATE_RANGE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}(\\.\\.\\d{4}-\\d{2}-\\d{2})?$';
/** A local clock-time range, `HH:MM-HH:MM` (24-hour clock, `24:00` allowed as an end). */
export const TIME_RANGE_PATTERN = '^\\d{2}:\\d{2}-\\d{2}:\\d{2}$';

/** A union of string literals; validate.ts lists the allowed values when one does not match. */
function StringEnum<const T extends readonly [string, ...string[]]>(
  values: T,
  options: SchemaOptions = {},
): TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }> {
  return Type.Union(
    values.map((value) => Type.Literal(value)),
    options,
  ) as unknown as TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }>;
}

/**
 * An id, as {@link ID_PATTERN}. The `errorMessage` keyword is ours (not JSON Schema's):
 * validate.ts says it in place of TypeBox's generic "Expected string to match …".
 */
const Id = (description: string) =>
  Type.String({
    pattern: ID_PATTERN,
    maxLength: ID_MAX_LENGTH,
    description,
    errorMessage:
      'must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit, ' +
      `at most ${ID_MAX_LENGTH} characters (ids become MQTT topic levels)`,
  });

/** A reference to another entity's id; checks.ts checks that it exists. */
const Ref = (description: string) => Type.String({ minLength: 1, description });

const Text = (description: string) => Type.String({ minLength: 1, description });

/** Strictly positive number (areas, prices of factors, consumption rates). */
const Positive = (description: string) => Type.Number({ exclusiveMinimum: 0, description });
/** Strictly positive whole number (headcounts, seats, intervals). */
const PositiveInt = (description: string) => Type.Integer({ exclusiveMinimum: 0, description });

const DateString = (description: string) =>
  Type.String({ pattern: DATE_PATTERN, description, errorMessage: 'must be a date written YYYY-MM-DD' });

const TimeRange = (description: string) =>
  Type.String({
    pattern: TIME_RANGE_PATTERN,
    description,
    errorMessage: 'must be a time range written HH:MM-HH:MM, e.g. "09:00-18:00"',
  });

/** A name in both languages the product shows: Chinese for the operator, English for reports. */
export const NameSchema = Type.Object(
  {
    zh: Text('Chinese name, e.g. 1号综合办公楼.'),
    en: Text('English name, e.g. "Building 1 — Main Offices".'),
  },
  { additionalProperties: false },
);
/** A bilingual name. */
export type Name = Static<typeof NameSchema>;

/**
 * Device credential: exactly one of `secret` and `secretHash` must be given (checks.ts checks
 * it, since "one of two optional keys" is clearer to report by hand than as a schema union).
 *
 * `secretHash` format: `scrypt:N:r:p:saltB64:hashB64` — scrypt parameters (N a power of two
 * greater than 1, r and p positive integers), then the salt and the derived key in standard
 * base64 (padding optional), each at least 16 bytes. The MQTT password is the secret's UTF-8
 * bytes. See `secret-hash.ts` to create and verify one.
 */
const credentialFields = {
  secret: Type.Optional(
    Text('Plain device secret (MQTT password). For demos only; a real deployment gives secretHash.'),
  ),
  secretHash: Type.Optional(
    Type.String({
      pattern: '^scrypt:',
      description: 'scrypt hash of the device secret: scrypt:N:r:p:saltB64:hashB64.',
      errorMessage: 'must be written scrypt:N:r:p:saltB64:hashB64',
    }),
  ),
};

// ---------------------------------------------------------------------------------------------
// Enumerations
// ---------------------------------------------------------------------------------------------

/** Days of the week as the calendar names them. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Thermal design climate zones of GB 50176-2016 《民用建筑热工设计规范》. */
export const CLIMATE_ZONES = [
  'severe-cold', // 严寒
  'cold', // 寒冷
  'hot-summer-cold-winter', // 夏热冬冷
  'hot-summer-warm-winter', // 夏热冬暖
  'mild', // 温和
] as const;
export type ClimateZone = (typeof CLIMATE_ZONES)[number];

/** What a building is mainly used for. */
export const BUILDING_USES = [
  'office',
  'conference',
  'services',
  'canteen',
  'datacenter',
  'garage',
  'dormitory',
  'other',
] as const;
export type BuildingUse = (typeof BUILDING_USES)[number];

/**
 * GB/T 51161-2016 office building classes: A can be naturally ventilated through windows,
 * B needs mechanical ventilation or air conditioning year-round.
 */
export const VENTILATION_CLASSES = ['A', 'B'] as const;
export type VentilationClass = (typeof VENTILATION_CLASSES)[number];

/** What a meter measures; the unit follows from it (see {@link UNITS}). */
export const METER_KINDS = ['electricity', 'water', 'gas'] as const;
export type MeterKind = (typeof METER_KINDS)[number];

/**
 * Sub-metering systems. `lighting-sockets`, `hvac`, `power` and `special` are the four
 * electricity items (照明插座用电, 空调用电, 动力用电, 特殊用电) of the 2008 technical guide for
 * energy monitoring of government office buildings; `total` is a building main meter and
 * `department` a meter of one department's own floors.
 */
export const METER_SYSTEMS = ['total', 'lighting-sockets', 'hvac', 'power', 'special', 'department'] as const;
export type MeterSystem = (typeof METER_SYSTEMS)[number];

export const VEHICLE_TYPES = [
  'sedan',
  'suv',
  'mpv',
  'minibus',
  'bus',
  'van',
  'pickup',
  'truck',
  'other',
] as const;
export type VehicleType = (typeof VEHICLE_TYPES)[number];

/** Vehicle energy: gasoline and diesel in litres, electric in kWh. */
export const VEHICLE_ENERGIES = ['gasoline', 'diesel', 'electric'] as const;
export type VehicleEnergy = (typeof VEHICLE_ENERGIES)[number];

export const ROOM_TYPES = ['meeting', 'office', 'canteen', 'other'] as const;
export type RoomType = (typeof ROOM_TYPES)[number];

/** What a room sensor can report (docs/architecture.md, telemetry contract). */
export const SENSOR_MEASURES = ['occupancy', 'temperature', 'humidity', 'co2', 'hvac', 'lights'] as const;
export type SensorMeasure = (typeof SENSOR_MEASURES)[number];

export const QUOTA_SCOPES = ['site', 'building', 'department'] as const;
export type QuotaScope = (typeof QUOTA_SCOPES)[number];

/** What a quota limits; `standard-coal` is total energy in kgce (综合能耗). */
export const QUOTA_KINDS = ['electricity', 'water', 'gas', 'gasoline', 'diesel', 'standard-coal'] as const;
export type QuotaKind = (typeof QUOTA_KINDS)[number];

/** Energies with a standard-coal and a CO2 factor. Water is reported in m³ only. */
export const FACTOR_ENERGIES = ['electricity', 'gas', 'gasoline', 'diesel'] as const;
export type FactorEnergy = (typeof FACTOR_ENERGIES)[number];

/** Time-of-use periods of an electricity tariff; every hour no period names is `flat`. */
export const TOU_PERIODS = ['sharp', 'peak', 'valley'] as const;
export type TouPeriod = (typeof TOU_PERIODS)[number] | 'flat';

/** The unit of each kind of quantity the file and the KPIs speak of. */
export const UNITS = {
  electricity: 'kWh',
  water: 'm³',
  gas: 'm³',
  gasoline: 'L',
  diesel: 'L',
  electric: 'kWh',
  'standard-coal': 'kgce',
} as const satisfies Record<MeterKind | VehicleEnergy | QuotaKind, string>;

// ---------------------------------------------------------------------------------------------
// Site and calendar
// ---------------------------------------------------------------------------------------------

export const SiteSchema = Type.Object(
  {
    id: Id('Site id; the second level of every MQTT topic (fac/{site}/…).'),
    name: NameSchema,
    timezone: Type.String({
      minLength: 1,
      description: 'IANA time zone of the site, e.g. Asia/Shanghai. Working hours are local time.',
    }),
    location: Type.Object(
      {
        lat: Type.Number({ minimum: -90, maximum: 90, description: 'Latitude, WGS-84 degrees.' }),
        lon: Type.Number({ minimum: -180, maximum: 180, description: 'Longitude, WGS-84 degrees.' }),
      },
      { additionalProperties: false },
    ),
    climateZone: StringEnum(CLIMATE_ZONES, {
      description: 'GB 50176 climate zone; selects the GB/T 51161 intensity values.',
    }),
    address: Type.Optional(Text('Postal address, for reports.')),
    lateWindow: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 8784,
        description:
          'Hours. A reading arriving later than this after its own time may fill a gap but not change a stored ' +
          'point (dead-lettered as `conflict`; corrections go through POST /api/v1/corrections). Default 48.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type Site = Static<typeof SiteSchema>;

export const CalendarFileSchema = Type.Object(
  {
    workdays: Type.Array(StringEnum(WEEKDAYS), {
      minItems: 1,
      uniqueItems: true,
      description: 'Usual working days of the week, e.g. [mon, tue, wed, thu, fri].',
    }),
    workingHours: TimeRange(
      'Local working hours on a workday, start inclusive, end exclusive; outside is off-hours.',
    ),
    holidays: Type.Optional(
      Type.Array(
        Type.String({
          pattern: DATE_RANGE_PATTERN,
          errorMessage: 'must be a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD',
        }),
        { description: 'Public holidays: single dates or inclusive ranges. No work on these days.' },
      ),
    ),
    extraWorkdays: Type.Optional(
      Type.Array(DateString('A make-up workday (调休上班).'), {
        description: 'Make-up workdays (调休上班): days off by the weekly rule that are worked.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CalendarFile = Static<typeof CalendarFileSchema>;
/** The site calendar with its lists present. */
export type CalendarSettings = Omit<CalendarFile, 'holidays' | 'extraWorkdays'> & {
  holidays: string[];
  extraWorkdays: string[];
};

// ---------------------------------------------------------------------------------------------
// Places and people
// ---------------------------------------------------------------------------------------------

/** A polygon vertex, `[lon, lat]` in WGS-84 degrees (GeoJSON order). */
export const PointSchema = Type.Tuple([Type.Number(), Type.Number()], {
  description: '[lon, lat], WGS-84 degrees.',
});

export const GeofenceSchema = Type.Object(
  {
    id: Id('Geofence id. `compound` and `service-area` are the ones the vehicle KPIs use.'),
    name: NameSchema,
    polygon: Type.Array(PointSchema, {
      description:
        'Simple polygon, at least 3 distinct [lon, lat] points; closing it (last = first) is optional.',
    }),
  },
  { additionalProperties: false },
);
export type Geofence = Static<typeof GeofenceSchema>;

/**
 * An asset's book value for straight-line depreciation (core/management/costs.ts): `value` CNY
 * on `date`, written down to `residualPercent` of it over `lifeYears`.
 */
const AssetSchema = (description: string) =>
  Type.Object(
    {
      value: Type.Number({ exclusiveMinimum: 0, description: 'Book value (原值), CNY.' }),
      date: DateString('Date it entered service (入账日期), YYYY-MM-DD.'),
      lifeYears: Type.Number({ exclusiveMinimum: 0, maximum: 100, description: 'Expected life, years.' }),
      residualPercent: Type.Optional(
        Type.Number({ minimum: 0, maximum: 100, description: 'Residual value, % of value; default 0.' }),
      ),
    },
    { additionalProperties: false, description },
  );

/** Items of a department's yearly budget (core/management/model.ts says what counts in each). */
export const BUDGET_ITEMS = [
  'electricity',
  'water',
  'gas',
  'vehicleFuel',
  'vehicleMaintenance',
  'property',
] as const;
export type BudgetItem = (typeof BUDGET_ITEMS)[number];

export const BudgetSchema = Type.Object(
  {
    year: Type.Integer({ minimum: 2000, maximum: 2100, description: 'Calendar year.' }),
    electricity: Type.Optional(Type.Number({ minimum: 0, description: 'Electricity, CNY a year.' })),
    water: Type.Optional(Type.Number({ minimum: 0, description: 'Water, CNY a year.' })),
    gas: Type.Optional(Type.Number({ minimum: 0, description: 'Gas, CNY a year.' })),
    vehicleFuel: Type.Optional(
      Type.Number({ minimum: 0, description: "Fuel and charging of the department's cars, CNY a year." }),
    ),
    vehicleMaintenance: Type.Optional(
      Type.Number({ minimum: 0, description: 'Maintenance, repairs and tyres of its cars, CNY a year.' }),
    ),
    property: Type.Optional(
      Type.Number({ minimum: 0, description: 'Property fee and building upkeep of its space, CNY a year.' }),
    ),
  },
  { additionalProperties: false },
);
/** A department's budget (预算) for one year, by item, CNY. */
export type Budget = Static<typeof BudgetSchema>;

export const BuildingSchema = Type.Object(
  {
    id: Id('Building id.'),
    name: NameSchema,
    use: StringEnum(BUILDING_USES),
    ventilationClass: Type.Optional(
      StringEnum(VENTILATION_CLASSES, {
        description: 'GB/T 51161 office class A or B; without it no standard intensity is applied.',
      }),
    ),
    floorArea: Positive('Gross floor area, m² (the denominator of every per-m² intensity).'),
    floors: PositiveInt('Floors above ground.'),
    basementFloors: Type.Optional(Type.Integer({ minimum: 0, description: 'Floors below ground.' })),
    yearBuilt: Type.Optional(Type.Integer({ minimum: 1800, maximum: 2200 })),
    asset: Type.Optional(
      AssetSchema('The building as an asset: book value, date, expected life (straight-line depreciation).'),
    ),
    propertyFeePerM2Year: Type.Optional(
      Type.Number({
        minimum: 0,
        description: 'Property management fee (物业费), CNY per m² of floor area per year.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type Building = Static<typeof BuildingSchema>;

export const DepartmentSpaceSchema = Type.Object(
  {
    building: Ref('Building the department occupies.'),
    area: Positive('Floor area it occupies there, m²; allocates common consumption.'),
  },
  { additionalProperties: false },
);
export type DepartmentSpace = Static<typeof DepartmentSpaceSchema>;

export const DepartmentFileSchema = Type.Object(
  {
    id: Id('Department id.'),
    name: NameSchema,
    headcount: PositiveInt('Staff, people; the denominator of per-person figures.'),
    spaces: Type.Optional(Type.Array(DepartmentSpaceSchema)),
    budgets: Type.Optional(
      Type.Array(BudgetSchema, { description: 'Yearly budgets by item, CNY; one entry per year.' }),
    ),
  },
  { additionalProperties: false },
);
export type DepartmentFile = Static<typeof DepartmentFileSchema>;
/** A department, with its spaces list present. */
export type Department = Omit<DepartmentFile, 'spaces'> & { spaces: DepartmentSpace[] };

export const RoomSchema = Type.Object(
  {
    id: Id('Room id.'),
    name: NameSchema,
    building: Ref('Building the room is in.'),
    floor: Type.Integer({ description: 'Floor number; negative for basements.' }),
    type: StringEnum(ROOM_TYPES),
    capacity: PositiveInt('Seats, people.'),
    area: Positive('Floor area, m².'),
    department: Type.Optional(Ref('Department the room belongs to, if not shared.')),
  },
  { additionalProperties: false },
);
export type Room = Static<typeof RoomSchema>;

// ---------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------

export const MeterSchema = Type.Object(
  {
    id: Id('Meter id; its MQTT username.'),
    name: Type.Optional(NameSchema),
    kind: StringEnum(METER_KINDS, { description: 'electricity (kWh), water (m³) or gas (m³).' }),
    building: Ref('Building the meter measures.'),
    system: StringEnum(METER_SYSTEMS),
    parent: Type.Optional(Ref('The meter this one is a sub-meter of: same kind, same building, no cycles.')),
    department: Type.Optional(Ref('Department measured; required for system `department`.')),
    interval: PositiveInt('Seconds between readings; silent for 3 intervals means offline.'),
    serial: Type.Optional(Text('Manufacturer serial or utility meter number (表号).')),
    // Register rules (core/register.ts); defaults per kind in meter-rules.ts.
    resolution: Type.Optional(
      Type.Number({
        minimum: 0,
        description:
          'Backward steps of the register up to this are jitter and count as zero, in the meter unit. Default 0.05.',
      }),
    ),
    maxRate: Type.Optional(
      Positive(
        'Highest plausible rate of use: kW for electricity, m³/h for water and gas. A lasting faster step is ' +
          'counted but flagged. Defaults: electricity 10000 kW, water 200 m³/h, gas 2000 m³/h.',
      ),
    ),
    outlierRun: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 10,
        description:
          'Longest run of readings left out as outliers when the readings around them agree; also how many ' +
          'readings after a drop decide it is a reset. Default 3.',
      }),
    ),
    registerMax: Type.Optional(
      Positive(
        'Highest value the register can show; it rolls over to 0 there. A reading above it is refused at ingest. ' +
          'Default 1e9.',
      ),
    ),
    ...credentialFields,
  },
  { additionalProperties: false },
);
export type Meter = Static<typeof MeterSchema>;

export const VehicleSchema = Type.Object(
  {
    id: Id('Vehicle id; its MQTT username.'),
    plate: Text('Licence plate, e.g. 川A·3G816.'),
    department: Ref('Department the vehicle is assigned to.'),
    type: StringEnum(VEHICLE_TYPES),
    energy: StringEnum(VEHICLE_ENERGIES, { description: 'gasoline, diesel (litres) or electric (kWh).' }),
    seats: PositiveInt('Seats, people.'),
    ratedConsumption: Positive('Rated consumption per 100 km, litres or kWh by energy.'),
    interval: PositiveInt('Seconds between GPS reports while driving.'),
    model: Type.Optional(Text('Make and model.')),
    purchase: Type.Optional(
      Type.Object(
        {
          price: Type.Number({ exclusiveMinimum: 0, description: 'Purchase price, CNY.' }),
          date: DateString('Purchase (registration) date, YYYY-MM-DD.'),
          lifeYears: Type.Number({ exclusiveMinimum: 0, maximum: 50, description: 'Expected life, years.' }),
          residualPercent: Type.Optional(
            Type.Number({ minimum: 0, maximum: 100, description: 'Residual value, % of price; default 0.' }),
          ),
        },
        {
          additionalProperties: false,
          description: 'Purchase data: straight-line depreciation to the residual over the expected life.',
        },
      ),
    ),
    insurance: Type.Optional(Type.Number({ minimum: 0, description: 'Insurance, CNY per year.' })),
    ...credentialFields,
  },
  { additionalProperties: false },
);
export type Vehicle = Static<typeof VehicleSchema>;

export const SensorSchema = Type.Object(
  {
    id: Id('Sensor id; its MQTT username.'),
    room: Ref('Room the sensor is in.'),
    measures: Type.Array(StringEnum(SENSOR_MEASURES), {
      minItems: 1,
      uniqueItems: true,
      description: 'What the sensor reports.',
    }),
    interval: PositiveInt('Seconds between state reports.'),
    ...credentialFields,
  },
  { additionalProperties: false },
);
export type Sensor = Static<typeof SensorSchema>;

// ---------------------------------------------------------------------------------------------
// Money, factors, quotas
// ---------------------------------------------------------------------------------------------

const Price = (description: string) => Type.Number({ minimum: 0, description });

export const TouSeasonSchema = Type.Object(
  {
    months: Type.Array(Type.Integer({ minimum: 1, maximum: 12 }), {
      minItems: 1,
      description: 'Months (1–12) this season applies to; every month in exactly one season.',
    }),
    sharp: Type.Optional(Type.Array(TimeRange('A sharp-peak (尖峰) period.'))),
    peak: Type.Optional(Type.Array(TimeRange('A peak period, e.g. "10:00-12:00".'))),
    valley: Type.Optional(Type.Array(TimeRange('A valley period; may wrap midnight, e.g. "22:00-08:00".'))),
  },
  { additionalProperties: false },
);
/** One season of a time-of-use tariff; hours no period names are flat. */
export type TouSeason = Static<typeof TouSeasonSchema>;

export const ElectricityTariffSchema = Type.Object(
  {
    prices: Type.Object(
      {
        flat: Price('Flat-period price per kWh.'),
        peak: Type.Optional(Price('Peak price per kWh.')),
        valley: Type.Optional(Price('Valley price per kWh.')),
        sharp: Type.Optional(Price('Sharp-peak price per kWh.')),
      },
      { additionalProperties: false },
    ),
    seasons: Type.Optional(
      Type.Array(TouSeasonSchema, {
        minItems: 1,
        description: 'Time-of-use seasons; without them every hour is flat.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ElectricityTariff = Static<typeof ElectricityTariffSchema>;

export const UnitPriceSchema = Type.Object(
  { price: Price('Price per unit.') },
  { additionalProperties: false },
);
export type UnitPrice = Static<typeof UnitPriceSchema>;

export const TariffsSchema = Type.Object(
  {
    currency: Type.Optional(
      Type.String({
        pattern: '^[A-Z]{3}$',
        description: 'ISO 4217 currency code; default CNY.',
        errorMessage: 'must be an ISO 4217 code such as CNY',
      }),
    ),
    electricity: Type.Optional(ElectricityTariffSchema),
    water: Type.Optional(UnitPriceSchema),
    gas: Type.Optional(UnitPriceSchema),
    gasoline: Type.Optional(UnitPriceSchema),
    diesel: Type.Optional(UnitPriceSchema),
  },
  { additionalProperties: false },
);
export type TariffsFile = Static<typeof TariffsSchema>;
/** Tariffs with the currency resolved. */
export type Tariffs = Omit<TariffsFile, 'currency'> & { currency: string };

const FactorSetSchema = (unit: string) =>
  Type.Object(
    {
      electricity: Type.Optional(Positive(`${unit} per kWh.`)),
      gas: Type.Optional(Positive(`${unit} per m³.`)),
      gasoline: Type.Optional(Positive(`${unit} per litre.`)),
      diesel: Type.Optional(Positive(`${unit} per litre.`)),
    },
    { additionalProperties: false },
  );

const FactorSourcesSchema = Type.Object(
  {
    electricity: Type.Optional(Text('Where the electricity factor comes from.')),
    gas: Type.Optional(Text('Where the gas factor comes from.')),
    gasoline: Type.Optional(Text('Where the gasoline factor comes from.')),
    diesel: Type.Optional(Text('Where the diesel factor comes from.')),
  },
  { additionalProperties: false },
);

export const FactorsFileSchema = Type.Object(
  {
    standardCoal: Type.Optional(FactorSetSchema('kgce')),
    co2: Type.Optional(FactorSetSchema('kg CO2')),
    sources: Type.Optional(
      Type.Object(
        { standardCoal: Type.Optional(FactorSourcesSchema), co2: Type.Optional(FactorSourcesSchema) },
        {
          additionalProperties: false,
          description: 'Where each factor the file gives comes from, e.g. "Sichuan grid 2023".',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type FactorsFile = Static<typeof FactorsFileSchema>;

/** Conversion factors, complete: the file's values, defaults for the rest. */
export interface Factors {
  /** kgce per kWh, m³, L, L. */
  standardCoal: Record<FactorEnergy, number>;
  /** kg CO2 per kWh, m³, L, L. */
  co2: Record<FactorEnergy, number>;
  /** Where each figure comes from, for display next to it (docs/standards.md asks for this). */
  sources: { standardCoal: Record<FactorEnergy, string>; co2: Record<FactorEnergy, string> };
}

/**
 * Default factors, used for every one the facility file omits. Each source is the one given in
 * `docs/standards.md`, with its confidence there.
 */
export const DEFAULT_FACTORS: Factors = {
  standardCoal: {
    // GB/T 2589-2020, 当量值 (calorific equivalent); secondary (2).
    electricity: 0.1229,
    // GB/T 2589-2020, gas-field natural gas (range 1.1000–1.3300); secondary (1).
    gas: 1.2143,
    // GB/T 2589-2020, 1.4714 kgce/kg × 0.74 kg/L (density assumed); secondary (2).
    gasoline: 1.0888,
    // GB/T 2589-2020, 1.4571 kgce/kg × 0.84 kg/L (density assumed); secondary (2).
    diesel: 1.224,
  },
  co2: {
    // National grid average 2023, 生态环境部、国家统计局公告 2025 年第 47 号; secondary (2).
    // The national figure, not a provincial one, because the default cannot know the province:
    // a file for a Sichuan site should give 0.1564 (same notice, table 3).
    electricity: 0.5306,
    // NDRC GHG accounting guide for public-building operators (2015), default values; secondary (1).
    gas: 2.165,
    // Same guide, 2.925 kg/kg × 0.74 kg/L; secondary (1).
    gasoline: 2.165,
    // Same guide, 3.096 kg/kg × 0.84 kg/L; secondary (1).
    diesel: 2.601,
  },
  sources: {
    standardCoal: {
      electricity: 'default: GB/T 2589-2020, calorific equivalent (当量值)',
      gas: 'default: GB/T 2589-2020, natural gas',
      gasoline: 'default: GB/T 2589-2020, 1.4714 kgce/kg at 0.74 kg/L',
      diesel: 'default: GB/T 2589-2020, 1.4571 kgce/kg at 0.84 kg/L',
    },
    co2: {
      electricity: 'default: national grid average 2023, MEE/NBS notice 2025 No. 47',
      gas: 'default: NDRC public-building GHG accounting guide (2015)',
      gasoline: 'default: NDRC public-building GHG accounting guide (2015), 0.74 kg/L',
      diesel: 'default: NDRC public-building GHG accounting guide (2015), 0.84 kg/L',
    },
  },
};

/** Source recorded for a factor the file gives without naming a source. */
export const FILE_FACTOR_SOURCE = 'facility file';

export const QuotaSchema = Type.Object(
  {
    scope: StringEnum(QUOTA_SCOPES),
    id: Ref('Id of the site, building or department the quota applies to.'),
    kind: StringEnum(QUOTA_KINDS, { description: 'What is limited; the unit follows (see UNITS).' }),
    year: Type.Integer({ minimum: 2000, maximum: 2100, description: 'Calendar year.' }),
    amount: Positive('Annual amount in the unit of `kind`; pro-rated to shorter periods by days.'),
  },
  { additionalProperties: false },
);
/** An annual quota (定额). */
export type Quota = Static<typeof QuotaSchema>;

// ---------------------------------------------------------------------------------------------
// Management: feedback services, cost settings, the scorecard
// ---------------------------------------------------------------------------------------------

export const FeedbackServiceSchema = Type.Object(
  {
    id: Id('Service id; its feedback page is /feedback/{id}. Must not be a room id.'),
    name: NameSchema,
  },
  { additionalProperties: false },
);
/** A service occupants rate (canteen, vehicle pool…), besides the rooms. */
export type FeedbackService = Static<typeof FeedbackServiceSchema>;

export const FeedbackSettingsSchema = Type.Object(
  {
    services: Type.Optional(
      Type.Array(FeedbackServiceSchema, {
        description:
          'Services with a feedback page of their own; default canteen, vehicle-pool, meeting-booking, property-service.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type FeedbackSettings = Static<typeof FeedbackSettingsSchema>;

export const CostSettingsSchema = Type.Object(
  {
    replacementMultiple: Type.Optional(
      Type.Number({
        exclusiveMinimum: 1,
        description:
          "A car whose last 12 months' cost per km exceeds this multiple of the fleet median is flagged for replacement; default 1.5.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type CostSettings = Static<typeof CostSettingsSchema>;

/** The scorecard's indicators, by perspective (core/management/scorecard.ts defines each). */
export const SCORECARD_INDICATORS = {
  cost: ['energyCostPerCapita', 'vehicleCostPerCapita'],
  process: ['quotaUsePercent', 'offHoursShare', 'conditionedEmptyHours', 'vehicleUtilization'],
  service: ['satisfactionScore', 'feedbackAnswers'],
  improvement: ['yoyChangePercent', 'alertsAckInTime'],
} as const;
export type ScorecardPerspective = keyof typeof SCORECARD_INDICATORS;
export type ScorecardIndicator = (typeof SCORECARD_INDICATORS)[ScorecardPerspective][number];

const IndicatorSettingsSchema = Type.Object(
  {
    weight: Type.Optional(Type.Number({ minimum: 0, description: 'Weight within its perspective.' })),
    target: Type.Optional(
      Type.Number({ description: 'Value that scores 100 (not for the budget-based cost indicators).' }),
    ),
    zeroAt: Type.Optional(
      Type.Number({
        description:
          'Value that scores 0; for the cost indicators, a multiple of the budget target (default 1.5).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ScorecardSettingsSchema = Type.Object(
  {
    weights: Type.Optional(
      Type.Object(
        {
          cost: Type.Optional(Type.Number({ minimum: 0 })),
          process: Type.Optional(Type.Number({ minimum: 0 })),
          service: Type.Optional(Type.Number({ minimum: 0 })),
          improvement: Type.Optional(Type.Number({ minimum: 0 })),
        },
        { additionalProperties: false, description: 'Weight of each perspective; default 25 each.' },
      ),
    ),
    indicators: Type.Optional(
      Type.Object(
        Object.fromEntries(
          Object.values(SCORECARD_INDICATORS)
            .flat()
            .map((name) => [name, Type.Optional(IndicatorSettingsSchema)]),
        ),
        { additionalProperties: false, description: 'Weight, target and zero point of each indicator.' },
      ),
    ),
    ackWithinMinutes: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        description: 'An alert acknowledged within this many minutes counts as in time; default 30.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ScorecardSettings = Static<typeof ScorecardSettingsSchema>;

// ---------------------------------------------------------------------------------------------
// The file
// ---------------------------------------------------------------------------------------------

/** The only facility file format version this program reads. */
export const FORMAT_VERSION = 1;

/** The whole facility file, format version 1. */
export const FacilitySchema = Type.Object(
  {
    version: Type.Literal(FORMAT_VERSION, { description: 'Format version of the file.' }),
    site: SiteSchema,
    calendar: CalendarFileSchema,
    geofences: Type.Optional(Type.Array(GeofenceSchema)),
    buildings: Type.Array(BuildingSchema, { minItems: 1 }),
    departments: Type.Optional(Type.Array(DepartmentFileSchema)),
    meters: Type.Optional(Type.Array(MeterSchema)),
    vehicles: Type.Optional(Type.Array(VehicleSchema)),
    rooms: Type.Optional(Type.Array(RoomSchema)),
    sensors: Type.Optional(Type.Array(SensorSchema)),
    tariffs: Type.Optional(TariffsSchema),
    factors: Type.Optional(FactorsFileSchema),
    quotas: Type.Optional(Type.Array(QuotaSchema)),
    feedback: Type.Optional(FeedbackSettingsSchema),
    costs: Type.Optional(CostSettingsSchema),
    scorecard: Type.Optional(ScorecardSettingsSchema),
    alerts: Type.Optional(
      Type.Unknown({
        description:
          'Alert rules and webhooks (core/alerts/rules.ts): `rules` merged over the default rules by id, ' +
          '`defaults: false` to start from none, `webhooks` (json, wecom, dingtalk).',
      }),
    ),
  },
  { additionalProperties: false },
);

/**
 * The `alerts:` section as written; checked in full by core/alerts/rules.ts (`resolveAlerts`),
 * which this module does not import (it imports this one).
 */
export interface AlertsSection {
  defaults?: boolean;
  rules?: Record<string, unknown>[];
  webhooks?: Record<string, unknown>[];
}
/** The facility file as written: optional parts may be absent. */
export type FacilityFile = Static<typeof FacilitySchema>;

/** A validated facility with every default filled in: what the rest of the program uses. */
export interface Facility {
  version: typeof FORMAT_VERSION;
  site: Site;
  calendar: CalendarSettings;
  geofences: Geofence[];
  buildings: Building[];
  departments: Department[];
  meters: Meter[];
  vehicles: Vehicle[];
  rooms: Room[];
  sensors: Sensor[];
  tariffs: Tariffs;
  factors: Factors;
  quotas: Quota[];
  /** Feedback services, cost settings and scorecard weights as the file gives them (defaults: core/management/model.ts). */
  feedback?: FeedbackSettings;
  costs?: CostSettings;
  scorecard?: ScorecardSettings;
  /** Alert rules and webhooks, defaults resolved (core/alerts/rules.ts). */
  alerts: AlertSettings;
}
