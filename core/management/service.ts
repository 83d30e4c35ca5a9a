/**
 * The management services (issue 13): cost indicators, budgets, feedback summaries, the scorecard
 * and the monthly report. They read the efficiency engine only through its services (energy
 * summary, vehicle and room utilisation) and its data interface (core/kpi/data.ts: trips, room
 * integrals), the ledger and the feedback through their ports, and hand the numbers to the pure
 * functions of `costs.ts`, `feedback.ts` and `scorecard.ts`, where every definition is written.
 *
 * Figures the engine does not give, computed here from its outputs:
 * - a department's energy cost by kind: electricity = Σ of its time-of-use costs, water and gas =
 *   m³ × the tariff's price (the engine gives one `costCny` with the cars in it);
 * - a room's energy cost: its floor-area share of its building's (rooms have no meters);
 * - an hour of conditioning per m²: the building's HVAC sub-meter cost ÷ floor area ÷ working hours;
 * - empty working hours of a room: working time with a known occupancy of 0, from the room
 *   integrals per working piece (core/kpi/room.ts).
 */
import { DateTime } from 'luxon';
import type { Building, Facility, ScorecardIndicator, Vehicle } from '../facility/schema.ts';
import { calendarOf } from '../kpi/common.ts';
import { dataOf } from '../kpi/data.ts';
import { emptyIntegrals, monthEdges, roomPieces } from '../kpi/room.ts';
import type {
  EnergyItem,
  EnergySummary,
  EnergySummaryParams,
  KpiContext,
  RoomUtilization,
  RoomUtilizationParams,
  VehicleUtilization,
  VehicleUtilizationParams,
} from '../kpi/types.ts';
import { KpiError } from '../kpi/types.ts';
import {
  accrued,
  type BudgetLine,
  budgetLine,
  type CostNullReason,
  DAY_MS,
  dayOf,
  depreciation,
  fleetCost,
  lifeSpan,
  localDay,
  type Nulls,
  type Period,
  type ProjectionMethod,
  type ReplacementSignal,
  type RoomUse,
  ratio,
  replacementSignal,
  roomUseCost,
  type SpaceCost,
  spaceCost,
  type VehicleCost,
  vehicleCost,
} from './costs.ts';
import {
  type FeedbackAnswer,
  type FeedbackGroupSummary,
  type Measured,
  measuredAt,
  summariseFeedback,
} from './feedback.ts';
import {
  BUDGET_ITEMS,
  type BudgetItem,
  budgetItemOf,
  COMFORT_CATEGORIES,
  costSettings,
  feedbackServices,
  type IndicatorSpec,
  scorecardConfig,
} from './model.ts';
import type { AlertReader, CostEntry, CostLedger, FeedbackStore } from './ports.ts';
import { type DepartmentScore, departmentScore, type IndicatorValue, ranks } from './scorecard.ts';

/** The engine's services the management layer reads (api/kpi-services.ts gives the real ones). */
export interface ManagementKpi {
  energySummary(ctx: KpiContext, params: EnergySummaryParams): Promise<EnergySummary>;
  vehicleUtilization(ctx: KpiContext, params: VehicleUtilizationParams): Promise<VehicleUtilization>;
  roomUtilization(ctx: KpiContext, params: RoomUtilizationParams): Promise<RoomUtilization>;
}

export interface ManagementContext {
  readonly kpi: KpiContext;
  readonly services: ManagementKpi;
  readonly ledger: CostLedger;
  readonly feedback: FeedbackStore;
  /** The alert engine's history, when one is wired (the scorecard's "acknowledged in time"). */
  readonly alerts?: AlertReader;
}

const now = (ctx: ManagementContext) => (ctx.kpi.now ?? Date.now)();
const zoneOf = (ctx: ManagementContext) => ctx.kpi.facility.site.timezone;

/** A month `YYYY-MM` as a period of the site's zone. */
export function monthPeriod(month: string, zone: string): Period {
  const start = DateTime.fromFormat(month, 'yyyy-MM', { zone });
  if (!/^\d{4}-\d{2}$/.test(month) || !start.isValid) {
    throw new KpiError(`"${month}" is not a month written YYYY-MM`, { status: 400, parameter: 'month' });
  }
  return { from: start.toMillis(), to: start.plus({ months: 1 }).toMillis() };
}

/** The month before `YYYY-MM`. */
export function previousMonth(month: string): string {
  return DateTime.fromFormat(month, 'yyyy-MM', { zone: 'UTC' }).minus({ months: 1 }).toFormat('yyyy-MM');
}

