/**
 * Which meters make up each item of an energy summary or series, as a linear combination of
 * meters: item consumption = Σ weight × meter consumption, kind by kind (a meter has one kind).
 * Because every figure (ToU split, off-hours share, quota by year) is a sum over intervals, a
 * linear combination gives each of them exactly.
 *
 * - **Site**: every `system: total` meter of every building.
 * - **Building**: its `system: total` meters (two gas main meters are summed).
 * - **Sub-system** (`b1:hvac`): the building's meters of that system (lighting-sockets, hvac,
 *   power, special).
 * - **Department**: its own `system: department` meters, plus, in each building where it has
 *   space, its share (its area there ÷ the area of all departments there) of the building's
 *   common use = the building's total meters − all department meters in that building, kind by
 *   kind. Without department meters of a kind (water, gas) the whole building figure is common.
 *   A kind the building has no total meter for has no common use (its department meters count
 *   as their own only). Its official cars (vehicles of the department) are part of it too.
 * - **Department area** (the denominator of its per-m² figures): since it carries that share of
 *   its buildings' common use, it carries the same share of their common area. In each building
 *   b: common area = floor area of b − Σ areas of the departments in b (0 if they add up to more);
 *   the department's area there = its own area aᵈ + aᵈ ÷ Σ a × common area. Summed over its
 *   buildings: `areaM2` = `ownAreaM2` + `commonAreaM2`. When the departments' spaces fill the
 *   building (common area ≥ 0), that is floor area of b × aᵈ ÷ Σ a, so the department rows of a
 *   building add up to its floor area, as their consumption adds up to its meters.
 * - **Site**: every official car as well (vehicles are its own line of the figures, not meters).
 * - **Shared services**: a building where no department has space, as a row of its own in
 *   groupBy=department (never spread over departments). Department rows + shared-services rows
 *   add up to the site.
 * - **Meter**: the meter itself.
 *
 * Pure; unknown ids and impossible combinations throw {@link KpiError}.
 */
import { METER_SYSTEM_LABELS } from '../facility/labels.ts';
import type {
  Building,
  Department,
  Facility,
  Meter,
  MeterKind,
  Name,
  QuotaScope,
} from '../facility/schema.ts';
import { areaWeightedValues, standardValues } from './energy-standard.ts';
import { type EnergyGroupBy, type EnergyScope, KpiError } from './types.ts';

/** The sub-metering systems reported by groupBy=system, in display order. */
export const SUB_SYSTEMS = ['lighting-sockets', 'hvac', 'power', 'special'] as const;

/** meter id → weight. */
export type Terms = ReadonlyMap<string, number>;

/** What the GB/T 51161 figure of an item is computed from. */
export interface StandardSpec {
  /** Area-weighted constraint and guide values. */
  readonly constraint: number;
  readonly guide: number;
  /** The floor area the intensity is measured over, m². */
  readonly areaM2: number;
  /** The meters whose electricity is measured over that area. */
  readonly terms: Terms;
  /** Buildings the values come from. */
  readonly buildings: readonly string[];
}

/** One item of a summary before any consumption is known. */
export interface EnergyScopeDef {
  readonly id: string;
  readonly name: Name;
  readonly building?: string;
  readonly department?: string;
  readonly sharedServices?: boolean;
  readonly terms: Terms;
  /** Every meter the item's figures depend on (for coverage), sorted. */
  readonly meters: readonly string[];
  /**
   * Site and departments: the official cars whose fuel and electricity count in the item, sorted
   * (possibly none). Absent for the other items, which have no vehicles line.
   */
  readonly vehicles?: readonly string[];
  /** The denominator of per-m² figures, m² (for a department: own + its share of common area). */
  readonly areaM2: number | null;
  /** Departments only: the area of its own spaces and its share of common area, m². */
  readonly ownAreaM2?: number;
  readonly commonAreaM2?: number;
  readonly headcount: number | null;
  /** Quotas of this scope apply to the item. */
  readonly quotaScope: { readonly scope: QuotaScope; readonly id: string } | null;
  readonly standard: StandardSpec | null;
}

/** A facility's meters indexed for composing scopes. */
class Index {
  readonly buildings: Map<string, Building>;
  readonly departments: Map<string, Department>;
  constructor(readonly facility: Facility) {
    this.buildings = new Map(facility.buildings.map((b) => [b.id, b]));
    this.departments = new Map(facility.departments.map((d) => [d.id, d]));
  }
  metersOf(building: string, test: (meter: Meter) => boolean): Meter[] {
    return this.facility.meters.filter((m) => m.building === building && test(m));
  }
  /** Departments with space in a building, and their area there. */
  occupants(building: string): { department: Department; area: number }[] {
    const out: { department: Department; area: number }[] = [];
    for (const department of this.facility.departments) {
      const area = department.spaces
        .filter((s) => s.building === building)
        .reduce((sum, s) => sum + s.area, 0);
      if (area > 0) out.push({ department, area });
    }
    return out;
  }
  /** Headcount of a building: each department's staff split by its floor area across buildings. */
  headcountOf(building: string): number | null {
    let sum = 0;
    for (const { department, area } of this.occupants(building)) {
      const total = department.spaces.reduce((s, space) => s + space.area, 0);
      sum += (department.headcount * area) / total;
    }
    return sum > 0 ? sum : null;
  }
}

