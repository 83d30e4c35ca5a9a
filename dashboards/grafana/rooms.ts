/**
 * 会议室与空间 Rooms: an occupancy heat map, occupied hours and utilisation, CO2 and set-point
 * violations per room. Occupancy, set-point and CO2 times come from the 15-minute `rollup_room`
 * rows; CO2 and temperature curves from the raw `sensor` points.
 */
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import {
  BarGaugeDisplayMode,
  GraphDrawStyle,
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  HeatmapCellLayout,
  VizOrientation,
} from '@grafana/grafana-foundation-sdk/common';
import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  HeatmapColorMode,
  HeatmapColorOptionsBuilder,
  PanelBuilder as HeatmapPanel,
  RowsHeatmapOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/heatmap';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import {
  type DashboardOptions,
  describe,
  nameMappings,
  type SiteModel,
  siteUid,
  variables,
} from './common.ts';
import { ident, str, tagVar, tz, where } from './influxql.ts';
import { influxQuery, steps } from './panels.ts';

const WEEK_MS = 7 * 86_400_000;

/** Working time per week from the calendar, ms (holidays not subtracted). */
function weeklyWorkingMs(model: SiteModel): number {
  const { workdays, workingHours } = model.facility.calendar;
  const [start, end] = (workingHours ?? '00:00-24:00').split('-').map((t) => {
    const [h, m] = t.split(':').map(Number);
    return ((h ?? 0) * 60 + (m ?? 0)) * 60_000;
  });
  return (workdays?.length ?? 5) * Math.max(0, (end ?? 0) - (start ?? 0));
}

