/**
 * 能耗总览 Energy overview: site power, consumption by kind, building and sub-system, the
 * off-hours share, EUI against GB/T 51161 per building, and the quota burn-down. Power is read
 * from the raw `meter` points; every consumption figure from the 15-minute `rollup_meter` rows
 * (exact: the register differences the API computes), summed over the facility's root meters (no
 * sub-meter is counted twice).
 */
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import {
  BarGaugeDisplayMode,
  BigValueColorMode,
  GraphDrawStyle,
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  StackingConfigBuilder,
  StackingMode,
  VizLegendOptionsBuilder,
  VizOrientation,
} from '@grafana/grafana-foundation-sdk/common';
import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as GaugePanel } from '@grafana/grafana-foundation-sdk/gauge';
import {
  PieChartLegendOptionsBuilder,
  PieChartLegendValues,
  PieChartType,
  PanelBuilder as PiePanel,
} from '@grafana/grafana-foundation-sdk/piechart';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { METER_KIND_LABELS, METER_SYSTEM_LABELS } from '../../core/facility/labels.ts';
import { UNITS } from '../../core/facility/schema.ts';
import { SUB_SYSTEMS } from '../../core/kpi/energy-scopes.ts';
import { standardValues } from '../../core/kpi/energy-standard.ts';
import { type DashboardOptions, daysInYear, describe, type SiteModel, siteUid, variables } from './common.ts';
import { ident, str, tagIn, tagVar, tz, where } from './influxql.ts';
import { influxQuery, refId, steps } from './panels.ts';

const YEAR_MS = 365 * 86_400_000;

/** Grafana's unit ids for the meter units. */
const GRAFANA_UNIT: Readonly<Record<string, string>> = { kWh: 'kwatth', 'm³': 'm3' };

