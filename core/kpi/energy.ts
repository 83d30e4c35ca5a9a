/**
 * Energy figures (issue "Efficiency engine", docs/architecture.md "KPI definitions") as pure functions
 * of per-interval consumption: what the store's `registerIntervals` answers for the edges of an
 * {@link EnergyTimeline}. Nothing here reads a store or a clock.
 *
 * Definitions (the ones the issue leaves open are marked *chosen*):
 * - **Consumption** of an item per kind: Σ weight × meter consumption (see energy-scopes.ts),
 *   kWh for electricity, m³ for water and gas.
 * - **kgce, CO2**: electricity × factor + gas × factor (the facility's `factors`); water is not
 *   converted. Vehicle fuel is not part of the buildings' energy figures.
 * - **Cost**: electricity per interval × the price of its time-of-use period (so a day splits
 *   exactly across periods); water and gas × their unit price. A missing price counts 0.
 * - **Intensities**: ÷ the item's floor area (m²) or headcount; `null` without one.
 * - **Off-hours share**: electricity in intervals outside working time ÷ all electricity (0–1),
 *   `null` when the item used no electricity.
 * - **Coverage**: Σ covered ms of every meter behind the item ÷ (number of meters × period ms),
 *   in %: the time-weighted mean coverage of those meters (0 for an item without meters).
 * - **Quota** (*chosen*): for each annual quota of the item's scope whose year overlaps the
 *   period: amount = annual × (time of the period inside that local calendar year ÷ length of the
 *   year), i.e. days ÷ 365 (366). `usedPercent` = consumption in that part of the period ÷ amount.
 *   Projection: `asOf` = the end of the period or now, whichever is earlier, kept inside the year;
 *   projected = consumption from the local 1 January up to `asOf` ÷ elapsed time × the year's
 *   length (straight line; for a year already over, the actual total). Quota kinds: electricity,
 *   water, gas and standard-coal (kgce of electricity and gas).
 * - **Standard** (*chosen* for sites and departments): GB/T 51161 values of the buildings behind
 *   the item (energy-standard.ts); a site compares the electricity of its office buildings that
 *   have values over their floor area against their area-weighted values (other buildings are
 *   left out of both sides); a department only when all its spaces are in such buildings, its
 *   kWh over its own area, values weighted by its area in each. Intensity annualised × 365 ÷ days
 *   of the period.
 * - **Previous**: the period of equal length (in ms) just before, with the % change of kgce.
 * - **Rounding** (*chosen*): figures are kept exact until the item is built, then rounded:
 *   quantities (kWh, m³, kgce, kg) to 3 decimals, money to 2, per-m² and per-person figures and
 *   shares to 4, percentages and coverage to 2.
 */
import { DateTime, IANAZone } from 'luxon';
import { type Facility, type MeterKind, type QuotaKind, type TouPeriod, UNITS } from '../facility/schema.ts';
import type { RegisterSeries } from '../store.ts';
import { isoAt, round } from './common.ts';
import type { EnergyScopeDef, StandardSpec, Terms } from './energy-scopes.ts';
import { annualise, GBT_51161_SOURCE, rateIntensity } from './energy-standard.ts';
import type { EnergyTimeline, TimelineInterval } from './energy-timeline.ts';
import { ALL_TOU_PERIODS } from './tou-schedule.ts';
import type { EnergyItem, PreviousFigure, QuotaFigure, StandardFigure } from './types.ts';

export const ENERGY_KINDS = ['electricity', 'water', 'gas'] as const satisfies readonly MeterKind[];

/** Per-interval figures of one meter, as the store returns them. */
export type MeterIntervals = Pick<RegisterSeries, 'consumption' | 'coveredMs'>;

/** The store's answer indexed by meter id; a meter missing from it had no readings. */
export type MeterData = ReadonlyMap<string, MeterIntervals>;

export function indexSeries(series: readonly RegisterSeries[]): Map<string, MeterIntervals> {
  return new Map(series.map((s) => [s.meter, s]));
}

