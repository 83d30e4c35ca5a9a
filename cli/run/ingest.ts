/**
 * What `facility ingest` does (its options are in `../commands/ingest.ts`): one MQTT-client ingest
 * worker, against any broker, until Ctrl-C (or, with `--retire`, until it has left its shared
 * subscription); it prints what it stored when it stops.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../../core/config.ts';
import type { Facility } from '../../core/facility/schema.ts';
import type { Ingest } from '../../ingest/ingest.ts';
import type { IngestStats } from '../../ingest/metrics.ts';
import { WorkerHttpServer } from '../../ingest/worker-http.ts';
import { IngestWorkerStatusPublisher } from '../../ingest/worker-status.ts';
import { createIngest } from '../parts.ts';
import {
  createLogger,
  createStorage,
  Lifecycle,
  loadFacilityOrExit,
  loadSecrets,
  untilSignal,
} from '../platform.ts';
import { readSettings, withSettings } from '../read-settings.ts';

export async function runIngest(command: Command): Promise<void> {
  const config = readSettings(command);
  const { retire = false } = command.opts<{ retire?: boolean }>();
  if (retire && !config.shared) {
    command.error('facility ingest: --retire is for a worker of a shared subscription; add --shared', {
      exitCode: 2,
    });
  }
  const logger = createLogger(config);
  const facility = await loadFacilityOrExit(config.facility, 'ingest');
  await withSettings(command, () => runWorker(config, facility, logger, retire));
}

async function runWorker(
  config: RuntimeConfig,
  facility: Facility,
  logger: Logger,
  retire: boolean,
): Promise<void> {
  const { serviceSecret } = await loadSecrets(config);
  const life = new Lifecycle(logger);
  const { store, deadLetters } = await createStorage(config, facility, logger);
  try {
    await life.start('store', store);
    await life.start('dead-letter', deadLetters);
    const ingest = createIngest(config, facility, {
      store,
      deadLetters,
      serviceSecret,
      brokerUrl: config.brokerUrl,
      logger,
    });
    await life.start('ingest', ingest);
    if (retire) {
      process.stdout.write(`ingest ${config.ingestId}: retiring: storing what the broker holds for it…\n`);
      await ingest.retire();
      await statusPublisher(config, ingest, serviceSecret, logger).clear();
      process.stdout.write(
        `${ingestSummary(config.ingestId, ingest.stats())}\n` +
          `ingest ${config.ingestId}: retired: its session svc-ingest-${config.ingestId} is ended and its status cleared\n`,
      );
      return;
    }
    let metricsUrl: string | undefined;
    if (config.metricsPort > 0) {
      const http = new WorkerHttpServer({
        host: config.host,
        port: config.metricsPort,
        metrics: () => ingest.metrics.prometheus(),
        health: () => workerHealth(config.ingestId, ingest),
      });
      await life.start('metrics', http);
      const host = config.host === '0.0.0.0' || config.host === '::' ? hostname() : config.host;
      metricsUrl = `http://${host}:${http.port}`;
    }
    if (config.shared)
      await life.start('status', statusPublisher(config, ingest, serviceSecret, logger, metricsUrl));
    process.stdout.write(`ingest ${config.ingestId}: ${config.brokerUrl} → ${store.name}\n`);
    if (metricsUrl !== undefined) {
      process.stdout.write(
        `ingest ${config.ingestId}: metrics ${metricsUrl}/metrics, health ${metricsUrl}/health\n`,
      );
    }
    await untilSignal();
    // Stopped first, so that the line also counts what the ingest committed while stopping.
    await life.stop();
    process.stdout.write(`${ingestSummary(config.ingestId, ingest.stats())}\n`);
  } finally {
    await life.stop();
  }
}

/** The status this worker publishes on its shared subscription (core/ingest-workers.ts). */
function statusPublisher(
  config: RuntimeConfig,
  ingest: Ingest,
  serviceSecret: string,
  logger: Logger,
  metricsUrl?: string,
): IngestWorkerStatusPublisher {
  return new IngestWorkerStatusPublisher({
    name: config.ingestId,
    sessionClientId: `svc-ingest-${config.ingestId}`,
    filter: ingest.filter,
    mqtt: { url: config.brokerUrl, username: 'svc-ingest', password: serviceSecret },
    stats: () => ingest.stats(),
    ...(metricsUrl === undefined ? {} : { metricsUrl }),
    logger,
  });
}

/** The worker's `/health`: 200 while its ingest is connected to the broker. */
function workerHealth(name: string, ingest: Ingest): { ok: boolean; body: object } {
  const stats = ingest.stats();
  return {
    ok: stats.connected,
    body: {
      status: stats.connected ? 'ok' : 'disconnected',
      name,
      filter: ingest.filter,
      connected: stats.connected,
      messages: stats.messages,
      points: stats.points,
      backlog: stats.backlog,
    },
  };
}

/**
 * The line an ingest prints when it stops, e.g.
 * `ingest a: stored 1,234 messages (56,789 points), rejected 0, dead-lettered 0`: what this
 * worker took of the stream, for an operator comparing the workers of a shared subscription.
 */
export function ingestSummary(name: string, stats: IngestStats): string {
  const n = (value: number) => value.toLocaleString('en-US');
  const { stored, rejected, deadLettered } = stats.messages;
  return (
    `ingest ${name}: stored ${n(stored)} messages (${n(stats.points.stored)} points), ` +
    `rejected ${n(rejected)}, dead-lettered ${n(deadLettered)}`
  );
}
