/**
 * The cost maths of the management layer (issue 13), pure functions over plain numbers; the
 * services in `service.ts` gather the inputs. Every definition is written here once; api/README.md
 * repeats them for callers.
 *
 * **Time.** A period is [from, to) in epoch ms; calendar dates of the facility file and the ledger
 * are local midnights in the site's zone.
 *
 * **Depreciation** (折旧), straight line: an asset of value V with residual r % is written down by
 * V × (1 − r/100) evenly over its life, from its date (local midnight) to the same date
 * `lifeYears` later (a fraction of a year counts 365 days a year). Over a period the charge is that
 * amount × (the part of the period inside the life) ÷ (the life's length), so it is 0 before the
 * date and after the end of life, and the charges of consecutive periods add up.
 *
 * **Yearly amounts** (insurance, a property fee per m²): accrue evenly over each calendar year —
 * the charge over a period is Σ over the local calendar years it touches of amount × (its time in
 * that year) ÷ (the year's length), from `since` (a car's purchase) when given.
 *
 * **Per year** (space costs per m² and per workstation): a period's cost × 365 days ÷ the period's
 * length in days (an annualised rate; a month of 30 days × 365/30).
 *
 * **Null, not zero.** A figure that cannot be known (no telemetry, no distance, no price) is
 * `null` and its object's `nulls` map says why; a total adds up only the parts that are known and
 * `nulls` names the ones left out.
 */
import { DateTime } from 'luxon';

export const DAY_MS = 86_400_000;
const YEAR_DAYS = 365;

export interface Period {
  readonly from: number;
  readonly to: number;
}

/** An asset written down in a straight line. */
export interface AssetBook {
  /** Value (or purchase price), CNY. */
  readonly value: number;
  /** `YYYY-MM-DD`, local. */
  readonly date: string;
  readonly lifeYears: number;
  /** Residual value, % of value; default 0. */
  readonly residualPercent?: number;
}

/** Local midnight of a `YYYY-MM-DD` in the zone, epoch ms. */
export function localDay(date: string, zone: string): number {
  return DateTime.fromISO(date, { zone }).startOf('day').toMillis();
}

/** The `YYYY-MM-DD` of an instant in the zone. */
export function dayOf(epochMs: number, zone: string): string {
  return DateTime.fromMillis(epochMs, { zone }).toISODate() as string;
}

/** [start, end) of an asset's life, epoch ms. */
export function lifeSpan(asset: AssetBook, zone: string): Period {
  const start = DateTime.fromISO(asset.date, { zone }).startOf('day');
  const whole = Math.trunc(asset.lifeYears);
  const rest = asset.lifeYears - whole;
  const end = start.plus({ years: whole }).toMillis() + Math.round(rest * YEAR_DAYS * DAY_MS);
  return { from: start.toMillis(), to: end };
}

/** The length of the overlap of two periods, ms (0 when they do not meet). */
export function overlapMs(a: Period, b: Period): number {
  return Math.max(0, Math.min(a.to, b.to) - Math.max(a.from, b.from));
}

/** Straight-line depreciation of the asset over the period, CNY (see the module comment). */
export function depreciation(asset: AssetBook, period: Period, zone: string): number {
  const life = lifeSpan(asset, zone);
  const length = life.to - life.from;
  if (!(length > 0)) return 0;
  const depreciable = asset.value * (1 - (asset.residualPercent ?? 0) / 100);
  return (depreciable * overlapMs(period, life)) / length;
}

/** Book value at an instant: value less the depreciation from the date to then. */
export function bookValue(asset: AssetBook, at: number, zone: string): number {
  const life = lifeSpan(asset, zone);
  return asset.value - depreciation(asset, { from: life.from, to: Math.max(life.from, at) }, zone);
}

