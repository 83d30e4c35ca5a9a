/**
 * Alert rules: what the alert engine looks for, as the facility file's `alerts:` section and
 * `PUT /api/v1/alert-rules` give them. TypeBox schemas per rule type, the defaults for a facility
 * (sensible for the reference compound), and validation that reports every problem at once with
 * the path of each bad field, as the rest of the facility file does.
 *
 * A rule has an `id` (unique), a `type`, a `severity`, `enabled`, `forMinutes` (how long its
 * condition must hold before it fires), `clearMinutes` (how long it must be clear before an open
 * alert resolves by itself) and the parameters of its type. What each type watches, and its
 * defaults, are in {@link RULE_TYPES} and the schemas below; `core/alerts/evaluate.ts` holds the
 * definitions in full.
 *
 * In the facility file, `alerts.rules` is merged over the defaults by id: a rule with the id of
 * a default rule changes only the fields it gives (`enabled: false` turns it off), another id
 * adds a rule. `alerts.defaults: false` starts from no rule at all. Through the API the list is
 * replaced whole.
 */
import { type Static, type TLiteral, type TObject, type TSchema, type TUnion, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { PathProblem, PathSegment } from '../facility/problem.ts';
import { ID_MAX_LENGTH, ID_PATTERN, NameSchema, TIME_RANGE_PATTERN } from '../facility/schema.ts';
import { didYouMean } from '../facility/suggest.ts';

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Rank of a severity: info 0, warning 1, critical 2. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** The types of rule, with what each watches (for documentation and the API). */
export const RULE_TYPES = {
  'energy-quota':
    "a scope's consumption so far today or this month above its quota pro-rated to now, by a margin",
  'energy-baseline':
    "a scope's consumption so far today above its baseline (the mean of the same weekday up to the same time over the previous weeks), by a margin",
  'quota-forecast': 'the projected year-end use of a scope above its annual quota',
  'off-hours-load':
    "a building's power outside working time (nights, weekends, holidays) above a threshold or above its own usual level at that hour",
  'water-leak':
    "a water meter's flow that never drops at night: the night's lowest flow well above its usual",
  'room-empty-conditioned': 'HVAC (or lights) on in a room with nobody there for longer than N minutes',
  'room-setpoint': 'a room cooled below 26 °C or heated above 20 °C for N minutes (public-building rule)',
  'room-co2': 'CO2 above 1000 ppm for N minutes',
  'vehicle-off-hours': 'an official car moving outside working time',
  'vehicle-geofence': 'an official car outside the service area',
  'vehicle-speeding': 'an official car above the speed limit',
  'device-offline': 'a device with no data for 3 × its reporting interval',
  'data-quality': 'a device whose messages are dead-lettered more than N times an hour',
} as const;
export type RuleType = keyof typeof RULE_TYPES;
export const RULE_TYPE_NAMES = Object.keys(RULE_TYPES) as RuleType[];

export const QUOTA_SCOPES = ['site', 'building', 'department'] as const;
export const ENERGY_KINDS = ['electricity', 'water', 'gas'] as const;
export type EnergyKindName = (typeof ENERGY_KINDS)[number];
export const FORECAST_KINDS = ['electricity', 'water', 'gas', 'gasoline', 'diesel', 'standard-coal'] as const;
export const DEVICE_KINDS = ['meter', 'vehicle', 'sensor'] as const;

/** A union of string literals (TypeBox checks it; a JSON Schema reader sees `anyOf` of `const`s). */
const Enum = <const T extends readonly [string, ...string[]]>(values: T, description: string) =>
  Type.Union(
    values.map((value) => Type.Literal(value)),
    { description },
  ) as unknown as TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }>;
const List = <const T extends readonly [string, ...string[]]>(values: T, description: string) =>
  Type.Array(Enum(values, description), { minItems: 1, uniqueItems: true, description });
