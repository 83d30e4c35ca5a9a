/**
 * What `facility broker` does (its options are in `../commands/broker.ts`): the MQTT broker
 * alone, or with `--ingest` the broker with the in-process ingest and its store, until Ctrl-C.
 */
import type { Command } from 'commander';
import type { BrokerIngest } from '../../ingest/broker-ingest.ts';
import { brokerUrls, createBroker, createBrokerIngest } from '../parts.ts';
import {
  createLogger,
  createStorage,
  Lifecycle,
  loadFacilityOrExit,
  loadSecrets,
  untilSignal,
} from '../platform.ts';
import { readSettings, withSettings } from '../read-settings.ts';
import { ingestSummary } from './ingest.ts';

export async function runBroker(command: Command): Promise<void> {
  const config = readSettings(command);
  const logger = createLogger(config);
  const facility = await loadFacilityOrExit(config.facility, 'broker');
  const { serviceSecret } = await loadSecrets(config);
  const life = new Lifecycle(logger);
  try {
    let ingest: BrokerIngest | undefined;
    let storeName: string | undefined;
    if (config.ingest) {
      const { store, deadLetters } = await createStorage(config, facility, logger);
      // A DuckDB file another process holds is one line and exit status 2, as a bad setting.
      await withSettings(command, () => life.start('store', store));
      await life.start('dead-letter', deadLetters);
      ingest = createBrokerIngest(config, facility, { store, deadLetters, logger });
      await life.start('ingest', ingest);
      storeName = store.name;
    }
    const broker = await withSettings(command, () =>
      createBroker(config, facility, serviceSecret, logger, ingest),
    );
    await life.start('broker', broker);
    process.stdout.write(
      `MQTT broker 消息服务  ${brokerUrls(config.host, broker.ports)}` +
        `${storeName ? `\ningest 数据接入  in-process 同进程 → ${storeName}` : ''}` +
        '\nCtrl-C to stop 按 Ctrl-C 停止\n',
    );
    await untilSignal();
    // Stopped first, so that the line also counts what the ingest committed while stopping.
    await life.stop();
    if (ingest) process.stdout.write(`${ingestSummary('in-process', ingest.stats())}\n`);
  } finally {
    await life.stop();
  }
}