/** Ledger entries whose date falls in the period (their local midnight in [from, to)). */
async function ledgerIn(ctx: ManagementContext, period: Period): Promise<CostEntry[]> {
  const zone = zoneOf(ctx);
  // Dates are local days: a period starting mid-day still counts the entries of its first day's midnight onward.
  const from = localDay(dayOf(period.from, zone), zone);
  const entries = await ctx.ledger.listCosts({ from, to: period.to });
  return entries.filter((e) => {
    const t = localDay(e.date, zone);
    return t >= period.from && t < period.to;
  });
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

// ------------------------------------------------------------------ vehicles

export interface VehicleCostItem extends VehicleCost {
  readonly id: string;
  readonly plate: string;
  readonly department: string;
}

export interface VehicleCosts {
  readonly from: number;
  readonly to: number;
  readonly items: readonly VehicleCostItem[];
  readonly fleet: VehicleCost;
}

function vehicleAsset(vehicle: Vehicle) {
  const p = vehicle.purchase;
  return (
    p && {
      value: p.price,
      date: p.date,
      lifeYears: p.lifeYears,
      ...(p.residualPercent === undefined ? {} : { residualPercent: p.residualPercent }),
    }
  );
}

/** What each car (of a department, if given) cost over the period, and the fleet line. */
export async function vehicleCosts(
  ctx: ManagementContext,
  period: Period,
  department?: string,
  vehicles?: readonly Vehicle[],
): Promise<VehicleCosts> {
  const { facility } = ctx.kpi;
  const zone = zoneOf(ctx);
  const cars =
    vehicles ?? facility.vehicles.filter((v) => department === undefined || v.department === department);
  const [utilization, trips, ledger] = await Promise.all([
    ctx.services.vehicleUtilization(ctx.kpi, {
      ...period,
      ...(department === undefined ? {} : { department }),
    }),
    dataOf(ctx.kpi).trips(
      cars.map((v) => v.id),
      period.from,
      period.to,
    ),
    ledgerIn(ctx, period),
  ]);
  const calendar = calendarOf(facility);
  const byId = new Map(utilization.items.map((item) => [item.id, item]));
  const items = cars.map((vehicle): VehicleCostItem => {
    const u = byId.get(vehicle.id);
    const asset = vehicleAsset(vehicle);
    const since = asset ? localDay(asset.date, zone) : undefined;
    const ledgerCny: Record<string, number> = {};
    for (const e of ledger) {
      if (e.subject.kind === 'vehicle' && e.subject.id === vehicle.id) {
        ledgerCny[e.item] = (ledgerCny[e.item] ?? 0) + e.amountCny;
      }
    }
    const days = new Set(
      (trips.get(vehicle.id) ?? [])
        .map((t) => calendar.localDate(t.start))
        .filter((d) => calendar.isWorkday(d)),
    );
    const energyUsed = (u as { energyUsed?: number | null } | undefined)?.energyUsed ?? null;
    const fuelCny = u?.costCny ?? null;
    const fuelNull: CostNullReason = energyUsed === null ? 'no-data' : 'no-price';
    const cost = vehicleCost({
      depreciationCny: asset ? depreciation(asset, period, zone) : null,
      insuranceCny: vehicle.insurance === undefined ? 0 : accrued(vehicle.insurance, period, zone, since),
      ledgerCny,
      fuelCny,
      ...(fuelCny === null ? { fuelNull } : {}),
      distanceKm: u?.distanceKm ?? 0,
      trips: u?.trips ?? 0,
      workingDaysInUse: days.size,
    });
    return { id: vehicle.id, plate: vehicle.plate, department: vehicle.department, ...cost };
  });
  return { from: period.from, to: period.to, items, fleet: fleetCost(items) };
}

export interface LifecycleYear extends VehicleCost {
  readonly year: number;
  readonly from: number;
  readonly to: number;
}

export interface VehicleLifecycle {
  readonly id: string;
  readonly plate: string;
  readonly department: string;
  readonly purchase: Vehicle['purchase'] | null;
  readonly asOf: number;
  readonly years: readonly LifecycleYear[];
  /** Purchase to now, by item. */
  readonly cumulative: VehicleCost;
  readonly bookValueCny: number | null;
  readonly replacement: ReplacementSignal;
  readonly nulls: Nulls;
}

/**
 * A car from purchase to now: its cost by calendar year (the first from the purchase date, the
 * last to now) and cumulated, the cost per km of each year, and the replacement signal
 * (costs.ts). Without purchase data the years are those of the last 12 months' calendar years.
 */
export async function vehicleLifecycle(ctx: ManagementContext, id: string): Promise<VehicleLifecycle> {
  const { facility } = ctx.kpi;
  const vehicle = facility.vehicles.find((v) => v.id === id);
  if (!vehicle) throw new KpiError(`unknown vehicle "${id}"`, { status: 404, parameter: 'id' });
  const zone = zoneOf(ctx);
  const t = now(ctx);
  const asset = vehicleAsset(vehicle);
  const life = asset ? lifeSpan(asset, zone) : null;
  const start = life
    ? Math.min(life.from, t - 1)
    : DateTime.fromMillis(t, { zone }).minus({ months: 12 }).toMillis();
  // The engine's services figure every car of a department; a facility of this one car keeps a
  // lifecycle of many years to one car's reads.
  const single: ManagementContext = {
    ...ctx,
    kpi: { ...ctx.kpi, facility: { ...facility, vehicles: [vehicle] } },
  };
  const years: LifecycleYear[] = [];
  let year = DateTime.fromMillis(start, { zone }).startOf('year');
  while (year.toMillis() < t) {
    const next = year.plus({ years: 1 });
    const period = { from: Math.max(start, year.toMillis()), to: Math.min(t, next.toMillis()) };
    if (period.to > period.from) {
      const costs = await vehicleCosts(single, period, vehicle.department, [vehicle]);
      const item = costs.items[0] as VehicleCostItem;
      years.push({ ...item, year: year.year, from: period.from, to: period.to });
    }
    year = next;
  }
  const cumulative = fleetCost(years);
  const replacement = (await replacementSignals(ctx, t)).get(id) as ReplacementSignal;
  const nulls: Nulls = {};
  if (!asset) {
    nulls.purchase = 'no-purchase';
    nulls.bookValueCny = 'no-purchase';
  }
  return {
    id,
    plate: vehicle.plate,
    department: vehicle.department,
    purchase: vehicle.purchase ?? null,
    asOf: t,
    years,
    cumulative,
    bookValueCny: asset
      ? asset.value -
        depreciation(
          asset,
          { from: localDay(asset.date, zone), to: Math.max(localDay(asset.date, zone), t) },
          zone,
        )
      : null,
    replacement,
    nulls,
  };
}

/**
 * The replacement signal of every car as of `asOf` (costs.ts `replacementSignal`), from one reading
 * of the fleet's costs over the 12 months before it.
 */
export async function replacementSignals(
  ctx: ManagementContext,
  asOf: number,
): Promise<Map<string, ReplacementSignal>> {
  const { facility } = ctx.kpi;
  const zone = zoneOf(ctx);
  const twelve = { from: DateTime.fromMillis(asOf, { zone }).minus({ months: 12 }).toMillis(), to: asOf };
  const fleet = await vehicleCosts(ctx, twelve);
  const fleetPerKm = fleet.items.flatMap((c) => (c.perKm === null ? [] : [c.perKm]));
  const { replacementMultiple } = costSettings(facility);
  const out = new Map<string, ReplacementSignal>();
  for (const vehicle of facility.vehicles) {
    const asset = vehicleAsset(vehicle);
    const life = asset ? lifeSpan(asset, zone) : null;
    out.set(
      vehicle.id,
      replacementSignal({
        lifeEnd: life?.to ?? null,
        lifeEndsOn: life ? dayOf(life.to, zone) : null,
        now: asOf,
        last12MonthsPerKm: fleet.items.find((c) => c.id === vehicle.id)?.perKm ?? null,
        fleetPerKm,
        multiple: replacementMultiple,
      }),
    );
  }
  return out;
}

// ------------------------------------------------------------------ space

export type SpaceGroupBy = 'building' | 'department' | 'room';

export interface SpaceItem extends SpaceCost {
  readonly id: string;
  readonly name: { readonly zh: string; readonly en: string };
  readonly building?: string;
  readonly department?: string;
  readonly areaM2: number;
  readonly workstations: number | null;
  /** Rooms: occupancy and what it says about the cost (null without a sensor). */
  readonly occupiedHours?: number | null;
  readonly workingHours?: number;
  readonly emptyWorkingHours?: number | null;
  readonly conditionedEmptyHours?: number | null;
  readonly costPerOccupiedHour?: number | null;
  /** Rooms: cost of empty hours; departments: the sum over their rooms with sensors. */
  readonly emptyHoursCostCny?: number | null;
  readonly conditionedEmptyCostCny?: number | null;
}

export interface SpaceCosts {
  readonly from: number;
  readonly to: number;
  readonly groupBy: SpaceGroupBy;
  readonly items: readonly SpaceItem[];
}

/** Each department's area in each building: own area + its share of the building's common area. */
export function departmentAreas(facility: Facility): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const building of facility.buildings) {
    const occupants = facility.departments.flatMap((d) => {
      const area = sum(d.spaces.filter((s) => s.building === building.id).map((s) => s.area));
      return area > 0 ? [{ id: d.id, area }] : [];
    });
    const occupied = sum(occupants.map((o) => o.area));
    const common = Math.max(0, building.floorArea - occupied);
    for (const o of occupants) {
      const own = out.get(o.id) ?? new Map<string, number>();
      own.set(building.id, o.area + (common * o.area) / occupied);
      out.set(o.id, own);
    }
  }
  return out;
}

