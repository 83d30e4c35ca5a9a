/**
 * Validation of parsed facility data: the schema, then the cross-checks, every problem at once,
 * in words an operator understands. Works on plain data (what a YAML or JSON parser returns),
 * so the API can validate an uploaded facility the same way the CLI checks a file.
 */
import type { TSchema } from '@sinclair/typebox';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { resolveAlerts } from '../alerts/rules.ts';
import { crossCheck } from './checks.ts';
import type { PathProblem, PathSegment } from './problem.ts';
import {
  DEFAULT_FACTORS,
  FACTOR_ENERGIES,
  type Facility,
  type FacilityFile,
  FacilitySchema,
  type Factors,
  type FactorsFile,
  FILE_FACTOR_SOURCE,
  FORMAT_VERSION,
} from './schema.ts';
import { didYouMean } from './suggest.ts';

/** Outcome of validating facility data. */
export type ValidationResult = { ok: true; facility: Facility } | { ok: false; problems: PathProblem[] };

/**
 * Validates parsed facility data against the schema and the cross-checks, and resolves the
 * defaults. Problems come in schema order, then cross-check order; `loadFacility` sorts them by
 * position in the file.
 */
export function validateFacility(data: unknown): ValidationResult {
  if (data === null || data === undefined) {
    return { ok: false, problems: [{ path: [], message: 'the facility file is empty' }] };
  }
  const alerts = alertsOf(data);
  const problems = [...schemaProblems(data), ...crossCheck(data), ...alerts.problems];
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, facility: resolveFacility(data as FacilityFile) };
}

/** The alert settings of raw facility data, with the problems of its `alerts:` section. */
function alertsOf(data: unknown): ReturnType<typeof resolveAlerts> {
  const rec = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const ids = (key: string) =>
    Array.isArray(rec[key])
      ? (rec[key] as unknown[]).flatMap((item) =>
          typeof item === 'object' && item !== null && typeof (item as { id?: unknown }).id === 'string'
            ? [(item as { id: string }).id]
            : [],
        )
      : [];
  return resolveAlerts(rec.alerts, { buildings: ids('buildings'), geofences: ids('geofences') });
}

