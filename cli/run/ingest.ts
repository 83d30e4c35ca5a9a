/**
 * What `facility ingest` does (its options are in `../commands/ingest.ts`): one MQTT-client ingest
 * worker, against any broker, until Ctrl-C; it prints what it stored when it stops.
 */
import type { Command } from 'commander';
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
import { readSettings } from '../read-settings.ts';

export async function runIngest(command: Command): Promise<void> {
  const config = readSettings(command);
  const logger = createLogger(config);
  const facility = await loadFacilityOrExit(config.facility, 'ingest');
  const { serviceSecret } = await loadSecrets(config);
  const life = new Lifecycle(logger);
  const { store, deadLetters } = await createStorage(config);
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
