/**
 * Every InfluxQL query of every generated Grafana panel (dashboards/grafana/) run against a real
 * influxd (tests/setup/influxd.ts) holding three days of the reference facility, simulated and
 * written through a RollingStore over the InfluxDB adapter — raw points and the rollup rows the
 * efficiency panels read. The queries are sent as Grafana's InfluxDB data source sends them: its
 * macros and the template variables replaced (tests/setup/grafana-macros.ts). Each must answer
 * without error and with at least one series holding a value, with the variables on "All"; and
 * without error with one value picked. The figures the department panels show must be the API's.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readFacilityFile } from '../../cli/read-facility.ts';
import type { Facility } from '../../core/facility/schema.ts';
import { energySummary } from '../../core/kpi/energy-service.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import { buildDashboards, type SiteDashboards } from '../../dashboards/grafana/index.ts';
import { influxTargets } from '../../dashboards/grafana/influxql.ts';
import { backfill } from '../../simulators/backfill.ts';
import { createSimulation } from '../../simulators/simulation.ts';
import { InfluxStore } from '../../storage/influx/influx-store.ts';
import { expandGrafanaMacros } from '../setup/grafana-macros.ts';

const url = inject('influxUrl');
const database = `grafana_${randomUUID().replaceAll('-', '')}`;
/** Three days of history: Monday 30 November to Thursday 3 December 2026 (Chengdu). */
const FROM = Date.parse('2026-11-30T00:00:00+08:00');
const TO = Date.parse('2026-12-03T00:00:00+08:00');
/** The quota panels show the year so far (their relative time is now/y). */
const YEAR_START = Date.parse('2026-01-01T00:00:00+08:00');

let facility: Facility;
let site: SiteDashboards;
let store: RollingStore;

interface InfluxAnswer {
  results: Array<{
    error?: string;
    series?: Array<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }>;
  }>;
}

async function influxql(query: string): Promise<InfluxAnswer['results'][number]> {
  const response = await fetch(`${url}/query`, {
    method: 'POST',
    body: new URLSearchParams({ db: database, q: query, epoch: 'ms' }),
  });
  const answer = (await response.json()) as InfluxAnswer;
  const result = answer.results[0];
  if (!result) throw new Error(`no result for ${query}`);
  return result;
}

beforeAll(async () => {
  const loaded = await readFacilityFile(undefined);
  if (!loaded.result.ok) throw new Error('the demo facility does not load');
  facility = loaded.result.facility;
  store = new RollingStore({ store: new InfluxStore({ url, database }), facility });
  await store.start();
  await backfill({ store, simulation: createSimulation(facility, { seed: 20261128 }), from: FROM, to: TO });
  site = buildDashboards(facility, {
    dataSources: {
      influx: { type: 'influxdb', uid: 'facility-influx' },
      prometheus: { type: 'prometheus', uid: 'p' },
    },
    now: TO,
  });
}, 180_000);

