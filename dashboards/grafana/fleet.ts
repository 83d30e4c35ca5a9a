/**
 * 公务用车 Fleet: where the official cars are (Geomap, last fix of each car), trips and distance
 * per car, and when trips start. Positions come from the raw `vehicle` points; trips from the
 * `rollup_trip` rows (one per trip, keyed by its start; void rows, `"rules" = ''`, are left out).
 *
 * Off-hours trips per car come from the trip rows' `offHours` flag, set when the rollups are folded
 * from the site calendar (InfluxQL itself has no hour-of-day or weekday function, nor the holidays
 * and make-up workdays): the same count as the API's `offHoursTrips`.
 */
import { PanelBuilder as BarChartPanel } from '@grafana/grafana-foundation-sdk/barchart';
import {
  FrameGeometrySourceBuilder,
  FrameGeometrySourceMode,
  GraphDrawStyle,
  MapLayerOptionsBuilder,
  StackingMode,
  VizOrientation,
} from '@grafana/grafana-foundation-sdk/common';
import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  ControlsOptionsBuilder,
  PanelBuilder as GeomapPanel,
  MapViewConfigBuilder,
  TooltipMode,
  TooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/geomap';
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
import { influxQuery } from './panels.ts';

export function fleetDashboard(model: SiteModel, options: DashboardOptions): DashboardBuilder {
  const q = influxQuery(options.dataSources.influx);
  const { site, zone, facility } = model;
  const vars = variables(model);
  const siteCond = `${ident('site')} = ${str(site)}`;
  const cars = [tagVar('vehicle', 'vehicle'), tagVar('department', 'department')];
  const plates = nameMappings(facility.vehicles.map((v) => ({ id: v.id, text: v.plate })));
  const hours = facility.calendar.workingHours ?? '';

  const dashboard = new DashboardBuilder(`${facility.site.name.zh} · 公务用车`)
    .uid(siteUid(site, 'fleet'))
    .description(
      describe(
        'Official cars: positions, trips and distance per car, trips by hour of day. Generated from the facility file by `facility grafana provision`.',
        '公务用车：位置、每车行程与里程、出车时段。',
      ),
    )
    .tags(['facility', site, 'fleet'])
    .timezone(zone)
    .time({ from: 'now-7d', to: 'now' })
    .refresh('1m')
    .withVariable(vars.department())
    .withVariable(vars.vehicle());

  dashboard.withRow(new RowBuilder('车辆位置'));
  dashboard.withPanel(
    new GeomapPanel()
      .title('车辆位置')
      .description(
        describe(
          'Last position of each car in the selected period (WGS-84, from its GPS fixes), with its speed then; hover a marker for the plate. Cars outside the service-area geofence are listed as exits in the table.',
        ),
      )
      .withTarget(
        q(
          'A',
          `SELECT last("lat") AS "lat", last("lon") AS "lon", last("speed") AS "speed" FROM "vehicle" ${where(
            siteCond,
            ...cars,
          )} GROUP BY "vehicle"`,
          { format: 'table' },
        ),
      )
      .view(
        new MapViewConfigBuilder()
          .id('coords')
          .lat(facility.site.location.lat)
          .lon(facility.site.location.lon)
          .zoom(11),
      )
      .controls(new ControlsOptionsBuilder().showZoom(true).mouseWheelZoom(true).showScale(true))
      .basemap(new MapLayerOptionsBuilder().type('default').name('底图'))
      .layers([
        new MapLayerOptionsBuilder()
          .type('markers')
          .name('车辆')
          .location(
            new FrameGeometrySourceBuilder()
              .mode(FrameGeometrySourceMode.Coords)
              .latitude('lat')
              .longitude('lon'),
          )
          .config({
            showLegend: false,
            style: {
              size: { fixed: 8 },
              color: { fixed: 'dark-blue' },
              opacity: 0.8,
              text: { field: 'vehicle', mode: 'field' },
              textConfig: { fontSize: 10, offsetY: -12, textAlign: 'center', textBaseline: 'middle' },
            },
          })
          .tooltip(true),
      ])
      .tooltip(new TooltipOptionsBuilder().mode(TooltipMode.Details))
      .mappings(plates)
      .height(14)
      .span(14),
  );
  dashboard.withPanel(
    new TablePanel()
      .title('每车行程与里程')
      .description(
        describe(
          'Per car over the selected period: trips (ignition on and moving; a stop of 5 minutes or more ends one), distance (odometer, or GPS legs without one), the highest speed, and trips that left the service-area geofence.',
        ),
      )
      .withTarget(
        q(
          'A',
          `SELECT count("distanceKm") AS "行程数", sum("distanceKm") AS "里程 km", max("maxSpeedKmh") AS "最高时速 km/h", sum("leftServiceArea") AS "出服务区行程" FROM "rollup_trip" ${where(
            siteCond,
            `"rules" != ''`,
            ...cars,
          )} GROUP BY "vehicle"`,
          { format: 'table' },
        ),
      )
      .withTransformation({
        id: 'organize',
        options: { excludeByName: { Time: true }, renameByName: { vehicle: '车辆' } },
      })
      .overrideByName('vehicle', [{ id: 'mappings', value: plates }])
      .overrideByName('里程 km', [{ id: 'decimals', value: 1 }])
      .height(14)
      .span(10),
  );

  dashboard.withRow(new RowBuilder('行程'));
  /** A bar per car of the sum of a trip-row field over the selected period. */
  const perCar = (title: string, description: string, field: string, alias: string) =>
    new BarChartPanel()
      .title(title)
      .description(description)
      .withTarget(
        q(
          'A',
          `SELECT sum("${field}") AS "${alias}" FROM "rollup_trip" ${where(
            siteCond,
            `"rules" != ''`,
            ...cars,
          )} GROUP BY "vehicle"`,
          { format: 'table' },
        ),
      )
      .withTransformation({ id: 'organize', options: { excludeByName: { Time: true } } })
      .xField('vehicle')
      .overrideByName('vehicle', [{ id: 'mappings', value: plates }])
      .orientation(VizOrientation.Vertical)
      .xTickLabelRotation(-45)
      .height(9)
      .span(12);
  dashboard.withPanel(
    perCar(
      '每车里程',
      describe('Distance per car over the selected period, km (trip rollups).'),
      'distanceKm',
      '里程',
    ).unit('lengthkm'),
  );
  dashboard.withPanel(
    perCar(
      '非工作时间出车（每车）',
      describe(
        "Off-hours trips per car over the selected period: trips touching time outside working hours of the site calendar (nights, weekends, holidays; make-up workdays count as working days), as the API's offHoursTrips (GET /api/v1/vehicles/utilization) counts them. The flag is set on each trip rollup row from the calendar in the facility file.",
        '非工作时间出车：行程触及工作日历之外的时间（夜间、周末、节假日；调休上班日按工作日）。',
      ),
      'offHours',
      '非工作时间行程',
    )
      .unit('none')
      .decimals(0),
  );
  dashboard.withPanel(
    new TimeseriesPanel()
      .title('每日行程数与里程')
      .description(
        describe(
          'Trips and distance of the selected cars per day (site time zone), by the day a trip started.',
        ),
      )
      .withTarget(
        q(
          'A',
          `SELECT count("distanceKm") FROM "rollup_trip" ${where(siteCond, `"rules" != ''`, ...cars)} GROUP BY time(1d) fill(0) ${tz(zone)}`,
          { alias: '行程数' },
        ),
      )
      .withTarget(
        q(
          'B',
          `SELECT sum("distanceKm") FROM "rollup_trip" ${where(siteCond, `"rules" != ''`, ...cars)} GROUP BY time(1d) fill(0) ${tz(zone)}`,
          { alias: '里程 km' },
        ),
      )
      .overrideByQuery('B', [
        { id: 'unit', value: 'lengthkm' },
        { id: 'custom.axisPlacement', value: 'right' },
        { id: 'custom.drawStyle', value: 'line' },
      ])
      .drawStyle(GraphDrawStyle.Bars)
      .fillOpacity(50)
      .height(9)
      .span(12),
  );
  dashboard.withPanel(
    new BarChartPanel()
      .title('出车时段分布（按开始时刻）')
      .description(
        describe(
          `Trips of the selected cars by the hour of day they started (site time zone), over the selected period. Trips starting before ${hours.split('-')[0] ?? ''} or from ${hours.split('-')[1] ?? ''} on are off-hours on any day; weekends and holidays are off-hours all day (the panel "非工作时间出车" counts them by the calendar). The hours are read here by Grafana's "Format time" and "Group by" transformations.`,
          '出车时段分布（按行程开始的小时）；按工作日历的非工作时间出车数见"非工作时间出车"面板。',
        ),
      )
      .withTarget(
        q('A', `SELECT "distanceKm" FROM "rollup_trip" ${where(siteCond, `"rules" != ''`, ...cars)}`, {
          format: 'table',
        }),
      )
      .withTransformation({
        id: 'formatTime',
        options: { timeField: 'Time', outputFormat: 'HH', useTimezone: true },
      })
      .withTransformation({
        id: 'groupBy',
        options: {
          fields: {
            Time: { aggregations: [], operation: 'groupby' },
            distanceKm: { aggregations: ['count'], operation: 'aggregate' },
          },
        },
      })
      .withTransformation({ id: 'sortBy', options: { sort: [{ field: 'Time' }] } })
      .withTransformation({
        id: 'organize',
        options: { renameByName: { Time: '开始时刻（时）', 'distanceKm (count)': '行程数' } },
      })
      .xField('开始时刻（时）')
      .orientation(VizOrientation.Vertical)
      .stacking(StackingMode.None)
      .height(9)
      .span(12),
  );
  dashboard.withPanel(
    new BarChartPanel()
      .title('每车怠速时长')
      .description(
        describe(
          'Idle time per car over the selected period, hours: ignition on and speed 0 (vehicle rollups).',
        ),
      )
      .withTarget(
        q(
          'A',
          `SELECT sum("idleMs") / 3600000 AS "怠速 h" FROM "rollup_vehicle" ${where(
            siteCond,
            `"rules" != ''`,
            ...cars,
          )} GROUP BY "vehicle"`,
          { format: 'table' },
        ),
      )
      .withTransformation({ id: 'organize', options: { excludeByName: { Time: true } } })
      .xField('vehicle')
      .overrideByName('vehicle', [{ id: 'mappings', value: plates }])
      .orientation(VizOrientation.Vertical)
      .xTickLabelRotation(-45)
      .unit('h')
      .decimals(1)
      .height(9)
      .span(12),
  );
  return dashboard;
}