/** A yearly amount accrued over the period, CNY, from `since` when given (see the module comment). */
export function accrued(amountPerYear: number, period: Period, zone: string, since?: number): number {
  const from = since === undefined ? period.from : Math.max(period.from, since);
  if (!(period.to > from) || amountPerYear === 0) return 0;
  let sum = 0;
  let year = DateTime.fromMillis(from, { zone }).startOf('year');
  while (year.toMillis() < period.to) {
    const next = year.plus({ years: 1 });
    const span = { from: year.toMillis(), to: next.toMillis() };
    sum += (amountPerYear * overlapMs({ from, to: period.to }, span)) / (span.to - span.from);
    year = next;
  }
  return sum;
}

/** A period's amount as a rate per year: × 365 days ÷ its days. */
export function perYear(amount: number, period: Period): number {
  return (amount * YEAR_DAYS * DAY_MS) / (period.to - period.from);
}

/** `a ÷ b`, or null when b is not positive (or the result is not finite). */
export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || !(b > 0)) return null;
  const value = a / b;
  return Number.isFinite(value) ? value : null;
}

/** Money rounded to fen (0.01 CNY); other figures to `digits`. */
export function money(value: number): number;
export function money(value: number | null): number | null;
export function money(value: number | null): number | null {
  return value === null ? null : roundTo(value, 2);
}

export function roundTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  const out = Math.round(value * scale) / scale;
  return out === 0 ? 0 : out;
}

/** The median of the numbers (mean of the middle two for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

// ------------------------------------------------------------------ vehicles

/** Why a management figure is null. */
export type CostNullReason =
  | 'no-data'
  | 'no-price'
  | 'no-distance'
  | 'no-trips'
  | 'not-used'
  | 'no-purchase'
  | 'no-budget'
  | 'no-area'
  | 'no-workstations'
  | 'no-sensor'
  | 'never-occupied'
  | 'no-working-time'
  | 'no-hvac-meter'
  | 'no-answers'
  | 'no-alert-store'
  | 'no-alerts'
  | 'no-quota'
  | 'no-vehicle'
  | 'no-rooms'
  | 'coverage-under-90'
  | 'not-started'
  | 'no-headcount';

export const COST_NULL_REASONS: Readonly<Record<CostNullReason, string>> = {
  'no-data': 'no telemetry (or no ledger entry) behind the figure in the period',
  'no-price': 'no price for the energy in the tariffs',
  'no-distance': 'the car drove no distance in the period',
  'no-trips': 'the car made no trip in the period',
  'not-used': 'the car was used on no working day of the period',
  'no-purchase': 'the facility file gives no purchase data for the car',
  'no-budget': 'the facility file gives no budget for this item and year',
  'no-area': 'no floor area',
  'no-workstations': 'no workstations (headcount or seats)',
  'no-sensor': 'the room has no occupancy sensor',
  'never-occupied': 'the room was never occupied in the period',
  'no-working-time': 'the period holds no working time',
  'no-hvac-meter': 'the building has no HVAC sub-meter to price an hour of conditioning',
  'no-answers': 'no feedback in the period',
  'no-alert-store': 'no alert store is wired into this platform yet',
  'no-alerts': 'no alert was raised for the department in the period',
  'no-quota': 'the department has no electricity quota for the year',
  'no-vehicle': 'the department has no car',
  'no-rooms': 'the department has no room with a sensor',
  'coverage-under-90': 'the year-on-year comparison is under 90 % covered',
  'not-started': 'the period has not begun',
  'no-headcount': 'no headcount',
};

export type Nulls = Record<string, CostNullReason>;

/** What one car cost over a period (inputs of {@link vehicleCost}). */
export interface VehicleCostInput {
  readonly depreciationCny: number | null;
  readonly insuranceCny: number;
  /** Ledger entries of the car, CNY by ledger item. */
  readonly ledgerCny: Readonly<Record<string, number>>;
  /** Fuel or electricity from telemetry at the configured prices; null without data or price. */
  readonly fuelCny: number | null;
  readonly fuelNull?: CostNullReason;
  readonly distanceKm: number;
  readonly trips: number;
  /** Working days (site calendar) of the period on which the car made at least one trip. */
  readonly workingDaysInUse: number;
}