/** The schema's problems with `data`, one per field, in plain words. */
export function schemaProblems(data: unknown): PathProblem[] {
  const errors = [...Value.Errors(FacilitySchema, data)];
  const problems: PathProblem[] = [];
  const missing = new Set(
    errors.filter((e) => e.type === ValueErrorType.ObjectRequiredProperty).map((e) => e.path),
  );
  const seen = new Set<string>();
  for (const error of errors) {
    // A missing field also fails its own type check; say "missing" once.
    if (missing.has(error.path) && error.type !== ValueErrorType.ObjectRequiredProperty) continue;
    const path = pointerToPath(error.path, data);
    const problem = describe(error, path);
    const key = `${error.path}\n${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

/** `/meters/4/parent` → `['meters', 4, 'parent']`, numbering the segments that index arrays. */
function pointerToPath(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const path: PathSegment[] = [];
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) {
      const i = Number(key);
      path.push(i);
      node = node[i];
    } else {
      path.push(key);
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return path;
}

/** A value as a person reads it in a message. */
function show(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return `"${value}"`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${String(value)}`;
}

function literals(schema: TSchema): unknown[] | undefined {
  const variants = (schema as { anyOf?: TSchema[] }).anyOf;
  if (!variants?.every((variant) => 'const' in variant)) return undefined;
  return variants.map((variant) => variant.const);
}

function bounds(schema: TSchema): string {
  const { minimum, maximum, exclusiveMinimum } = schema as Record<string, number | undefined>;
  if (minimum !== undefined && maximum !== undefined) return `between ${minimum} and ${maximum}`;
  if (exclusiveMinimum !== undefined) return `greater than ${exclusiveMinimum}`;
  if (minimum !== undefined) return `at least ${minimum}`;
  return `at most ${maximum}`;
}

function describe(error: ValueError, path: PathSegment[]): PathProblem {
  const { schema, value } = error;
  const custom = (schema as { errorMessage?: string }).errorMessage;
  const message = (text: string, at?: PathProblem['at']): PathProblem =>
    at === undefined ? { path, message: text } : { path, message: text, at };
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return message('required field is missing', 'parent');
    case ValueErrorType.ObjectAdditionalProperties: {
      const key = String(path[path.length - 1]);
      return message(`unknown field${didYouMean(key, Object.keys(schema.properties ?? {}))}`, 'key');
    }
    case ValueErrorType.Union: {
      const allowed = literals(schema);
      if (!allowed) return message(`${show(value)} is not allowed here`);
      const suggestion = typeof value === 'string' ? didYouMean(value, allowed.map(String)) : '';
      return message(`${show(value)} is not one of ${allowed.join(', ')}${suggestion}`);
    }
    case ValueErrorType.Literal:
      if (path.length === 1 && path[0] === 'version') {
        return message(
          `unsupported format version ${typeof value === 'number' ? value : show(value)}; this program reads version ${FORMAT_VERSION}`,
        );
      }
      return message(`must be ${JSON.stringify(schema.const)}, not ${show(value)}`);
    case ValueErrorType.String:
      return message(
        `must be text, not ${show(value)}${typeof value === 'number' || typeof value === 'boolean' ? ' (quote it)' : ''}`,
      );
    case ValueErrorType.StringPattern:
    case ValueErrorType.StringFormat:
      return message(`${show(value)} ${custom ?? `does not match ${schema.pattern}`}`);
    case ValueErrorType.StringMinLength:
      return message(
        schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters`,
      );
    case ValueErrorType.StringMaxLength:
      return message(`${show(value)} is longer than ${schema.maxLength} characters`);
    case ValueErrorType.Number:
      return message(`must be a number, not ${show(value)}`);
    case ValueErrorType.Integer:
      return message(`must be a whole number, not ${typeof value === 'number' ? value : show(value)}`);
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.NumberExclusiveMinimum:
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.IntegerExclusiveMinimum:
      return message(`must be ${bounds(schema)}, not ${String(value)}`);
    case ValueErrorType.Boolean:
      return message(`must be true or false, not ${show(value)}`);
    case ValueErrorType.Object:
      return message(`must be a mapping (key: value), not ${show(value)}`);
    case ValueErrorType.Array:
      return message(`must be a list, not ${show(value)}`);
    case ValueErrorType.ArrayMinItems:
      return message(
        schema.minItems === 1 ? 'must not be empty' : `must list at least ${schema.minItems} items`,
      );
    case ValueErrorType.ArrayUniqueItems: {
      const list = Array.isArray(value) ? value.map((v) => JSON.stringify(v)) : [];
      const twice = list.find((v, i) => list.indexOf(v) !== i);
      return message(`lists ${twice ?? 'a value'} more than once`);
    }
    case ValueErrorType.Tuple:
    case ValueErrorType.TupleLength:
      return message(
        `must be a point [lon, lat], not ${Array.isArray(value) ? JSON.stringify(value) : show(value)}`,
      );
    default:
      return message(error.message);
  }
}

function resolveFactors(file: FactorsFile | undefined): Factors {
  const factors: Factors = structuredClone(DEFAULT_FACTORS);
  for (const set of ['standardCoal', 'co2'] as const) {
    for (const energy of FACTOR_ENERGIES) {
      const value = file?.[set]?.[energy];
      if (value === undefined) continue;
      factors[set][energy] = value;
      factors.sources[set][energy] = file?.sources?.[set]?.[energy] ?? FILE_FACTOR_SOURCE;
    }
  }
  return factors;
}

/** Fills the defaults of a valid facility file: empty lists, currency CNY, default factors. */
export function resolveFacility(file: FacilityFile): Facility {
  return {
    version: file.version,
    site: file.site,
    calendar: {
      ...file.calendar,
      holidays: file.calendar.holidays ?? [],
      extraWorkdays: file.calendar.extraWorkdays ?? [],
    },
    geofences: file.geofences ?? [],
    buildings: file.buildings,
    departments: (file.departments ?? []).map((department) => ({
      ...department,
      spaces: department.spaces ?? [],
    })),
    meters: file.meters ?? [],
    vehicles: file.vehicles ?? [],
    rooms: file.rooms ?? [],
    sensors: file.sensors ?? [],
    tariffs: { ...file.tariffs, currency: file.tariffs?.currency ?? 'CNY' },
    factors: resolveFactors(file.factors),
    quotas: file.quotas ?? [],
    ...(file.feedback === undefined ? {} : { feedback: file.feedback }),
    ...(file.costs === undefined ? {} : { costs: file.costs }),
    ...(file.scorecard === undefined ? {} : { scorecard: file.scorecard }),
    alerts: alertsOf(file).settings,
  };
}
