/**
 * The status an ingest worker on a shared subscription publishes about itself (core/ingest-workers.ts):
 * retained `online` with its counters every heartbeat, retained `offline` when it stops, and the
 * same `offline` as its MQTT Will, which the broker publishes when the worker dies or is cut off.
 *
 * A connection of its own (client id `{session}-status`, clean session), so that the ingest's
 * persistent session is left exactly as it is: whether this one is up says whether the process
 * is; the ingest's own connection is in the counters (`connected`).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { type Logger, pino } from 'pino';
import {
  INGEST_HEARTBEAT_MS,
  type IngestWorkerStatus,
  ingestWorkerStatusTopic,
} from '../core/ingest-workers.ts';
import type { IngestStats } from './metrics.ts';

/** Options of {@link IngestWorkerStatusPublisher}. */
export interface IngestWorkerStatusOptions {
  /** The worker's name (`--ingest-id`). */
  readonly name: string;
  /** Client id of the worker's ingest session, e.g. `svc-ingest-a`. */
  readonly sessionClientId: string;
  /** The filter the worker takes a share of. */
  readonly filter: string;
  /** The broker, and the service credential (svc-ingest). */
  readonly mqtt: {
    readonly url: string;
    readonly username: string;
    readonly password: string;
    /** Anything else for mqtt.js (TLS material…). */
    readonly extra?: IClientOptions;
  };
  /** The worker's counters now. */
  readonly stats: () => IngestStats;
  /** Where the worker serves `/metrics` and `/health`, if it does. */
  readonly metricsUrl?: string;
  /** Default {@link INGEST_HEARTBEAT_MS}. */
  readonly heartbeatMs?: number;
  /** Clock, epoch ms. */
  readonly now?: () => number;
  readonly logger?: Logger;
}

/** Publishes the worker's status; `start()` and `stop()` are idempotent. */
export class IngestWorkerStatusPublisher {
  readonly #options: IngestWorkerStatusOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #client: MqttClient | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: IngestWorkerStatusOptions) {
    this.#options = options;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ module: 'ingest-status' });
    this.#now = options.now ?? Date.now;
  }

  get topic(): string {
    return ingestWorkerStatusTopic(this.#options.name);
  }

  /** Connects (waiting for the first CONNACK), publishes `online`, and goes on every heartbeat. */
  async start(): Promise<void> {
    if (this.#client) return;
    const options = this.#options;
    const client = mqtt.connect(options.mqtt.url, {
      ...options.mqtt.extra,
      clientId: `${options.sessionClientId}-status`,
      username: options.mqtt.username,
      password: options.mqtt.password,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      will: {
        topic: this.topic,
        payload: Buffer.from(JSON.stringify(this.#status('offline', null))),
        qos: 1,
        retain: true,
      },
    });
    this.#client = client;
    client.on('error', (error) => this.#log.warn({ err: error.message }, 'status client error'));
    client.on('connect', () => this.#publish('online'));
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
    } catch (error) {
      this.#client = undefined;
      client.end(true);
      throw new Error(`ingest status: cannot connect to the broker: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.#timer = setInterval(() => this.#publish('online'), options.heartbeatMs ?? INGEST_HEARTBEAT_MS);
    this.#timer.unref();
  }

  /** Publishes `offline` (retained; what the api shows until the worker is back) and disconnects. */
  async stop(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    this.#client = undefined;
    clearInterval(this.#timer);
    if (client.connected) {
      const payload = JSON.stringify(this.#status('offline', this.#now()));
      const published = client.publishAsync(this.topic, payload, { qos: 1, retain: true });
      const timeout = new Promise((resolve) => setTimeout(resolve, 2_000).unref());
      await Promise.race([published, timeout]).catch((error: unknown) =>
        this.#log.warn({ err: String(error) }, 'could not publish offline status'),
      );
    }
    // A normal DISCONNECT: the broker discards the Will [MQTT-3.14.4-3].
    await client.endAsync(false).catch(() => {});
  }

  /**
   * For a retired worker: clears its retained status (an empty retained message), so the api
   * forgets it, and disconnects. Connects for it when not started.
   */
  async clear(): Promise<void> {
    const options = this.#options;
    let client = this.#client;
    this.#client = undefined;
    clearInterval(this.#timer);
    client ??= await mqtt.connectAsync(options.mqtt.url, {
      ...options.mqtt.extra,
      clientId: `${options.sessionClientId}-status`,
      username: options.mqtt.username,
      password: options.mqtt.password,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    try {
      await client.publishAsync(this.topic, '', { qos: 1, retain: true });
    } finally {
      await client.endAsync(false).catch(() => {});
    }
  }

  #publish(state: 'online'): void {
    const client = this.#client;
    if (!client?.connected) return;
    const payload = JSON.stringify(this.#status(state, this.#now()));
    client.publish(this.topic, payload, { qos: 1, retain: true }, (error) => {
      if (error) this.#log.warn({ err: error.message }, 'could not publish status');
    });
  }

  #status(state: 'online' | 'offline', at: number | null): IngestWorkerStatus {
    const options = this.#options;
    const stats = options.stats();
    return {
      name: options.name,
      state,
      at,
      heartbeatMs: options.heartbeatMs ?? INGEST_HEARTBEAT_MS,
      clientId: options.sessionClientId,
      filter: options.filter,
      connected: state === 'online' && stats.connected,
      ...(options.metricsUrl === undefined ? {} : { metricsUrl: options.metricsUrl }),
      messages: {
        received: stats.messages.received,
        stored: stats.messages.stored,
        rejected: stats.messages.rejected,
      },
      points: { stored: stats.points.stored },
      backlog: { ...stats.backlog },
    };
  }
}