export interface VehicleCost {
  readonly depreciationCny: number | null;
  readonly insuranceCny: number;
  readonly maintenanceCny: number;
  readonly ledgerByItem: Readonly<Record<string, number>>;
  readonly fuelCny: number | null;
  readonly totalCny: number;
  readonly distanceKm: number;
  readonly trips: number;
  readonly workingDaysInUse: number;
  readonly perKm: number | null;
  readonly perTrip: number | null;
  readonly perWorkingDayInUse: number | null;
  readonly nulls: Nulls;
}

/**
 * A car's cost: depreciation + insurance + ledger (maintenance, repairs, tyres… all items) + fuel;
 * `perKm` = total ÷ distance, `perTrip` = total ÷ trips, `perWorkingDayInUse` = total ÷ working
 * days with a trip. Unrounded.
 */
export function vehicleCost(input: VehicleCostInput): VehicleCost {
  const nulls: Nulls = {};
  const maintenanceCny = Object.values(input.ledgerCny).reduce((a, b) => a + b, 0);
  if (input.depreciationCny === null) nulls.depreciationCny = 'no-purchase';
  if (input.fuelCny === null) nulls.fuelCny = input.fuelNull ?? 'no-data';
  const totalCny = (input.depreciationCny ?? 0) + input.insuranceCny + maintenanceCny + (input.fuelCny ?? 0);
  const perKm = ratio(totalCny, input.distanceKm);
  const perTrip = ratio(totalCny, input.trips);
  const perWorkingDayInUse = ratio(totalCny, input.workingDaysInUse);
  if (perKm === null) nulls.perKm = 'no-distance';
  if (perTrip === null) nulls.perTrip = 'no-trips';
  if (perWorkingDayInUse === null) nulls.perWorkingDayInUse = 'not-used';
  return {
    depreciationCny: input.depreciationCny,
    insuranceCny: input.insuranceCny,
    maintenanceCny,
    ledgerByItem: input.ledgerCny,
    fuelCny: input.fuelCny,
    totalCny,
    distanceKm: input.distanceKm,
    trips: input.trips,
    workingDaysInUse: input.workingDaysInUse,
    perKm,
    perTrip,
    perWorkingDayInUse,
    nulls,
  };
}

/** The fleet line: the cars' sums, and the same ratios over the sums. */
export function fleetCost(cars: readonly VehicleCost[]): VehicleCost {
  const sum = (pick: (c: VehicleCost) => number | null) =>
    cars.reduce((acc, car) => acc + (pick(car) ?? 0), 0);
  const ledgerByItem: Record<string, number> = {};
  for (const car of cars) {
    for (const [item, amount] of Object.entries(car.ledgerByItem)) {
      ledgerByItem[item] = (ledgerByItem[item] ?? 0) + amount;
    }
  }
  const anyFuel = cars.some((c) => c.fuelCny !== null);
  const anyDepreciation = cars.some((c) => c.depreciationCny !== null);
  return vehicleCost({
    depreciationCny: anyDepreciation ? sum((c) => c.depreciationCny) : null,
    insuranceCny: sum((c) => c.insuranceCny),
    ledgerCny: ledgerByItem,
    fuelCny: anyFuel ? sum((c) => c.fuelCny) : null,
    distanceKm: sum((c) => c.distanceKm),
    trips: sum((c) => c.trips),
    workingDaysInUse: sum((c) => c.workingDaysInUse),
  });
}

