/**
 * `facility api`: the HTTP API alone, over a store the ingest workers write (InfluxDB in the
 * scaled shape), watching the workers' status on the broker for its health.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { summarizeIngestWorkers } from '../../core/ingest-workers.ts';
import { IngestWorkerWatch } from '../../ingest/worker-watch.ts';
import { createApiServer } from '../parts.ts';
import {
  createLogger,
  createStorage,
  Lifecycle,
  loadFacilityOrExit,
  loadSecrets,
  untilSignal,
} from '../platform.ts';
import { addSettings, readSettings, withSettings } from '../settings.ts';
import { adminTokenLines } from './start.ts';

export function apiCommand(): Command {
  const command = new Command('api')
    .summary('run the HTTP API alone 单独运行 API')
    .description(
      'Serve the HTTP API over the store (use --store influx when ingest workers write it from other ' +
        'processes: a DuckDB file has one writer). The api logs in to --broker-url as svc-api and ' +
        'watches the status the `facility ingest --shared` workers publish: GET /api/v1/health is ' +
        '"degraded" and names every worker whose share is queuing at the broker, and ' +
        'GET /api/v1/ingest/stats adds up the workers’ counters.',
    );
  addSettings(command, [
    'facility',
    'data',
    'host',
    'httpPort',
    'apiRateLimit',
    'store',
    'influxUrl',
    'influxDatabase',
    'influxOrg',
    'influxToken',
    'influxUsername',
    'influxPassword',
    'brokerUrl',
    'serviceSecret',
    'adminToken',
    'logLevel',
  ]);
  command.addHelpText(
    'after',
    '\nExample:\n' +
      '  FACILITY_STORE=influx FACILITY_INFLUX_URL=http://influxdb:8086 facility api --broker-url mqtt://mosquitto:1883\n',
  );
  return command.action(async () => {
    const config = readSettings(command);
    const logger = createLogger(config);
    const facility = await loadFacilityOrExit(config.facility, 'api');
    const secrets = await loadSecrets(config);
    const life = new Lifecycle(logger);
    const stopping = untilSignal();
    try {
      // The api reads rollups; the ingest workers fold them (and rebuild them at their start).
      const { store, deadLetters } = createStorage(config, facility, logger, { catchUp: false });
      await withSettings(command, () => life.start('store', store));
      await life.start('dead-letter', deadLetters);
      const watch = new IngestWorkerWatch({
        mqtt: { url: config.brokerUrl, username: 'svc-api', password: secrets.serviceSecret },
        logger,
      });
      await life.start('ingest watch', watch);
      const api = createApiServer(config, facility, {
        store,
        deadLetters,
        adminToken: secrets.adminToken,
        ingestStats: () => summarizeIngestWorkers(watch.health()),
        ingestWorkers: () => watch.health(),
        metrics: () => watch.metrics(),
        logger,
      });
      await life.start('api', api);
      const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
      const token = adminTokenLines({
        generated: secrets.adminTokenGenerated,
        token: secrets.adminToken,
        file: resolve(config.data, 'secrets.json'),
        terminal: process.stdout.isTTY === true,
      });
      process.stdout.write(
        `api: http://${host}:${api.port}/api/v1 over ${store.name}, ingest workers on ${config.brokerUrl}\n` +
          `api: admin token ${token.line}\n`,
      );
      const signal = await stopping;
      process.stdout.write(`${signal}: stopping\n`);
    } finally {
      await life.stop();
    }
  });
}