/** Headcount of a building: each department's staff split by its floor area across buildings. */
function buildingHeadcount(facility: Facility, building: string): number | null {
  let total = 0;
  for (const d of facility.departments) {
    const all = sum(d.spaces.map((s) => s.area));
    const here = sum(d.spaces.filter((s) => s.building === building).map((s) => s.area));
    if (all > 0) total += (d.headcount * here) / all;
  }
  return total > 0 ? total : null;
}

function buildingAsset(b: Building) {
  const a = b.asset;
  return (
    a && {
      value: a.value,
      date: a.date,
      lifeYears: a.lifeYears,
      ...(a.residualPercent === undefined ? {} : { residualPercent: a.residualPercent }),
    }
  );
}

/** Buildings' costs over the period that space costs spread: energy, fee, depreciation, ledger. */
interface BuildingCosts {
  readonly energyCostCny: number | null;
  readonly hvacCostCny: number | null;
  readonly propertyFeeCny: number;
  readonly depreciationCny: number;
  /** Ledger entries on the building itself (not its rooms). */
  readonly ledgerCny: number;
}

/** Energy cost of a department row for its space: electricity, water and gas, not its cars. */
export function spaceEnergyCost(item: EnergyItem): number | null {
  if (item.costCny === null) return null;
  return item.costCny - (item.vehicles?.costCny ?? 0);
}