/** The replacement signal of a car (see {@link replacementSignal}). */
export interface ReplacementSignal {
  readonly replace: boolean;
  /** `life-exceeded`, `cost-per-km` (both can hold). */
  readonly reasons: readonly ('life-exceeded' | 'cost-per-km')[];
  readonly message: { readonly zh: string; readonly en: string };
  readonly lifeEndsOn: string | null;
  readonly last12MonthsPerKm: number | null;
  readonly fleetMedianPerKm: number | null;
  readonly multiple: number;
}

/**
 * Replace a car when its expected life is over (now ≥ purchase date + life), or when its cost per
 * km over the last 12 months is above `multiple` × the median of the fleet's cars' (the cars with a
 * cost per km over those 12 months).
 */
export function replacementSignal(input: {
  readonly lifeEnd: number | null;
  readonly lifeEndsOn: string | null;
  readonly now: number;
  readonly last12MonthsPerKm: number | null;
  readonly fleetPerKm: readonly number[];
  readonly multiple: number;
}): ReplacementSignal {
  const reasons: ('life-exceeded' | 'cost-per-km')[] = [];
  const zh: string[] = [];
  const en: string[] = [];
  if (input.lifeEnd !== null && input.now >= input.lifeEnd) {
    reasons.push('life-exceeded');
    zh.push(`已超过预计使用年限（${input.lifeEndsOn} 到期）`);
    en.push(`its expected life ended on ${input.lifeEndsOn}`);
  }
  const fleetMedian = median(input.fleetPerKm);
  const own = input.last12MonthsPerKm;
  if (own !== null && fleetMedian !== null && own > input.multiple * fleetMedian) {
    reasons.push('cost-per-km');
    zh.push(
      `近12个月每公里成本 ${own.toFixed(2)} 元，超过车队中位数 ${fleetMedian.toFixed(2)} 元的 ${input.multiple} 倍`,
    );
    en.push(
      `its cost per km over the last 12 months, CNY ${own.toFixed(2)}, is above ${input.multiple} × the fleet median of CNY ${fleetMedian.toFixed(2)}`,
    );
  }
  return {
    replace: reasons.length > 0,
    reasons,
    message:
      reasons.length > 0
        ? { zh: `建议更新：${zh.join('；')}`, en: `Replace: ${en.join('; ')}` }
        : { zh: '暂无需更新', en: 'No replacement signal' },
    lifeEndsOn: input.lifeEndsOn,
    last12MonthsPerKm: own,
    fleetMedianPerKm: fleetMedian,
    multiple: input.multiple,
  };
}

// ------------------------------------------------------------------ budgets

export type BudgetStatus = 'on-track' | 'at-risk' | 'over';

/**
 * How a budget item's year-end is projected:
 * - `covered-rate` (electricity, water, gas, fuel): the cost measured on covered time, at that
 *   rate over the whole year — actual × year ÷ covered time, where covered time = elapsed ×
 *   coverage; missing data is never read as zero;
 * - `run-rate` (vehicle maintenance, from the ledger): actual × year ÷ elapsed;
 * - `scheduled` (property): the year's fee, known in advance, + the ledger's upkeep at its run-rate.
 */
export type ProjectionMethod = 'covered-rate' | 'run-rate' | 'scheduled';

export interface BudgetInput {
  readonly budget: number | null;
  /** [1 January, next 1 January) local. */
  readonly year: Period;
  /** End of the year to date: min(now, year end). */
  readonly asOf: number;
  readonly actual: number | null;
  readonly method: ProjectionMethod;
  /** covered-rate: % of the elapsed time covered by data. */
  readonly coverage?: number;
  /** scheduled: the part known for the whole year (the fee), and the part of `actual` it is. */
  readonly scheduledYear?: number;
  readonly scheduledToDate?: number;
}

export interface BudgetLine {
  readonly budget: number | null;
  readonly expectedToDate: number | null;
  readonly actual: number | null;
  readonly variance: number | null;
  readonly variancePercent: number | null;
  readonly projectedYearEnd: number | null;
  readonly projectedPercent: number | null;
  readonly method: ProjectionMethod;
  readonly coverage: number | null;
  readonly basis: 'measured' | 'partial' | null;
  readonly status: BudgetStatus | null;
  readonly nulls: Nulls;
}

