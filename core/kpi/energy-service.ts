/**
 * The energy service: summaries and series of the facility's meters for any period and scope.
 *
 * Each request computes the edges it needs (energy-timeline.ts), asks once per period for the
 * consumption and coverage of each meter between them (core/kpi/data.ts: from the rollups, so raw
 * readings are read only around edges off the 15-minute grid), and hands the answer to the pure
 * figures of energy.ts.
 */

import { calendarOf, checkPeriod, isoAt, round } from './common.ts';
import { dataOf } from './data.ts';
import {
  energyItem,
  type MeterData,
  quotaLeadEdges,
  roundEnergyItem,
  seriesValues,
} from './energy.ts';
import { type EnergyScopeDef, seriesScope, summaryScopes } from './energy-scopes.ts';
import { energyTimeline, windowEdges } from './energy-timeline.ts';
import { touSchedule } from './tou-schedule.ts';
import {
  type EnergyKind,
  type EnergySeries,
  type EnergySeriesParams,
  type EnergySummary,
  type EnergySummaryParams,
  type KpiContext,
  KpiError,
  type SeriesEvery,
} from './types.ts';

const KINDS: readonly EnergyKind[] = ['electricity', 'water', 'gas'];
const EVERY_MS: Readonly<Record<SeriesEvery, number>> = { '15m': 900_000, '1h': 3_600_000, '1d': 86_400_000 };
/** Most windows one series may hold (a year of 15-minute windows is 35 040). */
export const MAX_SERIES_WINDOWS = 100_000;

/** Energy figures of every item of a grouping over [from, to), with the previous period of equal length. */
export async function energySummary(ctx: KpiContext, params: EnergySummaryParams): Promise<EnergySummary> {
  const { facility } = ctx;
  checkPeriod({ from: params.from, to: params.to });
  const defs = summaryScopes(facility, params.groupBy, params.department);
  const timezone = facility.site.timezone;
  const now = (ctx.now ?? Date.now)();
  const withQuota = defs.some((d) =>
    facility.quotas.some((q) => q.scope === d.quotaScope?.scope && q.id === d.quotaScope.id),
  );
  const timeline = energyTimeline({
    from: params.from,
    to: params.to,
    calendar: calendarOf(facility),
    schedule: touSchedule(facility.tariffs.electricity, timezone),
    // Year-to-date for the quota projection: the local 1 January (and now) as lead-in edges.
    ...(withQuota ? { extraEdges: quotaLeadEdges(params.from, params.to, timezone, now) } : {}),
  });
  const meters = metersOf(defs);
  const previousFrom = params.from - (params.to - params.from);
  // Totals are all the previous period needs: consumption splits exactly, so two edges suffice.
  const [current, previous] = await Promise.all([
    registerIntervals(ctx, meters, timeline.edges),
    registerIntervals(ctx, meters, [previousFrom, params.from]),
  ]);
  const input = {
    facility,
    timeline,
    data: current,
    previous: { from: previousFrom, to: params.from, data: previous },
    now,
  };
  return {
    from: isoAt(params.from, timezone),
    to: isoAt(params.to, timezone),
    groupBy: params.groupBy,
    items: defs.map((def) => roundEnergyItem(energyItem(def, input))),
  };
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
  return {
    scope: params.scope,
    id: params.id,
    kind: params.kind,
    unit: params.kind === 'electricity' ? 'kWh' : 'm³',
    every: params.every,
    from: isoAt(params.from, timezone),
    to: isoAt(params.to, timezone),
    items: windows.map((w, i) => ({
      start: isoAt(w.start, timezone),
      end: isoAt(w.end, timezone),
      value: round(values[i]?.value ?? 0, 3),
      coverage: round(values[i]?.coverage ?? 0, 2),
    })),
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