const Minutes = (description: string) => Type.Number({ minimum: 0, maximum: 10_080, description });
const NonNegative = (description: string) => Type.Number({ minimum: 0, description });
const Percent = (description: string) => Type.Number({ minimum: 0, maximum: 10_000, description });
const ClockRange = (description: string) =>
  Type.String({
    pattern: TIME_RANGE_PATTERN,
    description,
    errorMessage: 'must be a time range written HH:MM-HH:MM, e.g. "00:00-05:00"',
  });

const common = {
  id: Type.String({
    pattern: ID_PATTERN,
    maxLength: ID_MAX_LENGTH,
    description: 'Rule id, unique; alerts name it.',
    errorMessage: 'must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
  }),
  severity: Enum(SEVERITIES, 'info, warning or critical.'),
  enabled: Type.Boolean({ description: 'false keeps the rule but evaluates nothing.' }),
  forMinutes: Minutes('How long the condition must hold before the alert fires, minutes.'),
  clearMinutes: Minutes('How long the condition must be clear before an open alert resolves, minutes.'),
  name: Type.Optional(NameSchema),
};

/** The schema of each rule type, every field present (the resolved form; the file may omit any but id and type). */
export const RULE_SCHEMAS = {
  'energy-quota': Type.Object(
    {
      ...common,
      type: Type.Literal('energy-quota'),
      period: Enum(['day', 'month'] as const, 'day or month: consumption so far in it.'),
      scopes: List(QUOTA_SCOPES, 'Quota scopes watched: site, building, department.'),
      kinds: List(ENERGY_KINDS, 'Energies watched: electricity, water, gas.'),
      marginPercent: Percent('Fires when the consumption is this much above the pro-rated quota, %.'),
      hysteresisPercent: Percent('Resolves only once this much below the firing level, % of it.'),
    },
    { additionalProperties: false },
  ),
  'energy-baseline': Type.Object(
    {
      ...common,
      type: Type.Literal('energy-baseline'),
      scopes: List(['site', 'building', 'department'] as const, 'Scopes watched.'),
      kinds: List(ENERGY_KINDS, 'Energies watched.'),
      weeks: Type.Integer({ minimum: 1, maximum: 12, description: 'Weeks the baseline is the mean of.' }),
      marginPercent: Percent('Fires this much above the baseline, %.'),
      minExcessKwh: NonNegative('…and at least this much above it, kWh (electricity).'),
      minExcessM3: NonNegative('…and at least this much above it, m³ (water and gas).'),
      minElapsedHours: Type.Number({
        minimum: 0,
        maximum: 23,
        description: 'Judged only once this much of the day is over, hours.',
      }),
      hysteresisPercent: Percent('Resolves only once this much below the firing level, %.'),
    },
    { additionalProperties: false },
  ),
  'quota-forecast': Type.Object(
    {
      ...common,
      type: Type.Literal('quota-forecast'),
      scopes: List(QUOTA_SCOPES, 'Quota scopes watched.'),
      kinds: List(FORECAST_KINDS, 'Quota kinds watched.'),
      marginPercent: Percent('Fires when the projection is this much above the annual quota, %.'),
      everyMinutes: Type.Number({
        minimum: 5,
        maximum: 1440,
        description: 'How often the projection is computed, minutes.',
      }),
    },
    { additionalProperties: false },
  ),
  'off-hours-load': Type.Object(
    {
      ...common,
      type: Type.Literal('off-hours-load'),
      thresholdKw: Type.Union([Type.Null(), NonNegative('kW')], {
        description: 'Fires above this power in every building, kW; null: only the usual level counts.',
      }),
      buildings: Type.Record(Type.String(), NonNegative('kW'), {
        description: 'Thresholds per building id, kW, in place of thresholdKw.',
      }),
      usualMarginPercent: Type.Union([Type.Null(), Percent('%')], {
        description:
          'Fires this much above the building’s usual power at that hour of a day of the same kind (worked or off), %; null: not compared.',
      }),
      minExcessKw: NonNegative('…and at least this much above it, kW.'),
      days: Type.Integer({
        minimum: 1,
        maximum: 14,
        description: 'Days looked back for the usual level (those of the same kind count), at most 14.',
      }),
      hysteresisPercent: Percent('Resolves only once this much below the firing level, %.'),
    },
    { additionalProperties: false },
  ),
  'water-leak': Type.Object(
    {
      ...common,
      type: Type.Literal('water-leak'),
      night: ClockRange('Local night hours judged, e.g. "00:00-05:00".'),
      minNightHours: Type.Number({
        minimum: 0.25,
        maximum: 12,
        description: 'A night is judged once this much of it is over, hours.',
      }),
      minExcessM3h: NonNegative(
        'Fires when the night’s lowest 15-minute flow is this much above its usual, m³/h…',
      ),
      marginPercent: Percent('…and this much above it, %.'),
      nights: Type.Integer({
        minimum: 1,
        maximum: 14,
        description: 'Nights the usual is the median of, at most 14.',
      }),
    },
    { additionalProperties: false },
  ),
  'room-empty-conditioned': Type.Object(
    {
      ...common,
      type: Type.Literal('room-empty-conditioned'),
      lights: Type.Boolean({ description: 'Lights on in an empty room count too.' }),
    },
    { additionalProperties: false },
  ),
  'room-setpoint': Type.Object(
    {
      ...common,
      type: Type.Literal('room-setpoint'),
      coolingBelowC: Type.Number({ minimum: -50, maximum: 60, description: 'Cooling below this, °C.' }),
      heatingAboveC: Type.Number({ minimum: -50, maximum: 60, description: 'Heating above this, °C.' }),
    },
    { additionalProperties: false },
  ),
  'room-co2': Type.Object(
    {
      ...common,
      type: Type.Literal('room-co2'),
      thresholdPpm: Type.Number({ minimum: 400, maximum: 50_000, description: 'ppm.' }),
      hysteresisPpm: NonNegative('Resolves below the threshold minus this, ppm.'),
    },
    { additionalProperties: false },
  ),
  'vehicle-off-hours': Type.Object(
    { ...common, type: Type.Literal('vehicle-off-hours') },
    { additionalProperties: false },
  ),
  'vehicle-geofence': Type.Object(
    {
      ...common,
      type: Type.Literal('vehicle-geofence'),
      geofence: Type.String({ minLength: 1, description: 'Geofence id the cars must stay inside.' }),
    },
    { additionalProperties: false },
  ),
  'vehicle-speeding': Type.Object(
    {
      ...common,
      type: Type.Literal('vehicle-speeding'),
      limitKmh: Type.Number({ exclusiveMinimum: 0, maximum: 300, description: 'km/h.' }),
      hysteresisKmh: NonNegative('Resolves below the limit minus this, km/h.'),
    },
    { additionalProperties: false },
  ),
  'device-offline': Type.Object(
    {
      ...common,
      type: Type.Literal('device-offline'),
      intervals: Type.Number({
        minimum: 1,
        maximum: 1000,
        description: 'Offline after this many reporting intervals without data.',
      }),
      parkedVehicleSeconds: Type.Integer({
        minimum: 1,
        description: 'Reporting interval of a parked car (its tracker’s heartbeat), s.',
      }),
      kinds: List(DEVICE_KINDS, 'Device kinds watched.'),
    },
    { additionalProperties: false },
  ),
  'data-quality': Type.Object(
    {
      ...common,
      type: Type.Literal('data-quality'),
      maxPerHour: Type.Integer({
        minimum: 0,
        description: 'Fires above this many dead-lettered messages in an hour.',
      }),
    },
    { additionalProperties: false },
  ),
} as const satisfies Record<RuleType, TObject>;

