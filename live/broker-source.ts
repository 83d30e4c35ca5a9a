/**
 * The live stream of a `facility api` process run apart from the ingest (the scaled shape): an
 * MQTT subscription of its own to the devices' topics (`fac/{site}/+/+/+`, QoS 0, a clean session,
 * not the ingest's shared one, so every api process sees every message), decoded with the same
 * decoder as the ingest (core/telemetry). Readings feed the live feed; refused messages count for
 * the data-quality rule (the ingest dead-letters them). Nothing here is stored: the ingest workers
 * store; this only watches.
 *
 * Messages are handed on in batches of at most `batchMs` (default 20 ms).
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { NewDeadLetter } from '../core/dead-letter.ts';
import type { Facility } from '../core/facility/schema.ts';
import type { Point } from '../core/store.ts';
import { createTelemetryDecoder, TOPIC_ROOT } from '../core/telemetry.ts';

export interface BrokerLiveSourceOptions {
  readonly facility: Facility;
  readonly mqtt: { readonly url: string; readonly username: string; readonly password: string };
  readonly batchMs?: number;
  readonly logger?: Logger;
}

type RejectionEntry = Pick<NewDeadLetter, 'device' | 'time'>;

export class BrokerLiveSource {
  readonly #options: BrokerLiveSourceOptions;
  readonly #pointListeners = new Set<(points: readonly Point[]) => void>();
  readonly #rejectionListeners = new Set<(entries: readonly NewDeadLetter[]) => void>();
  #client: MqttClient | undefined;
  #points: Point[] = [];
  #rejections: RejectionEntry[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: BrokerLiveSourceOptions) {
    this.#options = options;
  }

  onPoints(listener: (points: readonly Point[]) => void): () => void {
    this.#pointListeners.add(listener);
    return () => this.#pointListeners.delete(listener);
  }

  onRejections(listener: (entries: readonly NewDeadLetter[]) => void): () => void {
    this.#rejectionListeners.add(listener);
    return () => this.#rejectionListeners.delete(listener);
  }

  /** Connects and subscribes; does not wait for the broker (the api serves without it). */
  async start(): Promise<void> {
    if (this.#client) return;
    const { facility, logger } = this.#options;
    const decoder = createTelemetryDecoder(facility, { maxAgeMs: Number.POSITIVE_INFINITY });
    const client = mqtt.connect(this.#options.mqtt.url, {
      clientId: `svc-api-live-${randomBytes(6).toString('hex')}`,
      username: this.#options.mqtt.username,
      password: this.#options.mqtt.password,
      clean: true,
      reconnectPeriod: 2000,
    });
    this.#client = client;
    const filter = `${TOPIC_ROOT}/${facility.site.id}/+/+/+`;
    client.on('connect', () => {
      client.subscribe(filter, { qos: 0 }, (error) => {
        if (error) logger?.warn({ err: error, filter }, 'live: subscribing to the devices failed');
      });
    });
    client.on('error', (error) => logger?.warn({ err: error.message }, 'live: broker connection error'));
    client.on('message', (topic, payload) => {
      const now = Date.now();
      const result = decoder.decode(topic, payload, now);
      if (!result.ok) {
        if (result.device)
          this.#rejections.push({ device: { kind: result.device.kind, id: result.device.id }, time: now });
      } else if ('points' in result) {
        for (const point of result.points) this.#points.push(point);
      }
      this.#schedule();
    });
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.endAsync(true);
  }

  #schedule(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => this.#flush(), this.#options.batchMs ?? 20);
  }

  #flush(): void {
    this.#timer = undefined;
    const points = this.#points;
    const rejections = this.#rejections;
    this.#points = [];
    this.#rejections = [];
    if (points.length > 0) for (const listener of this.#pointListeners) listener(points);
    if (rejections.length > 0) {
      for (const listener of this.#rejectionListeners) listener(rejections as unknown as NewDeadLetter[]);
    }
  }
}
