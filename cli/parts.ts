/**
 * Builders of the runnable parts from validated settings, shared by `start` (all in one
 * process) and the commands that run one part alone (`broker`, `ingest`).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { type ApiDeps, buildApp } from '../api/app.ts';
import type { ServiceCredential } from '../broker/auth.ts';
import { type BrokerTls, FacilityBroker } from '../broker/broker.ts';
import { ConfigError, type RuntimeConfig, settingNames } from '../core/config.ts';
import type { DeadLetterSink } from '../core/dead-letter.ts';
import type { Facility } from '../core/facility/schema.ts';
import type { TimeSeriesStore } from '../core/store.ts';
import { BrokerIngest } from '../ingest/broker-ingest.ts';
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

export { BROKER_SETTINGS } from './settings.ts';

/**
 * The broker of the settings. Reads the TLS files, so a missing or unreadable one stops the start
 * with a message naming the setting.
 */
export async function createBroker(
  config: RuntimeConfig,
  facility: Facility,
  serviceSecret: string,
  logger: Logger,
  ingest?: BrokerIngest,
): Promise<FacilityBroker> {
  return new FacilityBroker({
    ...(ingest
      ? {
          gate: ingest,
          // The persistent session an MQTT-client ingest of this data folder left (`facility
          // start` before the in-process ingest): the broker would keep queueing every message
          // for it.
          dropSessions: [`svc-ingest-${config.ingestId}`],
        }
      : {}),
    facility,
    services: serviceCredentials(serviceSecret),
    host: config.host,
    mqttPort: config.mqttPort,
    ...(config.mqttWsPort > 0 ? { wsPort: config.mqttWsPort } : {}),
    ...(await readTls(config)),
    maxPayloadBytes: config.maxPayloadBytes,
    maxConnections: config.maxConnections,
    rateLimit: { perSecond: config.devicePublishRate, burst: 2 * config.devicePublishRate },
    ...(config.redisUrl
      ? {
          persistence: { kind: 'redis' as const, url: config.redisUrl },
          emitter: { kind: 'redis' as const, url: config.redisUrl },
        }
      : {}),
    dataDir: resolve(config.data),
    logger,
  });
}

async function readTls(config: RuntimeConfig): Promise<{ tls?: BrokerTls }> {
  if (config.tlsCert === undefined && config.tlsKey === undefined) return {};
  const names = { tlsCert: settingNames('tlsCert'), tlsKey: settingNames('tlsKey') };
  if (config.tlsCert === undefined || config.tlsKey === undefined) {
    const missing = config.tlsCert === undefined ? names.tlsCert : names.tlsKey;
    throw new ConfigError([
      `${missing.flag} / ${missing.env}: MQTT over TLS needs both a certificate and a key`,
    ]);
  }
  const read = async (key: 'tlsCert' | 'tlsKey', path: string) => {
    try {
      return await readFile(path);
    } catch (error) {
      const { flag, env } = names[key];
      throw new ConfigError([`${flag} / ${env}: cannot read ${path}: ${(error as Error).message}`]);
    }
  };
  return {
    tls: {
      cert: await read('tlsCert', config.tlsCert),
      key: await read('tlsKey', config.tlsKey),
      port: config.mqttTlsPort,
    },
  };
}

/**
 * The in-process ingest of the embedded broker (`facility start`, `facility broker --ingest`).
 * With the embedded DuckDB store it acknowledges once the store committed; with InfluxDB, once a
 * batch is synced into the spool `{data}/spool`, which feeds the store in order.
 */
export function createBrokerIngest(
  config: RuntimeConfig,
  facility: Facility,
  parts: { store: TimeSeriesStore; deadLetters: DeadLetterSink; logger: Logger },
): BrokerIngest {
  return new BrokerIngest({
    facility,
    store: parts.store,
    deadLetters: parts.deadLetters,
    maxAgeMs: INGEST_MAX_AGE_MS,
    logger: parts.logger,
    ...(config.store === 'duckdb'
      ? {}
      : { spool: { dir: join(resolve(config.data), 'spool'), maxBytes: config.spoolMaxMb * 1024 * 1024 } }),
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

/** The broker's listeners as URLs, for the start-up lines. */
export function brokerUrls(host: string, ports: FacilityBroker['ports']): string {
  return [
    ports.mqtt !== undefined ? `mqtt://${host}:${ports.mqtt}` : undefined,
    ports.ws !== undefined ? `ws://${host}:${ports.ws}` : undefined,
    ports.tls !== undefined ? `mqtts://${host}:${ports.tls}` : undefined,
  ]
    .filter(Boolean)
    .join('  ');
}

/** The platform's version, from package.json. */
export const PLATFORM_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The HTTP API as a component: listens on `start()`, closes on `stop()`. */
export class ApiServer {
  readonly app: FastifyInstance;
  readonly #host: string;
  readonly #port: number;

  constructor(app: FastifyInstance, host: string, port: number) {
    this.app = app;
    this.#host = host;
    this.#port = port;
  }

  /** The bound port, once started. */
  get port(): number {
    const address = this.app.server.address();
    return typeof address === 'object' && address ? address.port : this.#port;
  }

  async start(): Promise<void> {
    await this.app.listen({ host: this.#host, port: this.#port });
  }

  stop(): Promise<void> {
    return this.app.close();
  }
}

/**
 * The API of the settings over a started store and dead-letter sink, shared by `start` (with its
 * in-process ingest's counters and health) and `api` (with the ingest workers' status).
 */
export function createApiServer(
  config: RuntimeConfig,
  facility: Facility,
  parts: Pick<
    ApiDeps,
    | 'store'
    | 'deadLetters'
    | 'ingestStats'
    | 'ingestWorkers'
    | 'metrics'
    | 'health'
    | 'changes'
    | 'corrections'
    | 'management'
    | 'alerts'
    | 'live'
    | 'sessions'
    | 'gateway'
    | 'pageDir'
  > & {
    readonly adminToken: string;
    readonly logger: Logger;
  },
): ApiServer {
  const app = buildApp({
    version: PLATFORM_VERSION,
    facility,
    store: parts.store,
    deadLetters: parts.deadLetters,
    data: resolve(config.data),
    adminToken: parts.adminToken,
    rateLimit: config.apiRateLimit === 0 ? false : { max: config.apiRateLimit, timeWindowMs: 60_000 },
    ...(parts.ingestStats === undefined ? {} : { ingestStats: parts.ingestStats }),
    ...(parts.ingestWorkers === undefined ? {} : { ingestWorkers: parts.ingestWorkers }),
    ...(parts.metrics === undefined ? {} : { metrics: parts.metrics }),
    ...(parts.health === undefined ? {} : { health: parts.health }),
    ...(parts.changes === undefined ? {} : { changes: parts.changes }),
    ...(parts.corrections === undefined ? {} : { corrections: parts.corrections }),
    ...(parts.management === undefined ? {} : { management: parts.management }),
    ...(parts.alerts === undefined ? {} : { alerts: parts.alerts }),
    ...(parts.live === undefined ? {} : { live: parts.live }),
    ...(parts.sessions === undefined ? {} : { sessions: parts.sessions }),
    ...(parts.gateway === undefined ? {} : { gateway: parts.gateway }),
    ...(parts.pageDir === undefined ? {} : { pageDir: parts.pageDir }),
    ...(config.secureCookies === undefined ? {} : { secureCookies: config.secureCookies }),
    logger: parts.logger.child({ module: 'api' }),
  });
  return new ApiServer(app, config.host, config.httpPort);
}