export function roomsDashboard(model: SiteModel, options: DashboardOptions): DashboardBuilder {
  const q = influxQuery(options.dataSources.influx);
  const { site, zone, facility } = model;
  const vars = variables(model);
  const siteCond = `${ident('site')} = ${str(site)}`;
  const picked = [tagVar('room', 'room'), tagVar('building', 'building')];
  const names = nameMappings(facility.rooms.map((r) => ({ id: r.id, text: r.name.zh })));
  const workShare = weeklyWorkingMs(model) / WEEK_MS;

  const dashboard = new DashboardBuilder(`${facility.site.name.zh} · 会议室与空间`)
    .uid(siteUid(site, 'rooms'))
    .description(
      describe(
        'Rooms: occupancy heat map, occupied hours and utilisation, CO2 and air-conditioning set-point violations. Generated from the facility file by `facility grafana provision`.',
        '会议室与空间：占用热力图、利用率、CO2、空调温度设定违规。',
      ),
    )
    .tags(['facility', site, 'rooms'])
    .timezone(zone)
    .time({ from: 'now-7d', to: 'now' })
    .refresh('1m')
    .withVariable(vars.building())
    .withVariable(vars.room());

  dashboard.withRow(new RowBuilder('占用'));
  dashboard.withPanel(
    new HeatmapPanel()
      .title('占用热力图')
      .description(
        describe(
          'Share of each interval (at least an hour) each room was occupied, %: one row per room, darker = longer occupied (room rollups).',
        ),
      )
      .interval('1h')
      .withTarget(
        q(
          'A',
          `SELECT sum("occupiedMs") / $__interval_ms * 100 FROM "rollup_room" ${where(
            siteCond,
            `"rules" != ''`,
            ...picked,
          )} GROUP BY time($__interval), "room" fill(0)`,
          { alias: '$tag_room' },
        ),
      )
      .calculate(false)
      .rowsFrame(new RowsHeatmapOptionsBuilder().layout(HeatmapCellLayout.Unknown))
      .color(new HeatmapColorOptionsBuilder().mode(HeatmapColorMode.Scheme).scheme('Oranges').min(0).max(100))
      .unit('percent')
      .height(12)
      .span(24),
  );
  dashboard.withPanel(
    new TablePanel()
      .title('房间利用情况')
      .description(
        describe(
          `Per room over the selected period: occupied hours; utilisation ≈ occupied time ÷ the working time in the period, with working time taken as ${Math.round(workShare * 1000) / 10} % of all time (the calendar's working days and hours, holidays not subtracted, and occupied time outside working hours counted too — the rollup rows do not mark working time; the API's /api/v1/rooms/utilization gives the exact figure); hours conditioned while empty (HVAC or lights on, nobody there), outside the air-conditioning set points (cooling below 26 °C, heating above 20 °C) and with CO2 above 1000 ppm.`,
        ),
      )
      .withTarget(
        q(
          'A',
          `SELECT sum("occupiedMs") / 3600000 AS "占用 h", sum("occupiedMs") / (\${__range_s} * 1000 * ${workShare}) * 100 AS "利用率 %", sum("conditionedEmptyMs") / 3600000 AS "无人开空调/灯 h", sum("setpointViolationMs") / 3600000 AS "温度设定违规 h", sum("co2OverMs") / 3600000 AS "CO2超标 h" FROM "rollup_room" ${where(
            siteCond,
            `"rules" != ''`,
            ...picked,
          )} GROUP BY "room"`,
          { format: 'table' },
        ),
      )
      .withTransformation({
        id: 'organize',
        options: { excludeByName: { Time: true }, renameByName: { room: '房间' } },
      })
      .overrideByName('room', [{ id: 'mappings', value: names }])
      .decimals(1)
      .height(12)
      .span(24),
  );

  dashboard.withRow(new RowBuilder('空气质量与温度'));
  dashboard.withPanel(
    new TimeseriesPanel()
      .title('CO2 浓度')
      .description(
        describe(
          'CO2 per room, ppm (mean per interval of the sensor readings); the dashed line is 1000 ppm.',
        ),
      )
      .withTarget(
        q(
          'A',
          `SELECT mean("co2") FROM "sensor" ${where(siteCond, ...picked)} GROUP BY time($__interval), "room"`,
          { alias: '$tag_room' },
        ),
      )
      .unit('ppm')
      .thresholds(steps('green', [1000, 'red']))
      .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed))
      .height(9)
      .span(12),
  );
  dashboard.withPanel(
    new TimeseriesPanel()
      .title('室内温度')
      .description(
        describe(
          'Temperature per room, °C (mean per interval). The national rule for public buildings: cooling set no lower than 26 °C, heating no higher than 20 °C (dashed lines).',
        ),
      )
      .withTarget(
        q(
          'A',
          `SELECT mean("temperature") FROM "sensor" ${where(siteCond, ...picked)} GROUP BY time($__interval), "room"`,
          { alias: '$tag_room' },
        ),
      )
      .unit('celsius')
      .thresholds(steps('blue', [20, 'green'], [26, 'orange']))
      .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed))
      .height(9)
      .span(12),
  );
  dashboard.withPanel(
    new BarGaugePanel()
      .title('温度设定违规时长（按房间）')
      .description(
        describe(
          'Hours each room was conditioned outside the set points (cooling below 26 °C, heating above 20 °C) in the selected period (room rollups).',
        ),
      )
      .withTarget(
        q(
          'A',
          `SELECT sum("setpointViolationMs") / 3600000 FROM "rollup_room" ${where(
            siteCond,
            `"rules" != ''`,
            ...picked,
          )} GROUP BY "room"`,
          { alias: '$tag_room' },
        ),
      )
      .unit('h')
      .decimals(1)
      .displayMode(BarGaugeDisplayMode.Gradient)
      .orientation(VizOrientation.Horizontal)
      .thresholds(steps('green', [1, 'yellow'], [8, 'red']))
      .height(10)
      .span(12),
  );
  dashboard.withPanel(
    new TimeseriesPanel()
      .title('CO2 超标与温度违规（按日）')
      .description(
        describe(
          'Hours with CO2 above 1000 ppm and hours outside the set points, all selected rooms together, per day.',
        ),
      )
      .withTarget(
        q(
          'A',
          `SELECT sum("co2OverMs") / 3600000 FROM "rollup_room" ${where(siteCond, `"rules" != ''`, ...picked)} GROUP BY time(1d) fill(0) ${tz(zone)}`,
          { alias: 'CO2 超标 h' },
        ),
      )
      .withTarget(
        q(
          'B',
          `SELECT sum("setpointViolationMs") / 3600000 FROM "rollup_room" ${where(siteCond, `"rules" != ''`, ...picked)} GROUP BY time(1d) fill(0) ${tz(zone)}`,
          { alias: '温度设定违规 h' },
        ),
      )
      .unit('h')
      .drawStyle(GraphDrawStyle.Bars)
      .fillOpacity(60)
      .height(10)
      .span(12),
  );
  return dashboard;
}
