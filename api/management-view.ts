/**
 * What the management routes share: the management context of a request, figures rounded for an
 * answer (money to the fen, other figures to 4 decimals), instants as site-local ISO strings, and
 * the department rules of the management routes.
 */

import type { AlertReader, ManagementState } from '../core/management/ports.ts';
import type { ManagementContext } from '../core/management/service.ts';
import { forbidden } from './errors.ts';
import { formatInstant } from './period.ts';
import type { RouteContext } from './reply.ts';
import type { Principal } from './tokens.ts';

/** Options the management route groups are registered with. */
export interface ManagementRouteOptions extends RouteContext {
  readonly state: ManagementState;
  readonly alerts?: AlertReader;
}

export function managementContext(options: ManagementRouteOptions): ManagementContext {
  return {
    kpi: options.kpi,
    services: options.services,
    ledger: options.state,
    feedback: options.state,
    ...(options.alerts ? { alerts: options.alerts } : {}),
  };
}

const MONEY =
  /(Cny|^perKm|^perTrip|^perWorkingDayInUse|PerM2Year|PerWorkstationYear|PerOccupiedHour|^budget|^actual|^expectedToDate|^variance$|^projectedYearEnd|PerKm)$/;

/** Numbers rounded for an answer: money (by key name) to 0.01, everything else to 0.0001. */
export function rounded<T>(value: T, key = ''): T {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null as T;
    const digits = MONEY.test(key) ? 2 : 4;
    const scale = 10 ** digits;
    const out = Math.round(value * scale) / scale;
    return (out === 0 ? 0 : out) as T;
  }
  if (Array.isArray(value)) return value.map((v) => rounded(v, key)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v, k)])) as T;
  }
  return value;
}

/** Epoch-ms fields named like instants, as ISO strings of the site's zone. */
export function instants<T>(value: T, zone: string, keys: ReadonlySet<string> = INSTANT_KEYS): T {
  if (Array.isArray(value)) return value.map((v) => instants(v, zone, keys)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        keys.has(k) && typeof v === 'number' ? formatInstant(v, zone) : instants(v, zone, keys),
      ]),
    ) as T;
  }
  return value;
}

const INSTANT_KEYS = new Set(['from', 'to', 'asOf', 'time', 'createdAt', 'generatedAt', 'measuredAt', 'at']);

/**
 * Rounded figures with ISO instants: what the management routes answer. Typed `never` on purpose:
 * the shape is the route's response schema's, which fastify's serialiser enforces.
 */
export function view(value: unknown, zone: string): never {
  return rounded(instants(value, zone)) as never;
}

/** A department token may ask only for its own department. */
export function checkDepartment(
  principal: Principal,
  department: string | undefined,
  parameter = 'department',
): string | undefined {
  if (principal.department === undefined) return department;
  if (department !== undefined && department !== principal.department) {
    throw forbidden(
      `a token of department "${principal.department}" sees only its own department, not "${department}"`,
      parameter,
    );
  }
  return principal.department;
}
