/**
 * 部门责任 Department responsibility: each department's consumption as the API defines it — its
 * own department meters plus its floor-area share of its buildings' common use
 * (core/kpi/energy-scopes.ts) — its standard coal per person, and its electricity quota use.
 * InfluxQL has no weights per series, so a department's figure is a sum over subqueries, one per
 * distinct weight, each scaling the rows of its meters (`FROM (SELECT "consumption" * w …), …`).
 */
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import {
  BarGaugeDisplayMode,
  GraphDrawStyle,
  StackingConfigBuilder,
  StackingMode,
  VizOrientation,
} from '@grafana/grafana-foundation-sdk/common';
import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { TextMode, PanelBuilder as TextPanel } from '@grafana/grafana-foundation-sdk/text';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import type { FactorEnergy } from '../../core/facility/schema.ts';
import { summaryScopes } from '../../core/kpi/energy-scopes.ts';
import { type DashboardOptions, describe, type SiteModel, siteUid, variables } from './common.ts';
import { ident, str, tagIn, tagVar, tz, where } from './influxql.ts';
import { influxQuery, refId, steps } from './panels.ts';

/** Terms of one subquery: a measurement's field over some devices, times a coefficient. */
export interface WeightedTerm {
  readonly measurement: string;
  readonly key: string;
  readonly field: string;
  readonly device: string;
  readonly weight: number;
}

/**
 * `SELECT sum("v") FROM (SELECT field * w AS "v" …), … WHERE $timeFilter` over the terms, one
 * subquery per (measurement, field, weight); `suffix` follows the outer WHERE (GROUP BY …).
 */
export function weightedSum(
  site: string,
  terms: readonly WeightedTerm[],
  outer: (sum: string) => string,
  suffix = '',
): string | null {
  const groups = new Map<string, { term: WeightedTerm; devices: string[] }>();
  for (const term of terms) {
    if (term.weight === 0) continue;
    const weight = Number(term.weight.toPrecision(12));
    const key = `${term.measurement}\u0000${term.field}\u0000${weight}`;
    const group = groups.get(key) ?? { term: { ...term, weight }, devices: [] };
    group.devices.push(term.device);
    groups.set(key, group);
  }
  if (groups.size === 0) return null;
  const subqueries = [...groups.values()].map(
    ({ term, devices }) =>
      `(SELECT ${ident(term.field)} * ${term.weight} AS "v" FROM ${ident(term.measurement)} ${where(
        `${ident('site')} = ${str(site)}`,
        tagIn(term.key, devices.sort()),
        `"rules" != ''`,
      )})`,
  );
  return `SELECT ${outer('sum("v")')} FROM ${subqueries.join(', ')} WHERE $timeFilter${suffix}`;
}