/** Space costs per building, department or room over the period (costs.ts for the definitions). */
export async function spaceCosts(
  ctx: ManagementContext,
  period: Period,
  groupBy: SpaceGroupBy,
  department?: string,
): Promise<SpaceCosts> {
  const { facility } = ctx.kpi;
  const zone = zoneOf(ctx);
  const [buildingsSummary, systems, ledger] = await Promise.all([
    ctx.services.energySummary(ctx.kpi, { ...period, groupBy: 'building' }),
    groupBy === 'building'
      ? undefined
      : ctx.services.energySummary(ctx.kpi, { ...period, groupBy: 'system' }),
    ledgerIn(ctx, period),
  ]);
  const ledgerOf = (kind: string, id: string) =>
    sum(ledger.filter((e) => e.subject.kind === kind && e.subject.id === id).map((e) => e.amountCny));
  const costs = new Map<string, BuildingCosts>();
  for (const b of facility.buildings) {
    const asset = buildingAsset(b);
    costs.set(b.id, {
      energyCostCny: buildingsSummary.items.find((i) => i.id === b.id)?.costCny ?? null,
      hvacCostCny: systems?.items.find((i) => i.id === `${b.id}:hvac`)?.costCny ?? null,
      propertyFeeCny:
        b.propertyFeePerM2Year === undefined
          ? 0
          : accrued(b.propertyFeePerM2Year * b.floorArea, period, zone),
      depreciationCny: asset ? depreciation(asset, period, zone) : 0,
      ledgerCny: ledgerOf('building', b.id),
    });
  }
  const buildingById = new Map(facility.buildings.map((b) => [b.id, b]));
  const share = (building: string, area: number) => {
    const b = buildingById.get(building) as Building;
    const c = costs.get(building) as BuildingCosts;
    const f = area / b.floorArea;
    return {
      energy: c.energyCostCny === null ? null : c.energyCostCny * f,
      fee: c.propertyFeeCny * f,
      depreciation: c.depreciationCny * f,
      ledger: c.ledgerCny * f,
    };
  };

  if (groupBy === 'building') {
    const items = facility.buildings.map((b): SpaceItem => {
      const c = costs.get(b.id) as BuildingCosts;
      const roomsLedger = sum(
        facility.rooms.filter((r) => r.building === b.id).map((r) => ledgerOf('room', r.id)),
      );
      return {
        id: b.id,
        name: b.name,
        areaM2: b.floorArea,
        workstations: buildingHeadcount(facility, b.id),
        ...spaceCost({
          areaM2: b.floorArea,
          workstations: buildingHeadcount(facility, b.id),
          energyCostCny: c.energyCostCny,
          propertyFeeCny: c.propertyFeeCny,
          depreciationCny: c.depreciationCny,
          ledgerCny: c.ledgerCny + roomsLedger,
          period,
        }),
      };
    });
    return { from: period.from, to: period.to, groupBy, items };
  }

  const rooms = facility.rooms.filter((r) => department === undefined || r.department === department);
  const roomUse = await roomFigures(
    ctx,
    period,
    groupBy === 'room'
      ? rooms
      : facility.rooms.filter(
          (r) => r.department !== undefined && (department === undefined || r.department === department),
        ),
    costs,
    share,
    ledgerOf,
  );

  if (groupBy === 'room') {
    return {
      from: period.from,
      to: period.to,
      groupBy,
      items: rooms.map((r) => roomUse.get(r.id) as SpaceItem),
    };
  }

  const energy = await ctx.services.energySummary(ctx.kpi, {
    ...period,
    groupBy: 'department',
    ...(department === undefined ? {} : { department }),
  });
  const areas = departmentAreas(facility);
  const items = facility.departments
    .filter((d) => department === undefined || d.id === department)
    .map((d): SpaceItem => {
      const inBuildings = areas.get(d.id) ?? new Map<string, number>();
      let fee = 0;
      let dep = 0;
      let led = ledgerOf('department', d.id);
      for (const [building, area] of inBuildings) {
        const s = share(building, area);
        fee += s.fee;
        dep += s.depreciation;
        led += s.ledger;
      }
      const ownRooms = facility.rooms.filter((r) => r.department === d.id);
      led += sum(ownRooms.map((r) => ledgerOf('room', r.id)));
      const row = energy.items.find((i) => i.id === d.id);
      const area = sum([...inBuildings.values()]);
      const withSensor = ownRooms
        .map((r) => roomUse.get(r.id))
        .filter(
          (x): x is SpaceItem =>
            x !== undefined && x.emptyHoursCostCny !== null && x.emptyHoursCostCny !== undefined,
        );
      const cost = spaceCost({
        areaM2: area,
        workstations: d.headcount,
        energyCostCny: row ? spaceEnergyCost(row) : null,
        propertyFeeCny: fee,
        depreciationCny: dep,
        ledgerCny: led,
        period,
      });
      const conditioned = ownRooms
        .map((r) => roomUse.get(r.id)?.conditionedEmptyCostCny)
        .filter((x): x is number => typeof x === 'number');
      return {
        id: d.id,
        name: d.name,
        department: d.id,
        areaM2: area,
        workstations: d.headcount,
        ...cost,
        emptyHoursCostCny:
          withSensor.length > 0 ? sum(withSensor.map((x) => x.emptyHoursCostCny as number)) : null,
        conditionedEmptyCostCny: conditioned.length > 0 ? sum(conditioned) : null,
        nulls: {
          ...cost.nulls,
          ...(withSensor.length > 0 ? {} : { emptyHoursCostCny: 'no-rooms' as const }),
          ...(conditioned.length > 0 ? {} : { conditionedEmptyCostCny: 'no-rooms' as const }),
        },
      };
    });
  return { from: period.from, to: period.to, groupBy, items };
}

/** Room rows: their space costs and occupancy figures. */
async function roomFigures(
  ctx: ManagementContext,
  period: Period,
  rooms: Facility['rooms'],
  costs: Map<string, BuildingCosts>,
  share: (
    building: string,
    area: number,
  ) => { energy: number | null; fee: number; depreciation: number; ledger: number },
  ledgerOf: (kind: string, id: string) => number,
): Promise<Map<string, SpaceItem>> {
  const { facility } = ctx.kpi;
  const zone = zoneOf(ctx);
  const calendar = calendarOf(facility);
  const pieces = roomPieces(period, { calendar, months: monthEdges(period, zone) });
  const edges = [...pieces.map((p) => p.start), period.to];
  const integrals = rooms.length === 0 ? new Map() : await dataOf(ctx.kpi).roomIntervals(rooms, edges);
  const workingMs = sum(pieces.filter((p) => p.working).map((p) => p.end - p.start));
  const out = new Map<string, SpaceItem>();
  for (const room of rooms) {
    const b = facility.buildings.find((x) => x.id === room.building) as Building;
    const s = share(room.building, room.area);
    const fee =
      b.propertyFeePerM2Year === undefined ? 0 : accrued(b.propertyFeePerM2Year * room.area, period, zone);
    const cost = spaceCost({
      areaM2: room.area,
      workstations: room.capacity,
      energyCostCny: s.energy,
      propertyFeeCny: fee,
      depreciationCny: s.depreciation,
      ledgerCny: ledgerOf('room', room.id),
      period,
    });
    const hasSensor = facility.sensors.some((x) => x.room === room.id && x.measures.includes('occupancy'));
    const list = integrals.get(room.id) ?? pieces.map(() => emptyIntegrals());
    let occupiedMs = 0;
    let emptyWorkMs = 0;
    let conditionedEmptyMs = 0;
    pieces.forEach((piece, i) => {
      const x = list[i] ?? emptyIntegrals();
      occupiedMs += x.occupiedMs;
      conditionedEmptyMs += x.conditionedEmptyMs;
      if (piece.working) emptyWorkMs += Math.max(0, x.occupancyKnownMs - x.occupiedMs);
    });
    const c = costs.get(room.building) as BuildingCosts;
    const hvacCnyPerM2Hour =
      c.hvacCostCny === null ? null : ratio(c.hvacCostCny, (b.floorArea * workingMs) / 3_600_000);
    const use: RoomUse = roomUseCost({
      totalCny: cost.totalCny,
      hasSensor,
      occupiedHours: occupiedMs / 3_600_000,
      workingHours: workingMs / 3_600_000,
      emptyWorkingHours: emptyWorkMs / 3_600_000,
      conditionedEmptyHours: conditionedEmptyMs / 3_600_000,
      hvacCnyPerM2Hour,
      areaM2: room.area,
    });
    out.set(room.id, {
      id: room.id,
      name: room.name,
      building: room.building,
      ...(room.department === undefined ? {} : { department: room.department }),
      areaM2: room.area,
      workstations: room.capacity,
      ...cost,
      occupiedHours: hasSensor ? occupiedMs / 3_600_000 : null,
      workingHours: workingMs / 3_600_000,
      emptyWorkingHours: hasSensor ? emptyWorkMs / 3_600_000 : null,
      conditionedEmptyHours: hasSensor ? conditionedEmptyMs / 3_600_000 : null,
      costPerOccupiedHour: use.costPerOccupiedHour,
      emptyHoursCostCny: use.emptyHoursCostCny,
      conditionedEmptyCostCny: use.conditionedEmptyCostCny,
      nulls: {
        ...cost.nulls,
        ...use.nulls,
        ...(hasSensor
          ? {}
          : {
              occupiedHours: 'no-sensor' as const,
              emptyWorkingHours: 'no-sensor' as const,
              conditionedEmptyHours: 'no-sensor' as const,
            }),
      },
    });
  }
  return out;
}

