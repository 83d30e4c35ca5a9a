/**
 * The ingest part: the {@link Ingest} service (MQTT in, store and dead-letter out), its
 * counters, and the in-memory dead-letter sink. The composition root builds the store and the
 * dead-letter sink (`storage/…`) and hands them in.
 */
export { BATCHER_DEFAULTS, type RetryPolicy } from './batcher.ts';
export { type Clock, systemClock } from './clock.ts';
export { MemoryDeadLetterSink } from './dead-letter.ts';
export {
  type DeviceState,
  Ingest,
  type IngestMqttOptions,
  type IngestOptions,
} from './ingest.ts';
export {
  type Backlog,
  type HistogramSnapshot,
  IngestMetrics,
  type IngestStats,
  type RejectionCount,
} from './metrics.ts';
