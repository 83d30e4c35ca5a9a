/**
 * Who sees what: pure rules over the facility and the caller (docs/architecture.md, "API callers
 * authenticate, viewers cannot change anything, and a department user sees only the
 * department's data").
 *
 * Roles: every role reads; only `admin` manages tokens. `operator` reads what `viewer` reads for
 * now; acknowledging alerts comes with the alerts issue.
 *
 * Department-scoped tokens (operator or viewer with `department`) see:
 * - the facility model cut to their department: its row, its meters (`department` set to it), its
 *   vehicles, its rooms and their sensors, the buildings it occupies, its quotas;
 * - energy summaries grouped by `department` (its own row) or `meter` (its own meters); site,
 *   building and sub-system totals include other departments, so those are refused (403);
 * - energy series of its department or one of its meters;
 * - its vehicles and their trips and tracks; its rooms;
 * - nothing of the ingest (stats, rejections), metrics or tokens: those are site-wide.
 */
import type { Facility, Meter, Room, Sensor, Vehicle } from '../core/facility/schema.ts';
import type { EnergyGroupBy, EnergyScope } from '../core/kpi/types.ts';
import { forbidden } from './errors.ts';
import type { Principal } from './tokens.ts';

/** Group-bys a department token may ask for. */
export const DEPARTMENT_GROUP_BY: readonly EnergyGroupBy[] = ['department', 'meter'];
/** Series scopes a department token may ask for (its own department or meters). */
export const DEPARTMENT_SCOPES: readonly EnergyScope[] = ['department', 'meter'];

type WithoutSecrets<T> = Omit<T, 'secret' | 'secretHash'>;

function withoutSecrets<T extends { secret?: string; secretHash?: string }>(device: T): WithoutSecrets<T> {
  const { secret: _secret, secretHash: _secretHash, ...rest } = device;
  return rest;
}

/** The facility model as a caller may see it: no device credentials; cut to a department if scoped. */
export function visibleFacility(facility: Facility, department: string | undefined) {
  const meters: Meter[] = department
    ? facility.meters.filter((m) => m.department === department)
    : facility.meters;
  const vehicles: Vehicle[] = department
    ? facility.vehicles.filter((v) => v.department === department)
    : facility.vehicles;
  const rooms: Room[] = department
    ? facility.rooms.filter((r) => r.department === department)
    : facility.rooms;
  const roomIds = new Set(rooms.map((r) => r.id));
  const sensors: Sensor[] = department
    ? facility.sensors.filter((s) => roomIds.has(s.room))
    : facility.sensors;
  const departments = department
    ? facility.departments.filter((d) => d.id === department)
    : facility.departments;
  const buildingIds = new Set([
    ...departments.flatMap((d) => d.spaces.map((s) => s.building)),
    ...rooms.map((r) => r.building),
    ...meters.map((m) => m.building),
  ]);
  return {
    version: facility.version,
    site: facility.site,
    calendar: facility.calendar,
    geofences: facility.geofences,
    buildings: department ? facility.buildings.filter((b) => buildingIds.has(b.id)) : facility.buildings,
    departments,
    meters: meters.map(withoutSecrets),
    vehicles: vehicles.map(withoutSecrets),
    rooms,
    sensors: sensors.map(withoutSecrets),
    tariffs: facility.tariffs,
    factors: facility.factors,
    quotas: department
      ? facility.quotas.filter((q) => q.scope === 'department' && q.id === department)
      : facility.quotas,
  };
}

/** Throws 403 when a department token asks for a group-by it cannot be limited to. */
export function checkGroupBy(principal: Principal, groupBy: EnergyGroupBy): void {
  if (principal.department !== undefined && !DEPARTMENT_GROUP_BY.includes(groupBy)) {
    throw forbidden(
      `groupBy: a token of department "${principal.department}" may group by ${DEPARTMENT_GROUP_BY.join(' or ')} only (${groupBy} totals include other departments)`,
      'groupBy',
    );
  }
}

/** Whether an energy-summary item belongs to the department (by its id for departments, its meter otherwise). */
export function energyItemVisible(
  facility: Facility,
  department: string,
  groupBy: EnergyGroupBy,
  item: { readonly id: string; readonly department?: string },
): boolean {
  if (groupBy === 'department') return item.id === department;
  if (groupBy === 'meter')
    return facility.meters.some((m) => m.id === item.id && m.department === department);
  return false;
}

/**
 * Throws 403 when a department token asks for a series outside its department. The id is known
 * to exist (the route checks that first).
 */
export function checkSeriesScope(
  facility: Facility,
  principal: Principal,
  scope: EnergyScope,
  id: string,
): void {
  const department = principal.department;
  if (department === undefined) return;
  const allowed =
    (scope === 'department' && id === department) ||
    (scope === 'meter' && facility.meters.some((m) => m.id === id && m.department === department));
  if (!allowed) {
    throw forbidden(
      `a token of department "${department}" sees only series of its department or its meters, not ${scope} "${id}"`,
      scope === 'meter' || scope === 'department' ? 'id' : 'scope',
    );
  }
}

/** Throws 403 when a department token asks for another department's vehicle. */
export function checkVehicle(principal: Principal, vehicle: Vehicle): void {
  if (principal.department !== undefined && vehicle.department !== principal.department) {
    throw forbidden(
      `a token of department "${principal.department}" sees only its own vehicles, not "${vehicle.id}"`,
      'id',
    );
  }
}