// ------------------------------------------------------------------ budgets

export interface BudgetItemLine extends BudgetLine {
  readonly item: BudgetItem;
}

export interface DepartmentBudget {
  readonly department: string;
  readonly name: { readonly zh: string; readonly en: string };
  readonly items: readonly BudgetItemLine[];
  /** The sum of the items with a budget. */
  readonly total: BudgetLine;
}

export interface Budgets {
  readonly year: number;
  readonly from: number;
  readonly to: number;
  readonly asOf: number;
  readonly items: readonly DepartmentBudget[];
}

/** Energy costs of a department row by kind (see the module comment); null when not measured or priced. */
export function kindCosts(
  facility: Facility,
  item: EnergyItem,
): Record<'electricity' | 'water' | 'gas', number | null> {
  const electricity = item.tariff
    ? sum(Object.values(item.tariff).map((t) => t.costCny))
    : item.electricityKwh === 0
      ? 0
      : null;
  const price = (kind: 'water' | 'gas', used: number | null) => {
    const p = facility.tariffs[kind]?.price;
    return used === null ? null : used === 0 ? 0 : p === undefined ? null : used * p;
  };
  return { electricity, water: price('water', item.waterM3), gas: price('gas', item.gasM3) };
}

/** Budget lines of every department (or one) for a year, as of min(now, year end). */
export async function budgets(
  ctx: ManagementContext,
  year: number,
  department?: string,
  asOfLimit?: number,
): Promise<Budgets> {
  const { facility } = ctx.kpi;
  const zone = zoneOf(ctx);
  const start = DateTime.fromObject({ year, month: 1, day: 1 }, { zone });
  const yearPeriod = { from: start.toMillis(), to: start.plus({ years: 1 }).toMillis() };
  const asOf = Math.max(
    yearPeriod.from,
    Math.min(now(ctx), yearPeriod.to, asOfLimit ?? Number.POSITIVE_INFINITY),
  );
  const departments = facility.departments.filter((d) => department === undefined || d.id === department);
  const started = asOf > yearPeriod.from;
  const toDate = { from: yearPeriod.from, to: asOf };
  const [energy, cars, ledger] = started
    ? await Promise.all([
        ctx.services.energySummary(ctx.kpi, {
          ...toDate,
          groupBy: 'department',
          ...(department === undefined ? {} : { department }),
        }),
        ctx.services.vehicleUtilization(ctx.kpi, {
          ...toDate,
          ...(department === undefined ? {} : { department }),
        }),
        ledgerIn(ctx, toDate),
      ])
    : [undefined, undefined, [] as CostEntry[]];
  const areas = departmentAreas(facility);
  const vehicleDept = new Map(facility.vehicles.map((v) => [v.id, v.department]));
  const roomDept = new Map(facility.rooms.map((r) => [r.id, r.department]));
  const items = departments.map((d): DepartmentBudget => {
    const budget = d.budgets?.find((b) => b.year === year);
    const row = energy?.items.find((i) => i.id === d.id);
    const kinds = row ? kindCosts(facility, row) : { electricity: null, water: null, gas: null };
    const own = ledger.filter((e) => {
      const owner =
        e.subject.kind === 'vehicle'
          ? vehicleDept.get(e.subject.id)
          : e.subject.kind === 'room'
            ? roomDept.get(e.subject.id)
            : e.subject.kind === 'department'
              ? e.subject.id
              : undefined;
      return owner === d.id;
    });
    const inBuildings = areas.get(d.id) ?? new Map<string, number>();
    // Building-level ledger entries are shared by floor area, as the building's other costs are.
    const buildingLedger = sum(
      ledger
        .filter((e) => e.subject.kind === 'building' && budgetItemOf(e.item, 'building') === 'property')
        .map((e) => {
          const b = facility.buildings.find((x) => x.id === e.subject.id);
          return b ? (e.amountCny * (inBuildings.get(b.id) ?? 0)) / b.floorArea : 0;
        }),
    );
    const ledgerOf = (item: BudgetItem) =>
      sum(own.filter((e) => budgetItemOf(e.item, e.subject.kind) === item).map((e) => e.amountCny));
    const feeYear = sum(
      [...inBuildings].map(([b, area]) => {
        const fee = facility.buildings.find((x) => x.id === b)?.propertyFeePerM2Year ?? 0;
        return fee * area;
      }),
    );
    const feeToDate = started ? accrued(feeYear, toDate, zone) : 0;
    const coverage = (kind: 'electricity' | 'water' | 'gas') => row?.coverageByKind[kind] ?? 0;
    const fuel = cars?.items.filter((c) => c.department === d.id) ?? [];
    const fuelActual =
      fuel.length === 0
        ? null
        : fuel.some((c) => c.costCny !== null)
          ? sum(fuel.map((c) => c.costCny ?? 0))
          : null;
    // The cars' telemetry covers what the platform watched: the share of cars reporting × the time
    // share the department's meters cover (the platform's watch of the year), an estimate.
    const fuelCoverage =
      fuel.length === 0
        ? 0
        : ((row?.coverage ?? 0) * fuel.filter((c) => c.costCny !== null).length) / fuel.length;
    const inputs: Record<
      BudgetItem,
      {
        actual: number | null;
        method: ProjectionMethod;
        coverage?: number;
        scheduledYear?: number;
        scheduledToDate?: number;
      }
    > = {
      electricity: { actual: kinds.electricity, method: 'covered-rate', coverage: coverage('electricity') },
      water: { actual: kinds.water, method: 'covered-rate', coverage: coverage('water') },
      gas: { actual: kinds.gas, method: 'covered-rate', coverage: coverage('gas') },
      vehicleFuel: { actual: fuelActual, method: 'covered-rate', coverage: fuelCoverage },
      vehicleMaintenance: { actual: ledgerOf('vehicleMaintenance'), method: 'run-rate' },
      property: {
        actual: feeToDate + ledgerOf('property') + buildingLedger,
        method: 'scheduled',
        scheduledYear: feeYear,
        scheduledToDate: feeToDate,
      },
    };
    const lines = BUDGET_ITEMS.map((item): BudgetItemLine => {
      const input = inputs[item];
      return {
        item,
        ...budgetLine({
          budget: budget?.[item] ?? null,
          year: yearPeriod,
          asOf,
          actual: started ? input.actual : null,
          method: input.method,
          ...(input.coverage === undefined ? {} : { coverage: input.coverage }),
          ...(input.scheduledYear === undefined
            ? {}
            : { scheduledYear: input.scheduledYear, scheduledToDate: input.scheduledToDate ?? 0 }),
        }),
      };
    });
    const budgeted = lines.filter((l) => l.budget !== null);
    const total = budgetLine({
      budget: budgeted.length > 0 ? sum(budgeted.map((l) => l.budget as number)) : null,
      year: yearPeriod,
      asOf,
      actual: budgeted.some((l) => l.actual !== null) ? sum(budgeted.map((l) => l.actual ?? 0)) : null,
      method: 'run-rate',
    });
    const projected =
      budgeted.every((l) => l.projectedYearEnd !== null) && budgeted.length > 0
        ? sum(budgeted.map((l) => l.projectedYearEnd as number))
        : null;
    const totalLine: BudgetLine = {
      ...total,
      projectedYearEnd: projected,
      projectedPercent: projected === null ? null : ratio(projected * 100, total.budget),
      status:
        total.budget === null || total.actual === null
          ? null
          : total.actual > total.budget
            ? 'over'
            : projected !== null && projected > total.budget
              ? 'at-risk'
              : budgeted.some((l) => l.status === 'over' || l.status === 'at-risk')
                ? 'at-risk'
                : 'on-track',
      method: 'run-rate',
      nulls:
        projected === null
          ? { ...total.nulls, projectedYearEnd: 'no-data' }
          : Object.fromEntries(
              Object.entries(total.nulls).filter(
                ([k]) => k !== 'projectedYearEnd' && k !== 'projectedPercent',
              ),
            ),
    };
    return { department: d.id, name: d.name, items: lines, total: totalLine };
  });
  return { year, from: yearPeriod.from, to: yearPeriod.to, asOf, items };
}