export type RuleOf<T extends RuleType> = Static<(typeof RULE_SCHEMAS)[T]>;
/** A resolved alert rule: every field present. */
export type AlertRule = { [T in RuleType]: RuleOf<T> }[RuleType];

type Defaults<T extends RuleType> = Omit<RuleOf<T>, 'id' | 'type' | 'name'>;

/** Field defaults of each type (a rule given with only id and type gets these). */
export const RULE_DEFAULTS: { readonly [T in RuleType]: Defaults<T> } = {
  'energy-quota': {
    severity: 'warning',
    enabled: true,
    forMinutes: 15,
    clearMinutes: 15,
    period: 'month',
    scopes: ['site', 'building', 'department'],
    kinds: ['electricity', 'water', 'gas'],
    marginPercent: 10,
    hysteresisPercent: 5,
  },
  'energy-baseline': {
    severity: 'warning',
    enabled: true,
    forMinutes: 30,
    clearMinutes: 30,
    scopes: ['site', 'building'],
    kinds: ['electricity'],
    weeks: 4,
    marginPercent: 30,
    minExcessKwh: 200,
    minExcessM3: 5,
    minElapsedHours: 3,
    hysteresisPercent: 5,
  },
  'quota-forecast': {
    severity: 'warning',
    enabled: true,
    forMinutes: 0,
    clearMinutes: 0,
    scopes: ['site', 'building', 'department'],
    kinds: ['electricity', 'water', 'gas', 'standard-coal'],
    marginPercent: 0,
    everyMinutes: 60,
  },
  'off-hours-load': {
    severity: 'warning',
    enabled: true,
    forMinutes: 30,
    clearMinutes: 15,
    thresholdKw: null,
    buildings: {},
    usualMarginPercent: 50,
    minExcessKw: 20,
    days: 14,
    hysteresisPercent: 10,
  },
  'water-leak': {
    severity: 'critical',
    enabled: true,
    forMinutes: 0,
    clearMinutes: 0,
    night: '00:00-05:00',
    minNightHours: 2,
    minExcessM3h: 0.15,
    marginPercent: 50,
    nights: 7,
  },
  'room-empty-conditioned': {
    severity: 'info',
    enabled: true,
    forMinutes: 15,
    clearMinutes: 5,
    lights: true,
  },
  'room-setpoint': {
    severity: 'info',
    enabled: true,
    forMinutes: 30,
    clearMinutes: 10,
    coolingBelowC: 26,
    heatingAboveC: 20,
  },
  'room-co2': {
    severity: 'warning',
    enabled: true,
    forMinutes: 10,
    clearMinutes: 5,
    thresholdPpm: 1000,
    hysteresisPpm: 50,
  },
  'vehicle-off-hours': { severity: 'warning', enabled: true, forMinutes: 3, clearMinutes: 10 },
  'vehicle-geofence': {
    severity: 'warning',
    enabled: true,
    forMinutes: 0,
    clearMinutes: 2,
    geofence: 'service-area',
  },
  'vehicle-speeding': {
    severity: 'warning',
    enabled: true,
    forMinutes: 0.5,
    clearMinutes: 1,
    limitKmh: 80,
    hysteresisKmh: 5,
  },
  'device-offline': {
    severity: 'warning',
    enabled: true,
    forMinutes: 0,
    clearMinutes: 0,
    intervals: 3,
    parkedVehicleSeconds: 300,
    kinds: ['meter', 'vehicle', 'sensor'],
  },
  'data-quality': { severity: 'warning', enabled: true, forMinutes: 0, clearMinutes: 10, maxPerHour: 10 },
};

