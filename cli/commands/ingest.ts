/** `facility ingest`: one ingest worker alone, against any MQTT broker. */
import { Command } from 'commander';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../../core/config.ts';
import type { Facility } from '../../core/facility/schema.ts';
import type { IngestStats } from '../../ingest/metrics.ts';
import { createIngest } from '../parts.ts';
import {
  createLogger,
  createStorage,
  Lifecycle,
  loadFacilityOrExit,
  loadSecrets,
  untilSignal,
} from '../platform.ts';
import { addSettings, readSettings, withSettings } from '../settings.ts';

export function ingestCommand(): Command {
  const command = new Command('ingest')
    .summary('run one ingest worker alone 单独运行数据接入')
    .description(
      'Subscribe to the telemetry of a broker (fac/#, or the MQTT 5 shared subscription ' +
        '$share/ingest/fac/# with --shared), validate every message, store it, and acknowledge it ' +
        'only once the store has committed it. Rejected messages go to the dead-letter.',
    );
  addSettings(command, [
    'facility',
    'data',
    'brokerUrl',
    'shared',
    'ingestId',
    'serviceSecret',
    'store',
    'influxUrl',
    'influxDatabase',
    'influxOrg',
    'influxToken',
    'influxUsername',
    'influxPassword',
    'logLevel',
  ]);
  return command.action(async () => {
    const config = readSettings(command);
    const logger = createLogger(config);
    const facility = await loadFacilityOrExit(config.facility, 'ingest');
    await withSettings(command, () => runIngest(config, facility, logger));
  });
}

async function runIngest(config: RuntimeConfig, facility: Facility, logger: Logger): Promise<void> {
  const { serviceSecret } = await loadSecrets(config);
  const life = new Lifecycle(logger);
  const { store, deadLetters } = createStorage(config, facility, logger);
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
    process.stdout.write(`ingest ${config.ingestId}: ${config.brokerUrl} → ${store.name}\n`);
    await untilSignal();
    // Stopped first, so that the line also counts what the ingest committed while stopping.
    await life.stop();
    process.stdout.write(`${ingestSummary(config.ingestId, ingest.stats())}\n`);
  } finally {
    await life.stop();
  }
}

/**
 * The line `facility ingest` prints when it stops, e.g.
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