/**
 * One budget line: `expectedToDate` = budget × elapsed ÷ year (pro-rated by time); `variance` =
 * actual − expected; the projection by its method; `status` is `over` once actual > budget,
 * `at-risk` when the projection is over the budget (or, with no projection, actual > expected),
 * else `on-track`.
 */
export function budgetLine(input: BudgetInput): BudgetLine {
  const nulls: Nulls = {};
  const yearMs = input.year.to - input.year.from;
  const elapsed = Math.max(0, Math.min(input.asOf, input.year.to) - input.year.from);
  const { budget, actual } = input;
  const expectedToDate = budget === null ? null : (budget * elapsed) / yearMs;
  let projected: number | null = null;
  let basis: BudgetLine['basis'] = null;
  if (elapsed === 0) nulls.projectedYearEnd = 'not-started';
  else if (actual === null) nulls.projectedYearEnd = 'no-data';
  else if (input.method === 'covered-rate') {
    const coverage = input.coverage ?? 0;
    const covered = (elapsed * coverage) / 100;
    if (covered > 0) {
      projected = (actual * yearMs) / covered;
      basis = coverage >= 100 ? 'measured' : 'partial';
    } else nulls.projectedYearEnd = 'no-data';
  } else if (input.method === 'run-rate') {
    projected = (actual * yearMs) / elapsed;
    basis = 'measured';
  } else {
    const scheduledToDate = input.scheduledToDate ?? 0;
    projected = (input.scheduledYear ?? 0) + ((actual - scheduledToDate) * yearMs) / elapsed;
    basis = 'measured';
  }
  if (actual === null) nulls.actual = 'no-data';
  if (budget === null) {
    nulls.budget = 'no-budget';
    nulls.expectedToDate = 'no-budget';
  }
  const variance = actual !== null && expectedToDate !== null ? actual - expectedToDate : null;
  if (variance === null && !('variance' in nulls)) nulls.variance = budget === null ? 'no-budget' : 'no-data';
  const variancePercent = ratio(variance, expectedToDate);
  if (variancePercent === null)
    nulls.variancePercent = budget === null ? 'no-budget' : elapsed === 0 ? 'not-started' : 'no-data';
  const projectedPercent = projected === null ? null : ratio(projected * 100, budget);
  if (projectedPercent === null)
    nulls.projectedPercent = budget === null ? 'no-budget' : (nulls.projectedYearEnd ?? 'no-data');
  let status: BudgetStatus | null = null;
  if (budget === null) nulls.status = 'no-budget';
  else if (actual === null) nulls.status = 'no-data';
  else if (actual > budget) status = 'over';
  else if (projected !== null ? projected > budget : expectedToDate !== null && actual > expectedToDate)
    status = 'at-risk';
  else status = 'on-track';
  return {
    budget,
    expectedToDate,
    actual,
    variance,
    variancePercent: variancePercent === null ? null : variancePercent * 100,
    projectedYearEnd: projected,
    projectedPercent,
    method: input.method,
    coverage: input.method === 'covered-rate' ? (input.coverage ?? 0) : null,
    basis,
    status,
    nulls,
  };
}

// ------------------------------------------------------------------ space

/** One space's costs over a period and the rates derived from them (see {@link spaceCost}). */
export interface SpaceCostInput {
  readonly areaM2: number;
  readonly workstations: number | null;
  readonly energyCostCny: number | null;
  readonly propertyFeeCny: number;
  readonly depreciationCny: number;
  readonly ledgerCny: number;
  readonly period: Period;
}

export interface SpaceCost {
  readonly energyCostCny: number | null;
  readonly propertyFeeCny: number;
  readonly depreciationCny: number;
  readonly ledgerCny: number;
  readonly totalCny: number;
  readonly perM2Year: number | null;
  readonly perWorkstationYear: number | null;
  readonly nulls: Nulls;
}