/** The default rules of a facility: one of each type, its id the type's name. */
export function defaultRules(): AlertRule[] {
  return RULE_TYPE_NAMES.map(
    (type) => ({ id: type, type, ...structuredClone(RULE_DEFAULTS[type]) }) as AlertRule,
  );
}

// ------------------------------------------------------------------------------------ webhooks

export const WEBHOOK_FORMATS = ['json', 'wecom', 'dingtalk'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];
export const ALERT_EVENTS = ['fired', 'acknowledged', 'commented', 'resolved'] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

export const WebhookSchema = Type.Object(
  {
    id: common.id,
    format: Enum(
      WEBHOOK_FORMATS,
      'json (the alert as JSON), wecom (企业微信群机器人 text), dingtalk (钉钉群机器人 text).',
    ),
    url: Type.String({
      pattern: '^https?://',
      description: 'Where to POST; for WeCom and DingTalk the robot’s webhook address with its key.',
      errorMessage: 'must be an http:// or https:// address',
    }),
    secret: Type.Optional(
      Type.String({ minLength: 1, description: 'DingTalk: the robot’s signing secret (加签), SEC….' }),
    ),
    minSeverity: Type.Optional(Enum(SEVERITIES, 'Least severity sent. Default warning.')),
    events: Type.Optional(List(ALERT_EVENTS, 'Which changes are sent. Default fired and resolved.')),
  },
  { additionalProperties: false },
);
export type WebhookFile = Static<typeof WebhookSchema>;
/** A webhook with its defaults filled in. */
export interface Webhook {
  readonly id: string;
  readonly format: WebhookFormat;
  readonly url: string;
  readonly secret?: string;
  readonly minSeverity: Severity;
  readonly events: readonly AlertEvent[];
}