function add(terms: Map<string, number>, meter: string, weight: number): void {
  terms.set(meter, (terms.get(meter) ?? 0) + weight);
}

function totalTerms(index: Index, buildings: readonly string[]): Map<string, number> {
  const terms = new Map<string, number>();
  for (const b of buildings)
    for (const m of index.metersOf(b, (m) => m.system === 'total')) add(terms, m.id, 1);
  return terms;
}

function sortedKeys(terms: Terms, extra: Iterable<string> = []): string[] {
  return [...new Set([...terms.keys(), ...extra])].sort();
}

function buildingStandard(index: Index, building: Building, terms: Terms): StandardSpec | null {
  const values = standardValues(building, index.facility.site.climateZone);
  if (!values) return null;
  return { ...values, areaM2: building.floorArea, terms, buildings: [building.id] };
}

function siteDef(index: Index): EnergyScopeDef {
  const { facility } = index;
  const terms = totalTerms(
    index,
    facility.buildings.map((b) => b.id),
  );
  // The standard covers office buildings only: compare the electricity of those buildings over
  // their area with their area-weighted values, not the whole site's use over its whole area.
  const covered = facility.buildings.flatMap((b) => {
    const values = standardValues(b, facility.site.climateZone);
    return values ? [{ building: b, area: b.floorArea, ...values }] : [];
  });
  const weighted = areaWeightedValues(covered);
  const headcount = facility.departments.reduce((sum, d) => sum + d.headcount, 0);
  return {
    id: facility.site.id,
    name: facility.site.name,
    terms,
    meters: sortedKeys(terms),
    vehicles: facility.vehicles.map((v) => v.id).sort(),
    areaM2: facility.buildings.reduce((sum, b) => sum + b.floorArea, 0),
    headcount: headcount > 0 ? headcount : null,
    quotaScope: { scope: 'site', id: facility.site.id },
    standard: weighted
      ? {
          ...weighted,
          areaM2: covered.reduce((sum, c) => sum + c.area, 0),
          terms: totalTerms(
            index,
            covered.map((c) => c.building.id),
          ),
          buildings: covered.map((c) => c.building.id),
        }
      : null,
  };
}

function buildingDef(index: Index, building: Building, sharedServicesFlag: boolean): EnergyScopeDef {
  const terms = totalTerms(index, [building.id]);
  const shared = index.occupants(building.id).length === 0;
  return {
    id: building.id,
    name: building.name,
    building: building.id,
    ...(sharedServicesFlag && shared ? { sharedServices: true } : {}),
    terms,
    meters: sortedKeys(terms),
    areaM2: building.floorArea,
    headcount: index.headcountOf(building.id),
    quotaScope: { scope: 'building', id: building.id },
    standard: buildingStandard(index, building, terms),
  };
}

function departmentDef(index: Index, department: Department): EnergyScopeDef {
  const terms = new Map<string, number>();
  const behind = new Set<string>();
  for (const m of index.facility.meters) {
    if (m.system === 'department' && m.department === department.id) add(terms, m.id, 1);
  }
  const buildings = [...new Set(department.spaces.map((s) => s.building))];
  const standardParts: { area: number; constraint: number; guide: number }[] = [];
  let allCovered = buildings.length > 0;
  let ownArea = 0;
  let commonArea = 0;
  for (const b of buildings) {
    const occupants = index.occupants(b);
    const totalArea = occupants.reduce((sum, o) => sum + o.area, 0);
    const mine = occupants.find((o) => o.department.id === department.id)?.area ?? 0;
    const share = mine / totalArea;
    const building = index.buildings.get(b);
    if (!building) continue;
    // Its share of the building's common area, as of its common use (module comment).
    const common = share * Math.max(0, building.floorArea - totalArea);
    ownArea += mine;
    commonArea += common;
    const values = standardValues(building, index.facility.site.climateZone);
    if (values) standardParts.push({ area: mine + common, ...values });
    else allCovered = false;
    for (const kind of ['electricity', 'water', 'gas'] as const satisfies readonly MeterKind[]) {
      const mains = index.metersOf(b, (m) => m.kind === kind && m.system === 'total');
      if (mains.length === 0) continue;
      for (const m of mains) add(terms, m.id, share);
      for (const m of index.metersOf(b, (m) => m.kind === kind && m.system === 'department')) {
        add(terms, m.id, -share);
        behind.add(m.id);
      }
    }
  }
  const area = ownArea + commonArea;
  const weighted = allCovered ? areaWeightedValues(standardParts) : null;
  return {
    id: department.id,
    name: department.name,
    department: department.id,
    terms,
    meters: sortedKeys(terms, behind),
    vehicles: index.facility.vehicles
      .filter((v) => v.department === department.id)
      .map((v) => v.id)
      .sort(),
    areaM2: area > 0 ? area : null,
    ownAreaM2: ownArea,
    commonAreaM2: commonArea,
    headcount: department.headcount,
    quotaScope: { scope: 'department', id: department.id },
    standard: weighted && area > 0 ? { ...weighted, areaM2: area, terms, buildings } : null,
  };
}

