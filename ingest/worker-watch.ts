/**
 * Watches the status the ingest workers publish (core/ingest-workers.ts), for the api run apart
 * from them (`facility api`): one MQTT subscription to `platform/ingest/+/status`, whose retained
 * messages tell at once every worker that holds a share — including one that is gone for good,
 * whose retained `offline` (its Will) stays as long as its session does.
 *
 * `health()` is what `GET /api/v1/health` and the ingest stats show; `metrics()` the same as
 * Prometheus gauges. Starting does not wait for the broker: the api serves the store without it,
 * and says in its health that the workers' state is unknown until it is connected.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { type Logger, pino } from 'pino';
import { Gauge, Registry } from 'prom-client';
import {
  assessIngestWorkers,
  INGEST_WORKER_STATUS_FILTER,
  type IngestWorkersHealth,
  type KnownIngestWorker,
  parseIngestWorkerStatus,
} from '../core/ingest-workers.ts';

/** Options of {@link IngestWorkerWatch}. */
export interface IngestWorkerWatchOptions {
  /** The broker, and a service credential that may read `platform/ingest/#` (svc-api). */
  readonly mqtt: {
    readonly url: string;
    readonly username: string;
    readonly password: string;
    readonly extra?: IClientOptions;
  };
  /** Clock, epoch ms. */
  readonly now?: () => number;
  readonly logger?: Logger;
}

/** See the module comment. `start()` and `stop()` are idempotent. */
export class IngestWorkerWatch {
  readonly #options: IngestWorkerWatchOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #known = new Map<string, KnownIngestWorker>();
  /** The gauges of {@link metrics}. */
  readonly registry = new Registry();
  #client: MqttClient | undefined;

  constructor(options: IngestWorkerWatchOptions) {
    this.#options = options;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ module: 'ingest-watch' });
    this.#now = options.now ?? Date.now;
    const watch = this;
    const registers = [this.registry];
    new Gauge({
      name: 'ingest_worker_taking_share',
      help: '1 while an ingest worker takes its share of the shared subscription; 0 while its share queues at the broker',
      labelNames: ['worker'],
      registers,
      collect() {
        this.reset();
        for (const worker of watch.health().workers)
          this.set({ worker: worker.name }, worker.share === 'taking' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ingest_worker_last_seen_seconds',
      help: 'When an ingest worker was last heard from online, Unix time',
      labelNames: ['worker'],
      registers,
      collect() {
        this.reset();
        for (const worker of watch.health().workers) {
          if (worker.lastSeen !== null) this.set({ worker: worker.name }, worker.lastSeen / 1000);
        }
      },
    });
    new Gauge({
      name: 'ingest_worker_watch_connected',
      help: '1 while the api watches the ingest workers on the broker',
      registers,
      collect() {
        this.set(watch.#client?.connected ? 1 : 0);
      },
    });
  }

  /** Connects in the background and subscribes to the workers' status. */
  async start(): Promise<void> {
    if (this.#client) return;
    const { mqtt: options } = this.#options;
    const client = mqtt.connect(options.url, {
      ...options.extra,
      clientId: `${options.username}-watch-${randomBytes(4).toString('hex')}`,
      username: options.username,
      password: options.password,
      clean: true,
      reconnectPeriod: 2_000,
      connectTimeout: 10_000,
      resubscribe: true,
    });
    this.#client = client;
    client.on('connect', () => {
      this.#log.info({ url: options.url }, 'watching the ingest workers');
      client.subscribe(INGEST_WORKER_STATUS_FILTER, { qos: 1 }, (error, granted) => {
        if (error || granted?.some((grant) => grant.qos === 128)) {
          this.#log.error(
            { err: error?.message, filter: INGEST_WORKER_STATUS_FILTER },
            'cannot subscribe to the ingest workers’ status',
          );
        }
      });
    });
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    client.on('error', (error) => this.#log.warn({ err: error.message }, 'ingest watch: MQTT error'));
  }

  async stop(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    this.#client = undefined;
    await client.endAsync(true).catch(() => {});
  }

  /** The workers now. */
  health(): IngestWorkersHealth {
    return {
      ...assessIngestWorkers(this.#known.values(), this.#now()),
      watching: this.#client?.connected === true,
    };
  }

  /** The gauges, Prometheus text. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  #onMessage(topic: string, payload: Buffer): void {
    const name = topic.split('/')[2];
    // An empty retained message clears a worker for good (README, "Retiring a worker").
    if (payload.length === 0 && name !== undefined) {
      this.#known.delete(name);
      return;
    }
    const status = parseIngestWorkerStatus(topic, payload);
    if (!status) {
      this.#log.warn({ topic }, 'not an ingest worker status; ignored');
      return;
    }
    const before = this.#known.get(status.name);
    const lastOnlineAt = status.state === 'online' ? status.at : (before?.lastOnlineAt ?? null);
    if (before?.status.state !== status.state) {
      this.#log[status.state === 'online' ? 'info' : 'warn'](
        { worker: status.name, state: status.state },
        status.state === 'online' ? 'ingest worker online' : 'ingest worker offline: its share is queuing',
      );
    }
    this.#known.set(status.name, { status, lastOnlineAt });
  }
}