/** Per-interval consumption of an item, per kind. */
export type KindIntervals = Record<MeterKind, Float64Array>;

/**
 * Per-interval consumption of a linear combination of meters, kind by kind: element `i` of
 * `out[kind]` = Σ over meters of that kind of weight × consumption of interval `i`.
 */
export function combine(
  terms: Terms,
  kindOf: (meter: string) => MeterKind | undefined,
  data: MeterData,
  intervals: number,
): KindIntervals {
  const out: KindIntervals = {
    electricity: new Float64Array(intervals),
    water: new Float64Array(intervals),
    gas: new Float64Array(intervals),
  };
  for (const [meter, weight] of terms) {
    const kind = kindOf(meter);
    const series = data.get(meter);
    if (kind === undefined || series === undefined || weight === 0) continue;
    const target = out[kind];
    for (let i = 0; i < intervals; i++)
      target[i] = (target[i] as number) + weight * (series.consumption[i] ?? 0);
  }
  return out;
}

/** Σ of `values[i]` over the intervals that pass `test`. */
export function sumWhere(
  values: ArrayLike<number>,
  intervals: readonly TimelineInterval[],
  test: (interval: TimelineInterval) => boolean,
): number {
  let sum = 0;
  for (let i = 0; i < intervals.length; i++)
    if (test(intervals[i] as TimelineInterval)) sum += values[i] ?? 0;
  return sum;
}

/**
 * Time-weighted mean coverage (%) of `meters` over the intervals that pass `test`:
 * Σ covered ms ÷ (number of meters × Σ interval length) × 100. 0 without meters.
 */
export function coverageOf(
  meters: readonly string[],
  data: MeterData,
  intervals: readonly TimelineInterval[],
  test: (interval: TimelineInterval) => boolean = (i) => i.inPeriod,
): number {
  let span = 0;
  for (const interval of intervals) if (test(interval)) span += interval.end - interval.start;
  if (meters.length === 0 || span <= 0) return 0;
  let covered = 0;
  for (const meter of meters) {
    const series = data.get(meter);
    if (series) covered += sumWhere(series.coveredMs, intervals, test);
  }
  return Math.min(100, (covered / (meters.length * span)) * 100);
}

/** Electricity prices by period (flat for a period the tariff prices not). */
export type TouPrices = Readonly<Record<TouPeriod, number>>;

export function touPrices(facility: Pick<Facility, 'tariffs'>): TouPrices {
  const prices = facility.tariffs.electricity?.prices;
  const flat = prices?.flat ?? 0;
  return {
    flat,
    peak: prices?.peak ?? flat,
    valley: prices?.valley ?? flat,
    sharp: prices?.sharp ?? prices?.peak ?? flat,
  };
}

/** Electricity of the period split by time-of-use period, kWh and cost; periods not used are left out. */
export function touSplit(
  electricity: ArrayLike<number>,
  intervals: readonly TimelineInterval[],
  prices: TouPrices,
): Record<string, { kwh: number; costCny: number }> {
  const out: Record<string, { kwh: number; costCny: number }> = {};
  for (const period of ALL_TOU_PERIODS) {
    const kwh = sumWhere(electricity, intervals, (i) => i.inPeriod && i.tou === period);
    const used = intervals.some((i) => i.inPeriod && i.tou === period);
    if (used) out[period] = { kwh, costCny: kwh * prices[period] };
  }
  return out;
}

/** Electricity outside working time ÷ all electricity of the period (0–1); null when none was used. */
export function offHoursShare(
  electricity: ArrayLike<number>,
  intervals: readonly TimelineInterval[],
): number | null {
  const all = sumWhere(electricity, intervals, (i) => i.inPeriod);
  if (all === 0) return null;
  return sumWhere(electricity, intervals, (i) => i.inPeriod && !i.working) / all;
}