/** The facility file's `alerts:` section as written. Rules are checked one by one (see {@link checkAlerts}). */
export const AlertsFileSchema = Type.Object(
  {
    defaults: Type.Optional(
      Type.Boolean({ description: 'Start from the default rules (default true); false: only those listed.' }),
    ),
    rules: Type.Optional(
      Type.Array(Type.Object({}, { additionalProperties: true }), {
        description: 'Rules, merged over the defaults by id.',
      }),
    ),
    webhooks: Type.Optional(Type.Array(WebhookSchema)),
  },
  { additionalProperties: false },
);
export type AlertsFile = Static<typeof AlertsFileSchema>;

/** The resolved alert settings of a facility. */
export interface AlertSettings {
  readonly rules: readonly AlertRule[];
  readonly webhooks: readonly Webhook[];
}

/** What references in rules are checked against. */
export interface RuleContext {
  readonly buildings: readonly string[];
  readonly geofences: readonly string[];
}

type Rec = Record<string, unknown>;
const isRec = (value: unknown): value is Rec =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Resolves a list of rules as given (each possibly partial), merged over `base` by id when `base`
 * is given; reports every problem with its path under `at`. Unknown fields, wrong types and
 * references to unknown buildings or geofences are problems.
 */
export function resolveRules(
  given: readonly unknown[],
  context: RuleContext,
  at: readonly PathSegment[],
  base?: readonly AlertRule[],
): { rules: AlertRule[]; problems: PathProblem[] } {
  const problems: PathProblem[] = [];
  const rules: AlertRule[] = base ? base.map((r) => structuredClone(r)) : [];
  const seen = new Set<string>();
  given.forEach((raw, index) => {
    const path = [...at, index];
    if (!isRec(raw)) {
      problems.push({ path, message: 'must be a mapping (id: …, type: …)' });
      return;
    }
    const id = raw.id;
    if (typeof id !== 'string' || id === '') {
      problems.push({ path: [...path, 'id'], message: 'required field is missing', at: 'parent' });
      return;
    }
    if (seen.has(id)) {
      problems.push({ path: [...path, 'id'], message: `rule "${id}" is listed twice` });
      return;
    }
    seen.add(id);
    const existing = rules.findIndex((r) => r.id === id);
    const previous = existing >= 0 ? rules[existing] : undefined;
    const type = raw.type ?? previous?.type;
    if (typeof type !== 'string' || !(type in RULE_SCHEMAS)) {
      problems.push(
        type === undefined
          ? { path: [...path, 'type'], message: 'required field is missing', at: 'parent' }
          : {
              path: [...path, 'type'],
              message: `${JSON.stringify(type)} is not one of ${RULE_TYPE_NAMES.join(', ')}${typeof type === 'string' ? didYouMean(type, RULE_TYPE_NAMES) : ''}`,
            },
      );
      return;
    }
    if (previous && previous.type !== type) {
      problems.push({
        path: [...path, 'type'],
        message: `rule "${id}" is a ${previous.type} rule; give another id for a ${type} rule`,
      });
      return;
    }
    const ruleType = type as RuleType;
    const merged = {
      ...(previous ?? { id, type: ruleType, ...structuredClone(RULE_DEFAULTS[ruleType]) }),
      ...raw,
    };
    const schema: TSchema = RULE_SCHEMAS[ruleType];
    const found = schemaProblems(schema, merged, path, raw);
    if (found.length > 0) {
      problems.push(...found);
      return;
    }
    const rule = merged as AlertRule;
    problems.push(...referenceProblems(rule, context, path));
    if (existing >= 0) rules[existing] = rule;
    else rules.push(rule);
  });
  return { rules, problems };
}

