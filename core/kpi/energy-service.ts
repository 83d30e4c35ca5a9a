/**
 * The energy service: summaries and series of the facility's meters (and, for the site and
 * departments, official cars) for any period and scope.
 *
 * Each request computes the edges it needs (energy-timeline.ts), asks for the consumption and
 * coverage of each meter between them and the cars for their fuel counters between them
 * (core/kpi/data.ts: from the rollups, raw points only around edges off the 15-minute grid), and
 * hands the answers to the pure figures of energy.ts.
 *
 * A summary measures `[from, measuredTo)`, `measuredTo` = min(to, now) (`ctx.now`): a period that
 * reaches into the future is measured up to now, and a period that has not begun has nothing
 * measured (every figure null, `no-data`). Store calls of a summary: one for the measured period
 * (with the year-to-date lead-in when a quota applies), one for every period compared with
 * (previous, last year, and the twelve months before `from` when a GB/T 51161 estimate may use
 * them), cut at their local midnights; cars once for the measured period and once per compared
 * period.
 */

import type { QuotaKind } from '../facility/schema.ts';
import {
  comparedEnd,
  isTwelveMonths,
  lastYearPeriod,
  periodKind,
  previousPeriod,
  twelveMonthsBefore,
} from './calendar-periods.ts';
import { calendarOf, checkPeriod, isoAt, round } from './common.ts';
import { dataOf } from './data.ts';
import {
  type ComparisonInput,
  type EnergyItemInput,
  energyItem,
  type MeterData,
  quotaLeadEdges,
  roundEnergyItem,
  seriesValues,
} from './energy.ts';
import { type EnergyScopeDef, seriesScope, summaryScopes } from './energy-scopes.ts';
import { energyTimeline, localMidnights, windowEdges } from './energy-timeline.ts';
import { touSchedule } from './tou-schedule.ts';
import {
  type EnergyKind,
  type EnergySeries,
  type EnergySeriesParams,
  type EnergySummary,
  type EnergySummaryParams,
  type KpiContext,
  KpiError,
  type Period,
  type SeriesEvery,
} from './types.ts';
import { type VehicleData, type VehicleIntervals, vehicleEnergyIntervals } from './vehicle-energy.ts';

const KINDS: readonly EnergyKind[] = ['electricity', 'water', 'gas'];
const EVERY_MS: Readonly<Record<SeriesEvery, number>> = { '15m': 900_000, '1h': 3_600_000, '1d': 86_400_000 };
/** Most windows one series may hold (a year of 15-minute windows is 35 040). */
export const MAX_SERIES_WINDOWS = 100_000;
/** Quota kinds the cars count in: with one, the cars are read over the year-to-date as well. */
const CAR_QUOTA_KINDS: readonly QuotaKind[] = ['standard-coal', 'gasoline', 'diesel'];

/** Where measurement of `[from, to)` stops: min(to, now), never before `from`. */
export function measuredEnd(period: Period, now: number): number {
  return Math.min(period.to, Math.max(period.from, Math.floor(now)));
}