export function departmentsDashboard(model: SiteModel, options: DashboardOptions): DashboardBuilder {
  const q = influxQuery(options.dataSources.influx);
  const { site, zone, facility } = model;
  const vars = variables(model);
  const kindOf = new Map(facility.meters.map((m) => [m.id, m.kind]));
  const scopes = summaryScopes(facility, 'department').filter((s) => s.department !== undefined);
  const coal = facility.factors.standardCoal;
  const vehicleEnergy = new Map(facility.vehicles.map((v) => [v.id, v.energy]));

  const meterTerms = (terms: ReadonlyMap<string, number>, factor: (kind: string) => number | undefined) =>
    [...terms].flatMap(([device, weight]) => {
      const f = factor(kindOf.get(device) ?? '');
      return f === undefined
        ? []
        : [{ measurement: 'rollup_meter', key: 'meter', field: 'consumption', device, weight: weight * f }];
    });

  const dashboard = new DashboardBuilder(`${facility.site.name.zh} · 部门责任`)
    .uid(siteUid(site, 'departments'))
    .description(
      describe(
        "Department responsibility: each department's consumption (its own meters plus its floor-area share of its buildings' common use, as the API computes it), standard coal per person with its official cars, and quota use. Generated from the facility file by `facility grafana provision`.",
        '部门责任：部门能耗 = 部门分户计量 + 按面积分摊的公共用能（与接口口径一致）。',
      ),
    )
    .tags(['facility', site, 'departments'])
    .timezone(zone)
    .time({ from: 'now/y', to: 'now' })
    .refresh('5m')
    .withVariable(vars.department());

  dashboard.withRow(new RowBuilder('部门能耗与人均'));
  const electricity = new BarGaugePanel()
    .title('部门用电（含公共分摊）')
    .description(
      describe(
        "Electricity per department over the selected period, kWh: its department meters plus, in each building where it has space, its share (its area there ÷ all departments' area there) of the building's main meters less all department meters there — the API's figure. Every department is shown, for comparison; the department variable picks the panels of the last row.",
      ),
    )
    .unit('kwatth')
    .displayMode(BarGaugeDisplayMode.Gradient)
    .orientation(VizOrientation.Horizontal)
    .height(10)
    .span(12);
  const perCapita = (title: string, english: string) =>
    new BarGaugePanel()
      .title(title)
      .description(describe(english))
      .unit('suffix: kgce/人')
      .decimals(2)
      .displayMode(BarGaugeDisplayMode.Gradient)
      .orientation(VizOrientation.Horizontal)
      .height(10)
      .span(12);
  const factorsText = `electricity ${coal.electricity} kgce/kWh, gas ${coal.gas} kgce/m³, gasoline ${coal.gasoline}, diesel ${coal.diesel} kgce/L`;
  const buildingsPerCapita = perCapita(
    '人均建筑综合能耗（kgce/人）',
    `Standard coal per person from the buildings over the selected period, kgce: the department's electricity and gas (own meters plus its share of common use, as above) × the facility's standard-coal factors (${factorsText}) ÷ its headcount. Water is not converted to standard coal. Add the official cars' figure next to it for the department's total: InfluxQL cannot add series of two measurements in one query.`,
  );
  const carsPerCapita = perCapita(
    '人均公务车能耗（kgce/人）',
    `Standard coal per person from the department's official cars over the selected period, kgce: their fuel (L) and electricity (kWh) × the standard-coal factors (${factorsText}) ÷ its headcount. Departments without cars are not listed.`,
  );
  const quotaUse = new BarGaugePanel()
    .title('部门用电定额使用率（按所选时段折算）')
    .description(
      describe(
        "Electricity quota use per department, %: its electricity (as above) over the selected period ÷ (its annual quota × the period's length ÷ 365 days). Yellow from 90 %, red over 100 %. Departments without a quota are not listed.",
      ),
    )
    .unit('percent')
    .min(0)
    .max(150)
    .thresholds(steps('green', [90, 'yellow'], [100, 'red']))
    .displayMode(BarGaugeDisplayMode.Gradient)
    .orientation(VizOrientation.Horizontal)
    .height(10)
    .span(12);

  scopes.forEach((scope, i) => {
    const department = facility.departments.find((d) => d.id === scope.department);
    if (!department) return;
    const label = department.name.zh;
    const kwh = meterTerms(scope.terms, (kind) => (kind === 'electricity' ? 1 : undefined));
    const kwhQuery = weightedSum(site, kwh, (sum) => sum);
    if (kwhQuery) electricity.withTarget(q(refId(i), kwhQuery, { alias: label }));
    const buildingKgce = meterTerms(scope.terms, (kind) =>
      kind === 'electricity' || kind === 'gas' ? coal[kind as FactorEnergy] : undefined,
    );
    const carKgce = (scope.vehicles ?? []).map((device) => {
      const energy = vehicleEnergy.get(device);
      return {
        measurement: 'rollup_vehicle',
        key: 'vehicle',
        field: 'energy',
        device,
        weight: energy === 'electric' ? coal.electricity : energy === undefined ? 0 : coal[energy],
      };
    });
    const perPerson = (sum: string) => `${sum} / ${department.headcount}`;
    const buildingQuery = weightedSum(site, buildingKgce, perPerson);
    if (buildingQuery) buildingsPerCapita.withTarget(q(refId(i), buildingQuery, { alias: label }));
    const carQuery = weightedSum(site, carKgce, perPerson);
    if (carQuery) carsPerCapita.withTarget(q(refId(i), carQuery, { alias: label }));
    const quota = model.quota('department', department.id, 'electricity', options.now);
    const quotaQuery =
      quota && weightedSum(site, kwh, (sum) => `${sum} / (${quota.amount} * \${__range_s} / 31536000) * 100`);
    if (quotaQuery) quotaUse.withTarget(q(refId(i), quotaQuery, { alias: label }));
  });
  dashboard.withPanel(electricity).withPanel(quotaUse).withPanel(buildingsPerCapita).withPanel(carsPerCapita);

  const rows = facility.departments.map((d) => {
    const scope = scopes.find((s) => s.department === d.id);
    const quota = model.quota('department', d.id, 'electricity', options.now);
    const area = scope?.areaM2 ?? null;
    return `| ${d.name.zh} | ${d.headcount} | ${area === null ? '—' : Math.round(area).toLocaleString('zh-CN')} | ${
      quota ? `${quota.amount.toLocaleString('zh-CN')}（${quota.year}）` : '—'
    } |`;
  });
  dashboard.withPanel(
    new TextPanel()
      .title('部门人数、面积与定额')
      .description(
        describe(
          "Headcount, area (its own spaces plus its share of common area) and annual electricity quota of each department, from the facility file at the last provisioning: the per-person and per-m² figures' denominators.",
        ),
      )
      .mode(TextMode.Markdown)
      .content(
        ['| 部门 | 人数 | 面积 m² | 年度用电定额 kWh |', '| --- | ---: | ---: | ---: |', ...rows].join('\n'),
      )
      .height(10)
      .span(12),
  );

  dashboard.withRow(new RowBuilder('所选部门'));
  dashboard.withPanel(
    new TimeseriesPanel()
      .title('所选部门分户计量用电（按日）')
      .description(
        describe(
          'Electricity of the departments picked in the variable, per day, kWh: their own department meters only (the common-use share is in the bars above).',
        ),
      )
      .withTarget(
        q(
          'A',
          `SELECT sum("consumption") FROM "rollup_meter" ${where(
            `${ident('site')} = ${str(site)}`,
            `"system" = 'department'`,
            `"kind" = 'electricity'`,
            tagVar('department', 'department'),
          )} GROUP BY time(1d), "department" fill(0) ${tz(zone)}`,
          { alias: '$tag_department' },
        ),
      )
      .mappings([])
      .unit('kwatth')
      .drawStyle(GraphDrawStyle.Bars)
      .fillOpacity(60)
      .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
      .height(9)
      .span(12),
  );
  dashboard.withPanel(
    new TimeseriesPanel()
      .title('所选部门公务车行驶里程（按日）')
      .description(
        describe(
          'Distance driven per day by the official cars of the departments picked in the variable, km (trips from the trip rollups, by the day they started).',
        ),
      )
      .withTarget(
        q(
          'A',
          `SELECT sum("distanceKm") FROM "rollup_trip" ${where(
            `${ident('site')} = ${str(site)}`,
            `"rules" != ''`,
            tagVar('department', 'department'),
          )} GROUP BY time(1d), "department" fill(0) ${tz(zone)}`,
          { alias: '$tag_department' },
        ),
      )
      .unit('lengthkm')
      .drawStyle(GraphDrawStyle.Bars)
      .fillOpacity(60)
      .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
      .height(9)
      .span(12),
  );
  return dashboard;
}
