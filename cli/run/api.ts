/**
 * What `facility api` does (its options are in `../commands/api.ts`): the HTTP API alone over the
 * store, with the ingest workers' status from the broker for its health and ingest stats, until
 * Ctrl-C.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { summarizeIngestWorkers } from '../../core/ingest-workers.ts';
import { IngestWorkerWatch } from '../../ingest/worker-watch.ts';
import { DuckDbCorrectionLog } from '../../storage/duckdb/corrections.ts';
import { createApiServer } from '../parts.ts';
import {
  adminTokenLines,
  createLogger,
  createManagementState,
  createStorage,
  Lifecycle,
  loadFacilityOrExit,
  loadSecrets,
  untilSignal,
} from '../platform.ts';
import { readSettings, withSettings } from '../read-settings.ts';

export async function runApi(command: Command): Promise<void> {
  const config = readSettings(command);
  const logger = createLogger(config);
  const facility = await loadFacilityOrExit(config.facility, 'api');
  const secrets = await loadSecrets(config);
  const life = new Lifecycle(logger);
  const stopping = untilSignal();
  try {
    // The api reads rollups; the ingest workers fold them (and rebuild them at their start).
    const { store, deadLetters, appState } = await createStorage(config, facility, logger, {
      catchUp: false,
    });
    await withSettings(command, () => life.start('store', store));
    await life.start('dead-letter', deadLetters);
    const management = await createManagementState(facility, appState);
    await life.start('management', management);
    const watch = new IngestWorkerWatch({
      mqtt: { url: config.brokerUrl, username: 'svc-api', password: secrets.serviceSecret },
      logger,
    });
    await life.start('ingest watch', watch);
    const api = createApiServer(config, facility, {
      store,
      deadLetters,
      // Corrections of stored readings, audited in the app-state file (opened with the dead-letter).
      corrections: new DuckDbCorrectionLog({ database: appState }),
      management,
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
}