/** Energy figures of every item of a grouping over [from, to), with the periods compared with. */
export async function energySummary(ctx: KpiContext, params: EnergySummaryParams): Promise<EnergySummary> {
  const { facility } = ctx;
  checkPeriod({ from: params.from, to: params.to });
  const defs = summaryScopes(facility, params.groupBy, params.department);
  const timezone = facility.site.timezone;
  const calendar = calendarOf(facility);
  const now = (ctx.now ?? Date.now)();
  const { from, to } = params;
  const kind = periodKind(from, to, timezone);
  const measuredTo = measuredEnd(params, now);
  const started = measuredTo > from;
  const quotaOf = (def: EnergyScopeDef) =>
    facility.quotas.filter((q) => q.scope === def.quotaScope?.scope && q.id === def.quotaScope.id);
  const withQuota = defs.some((d) => quotaOf(d).length > 0);
  const timelineTo = started ? measuredTo : to;
  const timeline = energyTimeline({
    from,
    to: timelineTo,
    calendar,
    schedule: touSchedule(facility.tariffs.electricity, timezone),
    // Year-to-date for the quota figures: the local 1 January of each year as lead-in edges.
    ...(withQuota ? { extraEdges: quotaLeadEdges(from, timelineTo, timezone) } : {}),
  });
  const meters = metersOf(defs);
  const cars = [...new Set(defs.flatMap((d) => d.vehicles ?? []))].sort();
  const vehicles = facility.vehicles.filter((v) => cars.includes(v.id));
  const carsOverYear = defs.some(
    (d) => (d.vehicles?.length ?? 0) > 0 && quotaOf(d).some((q) => CAR_QUOTA_KINDS.includes(q.kind)),
  );

  const previous = previousPeriod(from, to, kind, timezone);
  const lastYear = lastYearPeriod(from, to, kind, timezone);
  const previousEnd = comparedEnd(params, measuredTo, previous, kind, timezone);
  const lastYearEnd = comparedEnd(params, measuredTo, lastYear, kind, timezone);
  // The twelve months before `from` scale a shorter period to a year (GB/T 51161 estimate).
  const twelve =
    defs.some((d) => d.standard) && !isTwelveMonths(from, to, timezone) && lastYear.to <= from
      ? twelveMonthsBefore(from, timezone)
      : undefined;
  const windows: Period[] = [
    { from: previous.from, to: previousEnd },
    { from: lastYear.from, to: lastYearEnd },
    ...(twelve ? [twelve] : []),
  ];
  const comparisonEdges = dailyEdges(windows, timezone);

  // Cars are read from `from` unless a quota counts them over the year-to-date.
  const firstCarEdge = carsOverYear ? 0 : timeline.edges.indexOf(from);
  const carWindow = (a: number, b: number) =>
    started && vehicles.length > 0 && b > a ? vehicleEnergyIntervals(ctx, vehicles, [a, b]) : empty();
  const carsBefore = carWindow(previous.from, previousEnd);
  // For a year, the previous period is last year's: read the cars once.
  const sameWindow = previous.from === lastYear.from && previousEnd === lastYearEnd;
  const [current, compared, carData, carsPrevious, carsLastYear, quality] = await Promise.all([
    started ? registerIntervals(ctx, meters, timeline.edges) : new Map(),
    started && comparisonEdges.length >= 2 ? registerIntervals(ctx, meters, comparisonEdges) : new Map(),
    started && vehicles.length > 0
      ? vehicleEnergyIntervals(ctx, vehicles, timeline.edges.slice(firstCarEdge))
      : empty(),
    carsBefore,
    sameWindow ? carsBefore : carWindow(lastYear.from, lastYearEnd),
    started && meters.length > 0 ? dataOf(ctx).meterQuality(meters, from, measuredTo) : undefined,
  ]);
  const comparisons: ComparisonInput = {
    edges: comparisonEdges,
    data: compared,
    previous: { ...previous, measuredTo: previousEnd, vehicles: carsPrevious },
    lastYear: { ...lastYear, measuredTo: lastYearEnd, vehicles: carsLastYear },
    ...(twelve ? { twelveMonths: twelve } : {}),
  };
  const input: EnergyItemInput = {
    facility,
    calendar,
    timeline,
    data: current,
    vehicles: shifted(carData, firstCarEdge),
    vehiclesRead: (i) => i >= firstCarEdge,
    period: { from, to, measuredTo },
    ...(started ? { comparisons } : {}),
    ...(quality ? { quality } : {}),
  };
  return {
    from: isoAt(from, timezone),
    to: isoAt(to, timezone),
    measuredTo: isoAt(measuredTo, timezone),
    periodKind: kind,
    groupBy: params.groupBy,
    items: defs.map((def) => roundEnergyItem(energyItem(def, input))),
  };
}

async function empty(): Promise<VehicleData> {
  return new Map();
}

/** Car data of intervals starting at timeline interval `offset`, as timeline-indexed data. */
function shifted(data: VehicleData, offset: number): VehicleData {
  if (offset === 0) return data;
  const pad = new Array<number>(offset).fill(0);
  const out = new Map<string, VehicleIntervals>();
  for (const [id, v] of data) {
    out.set(id, { energy: [...pad, ...v.energy], readings: [...pad, ...v.readings] });
  }
  return out;
}