/** The facility's alert settings from its `alerts:` section (absent: the defaults, no webhooks). */
export function resolveAlerts(
  file: unknown,
  context: RuleContext,
): { settings: AlertSettings; problems: PathProblem[] } {
  const problems: PathProblem[] = [];
  if (file !== undefined && !isRec(file)) {
    problems.push({ path: ['alerts'], message: 'must be a mapping (rules: …, webhooks: …)' });
  }
  const section = isRec(file) ? file : {};
  for (const key of Object.keys(section)) {
    if (!(key in AlertsFileSchema.properties)) {
      problems.push({
        path: ['alerts', key],
        message: `unknown field${didYouMean(key, Object.keys(AlertsFileSchema.properties))}`,
        at: 'key',
      });
    }
  }
  if (section.defaults !== undefined && typeof section.defaults !== 'boolean') {
    problems.push({ path: ['alerts', 'defaults'], message: 'must be true or false' });
  }
  for (const key of ['rules', 'webhooks'] as const) {
    if (section[key] !== undefined && !Array.isArray(section[key])) {
      problems.push({ path: ['alerts', key], message: 'must be a list' });
    }
  }
  const base = section.defaults === false ? [] : defaultRules();
  const given = Array.isArray(section.rules) ? section.rules : [];
  const resolved = resolveRules(given, context, ['alerts', 'rules'], base);
  const rules = resolved.rules;
  problems.push(...resolved.problems);
  const webhooks: Webhook[] = [];
  const ids = new Set<string>();
  if (Array.isArray(section.webhooks)) {
    section.webhooks.forEach((raw, index) => {
      if (!isRec(raw)) return;
      const path: PathSegment[] = ['alerts', 'webhooks', index];
      const found = schemaProblems(WebhookSchema, raw, path, raw);
      if (found.length > 0) {
        problems.push(...found);
        return;
      }
      const hook = raw as WebhookFile;
      if (ids.has(hook.id))
        problems.push({ path: [...path, 'id'], message: `webhook "${hook.id}" is listed twice` });
      ids.add(hook.id);
      if (hook.secret !== undefined && hook.format !== 'dingtalk') {
        problems.push({ path: [...path, 'secret'], message: 'only a dingtalk robot signs with a secret' });
      }
      webhooks.push({
        id: hook.id,
        format: hook.format,
        url: hook.url,
        ...(hook.secret === undefined ? {} : { secret: hook.secret }),
        minSeverity: hook.minSeverity ?? 'warning',
        events: hook.events ?? ['fired', 'resolved'],
      });
    });
  }
  return { settings: { rules, webhooks }, problems };
}

function referenceProblems(
  rule: AlertRule,
  context: RuleContext,
  path: readonly PathSegment[],
): PathProblem[] {
  const problems: PathProblem[] = [];
  if (rule.type === 'off-hours-load') {
    for (const building of Object.keys(rule.buildings)) {
      if (!context.buildings.includes(building)) {
        problems.push({
          path: [...path, 'buildings', building],
          message: `no building "${building}"${didYouMean(building, context.buildings)}`,
          at: 'key',
        });
      }
    }
  }
  if (rule.type === 'vehicle-geofence' && !context.geofences.includes(rule.geofence)) {
    problems.push({
      path: [...path, 'geofence'],
      message: `no geofence "${rule.geofence}"${didYouMean(rule.geofence, context.geofences)}`,
    });
  }
  if (rule.type === 'water-leak') {
    const [from, to] = rule.night.split('-');
    if (from === to) problems.push({ path: [...path, 'night'], message: 'the night must not be empty' });
  }
  return problems;
}