// ------------------------------------------------------------------ feedback

export type FeedbackGroupBy = 'room' | 'building' | 'service' | 'department';

export interface ComfortComplaint {
  readonly id: number;
  readonly time: number;
  readonly room: string;
  readonly score: number;
  readonly categories: readonly string[];
  readonly measured: Measured;
}

export interface FeedbackSummaryGroup extends FeedbackGroupSummary {
  readonly id: string;
  readonly name: { readonly zh: string; readonly en: string };
  /** The newest comments (at most 5), as text: escape them wherever they are shown. */
  readonly comments: readonly { readonly time: number; readonly score: number; readonly comment: string }[];
  readonly complaints: readonly ComfortComplaint[];
}

export interface FeedbackSummary {
  readonly from: number;
  readonly to: number;
  readonly groupBy: FeedbackGroupBy;
  readonly total: FeedbackGroupSummary;
  readonly items: readonly FeedbackSummaryGroup[];
}

/** Most comfort complaints linked to the sensor in one summary (the newest). */
export const MAX_LINKED_COMPLAINTS = 500;

/** The sensor values at each comfort complaint about a room (newest first, at most {@link MAX_LINKED_COMPLAINTS}). */
async function measure(
  ctx: ManagementContext,
  answers: readonly FeedbackAnswer[],
): Promise<Map<number, Measured>> {
  const { facility, store } = ctx.kpi;
  const out = new Map<number, Measured>();
  const complaints = answers
    .filter((a) => a.subjectKind === 'room' && a.categories.some((c) => COMFORT_CATEGORIES.includes(c)))
    .slice(-MAX_LINKED_COMPLAINTS);
  for (const a of complaints) {
    const sensors = facility.sensors.filter((s) => s.room === a.subject);
    if (sensors.length === 0) continue;
    const hold = 3 * Math.max(...sensors.map((s) => s.interval)) * 1000;
    const series = await store.query({
      measurement: 'sensor',
      fields: ['temperature', 'co2'],
      where: { site: facility.site.id, room: a.subject },
      from: a.time - hold,
      to: a.time + 1,
    });
    const rows = series.flatMap((s) => s.rows).sort((x, y) => x.time - y.time);
    out.set(
      a.id,
      measuredAt(
        {
          time: rows.map((r) => r.time),
          temperature: rows.map((r) =>
            typeof r.values.temperature === 'number' ? r.values.temperature : Number.NaN,
          ),
          co2: rows.map((r) => (typeof r.values.co2 === 'number' ? r.values.co2 : Number.NaN)),
        },
        a.time,
        hold,
      ),
    );
  }
  return out;
}