function systemDefs(index: Index, building: Building): EnergyScopeDef[] {
  const out: EnergyScopeDef[] = [];
  for (const system of SUB_SYSTEMS) {
    const meters = index.metersOf(building.id, (m) => m.system === system);
    if (meters.length === 0) continue;
    const terms = new Map<string, number>();
    for (const m of meters) add(terms, m.id, 1);
    const label = METER_SYSTEM_LABELS[system];
    out.push({
      id: `${building.id}:${system}`,
      name: { zh: `${building.name.zh} ${label.zh}`, en: `${building.name.en} — ${label.en}` },
      building: building.id,
      terms,
      meters: sortedKeys(terms),
      // Per m² of the building the system serves; no per-person figure.
      areaM2: building.floorArea,
      headcount: null,
      quotaScope: null,
      standard: null,
    });
  }
  return out;
}

function meterDef(meter: Meter): EnergyScopeDef {
  const terms = new Map([[meter.id, 1]]);
  return {
    id: meter.id,
    name: meter.name ?? { zh: meter.id, en: meter.id },
    building: meter.building,
    ...(meter.department !== undefined ? { department: meter.department } : {}),
    terms,
    meters: [meter.id],
    areaM2: null,
    headcount: null,
    quotaScope: null,
    standard: null,
  };
}

const GROUP_BYS: readonly EnergyGroupBy[] = ['site', 'building', 'department', 'meter', 'system'];

/**
 * The items of a summary. `department` restricts them to that department: its row for
 * groupBy=department, its meters for groupBy=meter; other groupings of a department are refused.
 */
export function summaryScopes(
  facility: Facility,
  groupBy: EnergyGroupBy,
  department?: string,
): EnergyScopeDef[] {
  if (!GROUP_BYS.includes(groupBy)) {
    throw new KpiError(`groupBy must be one of ${GROUP_BYS.join(', ')}, not "${String(groupBy)}"`, {
      status: 400,
      parameter: 'groupBy',
    });
  }
  const index = new Index(facility);
  if (department !== undefined) {
    const d = index.departments.get(department);
    if (!d)
      throw new KpiError(`unknown department "${department}"`, { status: 404, parameter: 'department' });
    if (groupBy === 'department') return [departmentDef(index, d)];
    if (groupBy === 'meter') return facility.meters.filter((m) => m.department === department).map(meterDef);
    throw new KpiError(`a department's figures can be grouped by department or meter, not by ${groupBy}`, {
      status: 400,
      parameter: 'groupBy',
    });
  }
  switch (groupBy) {
    case 'site':
      return [siteDef(index)];
    case 'building':
      return facility.buildings.map((b) => buildingDef(index, b, true));
    case 'department': {
      const rows = facility.departments.map((d) => departmentDef(index, d));
      for (const b of facility.buildings) {
        if (index.occupants(b.id).length === 0) rows.push(buildingDef(index, b, true));
      }
      return rows;
    }
    case 'system':
      return facility.buildings.flatMap((b) => systemDefs(index, b));
    case 'meter':
      return facility.meters.map(meterDef);
  }
  throw new Error('unreachable');
}

const SCOPES: readonly EnergyScope[] = ['site', 'building', 'department', 'meter'];

/** The one scope of a series (`scope` and `id` as the API gives them). */
export function seriesScope(facility: Facility, scope: EnergyScope, id: string): EnergyScopeDef {
  if (!SCOPES.includes(scope)) {
    throw new KpiError(`scope must be one of ${SCOPES.join(', ')}, not "${String(scope)}"`, {
      status: 400,
      parameter: 'scope',
    });
  }
  const index = new Index(facility);
  const unknown = () => new KpiError(`unknown ${scope} "${id}"`, { status: 404, parameter: 'id' });
  switch (scope) {
    case 'site':
      if (id !== facility.site.id) throw unknown();
      return siteDef(index);
    case 'building': {
      const building = index.buildings.get(id);
      if (!building) throw unknown();
      return buildingDef(index, building, true);
    }
    case 'department': {
      const department = index.departments.get(id);
      if (!department) throw unknown();
      return departmentDef(index, department);
    }
    case 'meter': {
      const meter = facility.meters.find((m) => m.id === id);
      if (!meter) throw unknown();
      return meterDef(meter);
    }
  }
  throw new Error('unreachable');
}
