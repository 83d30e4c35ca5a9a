/**
 * Builders of the runnable parts from validated settings, shared by `start` (all in one
 * process) and the commands that run one part alone (`broker`, `ingest`).
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ServiceCredential } from '../broker/auth.ts';
import { FacilityBroker } from '../broker/broker.ts';
import type { RuntimeConfig } from '../core/config.ts';
import type { DeadLetterSink } from '../core/dead-letter.ts';
import type { Facility } from '../core/facility/schema.ts';
import type { TimeSeriesStore } from '../core/store.ts';
import { Ingest } from '../ingest/ingest.ts';

/** Readings older than this are refused as `too-old`: about a year and a month of device buffering. */
export const INGEST_MAX_AGE_MS = 400 * 86_400_000;

/** The platform's own MQTT clients, all with the one service secret. */
export function serviceCredentials(serviceSecret: string): ServiceCredential[] {
  return ['ingest', 'api', 'simulator'].map((service) => ({
    service,
    username: `svc-${service}`,
    password: serviceSecret,
  }));
}

export function createBroker(
  config: RuntimeConfig,
  facility: Facility,
  serviceSecret: string,
  logger: Logger,
): FacilityBroker {
  return new FacilityBroker({
    facility,
    services: serviceCredentials(serviceSecret),
    host: config.host,
    mqttPort: config.mqttPort,
    ...(config.mqttWsPort > 0 ? { wsPort: config.mqttWsPort } : {}),
    dataDir: resolve(config.data),
    logger,
  });
}

export function createIngest(
  config: RuntimeConfig,
  facility: Facility,
  parts: {
    store: TimeSeriesStore;
    deadLetters: DeadLetterSink;
    serviceSecret: string;
    brokerUrl: string;
    logger: Logger;
  },
): Ingest {
  return new Ingest({
    facility,
    store: parts.store,
    deadLetters: parts.deadLetters,
    maxAgeMs: INGEST_MAX_AGE_MS,
    logger: parts.logger,
    mqtt: {
      url: parts.brokerUrl,
      // A stable id keeps the persistent session (and its backlog) across restarts.
      clientId: `svc-ingest-${config.ingestId}`,
      username: 'svc-ingest',
      password: parts.serviceSecret,
      shared: config.shared,
      ...(config.shared ? { protocolVersion: 5 as const } : {}),
    },
  });
}