/** Feedback of the period summed up per room, building, service or department (feedback.ts). */
export async function feedbackSummary(
  ctx: ManagementContext,
  period: Period,
  groupBy: FeedbackGroupBy,
  department?: string,
): Promise<FeedbackSummary> {
  const { facility } = ctx.kpi;
  const rooms = new Map(facility.rooms.map((r) => [r.id, r]));
  let answers = await ctx.feedback.listFeedback(period.from, period.to);
  if (department !== undefined) {
    answers = answers.filter(
      (a) => a.subjectKind === 'room' && rooms.get(a.subject)?.department === department,
    );
  }
  const measured = await measure(ctx, answers);
  const groups: { id: string; name: { zh: string; en: string }; test: (a: FeedbackAnswer) => boolean }[] = [];
  if (groupBy === 'room') {
    for (const r of facility.rooms)
      groups.push({ id: r.id, name: r.name, test: (a) => a.subjectKind === 'room' && a.subject === r.id });
  } else if (groupBy === 'building') {
    for (const b of facility.buildings) {
      groups.push({
        id: b.id,
        name: b.name,
        test: (a) => a.subjectKind === 'room' && rooms.get(a.subject)?.building === b.id,
      });
    }
  } else if (groupBy === 'department') {
    for (const d of facility.departments) {
      groups.push({
        id: d.id,
        name: d.name,
        test: (a) => a.subjectKind === 'room' && rooms.get(a.subject)?.department === d.id,
      });
    }
  } else {
    for (const s of feedbackServices(facility)) {
      groups.push({ id: s.id, name: s.name, test: (a) => a.subjectKind === 'service' && a.subject === s.id });
    }
  }
  const items = groups
    .filter((g) => department === undefined || groupBy !== 'department' || g.id === department)
    .map((g): FeedbackSummaryGroup => {
      const own = answers.filter(g.test);
      return {
        id: g.id,
        name: g.name,
        ...summariseFeedback(own, measured),
        comments: own
          .filter((a) => a.comment !== '')
          .slice(-5)
          .reverse()
          .map((a) => ({ time: a.time, score: a.score, comment: a.comment })),
        complaints: own
          .filter((a) => measured.has(a.id))
          .map((a) => ({
            id: a.id,
            time: a.time,
            room: a.subject,
            score: a.score,
            categories: a.categories,
            measured: measured.get(a.id) as Measured,
          })),
      };
    });
  return { from: period.from, to: period.to, groupBy, total: summariseFeedback(answers, measured), items };
}

// ------------------------------------------------------------------ scorecard

export interface ScorecardItem extends DepartmentScore {
  readonly department: string;
  readonly name: { readonly zh: string; readonly en: string };
  readonly rank: number | null;
  readonly previousTotal: number | null;
  /** total − previousTotal. */
  readonly change: number | null;
}

export interface Scorecard {
  readonly month: string;
  readonly from: number;
  readonly to: number;
  readonly weights: Readonly<Record<string, number>>;
  readonly items: readonly ScorecardItem[];
}