/**
 * A space's total = energy + property fee + depreciation + ledger; `perM2Year` = total ÷ area,
 * annualised (× 365 ÷ the period's days); `perWorkstationYear` = total ÷ workstations, annualised.
 */
export function spaceCost(input: SpaceCostInput): SpaceCost {
  const nulls: Nulls = {};
  if (input.energyCostCny === null) nulls.energyCostCny = 'no-data';
  const totalCny =
    (input.energyCostCny ?? 0) + input.propertyFeeCny + input.depreciationCny + input.ledgerCny;
  const annual = perYear(totalCny, input.period);
  const perM2Year = ratio(annual, input.areaM2);
  const perWorkstationYear = ratio(annual, input.workstations);
  if (perM2Year === null) nulls.perM2Year = 'no-area';
  if (perWorkstationYear === null) nulls.perWorkstationYear = 'no-workstations';
  return {
    energyCostCny: input.energyCostCny,
    propertyFeeCny: input.propertyFeeCny,
    depreciationCny: input.depreciationCny,
    ledgerCny: input.ledgerCny,
    totalCny,
    perM2Year,
    perWorkstationYear,
    nulls,
  };
}

/** What a room's occupancy says about its cost (see {@link roomUseCost}). */
export interface RoomUseInput {
  readonly totalCny: number;
  readonly hasSensor: boolean;
  readonly occupiedHours: number;
  readonly workingHours: number;
  /** Working time with a known occupancy and nobody there, h. */
  readonly emptyWorkingHours: number;
  readonly conditionedEmptyHours: number;
  /** What an hour of conditioning costs per m² of the building (HVAC cost ÷ area ÷ working hours), or null. */
  readonly hvacCnyPerM2Hour: number | null;
  readonly areaM2: number;
}

export interface RoomUse {
  readonly costPerOccupiedHour: number | null;
  readonly emptyHoursCostCny: number | null;
  readonly conditionedEmptyCostCny: number | null;
  readonly nulls: Nulls;
}

/**
 * `costPerOccupiedHour` = total ÷ occupied hours. `emptyHoursCostCny`, the cost of empty hours
 * (what the compound paid for space nobody used) = total × empty working hours ÷ working hours:
 * the share of the room's cost that bought working time in which it was known to be empty.
 * `conditionedEmptyCostCny` = conditioned-while-empty hours × room area × the building's HVAC cost
 * per m² and working hour: the avoidable energy of conditioning nobody.
 */
export function roomUseCost(input: RoomUseInput): RoomUse {
  const nulls: Nulls = {};
  if (!input.hasSensor) {
    return {
      costPerOccupiedHour: null,
      emptyHoursCostCny: null,
      conditionedEmptyCostCny: null,
      nulls: {
        costPerOccupiedHour: 'no-sensor',
        emptyHoursCostCny: 'no-sensor',
        conditionedEmptyCostCny: 'no-sensor',
      },
    };
  }
  const costPerOccupiedHour = ratio(input.totalCny, input.occupiedHours);
  if (costPerOccupiedHour === null) nulls.costPerOccupiedHour = 'never-occupied';
  const share = ratio(input.emptyWorkingHours, input.workingHours);
  const emptyHoursCostCny = share === null ? null : input.totalCny * share;
  if (emptyHoursCostCny === null) nulls.emptyHoursCostCny = 'no-working-time';
  const conditionedEmptyCostCny =
    input.hvacCnyPerM2Hour === null
      ? null
      : input.conditionedEmptyHours * input.areaM2 * input.hvacCnyPerM2Hour;
  if (conditionedEmptyCostCny === null) nulls.conditionedEmptyCostCny = 'no-hvac-meter';
  return { costPerOccupiedHour, emptyHoursCostCny, conditionedEmptyCostCny, nulls };
}