/** [start, end) of a local calendar year, epoch ms. */
export function localYear(year: number, timezone: string): { start: number; end: number } {
  const zone = IANAZone.create(timezone);
  const start = DateTime.fromObject({ year, month: 1, day: 1 }, { zone });
  return { start: start.toMillis(), end: start.plus({ years: 1 }).toMillis() };
}

/**
 * Edges a quota figure needs before and inside the period: the local 1 January of every year the
 * period touches, and `now` when it falls between the first of them and `to` (year-to-date).
 */
export function quotaLeadEdges(from: number, to: number, timezone: string, now: number): number[] {
  const zone = IANAZone.create(timezone);
  const edges: number[] = [];
  const first = DateTime.fromMillis(from, { zone }).startOf('year').toMillis();
  let year = DateTime.fromMillis(from, { zone }).year;
  for (let y = localYear(year, timezone); y.start < to; y = localYear(++year, timezone)) edges.push(y.start);
  if (now > first && now < to) edges.push(now);
  return edges;
}

/** The annual amount pro-rated to the part of [from, to) inside the year: annual × overlap ÷ year length. */
export function prorate(
  annual: number,
  from: number,
  to: number,
  year: { start: number; end: number },
): number {
  const overlap = Math.max(0, Math.min(to, year.end) - Math.max(from, year.start));
  return (annual * overlap) / (year.end - year.start);
}

/**
 * Straight-line projection to year end: consumption from the start of the year up to `asOf` ÷
 * the elapsed time × the year's length. 0 when no time of the year has elapsed.
 */
export function projectYearEnd(
  yearToDate: number,
  asOf: number,
  year: { start: number; end: number },
): number {
  const elapsed = Math.min(asOf, year.end) - year.start;
  return elapsed > 0 ? (yearToDate * (year.end - year.start)) / elapsed : 0;
}

/** % change from `previous` to `current`; null when `previous` is 0. */
export function changePercent(current: number, previous: number): number | null {
  return previous === 0 ? null : ((current - previous) / previous) * 100;
}

const QUOTA_KINDS_HERE: readonly QuotaKind[] = ['electricity', 'water', 'gas', 'standard-coal'];

/** Everything an item's figures are computed from. */
export interface EnergyItemInput {
  readonly facility: Facility;
  readonly timeline: EnergyTimeline;
  /** Per meter, one value per interval of the timeline. */
  readonly data: MeterData;
  /** The previous period [from, to) and its per-meter totals (one interval each); omit to skip. */
  readonly previous?: { readonly from: number; readonly to: number; readonly data: MeterData };
  /** Epoch ms, for year-end projections. */
  readonly now: number;
}