afterAll(async () => {
  await store?.stop();
  await fetch(`${url}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q: `DROP DATABASE "${database}"` }),
  });
});

/** Every value of each template variable: the "All" of the dashboards. */
function allValues(): Record<string, string[]> {
  return {
    building: facility.buildings.map((b) => b.id),
    department: facility.departments.map((d) => d.id),
    meter: facility.meters.map((m) => m.id),
    vehicle: facility.vehicles.map((v) => v.id),
    room: facility.rooms.map((r) => r.id),
  };
}

function contextFor(panel: string, variables: Record<string, string[]>) {
  const quota = /定额消耗/.test(panel);
  return { from: quota ? YEAR_START : FROM, to: TO, intervalMs: 3_600_000, variables };
}

function values(result: InfluxAnswer['results'][number]): unknown[] {
  return (result.series ?? [])
    .flatMap((s) => s.values.flatMap((row) => row.slice(1)))
    .filter((v) => v !== null);
}

describe('Grafana panels on a real InfluxDB', () => {
  it('runs every InfluxQL query of every panel, with the variables on All, and each returns values', async () => {
    let count = 0;
    const empty: string[] = [];
    for (const dashboard of site.dashboards) {
      for (const { panel, refId, target } of influxTargets(dashboard)) {
        const query = expandGrafanaMacros(target.query, contextFor(panel, allValues()));
        const result = await influxql(query);
        expect(result.error, `${dashboard.title} / ${panel} ${refId}: ${query}`).toBeUndefined();
        if (values(result).length === 0) empty.push(`${dashboard.title} / ${panel} ${refId}: ${query}`);
        count++;
      }
    }
    expect(empty, 'queries without a value').toEqual([]);
    expect(count).toBeGreaterThan(80);
  }, 120_000);

  it('runs them with one value of each variable picked', async () => {
    const one = {
      building: ['b1'],
      department: ['fleet'],
      meter: ['b1-e-main'],
      vehicle: ['v23'],
      room: ['b1-m0301'],
    };
    for (const dashboard of site.dashboards) {
      for (const { panel, refId, target } of influxTargets(dashboard)) {
        const result = await influxql(expandGrafanaMacros(target.query, contextFor(panel, one)));
        expect(result.error, `${dashboard.title} / ${panel} ${refId}`).toBeUndefined();
      }
    }
    // The variable narrows what a panel shows: one car, one meter.
    const fleet = site.dashboards.find((d) => d.uid === 'cd-compound-fleet');
    const trips = influxTargets(fleet ?? {}).find((t) => t.panel === '每车里程');
    const picked = await influxql(expandGrafanaMacros(trips?.target.query ?? '', contextFor('', one)));
    expect(picked.series?.map((s) => s.tags?.vehicle)).toEqual(['v23']);
  }, 120_000);

  it('shows the figures of the API: site electricity, off-hours share, department electricity and standard coal per person', async () => {
    const ctx = { facility, store, now: () => TO + 86_400_000 };
    const period = { from: FROM, to: TO };
    const [siteSummary, departments] = await Promise.all([
      energySummary(ctx, { ...period, groupBy: 'site' }),
      energySummary(ctx, { ...period, groupBy: 'department' }),
    ]);
    const target = (dashboard: string, panel: string, alias?: string) => {
      const found = influxTargets(
        site.dashboards.find((d) => d.uid === `cd-compound-${dashboard}`) ?? {},
      ).filter((t) => t.panel === panel && (alias === undefined || t.target.alias === alias));
      if (found.length !== 1) throw new Error(`${dashboard} / ${panel} / ${alias}: ${found.length} targets`);
      return found[0]?.target.query ?? '';
    };
    const single = async (query: string) => {
      const result = await influxql(expandGrafanaMacros(query, contextFor('', allValues())));
      return Number(values(result)[0]);
    };

    const siteItem = siteSummary.items[0];
    expect(await single(target('energy', '分类能耗（所选时段）', '电 kWh'))).toBeCloseTo(
      siteItem?.electricityKwh ?? Number.NaN,
      3,
    );
    expect(await single(target('energy', '非工作时间用电占比'))).toBeCloseTo(
      (siteItem?.offHoursShare ?? Number.NaN) * 100,
      2,
    ); // the API rounds the share to 4 digits

    for (const department of facility.departments) {
      const item = departments.items.find((i) => i.id === department.id);
      const name = department.name.zh;
      expect(await single(target('departments', '部门用电（含公共分摊）', name)), name).toBeCloseTo(
        item?.electricityKwh ?? Number.NaN,
        3,
      );
      const buildings = await single(target('departments', '人均建筑综合能耗（kgce/人）', name));
      const carsQuery = influxTargets(
        site.dashboards.find((d) => d.uid === 'cd-compound-departments') ?? {},
      ).find((t) => t.panel === '人均公务车能耗（kgce/人）' && t.target.alias === name);
      const cars = carsQuery ? await single(carsQuery.target.query) : 0;
      expect(buildings + cars, name).toBeCloseTo(item?.kgcePerCapita ?? Number.NaN, 3);
    }
  }, 120_000);
});