/**
 * Problems of `value` against `schema`, one per field, in plain words, located under `path`.
 * `given` is what the caller wrote (the merged value holds defaults too): a problem of a field
 * they did not give is still reported, at its path.
 */
function schemaProblems(
  schema: TSchema,
  value: unknown,
  path: readonly PathSegment[],
  _given: unknown,
): PathProblem[] {
  const problems: PathProblem[] = [];
  const seen = new Set<string>();
  for (const error of Value.Errors(schema, value)) {
    const segments = error.path
      .split('/')
      .slice(1)
      .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    const at = [...path, ...segments];
    const key = at.join('/');
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({
      path: at,
      ...describe(error.schema, error.value, error.type, error.message, segments, schema),
    });
  }
  return problems;
}

function describe(
  schema: TSchema,
  value: unknown,
  type: number,
  fallback: string,
  segments: readonly (string | number)[],
  root: TSchema,
): { message: string; at?: 'key' | 'parent' } {
  const custom = (schema as { errorMessage?: string }).errorMessage;
  const show = (v: unknown) => (typeof v === 'string' ? `"${v}"` : (JSON.stringify(v) ?? 'nothing'));
  const name = segments.at(-1);
  const properties = (root as { properties?: Record<string, unknown> }).properties ?? {};
  // 42: ObjectAdditionalProperties; 45: ObjectRequiredProperty (TypeBox ValueErrorType).
  if (segments.length === 1 && typeof name === 'string' && !(name in properties)) {
    return { message: `unknown field${didYouMean(name, Object.keys(properties))}`, at: 'key' };
  }
  if (value === undefined) return { message: 'required field is missing', at: 'parent' };
  if (custom) return { message: `${show(value)} ${custom}` };
  const s = schema as Record<string, unknown>;
  if (Array.isArray(s.enum)) {
    const allowed = s.enum as string[];
    return {
      message: `${show(value)} is not one of ${allowed.join(', ')}${typeof value === 'string' ? didYouMean(value, allowed) : ''}`,
    };
  }
  if (s.const !== undefined) return { message: `must be ${JSON.stringify(s.const)}, not ${show(value)}` };
  if (s.type === 'number' || s.type === 'integer') {
    if (typeof value !== 'number') return { message: `must be a number, not ${show(value)}` };
    if (s.type === 'integer' && !Number.isInteger(value))
      return { message: `must be a whole number, not ${value}` };
    const bounds = [
      s.minimum !== undefined ? `at least ${s.minimum}` : undefined,
      s.exclusiveMinimum !== undefined ? `greater than ${s.exclusiveMinimum}` : undefined,
      s.maximum !== undefined ? `at most ${s.maximum}` : undefined,
    ].filter(Boolean);
    return { message: `must be ${bounds.join(' and ')}, not ${value}` };
  }
  if (s.type === 'boolean') return { message: `must be true or false, not ${show(value)}` };
  if (s.type === 'array') {
    if (!Array.isArray(value)) return { message: `must be a list, not ${show(value)}` };
    if (s.minItems === 1 && value.length === 0) return { message: 'must not be empty' };
    return { message: 'lists a value more than once' };
  }
  if (s.type === 'string' && typeof value !== 'string')
    return { message: `must be text, not ${show(value)}` };
  if (s.type === 'object' && !isRec(value))
    return { message: `must be a mapping (key: value), not ${show(value)}` };
  if (Array.isArray(s.anyOf)) {
    const allowed = (s.anyOf as { const?: unknown }[]).map((option) => option.const);
    if (allowed.every((a) => typeof a === 'string')) {
      const names = allowed as string[];
      return {
        message: `${show(value)} is not one of ${names.join(', ')}${typeof value === 'string' ? didYouMean(value, names) : ''}`,
      };
    }
    return { message: `${show(value)} is not allowed here (${fallback})` };
  }
  void type;
  return { message: fallback };
}