/** Figures of one item, unrounded. */
export function energyItem(def: EnergyScopeDef, input: EnergyItemInput): EnergyItem {
  const { facility, timeline, data, now } = input;
  const { intervals } = timeline;
  const kinds = new Map(facility.meters.map((m) => [m.id, m.kind]));
  const kindOf = (meter: string) => kinds.get(meter);
  const values = combine(def.terms, kindOf, data, intervals.length);
  const inPeriod = (i: TimelineInterval) => i.inPeriod;
  const electricityKwh = sumWhere(values.electricity, intervals, inPeriod);
  const waterM3 = sumWhere(values.water, intervals, inPeriod);
  const gasM3 = sumWhere(values.gas, intervals, inPeriod);
  const { standardCoal, co2 } = facility.factors;
  const kgce = electricityKwh * standardCoal.electricity + gasM3 * standardCoal.gas;
  const co2Kg = electricityKwh * co2.electricity + gasM3 * co2.gas;
  const tariff = touSplit(values.electricity, intervals, touPrices(facility));
  const costCny =
    Object.values(tariff).reduce((sum, t) => sum + t.costCny, 0) +
    waterM3 * (facility.tariffs.water?.price ?? 0) +
    gasM3 * (facility.tariffs.gas?.price ?? 0);
  const per = (value: number, denominator: number | null) =>
    denominator !== null && denominator > 0 ? value / denominator : null;

  return {
    id: def.id,
    name: def.name,
    ...(def.building !== undefined ? { building: def.building } : {}),
    ...(def.department !== undefined ? { department: def.department } : {}),
    ...(def.sharedServices ? { sharedServices: true } : {}),
    electricityKwh,
    waterM3,
    gasM3,
    kgce,
    co2Kg,
    costCny,
    tariff,
    areaM2: def.areaM2,
    headcount: def.headcount,
    kwhPerM2: per(electricityKwh, def.areaM2),
    kgcePerM2: per(kgce, def.areaM2),
    kgcePerCapita: per(kgce, def.headcount),
    waterM3PerCapita: per(waterM3, def.headcount),
    offHoursShare: offHoursShare(values.electricity, intervals),
    coverage: coverageOf(def.meters, data, intervals),
    quota: quotaFigures(def, values),
    standard: def.standard ? standardFigure(def.standard, kindOf, input) : null,
    previous: input.previous ? previousFigure(def, kindOf, input.previous, facility, kgce) : null,
  };

  function quotaFigures(item: EnergyScopeDef, perKind: KindIntervals): QuotaFigure[] {
    const scope = item.quotaScope;
    if (!scope) return [];
    const out: QuotaFigure[] = [];
    const kgcePer = (i: number) =>
      (perKind.electricity[i] ?? 0) * standardCoal.electricity + (perKind.gas[i] ?? 0) * standardCoal.gas;
    const amountOf = (kind: QuotaKind, i: number) =>
      kind === 'standard-coal' ? kgcePer(i) : (perKind[kind as MeterKind][i] ?? 0);
    for (const quota of facility.quotas) {
      if (quota.scope !== scope.scope || quota.id !== scope.id || !QUOTA_KINDS_HERE.includes(quota.kind))
        continue;
      const year = localYear(quota.year, facility.site.timezone);
      const amount = prorate(quota.amount, timeline.from, timeline.to, year);
      if (amount <= 0) continue;
      const asOf = Math.min(Math.max(Math.min(timeline.to, now), year.start), year.end);
      let used = 0;
      let yearToDate = 0;
      intervals.forEach((interval, i) => {
        if (interval.inPeriod && interval.year === quota.year) used += amountOf(quota.kind, i);
        if (interval.start >= year.start && interval.end <= asOf) yearToDate += amountOf(quota.kind, i);
      });
      const projectedYearEnd = projectYearEnd(yearToDate, asOf, year);
      out.push({
        kind: quota.kind,
        unit: UNITS[quota.kind],
        annual: quota.amount,
        year: quota.year,
        amount,
        usedPercent: (used / amount) * 100,
        projectedYearEnd,
        projectedPercent: (projectedYearEnd / quota.amount) * 100,
      });
    }
    return out;
  }
}

function standardFigure(
  spec: StandardSpec,
  kindOf: (meter: string) => MeterKind | undefined,
  input: EnergyItemInput,
): StandardFigure & { areaM2: number; buildings: readonly string[] } {
  const { intervals, from, to } = input.timeline;
  const kwh = sumWhere(
    combine(spec.terms, kindOf, input.data, intervals.length).electricity,
    intervals,
    (i) => i.inPeriod,
  );
  const annualisedKwhPerM2 = annualise(kwh / spec.areaM2, to - from);
  const values = { constraint: spec.constraint, guide: spec.guide };
  return {
    source: GBT_51161_SOURCE,
    constraintKwhPerM2: spec.constraint,
    guideKwhPerM2: spec.guide,
    annualisedKwhPerM2,
    rating: rateIntensity(annualisedKwhPerM2, values),
    areaM2: spec.areaM2,
    buildings: spec.buildings,
  };
}