/** The indicator values of every department for one month. */
async function indicatorValues(
  ctx: ManagementContext,
  period: Period,
): Promise<Map<string, Record<ScorecardIndicator, IndicatorValue>>> {
  const { facility } = ctx.kpi;
  const config = scorecardConfig(facility);
  const zone = zoneOf(ctx);
  const [energy, cars, roomsU, feedback, ledger, alerts] = await Promise.all([
    ctx.services.energySummary(ctx.kpi, { ...period, groupBy: 'department' }),
    ctx.services.vehicleUtilization(ctx.kpi, period),
    ctx.services.roomUtilization(ctx.kpi, period),
    ctx.feedback.listFeedback(period.from, period.to),
    ledgerIn(ctx, period),
    ctx.alerts ? ctx.alerts.alertsRaised(period.from, period.to) : Promise.resolve(undefined),
  ]);
  const year = DateTime.fromMillis(period.from, { zone }).startOf('year');
  const share = (period.to - period.from) / (year.plus({ years: 1 }).toMillis() - year.toMillis());
  const rooms = new Map(facility.rooms.map((r) => [r.id, r]));
  const sensed = new Set(
    facility.sensors
      .filter((s) => s.measures.includes('occupancy') || s.measures.includes('hvac'))
      .map((s) => s.room),
  );
  const out = new Map<string, Record<ScorecardIndicator, IndicatorValue>>();
  for (const d of facility.departments) {
    const row = energy.items.find((i) => i.id === d.id);
    const budget = d.budgets?.find((b) => b.year === year.year);
    const heads = d.headcount;
    const perHead = (v: number | null) => (v === null ? null : v / heads);
    const kinds = row ? kindCosts(facility, row) : { electricity: null, water: null, gas: null };
    const energyKinds = (['electricity', 'water', 'gas'] as const).filter((k) => budget?.[k] !== undefined);
    const energyValue =
      energyKinds.length === 0
        ? row
          ? spaceEnergyCost(row)
          : null
        : energyKinds.some((k) => kinds[k] === null)
          ? null
          : sum(energyKinds.map((k) => kinds[k] as number));
    const energyBudget =
      energyKinds.length === 0 ? null : sum(energyKinds.map((k) => budget?.[k] as number)) * share;
    const ownCars = facility.vehicles.filter((v) => v.department === d.id);
    const carItems = cars.items.filter((c) => c.department === d.id);
    const fuel = carItems.some((c) => c.costCny !== null) ? sum(carItems.map((c) => c.costCny ?? 0)) : null;
    const maintenance = sum(
      ledger
        .filter(
          (e) =>
            e.subject.kind === 'vehicle' && ownCars.some((v) => v.id === e.subject.id) && e.item !== 'other',
        )
        .map((e) => e.amountCny),
    );
    const carBudgetItems = (['vehicleFuel', 'vehicleMaintenance'] as const).filter(
      (k) => budget?.[k] !== undefined,
    );
    const carBudget =
      carBudgetItems.length === 0 ? null : sum(carBudgetItems.map((k) => budget?.[k] as number)) * share;
    const quota = row?.quota.find((q) => q.kind === 'electricity');
    // Rooms whose sensor reported in the month: a silent sensor says nothing, not "0 hours".
    const ownRooms = roomsU.items.filter(
      (r) =>
        rooms.get(r.id)?.department === d.id &&
        sensed.has(r.id) &&
        ((r as { reportedHours?: number }).reportedHours ?? 0) > 0,
    );
    const answers = feedback.filter(
      (a) => a.subjectKind === 'room' && rooms.get(a.subject)?.department === d.id,
    );
    const deptAlerts = alerts?.filter((a) => a.department === d.id);
    const ackMs = config.ackWithinMinutes * 60_000;
    out.set(d.id, {
      energyCostPerCapita: {
        value: perHead(energyValue),
        budgetTarget: energyBudget === null ? null : energyBudget / heads,
        ...(energyValue === null ? { reason: 'no-data' as const } : {}),
      },
      vehicleCostPerCapita:
        ownCars.length === 0 || fuel === null
          ? {
              value: null,
              reason: ownCars.length === 0 ? 'no-vehicle' : 'no-data',
              budgetTarget: carBudget === null ? null : carBudget / heads,
            }
          : {
              value: perHead(fuel + maintenance),
              budgetTarget: carBudget === null ? null : carBudget / heads,
            },
      quotaUsePercent:
        quota?.usedPercent === null || quota === undefined
          ? { value: null, reason: quota === undefined ? 'no-quota' : 'no-data' }
          : { value: quota.usedPercent },
      offHoursShare:
        row?.offHoursShare === null || row === undefined
          ? { value: null, reason: 'no-data' }
          : { value: row.offHoursShare * 100 },
      conditionedEmptyHours:
        ownRooms.length === 0
          ? { value: null, reason: 'no-rooms' }
          : { value: sum(ownRooms.map((r) => r.conditionedEmptyHours)) / ownRooms.length },
      vehicleUtilization:
        carItems.length === 0
          ? { value: null, reason: 'no-vehicle' }
          : { value: (100 * sum(carItems.map((c) => c.utilization))) / carItems.length },
      satisfactionScore:
        answers.length === 0
          ? { value: null, reason: 'no-answers' }
          : { value: sum(answers.map((a) => a.score)) / answers.length },
      feedbackAnswers: { value: answers.length },
      yoyChangePercent:
        row?.lastYear?.changePercent === null || row?.lastYear === undefined || row.lastYear === null
          ? { value: null, reason: 'coverage-under-90' }
          : { value: row.lastYear.changePercent },
      alertsAckInTime:
        deptAlerts === undefined
          ? { value: null, reason: 'no-alert-store' }
          : deptAlerts.length === 0
            ? { value: null, reason: 'no-alerts' }
            : {
                value:
                  (100 *
                    deptAlerts.filter(
                      (a) => a.acknowledgedAt !== null && a.acknowledgedAt - a.raisedAt <= ackMs,
                    ).length) /
                  deptAlerts.length,
              },
    });
  }
  return out;
}

function scoresOf(ctx: ManagementContext, values: Map<string, Record<ScorecardIndicator, IndicatorValue>>) {
  const config = scorecardConfig(ctx.kpi.facility);
  const own = new Set(
    Object.entries(ctx.kpi.facility.scorecard?.indicators ?? {})
      .filter(([, v]) => (v as { target?: number } | undefined)?.target !== undefined)
      .map(([k]) => k),
  );
  return new Map([...values].map(([id, v]) => [id, departmentScore(config, v, own)]));
}

/** The scorecard of a month `YYYY-MM` (scorecard.ts for the scoring), with last month's totals. */
export async function scorecard(
  ctx: ManagementContext,
  month: string,
  department?: string,
): Promise<Scorecard> {
  const { facility } = ctx.kpi;
  const zone = zoneOf(ctx);
  const period = monthPeriod(month, zone);
  const before = monthPeriod(previousMonth(month), zone);
  const [current, previous] = await Promise.all([indicatorValues(ctx, period), indicatorValues(ctx, before)]);
  const scores = scoresOf(ctx, current);
  const previousScores = scoresOf(ctx, previous);
  const departments = facility.departments;
  const totals = departments.map((d) => scores.get(d.id)?.total ?? null);
  const rank = ranks(totals);
  const config = scorecardConfig(facility);
  const items = departments
    .map((d, i): ScorecardItem => {
      const score = scores.get(d.id) as DepartmentScore;
      const previousTotal = previousScores.get(d.id)?.total ?? null;
      return {
        department: d.id,
        name: d.name,
        ...score,
        rank: rank[i] ?? null,
        previousTotal,
        change: score.total === null || previousTotal === null ? null : score.total - previousTotal,
      };
    })
    .filter((item) => department === undefined || item.department === department);
  return { month, ...period, weights: config.weights, items };
}

/** Specs of the indicators, for documentation and the report. */
export function indicatorSpecs(facility: Facility): Readonly<Record<ScorecardIndicator, IndicatorSpec>> {
  return scorecardConfig(facility).indicators;
}

export { DAY_MS };
