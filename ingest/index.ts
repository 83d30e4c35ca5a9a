/**
 * The ingest part: the pipeline both ingests share (decode, batch, dead-letter, count), the
 * MQTT-client {@link Ingest} (`facility ingest`, any broker), the in-process {@link BrokerIngest}
 * of the embedded broker (`facility start`), the spool, and the in-memory dead-letter sink. The
 * composition root builds the store and the dead-letter sink (`storage/…`) and hands them in.
 */
export { BATCHER_DEFAULTS, type RetryPolicy } from './batcher.ts';
export {
  BrokerIngest,
  type BrokerIngestOptions,
  IN_PROCESS_BATCH_DELAY_MS,
  IN_PROCESS_BATCH_POINTS,
} from './broker-ingest.ts';
export { type Clock, systemClock } from './clock.ts';
export { MemoryDeadLetterSink } from './dead-letter.ts';
export { Ingest, type IngestMqttOptions, type IngestOptions } from './ingest.ts';
export {
  type Backlog,
  type HistogramSnapshot,
  IngestMetrics,
  type IngestStats,
  type RejectionCount,
} from './metrics.ts';
export {
  type BatchOptions,
  DEFAULT_BATCH_POINTS,
  type DeadLetterOptions,
  type DeviceState,
  type IngestHealth,
} from './pipeline.ts';
export { SPOOL_DEFAULTS, type SpoolOptions, type SpoolStats } from './spool.ts';
export type { StoreHealth } from './store-watch.ts';