function previousFigure(
  def: EnergyScopeDef,
  kindOf: (meter: string) => MeterKind | undefined,
  previous: NonNullable<EnergyItemInput['previous']>,
  facility: Facility,
  currentKgce: number,
): PreviousFigure {
  const values = combine(def.terms, kindOf, previous.data, 1);
  const electricityKwh = values.electricity[0] ?? 0;
  const gasM3 = values.gas[0] ?? 0;
  const kgce =
    electricityKwh * facility.factors.standardCoal.electricity + gasM3 * facility.factors.standardCoal.gas;
  return {
    from: isoAt(previous.from, facility.site.timezone),
    to: isoAt(previous.to, facility.site.timezone),
    electricityKwh,
    waterM3: values.water[0] ?? 0,
    gasM3,
    kgce,
    changePercent: changePercent(currentKgce, kgce),
  };
}

const roundOrNull = (value: number | null, digits: number) => (value === null ? null : round(value, digits));

/** An item rounded for display (see "Rounding" in the module comment). */
export function roundEnergyItem(item: EnergyItem): EnergyItem {
  const q = (v: number) => round(v, 3);
  return {
    ...item,
    electricityKwh: q(item.electricityKwh),
    waterM3: q(item.waterM3),
    gasM3: q(item.gasM3),
    kgce: q(item.kgce),
    co2Kg: q(item.co2Kg),
    costCny: round(item.costCny, 2),
    ...(item.tariff
      ? {
          tariff: Object.fromEntries(
            Object.entries(item.tariff).map(([period, t]) => [
              period,
              { kwh: q(t.kwh), costCny: round(t.costCny, 2) },
            ]),
          ),
        }
      : {}),
    areaM2: roundOrNull(item.areaM2, 2),
    headcount: roundOrNull(item.headcount, 2),
    kwhPerM2: roundOrNull(item.kwhPerM2, 4),
    kgcePerM2: roundOrNull(item.kgcePerM2, 4),
    kgcePerCapita: roundOrNull(item.kgcePerCapita, 4),
    waterM3PerCapita: roundOrNull(item.waterM3PerCapita, 4),
    offHoursShare: roundOrNull(item.offHoursShare, 4),
    coverage: round(item.coverage, 2),
    quota: item.quota.map((f) => ({
      ...f,
      amount: q(f.amount),
      usedPercent: round(f.usedPercent, 2),
      projectedYearEnd: q(f.projectedYearEnd),
      projectedPercent: round(f.projectedPercent, 2),
    })),
    standard: item.standard
      ? {
          ...item.standard,
          constraintKwhPerM2: round(item.standard.constraintKwhPerM2, 2),
          guideKwhPerM2: round(item.standard.guideKwhPerM2, 2),
          annualisedKwhPerM2: round(item.standard.annualisedKwhPerM2, 2),
        }
      : null,
    previous: item.previous
      ? {
          ...item.previous,
          electricityKwh: q(item.previous.electricityKwh),
          waterM3: q(item.previous.waterM3),
          gasM3: q(item.previous.gasM3),
          kgce: q(item.previous.kgce),
          changePercent: roundOrNull(item.previous.changePercent, 2),
        }
      : null,
  };
}

/** Consumption of one kind of an item per timeline interval, with each interval's coverage (%). */
export function seriesValues(
  def: EnergyScopeDef,
  kind: MeterKind,
  facility: Pick<Facility, 'meters'>,
  intervals: readonly Pick<TimelineInterval, 'start' | 'end'>[],
  data: MeterData,
): { value: number; coverage: number }[] {
  const kinds = new Map(facility.meters.map((m) => [m.id, m.kind]));
  const kindOf = (meter: string) => (kinds.get(meter) === kind ? kind : undefined);
  const values = combine(def.terms, kindOf, data, intervals.length)[kind];
  const meters = def.meters.filter((m) => kinds.get(m) === kind);
  return intervals.map((interval, i) => {
    let covered = 0;
    for (const meter of meters) covered += data.get(meter)?.coveredMs[i] ?? 0;
    const span = interval.end - interval.start;
    return {
      value: values[i] ?? 0,
      coverage: meters.length > 0 && span > 0 ? Math.min(100, (covered / (meters.length * span)) * 100) : 0,
    };
  });
}