/** The bounds and local midnights of each window, sorted, as one list of edges. */
function dailyEdges(windows: readonly Period[], timezone: string): number[] {
  const set = new Set<number>();
  for (const w of windows) {
    if (!(w.to > w.from)) continue;
    set.add(w.from);
    set.add(w.to);
    for (const midnight of localMidnights(w.from, w.to, timezone)) set.add(midnight);
  }
  return [...set].sort((a, b) => a - b);
}

/** Consumption of one kind of a scope per window (15 min, 1 h or a local day) over [from, to). */
export async function energySeries(ctx: KpiContext, params: EnergySeriesParams): Promise<EnergySeries> {
  const { facility } = ctx;
  checkPeriod({ from: params.from, to: params.to });
  if (!KINDS.includes(params.kind)) {
    throw new KpiError(`kind must be one of ${KINDS.join(', ')}, not "${String(params.kind)}"`, {
      status: 400,
      parameter: 'kind',
    });
  }
  const stepMs = EVERY_MS[params.every];
  if (stepMs === undefined) {
    throw new KpiError(
      `every must be one of ${Object.keys(EVERY_MS).join(', ')}, not "${String(params.every)}"`,
      {
        status: 400,
        parameter: 'every',
      },
    );
  }
  if ((params.to - params.from) / stepMs > MAX_SERIES_WINDOWS) {
    throw new KpiError(`more than ${MAX_SERIES_WINDOWS} windows of ${params.every}: choose a longer window`, {
      status: 400,
      parameter: 'every',
    });
  }
  const def = seriesScope(facility, params.scope, params.id);
  if (params.scope === 'meter') {
    const meter = facility.meters.find((m) => m.id === params.id);
    if (meter && meter.kind !== params.kind) {
      throw new KpiError(`meter ${meter.id} measures ${meter.kind}, not ${params.kind}`, {
        status: 400,
        parameter: 'kind',
      });
    }
  }
  const timezone = facility.site.timezone;
  const edges = windowEdges(params.from, params.to, params.every, timezone);
  const kinds = new Map(facility.meters.map((m) => [m.id, m.kind]));
  const data = await registerIntervals(
    ctx,
    def.meters.filter((m) => kinds.get(m) === params.kind),
    edges,
  );
  const windows = edges.slice(1).map((end, i) => ({ start: edges[i] as number, end }));
  const values = seriesValues(def, params.kind, facility, windows, data);
  const now = (ctx.now ?? Date.now)();
  return {
    scope: params.scope,
    id: params.id,
    kind: params.kind,
    unit: params.kind === 'electricity' ? 'kWh' : 'm³',
    every: params.every,
    from: isoAt(params.from, timezone),
    to: isoAt(params.to, timezone),
    measuredTo: isoAt(measuredEnd(params, now), timezone),
    items: windows.map((w, i) => {
      const v = values[i];
      const value = v?.value ?? null;
      return {
        start: isoAt(w.start, timezone),
        end: isoAt(w.end, timezone),
        value: value === null ? null : round(value, 3),
        coverage: round(v?.coverage ?? 0, 2),
        nulls: v?.nulls ?? (value === null ? { value: 'no-data' as const } : {}),
      };
    }),
  };
}

/** Every meter any item (or its standard figure) reads, sorted. */
function metersOf(defs: readonly EnergyScopeDef[]): string[] {
  const set = new Set<string>();
  for (const def of defs) {
    for (const m of def.meters) set.add(m);
    for (const m of def.standard?.terms.keys() ?? []) set.add(m);
  }
  return [...set].sort();
}

/** Consumption and covered time of each meter per interval between edges (core/kpi/data.ts). */
async function registerIntervals(
  ctx: KpiContext,
  meters: readonly string[],
  edges: readonly number[],
): Promise<MeterData> {
  if (meters.length === 0) return new Map();
  return dataOf(ctx).meterIntervals(meters, edges);
}
