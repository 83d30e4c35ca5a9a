/**
 * The energy figures the alert rules compare with, read from the rollups on a schedule — never per
 * message: each scope's consumption this month before today (energy-quota), its baseline of the
 * previous weeks up to the same time of day (energy-baseline), and the quota year-end projections
 * of the energy summary (quota-forecast). Scopes are those of core/live/state.ts (site, buildings,
 * departments as sums of meters).
 */
import { DateTime } from 'luxon';
import { type EnergyFigures, type Forecast, figureKey } from '../core/alerts/evaluate.ts';
import type { AlertRule } from '../core/alerts/rules.ts';
import { energySummary } from '../core/kpi/energy-service.ts';
import type { KpiContext } from '../core/kpi/types.ts';
import type { LiveState } from '../core/live/state.ts';
import { BUCKET_MS, bucketOf } from '../core/rollup/schema.ts';
import type { TimeSeriesStore } from '../core/store.ts';

/** Per meter: sums of a field per interval. */
async function meterSums(
  store: TimeSeriesStore,
  live: LiveState,
  edges: readonly number[],
  fields: readonly string[],
): Promise<Map<string, Record<string, Float64Array>>> {
  const sums = await store.sumRollups({
    kind: 'meter',
    site: live.facility.site.id,
    devices: live.meterIds,
    edges,
    fields,
  });
  return new Map(sums.map((s) => [s.device, s.sums as Record<string, Float64Array>]));
}

/** Rows of each scope and kind from the month's start to today's local midnight. */
export async function monthBeforeToday(
  store: TimeSeriesStore,
  live: LiveState,
  now: number,
): Promise<Pick<EnergyFigures, 'monthBeforeToday' | 'monthTo'>> {
  const zone = live.facility.site.timezone;
  const midnight = live.dayStart(now);
  const monthStart = DateTime.fromMillis(now, { zone }).startOf('month').toMillis();
  const out = new Map<string, number>();
  const perMeter =
    monthStart < midnight ? await meterSums(store, live, [monthStart, midnight], ['consumption']) : new Map();
  for (const scope of live.scopes) {
    for (const kind of ['electricity', 'water', 'gas'] as const) {
      let sum = 0;
      let any = false;
      for (const [id, weight] of scope.terms) {
        if (live.meter(id)?.kind !== kind) continue;
        any = true;
        sum += weight * ((perMeter.get(id)?.consumption?.[0] as number | undefined) ?? 0);
      }
      if (any) out.set(figureKey(scope, kind), sum);
    }
  }
  return { monthBeforeToday: out, monthTo: midnight };
}

/**
 * Each scope's baseline: the mean, over the previous `weeks` weeks with data, of its consumption
 * on the same weekday from local midnight to the same time of day as the last whole 15 minutes.
 */
export async function baselines(
  store: TimeSeriesStore,
  live: LiveState,
  now: number,
  weeks: number,
): Promise<Pick<EnergyFigures, 'baseline' | 'baselineUpTo'>> {
  const zone = live.facility.site.timezone;
  const upTo = bucketOf(now);
  const midnight = DateTime.fromMillis(live.dayStart(now), { zone });
  const out = new Map<string, { value: number; weeks: number }>();
  if (upTo <= midnight.toMillis()) return { baseline: out, baselineUpTo: upTo };
  const length = upTo - midnight.toMillis();
  const edges: number[] = [];
  for (let k = weeks; k >= 1; k--) {
    const start = midnight.minus({ weeks: k }).toMillis();
    edges.push(start, Math.max(start + BUCKET_MS, bucketOf(start + length)));
  }
  const perMeter = await meterSums(store, live, edges, ['consumption', 'coveredMs']);
  for (const scope of live.scopes) {
    for (const kind of ['electricity', 'water', 'gas'] as const) {
      const ids = [...scope.terms].filter(([id]) => live.meter(id)?.kind === kind);
      if (ids.length === 0) continue;
      let sum = 0;
      let counted = 0;
      for (let w = 0; w < weeks; w++) {
        const interval = 2 * w;
        let covered = 0;
        let value = 0;
        for (const [id, weight] of ids) {
          const sums = perMeter.get(id);
          covered += (sums?.coveredMs?.[interval] as number | undefined) ?? 0;
          value += weight * ((sums?.consumption?.[interval] as number | undefined) ?? 0);
        }
        if (covered > 0) {
          sum += value;
          counted++;
        }
      }
      out.set(figureKey(scope, kind), { value: counted > 0 ? sum / counted : 0, weeks: counted });
    }
  }
  return { baseline: out, baselineUpTo: upTo };
}

/** The quota year-end projections of today's energy summary, per site, building and department. */
export async function forecasts(ctx: KpiContext, live: LiveState, now: number): Promise<Forecast[]> {
  const facility = live.facility;
  const from = live.dayStart(now);
  const to = Math.max(now, from + 1000);
  const out: Forecast[] = [];
  for (const groupBy of ['site', 'building', 'department'] as const) {
    if (!facility.quotas.some((q) => q.scope === groupBy)) continue;
    const summary = await energySummary(ctx, { from, to, groupBy });
    for (const item of summary.items) {
      for (const quota of item.quota) {
        if (!facility.quotas.some((q) => q.scope === groupBy && q.id === item.id && q.kind === quota.kind))
          continue;
        out.push({
          scope: groupBy,
          id: item.id,
          kind: quota.kind as Forecast['kind'],
          unit: quota.unit,
          year: quota.year,
          annual: quota.annual,
          projected: quota.projectedYearEnd,
        });
      }
    }
  }
  return out;
}

/** The longest baseline any enabled energy-baseline rule asks for (0: none). */
export function baselineWeeks(rules: readonly AlertRule[]): number {
  return Math.max(
    0,
    ...rules
      .filter((r) => r.enabled && r.type === 'energy-baseline')
      .map((r) => (r.type === 'energy-baseline' ? r.weeks : 0)),
  );
}
