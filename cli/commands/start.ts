/**
 * `facility start`: the whole platform in one process on the embedded store — broker with the
 * in-process ingest, API and simulators — with history backfilled on first start so the panels
 * are full at once. What it does is in `../run/start.ts`, loaded when it runs.
 */
import { Command } from 'commander';
import { addSettings, BROKER_SETTINGS, STORE_SETTINGS } from '../settings.ts';

export function startCommand(): Command {
  const command = new Command('start')
    .summary('run the whole platform in one process 一键启动整个平台')
    .description(
      'Run the MQTT broker with the ingest inside it, the API, the live page with the alert engine ' +
        'and the device simulators in one ' +
        'process on the embedded DuckDB store (or InfluxDB with --store influx). On first start, ' +
        'generate --backfill-days of history so the figures are there at once. Ctrl-C stops ' +
        'everything cleanly.\n\n' +
        '在一个进程中运行 MQTT 服务（内含数据接入）、API、实时页面与告警引擎及设备模拟器；首次启动时回填历史数据。',
    );
  addSettings(command, [
    'facility',
    'data',
    ...BROKER_SETTINGS,
    'httpPort',
    'apiRateLimit',
    'simulators',
    'backfillDays',
    'speed',
    'seed',
    'showcase',
    ...STORE_SETTINGS,
    'spoolMaxMb',
    'serviceSecret',
    'adminToken',
    'sessionSecret',
    'sessionHours',
    'secureCookies',
    'alertEngine',
    'logLevel',
  ]);
  command.addHelpText(
    'after',
    '\nExamples:\n' +
      '  facility start                               # demo compound, data in ./data\n' +
      '  facility start --no-simulators --facility site.yaml\n' +
      '  facility start --no-showcase                 # simulators without the showcase faults\n' +
      '  FACILITY_STORE=influx FACILITY_INFLUX_URL=http://influx:8086 facility start\n',
  );
  return command.action(async () => {
    const { runStart } = await import('../run/start.ts');
    await runStart(command);
  });
}