export function energyDashboard(model: SiteModel, options: DashboardOptions): DashboardBuilder {
  const q = influxQuery(options.dataSources.influx);
  const { site, zone, facility } = model;
  const vars = variables(model);
  const siteCond = `${ident('site')} = ${str(site)}`;
  const rollup = ident('rollup_meter');
  const electricRoots = model.rootMeters('electricity');
  const ids = (list: readonly { id: string }[]) => list.map((m) => m.id);

  const dashboard = new DashboardBuilder(`${facility.site.name.zh} · 能耗总览`)
    .uid(siteUid(site, 'energy'))
    .description(
      describe(
        `Energy overview of ${facility.site.name.en}: power, consumption by kind, building and sub-system, off-hours share, EUI against GB/T 51161 and the annual quotas. Generated from the facility file by \`facility grafana provision\`; edit the facility file, not this dashboard.`,
        '能耗总览：由设施文件生成，请修改设施文件而非本仪表板。',
      ),
    )
    .tags(['facility', site, 'energy'])
    .timezone(zone)
    .time({ from: 'now-7d', to: 'now' })
    .refresh('1m')
    .withVariable(vars.building())
    .withVariable(vars.meter());

  // ------------------------------------------------------------------ power
  dashboard.withRow(new RowBuilder('实时功率'));
  const powerOf = (meters: readonly string[]) =>
    `SELECT sum("p") FROM (SELECT mean("power") AS "p" FROM "meter" ${where(
      siteCond,
      tagIn('meter', meters),
      tagVar('building', 'building'),
    )} GROUP BY time($__interval), "meter") WHERE $timeFilter GROUP BY time($__interval)`;
  dashboard.withPanel(
    new StatPanel()
      .title('当前总功率')
      .description(
        describe(
          "Site power now, kW: the last power reading of every building's main electricity meter (root meters), added up; filtered by the building variable.",
        ),
      )
      .withTarget(
        q(
          'A',
          `SELECT sum("p") FROM (SELECT last("power") AS "p" FROM "meter" ${where(
            siteCond,
            tagIn('meter', ids(electricRoots)),
            tagVar('building', 'building'),
          )} GROUP BY "meter") WHERE $timeFilter`,
          { alias: '当前总功率' },
        ),
      )
      .unit('kwatt')
      .decimals(1)
      .colorMode(BigValueColorMode.None)
      .height(8)
      .span(6),
  );
  const power = new TimeseriesPanel()
    .title('全站功率（按楼栋堆叠）')
    .description(
      describe(
        "Site power, kW, stacked by building: the mean power of each building's main electricity meters per interval.",
      ),
    )
    .unit('kwatt')
    .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
    .fillOpacity(25)
    .height(8)
    .span(18);
  facility.buildings.forEach((b, i) => {
    const meters = ids(model.rootMeters('electricity', b.id));
    if (meters.length > 0) power.withTarget(q(refId(i), powerOf(meters), { alias: b.name.zh }));
  });
  dashboard.withPanel(power);

  // ------------------------------------------------------------------ consumption
  dashboard.withRow(new RowBuilder('能耗构成'));
  const kinds = model.kinds();
  const byKind = new StatPanel()
    .title('分类能耗（所选时段）')
    .description(
      describe(
        'Consumption by kind over the selected period: electricity kWh, water and gas m³, from the 15-minute rollups of the root meters (each building main meter counted once).',
      ),
    )
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['sum']).values(false))
    .colorMode(BigValueColorMode.None)
    .height(8)
    .span(8);
  const daily = new TimeseriesPanel()
    .title('分类能耗（按日）')
    .description(
      describe(
        'Consumption per day (site time zone) by kind: electricity on the left axis (kWh), water and gas on the right (m³).',
      ),
    )
    .drawStyle(GraphDrawStyle.Bars)
    .fillOpacity(60)
    .height(8)
    .span(16);
  kinds.forEach((kind, i) => {
    const unit = UNITS[kind];
    const label = `${METER_KIND_LABELS[kind].zh} ${unit}`;
    const meters = ids(model.rootMeters(kind));
    const base = `SELECT sum("consumption") FROM ${rollup} ${where(
      siteCond,
      tagIn('meter', meters),
      tagVar('building', 'building'),
    )}`;
    byKind.withTarget(q(refId(i), base, { alias: label }));
    byKind.overrideByQuery(refId(i), [{ id: 'unit', value: GRAFANA_UNIT[unit] }]);
    daily.withTarget(q(refId(i), `${base} GROUP BY time(1d) fill(0) ${tz(zone)}`, { alias: label }));
    daily.overrideByQuery(refId(i), [
      { id: 'unit', value: GRAFANA_UNIT[unit] },
      { id: 'custom.axisPlacement', value: kind === 'electricity' ? 'left' : 'right' },
    ]);
  });
  dashboard.withPanel(byKind).withPanel(daily);

  const byBuilding = new TimeseriesPanel()
    .title('各楼栋用电（按日）')
    .description(
      describe('Electricity per building and day, kWh, stacked: the building main meters (rollups).'),
    )
    .unit('kwatth')
    .drawStyle(GraphDrawStyle.Bars)
    .fillOpacity(70)
    .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
    .legend(
      new VizLegendOptionsBuilder()
        .displayMode(LegendDisplayMode.Table)
        .placement(LegendPlacement.Right)
        .showLegend(true)
        .calcs(['sum']),
    )
    .height(9)
    .span(14);
  facility.buildings.forEach((b, i) => {
    const meters = ids(model.rootMeters('electricity', b.id));
    if (meters.length === 0) return;
    byBuilding.withTarget(
      q(
        refId(i),
        `SELECT sum("consumption") FROM ${rollup} ${where(
          siteCond,
          tagIn('meter', meters),
          tagVar('building', 'building'),
        )} GROUP BY time(1d) fill(0) ${tz(zone)}`,
        { alias: b.name.zh },
      ),
    );
  });
  dashboard.withPanel(byBuilding);

  const systems = SUB_SYSTEMS.filter((s) => facility.meters.some((m) => m.system === s));
  const bySystem = new PiePanel()
    .title('分项用电')
    .description(
      describe(
        'Electricity by sub-system over the selected period (lighting and sockets, HVAC, power, special: the four items of the 2008 technical guide for energy monitoring of government office buildings), kWh, from the sub-meters.',
      ),
    )
    .pieType(PieChartType.Donut)
    .unit('kwatth')
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['sum']).values(false))
    .legend(
      new PieChartLegendOptionsBuilder()
        .displayMode(LegendDisplayMode.Table)
        .placement(LegendPlacement.Right)
        .showLegend(true)
        .values([PieChartLegendValues.Value, PieChartLegendValues.Percent]),
    )
    .height(9)
    .span(10);
  systems.forEach((system, i) => {
    bySystem.withTarget(
      q(
        refId(i),
        `SELECT sum("consumption") FROM ${rollup} ${where(
          siteCond,
          `"kind" = 'electricity'`,
          `"system" = ${str(system)}`,
          tagVar('building', 'building'),
        )}`,
        { alias: METER_SYSTEM_LABELS[system].zh },
      ),
    );
  });
  dashboard.withPanel(bySystem);

  // ------------------------------------------------------------------ off-hours share
  dashboard.withRow(new RowBuilder('非工作时间用电'));
  const offHours = `SELECT sum("offHours") / sum("consumption") * 100 FROM ${rollup} ${where(
    siteCond,
    tagIn('meter', ids(electricRoots)),
    tagVar('building', 'building'),
  )}`;
  const offDescription = describe(
    `Off-hours share, %: the part of the electricity of the building main meters used outside working time of the site calendar (${facility.calendar.workingHours ?? ''} on working days; nights, weekends and holidays, with make-up workdays, are off-hours) — the first place waste shows. Each 15-minute rollup row carries its consumption again in "offHours" when it lies outside working time.`,
  );
  dashboard
    .withPanel(
      new StatPanel()
        .title('非工作时间用电占比')
        .description(offDescription)
        .withTarget(q('A', offHours, { alias: '非工作时间占比' }))
        .unit('percent')
        .decimals(1)
        .thresholds(steps('green', [30, 'yellow'], [45, 'red']))
        .colorMode(BigValueColorMode.Value)
        .height(7)
        .span(6),
    )
    .withPanel(
      new TimeseriesPanel()
        .title('非工作时间用电占比（按日）')
        .description(offDescription)
        .withTarget(q('A', `${offHours} GROUP BY time(1d) ${tz(zone)}`, { alias: '非工作时间占比' }))
        .unit('percent')
        .min(0)
        .max(100)
        .drawStyle(GraphDrawStyle.Bars)
        .fillOpacity(60)
        .height(7)
        .span(18),
    );

  // ------------------------------------------------------------------ EUI
  dashboard.withRow(new RowBuilder('单位面积能耗（GB/T 51161）'));
  const width = Math.max(4, Math.floor(24 / Math.max(1, facility.buildings.length)));
  for (const b of facility.buildings) {
    const meters = ids(model.rootMeters('electricity', b.id));
    if (meters.length === 0) continue;
    const values = standardValues(b, facility.site.climateZone);
    const gauge = new GaugePanel()
      .title(`${b.name.zh} 年化电耗强度`)
      .description(
        describe(
          `EUI of ${b.name.en}, kWh/m²·a: electricity of its main meters over the selected period ÷ ${b.floorArea} m², annualised over the time its meters covered (× 365 days ÷ covered time). ` +
            (values
              ? `GB/T 51161-2016 office building, class ${b.ventilationClass ?? ''}, ${facility.site.climateZone}: guide value ${values.guide}, constraint value ${values.constraint} kWh/m²·a (yellow from the guide value, red over the constraint value). An estimate: the standard rates 12 measured months with the hours-of-use correction, as the API's standard figure does.`
              : 'GB/T 51161 gives no value the platform may use for this building (only office buildings of the hot-summer-cold-winter zone are verified), so no lines are drawn.'),
        ),
      )
      .withTarget(
        q(
          'A',
          `SELECT sum("consumption") / ${b.floorArea} * ${YEAR_MS * meters.length} / sum("coveredMs") FROM ${rollup} ${where(
            siteCond,
            tagIn('meter', meters),
          )}`,
          { alias: b.name.zh },
        ),
      )
      .unit('suffix: kWh/m²·a')
      .decimals(1)
      .min(0)
      .height(7)
      .span(width);
    if (values) {
      gauge
        .max(Math.round(values.constraint * 1.5))
        .thresholds(steps('green', [values.guide, 'yellow'], [values.constraint, 'red']));
    } else {
      gauge.thresholds(steps('blue'));
    }
    dashboard.withPanel(gauge);
  }

  // ------------------------------------------------------------------ quotas
  dashboard.withRow(new RowBuilder('定额执行'));
  for (const kind of kinds) {
    const quota = model.quota('site', site, kind, options.now);
    if (!quota) continue;
    const unit = UNITS[kind];
    const meters = ids(model.rootMeters(kind));
    const perDay = quota.amount / daysInYear(quota.year);
    const used = `SELECT ${quota.amount} - cumulative_sum(sum("consumption")) FROM ${rollup} ${where(
      siteCond,
      tagIn('meter', meters),
    )} GROUP BY time(1d) fill(0) ${tz(zone)}`;
    const planned = `SELECT ${quota.amount} - cumulative_sum(sum("p")) FROM (SELECT count("consumption") * 0 + ${perDay} AS "p" FROM ${rollup} ${where(
      siteCond,
      tagIn('meter', meters),
    )} GROUP BY time(1d) fill(0) ${tz(zone)}) WHERE $timeFilter GROUP BY time(1d) ${tz(zone)}`;
    dashboard.withPanel(
      new TimeseriesPanel()
        .title(`${quota.year} 年${METER_KIND_LABELS[kind].zh}定额消耗`)
        .description(
          describe(
            `Quota burn-down, ${unit}: the ${quota.year} annual ${kind} quota of the site (${quota.amount} ${unit}) less the consumption of its root meters since 1 January (this panel always shows the year so far), against the plan: the quota less its daily share (÷ ${daysInYear(quota.year)}) for every day gone. Below the plan line means ahead of the quota's pace.`,
          ),
        )
        .timeFrom('now/y')
        .withTarget(q('A', used, { alias: '剩余定额' }))
        .withTarget(q('B', planned, { alias: '按进度应剩' }))
        .overrideByQuery('B', [
          { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
          { id: 'color', value: { mode: 'fixed', fixedColor: 'orange' } },
        ])
        .unit(GRAFANA_UNIT[unit] ?? 'none')
        .min(0)
        .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed))
        .thresholds(steps('transparent', [0, 'red']))
        .height(8)
        .span(Math.max(8, Math.floor(24 / kinds.length))),
    );
  }
  const buildingQuota = new BarGaugePanel()
    .title('各楼栋用电定额使用率（按所选时段折算）')
    .description(
      describe(
        "Electricity quota use per building, %: the building main meters' consumption over the selected period ÷ (the annual quota × the period's length ÷ 365 days). Yellow from 90 %, red over 100 %.",
      ),
    )
    .unit('percent')
    .min(0)
    .max(150)
    .displayMode(BarGaugeDisplayMode.Gradient)
    .orientation(VizOrientation.Horizontal)
    .thresholds(steps('green', [90, 'yellow'], [100, 'red']))
    .height(8)
    .span(24);
  facility.buildings.forEach((b, i) => {
    const quota = model.quota('building', b.id, 'electricity', options.now);
    const meters = ids(model.rootMeters('electricity', b.id));
    if (!quota || meters.length === 0) return;
    buildingQuota.withTarget(
      q(
        refId(i),
        `SELECT sum("consumption") / (${quota.amount} * \${__range_s} / 31536000) * 100 FROM ${rollup} ${where(
          siteCond,
          tagIn('meter', meters),
          tagVar('building', 'building'),
        )}`,
        { alias: b.name.zh },
      ),
    );
  });
  dashboard.withPanel(buildingQuota);

  // ------------------------------------------------------------------ meters
  dashboard.withRow(new RowBuilder('计量表明细'));
  dashboard.withPanel(
    new TimeseriesPanel()
      .title('所选计量表能耗')
      .description(
        describe(
          'Consumption of the meters picked in the "meter" variable per interval (at least 15 minutes: the rollup bucket), in the unit of each meter (kWh or m³).',
        ),
      )
      .interval('15m')
      .withTarget(
        q(
          'A',
          `SELECT sum("consumption") FROM ${rollup} ${where(
            siteCond,
            tagVar('meter', 'meter'),
            tagVar('building', 'building'),
          )} GROUP BY time($__interval), "meter" fill(0)`,
          { alias: '$tag_meter' },
        ),
      )
      .height(9)
      .span(24),
  );
  return dashboard;
}
