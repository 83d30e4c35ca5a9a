/**
 * What `facility api` does (its options are in `../commands/api.ts`): the HTTP API alone over the
 * store, with the ingest workers' status from the broker for its health and ingest stats, the live
 * page's feed from the devices on the broker, alerts (in Redis with --redis-url, shared across api
 * processes) and, with --alert-engine, the alert engine, until Ctrl-C.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { summarizeIngestWorkers } from '../../core/ingest-workers.ts';
import { IngestWorkerWatch } from '../../ingest/worker-watch.ts';
import { BrokerLiveSource } from '../../live/broker-source.ts';
import { SocketIoRedis } from '../../live/redis-adapter.ts';
import { DuckDbAlertStore } from '../../storage/duckdb/alert-store.ts';
import { DuckDbCorrectionLog } from '../../storage/duckdb/corrections.ts';
import { RedisAlertStore } from '../../storage/redis/alert-store.ts';
import { PAGE_DIR, sessionManager, startLiveParts } from '../live.ts';
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
    // The live page's stream: the devices' messages, straight from the broker.
    const source = new BrokerLiveSource({
      facility,
      mqtt: { url: config.brokerUrl, username: 'svc-api', password: secrets.serviceSecret },
      logger: logger.child({ module: 'live' }),
    });
    await life.start('live source', source);
    const live = await startLiveParts(life, {
      facility,
      store,
      alertStore: config.redisUrl
        ? new RedisAlertStore({ url: config.redisUrl, site: facility.site.id })
        : new DuckDbAlertStore({ database: appState }),
      feed: {
        points: (listener) => source.onPoints(listener),
        rejections: (listener) => source.onRejections(listener),
        ingestStats: () => summarizeIngestWorkers(watch.health()),
      },
      engine: config.alertEngine ?? false,
      logger,
    });
    let gateway: { adapter: SocketIoRedis['adapter'] } | undefined;
    if (config.redisUrl) {
      const redis = new SocketIoRedis({ url: config.redisUrl });
      await life.start('live redis adapter', redis);
      gateway = { adapter: redis.adapter };
    }
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
      alerts: live.alerts,
      live: live.feed,
      sessions: sessionManager(config, secrets.sessionSecret),
      pageDir: PAGE_DIR,
      ...(gateway === undefined ? {} : { gateway }),
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
        `api: alerts in ${live.alerts.store.name}${live.engine ? ', alert engine here' : ''}${config.redisUrl ? ', live feed across api processes through Redis' : ''}\n` +
        `api: admin token ${token.line}\n`,
    );
    const signal = await stopping;
    process.stdout.write(`${signal}: stopping\n`);
  } finally {
    await life.stop();
  }
}
