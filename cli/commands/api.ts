/**
 * `facility api`: the HTTP API alone, over a store the ingest workers write (InfluxDB in the
 * scaled shape), watching the workers' status on the broker for its health. What it does is in
 * `../run/api.ts`, loaded when it runs.
 */
import { Command } from 'commander';
import { addSettings, STORE_SETTINGS } from '../settings.ts';

export function apiCommand(): Command {
  const command = new Command('api')
    .summary('run the HTTP API alone 单独运行 API')
    .description(
      'Serve the HTTP API over the store (use --store influx when ingest workers write it from other ' +
        'processes: a DuckDB file has one writer). The api logs in to --broker-url as svc-api and ' +
        'watches the status the `facility ingest --shared` workers publish: GET /api/v1/health is ' +
        '"degraded" and names every worker whose share is queuing at the broker, and ' +
        'GET /api/v1/ingest/stats adds up the workers’ counters. It follows the devices on the broker too, ' +
        'for the live page (socket.io at /socket.io); with --redis-url, alerts are kept in Redis and the ' +
        'live page’s alert events reach the clients of every api process (socket.io Redis adapter). Give ' +
        '--alert-engine to one api process: it evaluates the alert rules and sends the webhooks.',
    );
  addSettings(command, [
    'facility',
    'data',
    'host',
    'httpPort',
    'apiRateLimit',
    ...STORE_SETTINGS,
    'brokerUrl',
    'redisUrl',
    'alertEngine',
    'serviceSecret',
    'adminToken',
    'sessionSecret',
    'sessionHours',
    'secureCookies',
    'logLevel',
  ]);
  command.addHelpText(
    'after',
    '\nExample:\n' +
      '  FACILITY_STORE=influx FACILITY_INFLUX_URL=http://influxdb:8086 facility api --broker-url mqtt://mosquitto:1883\n' +
      '  facility api --store influx --redis-url redis://redis:6379 --alert-engine   # the one api process with the engine\n',
  );
  return command.action(async () => {
    const { runApi } = await import('../run/api.ts');
    await runApi(command);
  });
}
