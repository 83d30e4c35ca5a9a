/**
 * Demo meters publishing numbered readings through MQTT.js at QoS 1, at a steady rate, each
 * logged in with its demo credential (client id and username = device id, secret `demo-{id}`).
 * Reading `n` of a meter has `ts = start + n × stepMs` and a `total` that grows with `n`, so the
 * timestamps stored for a meter can be compared with those the broker acknowledged.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAsync, type MqttClient } from 'mqtt';
import { topicFor } from '../../core/telemetry.ts';

export interface ReadingStreamOptions {
  /** Broker URL, `mqtt://127.0.0.1:port`. */
  readonly url: string;
  readonly site: string;
  /** Meter ids of the facility; each publishes its own readings. */
  readonly meters: readonly string[];
  /** Messages per second, per meter. */
  readonly ratePerMeter: number;
  /** `ts` of each meter's first reading, epoch ms. */
  readonly start: number;
  /** Simulated time between a meter's readings, ms. Default 100. */
  readonly stepMs?: number;
  /** Readings per meter, after which the meter stops; default: until {@link ReadingStream.stop}. */
  readonly countPerMeter?: number;
  /**
   * Readings a meter may have published and not yet seen acknowledged; default 1 (each waits for
   * the previous PUBACK). More keeps messages in flight all the time, as a busy gateway does.
   */
  readonly window?: number;
  /**
   * Reconnect after a lost connection this long after, ms, sending again what was not
   * acknowledged (mqtt.js does, [MQTT-4.4.0-1]); default 0: no reconnection.
   */
  readonly reconnectPeriodMs?: number;
}

interface Meter {
  readonly id: string;
  readonly client: MqttClient;
  readonly topic: string;
  /** `ts` of each reading the broker acknowledged, in the order the acknowledgements came. */
  readonly acked: number[];
  /** `performance.now()` when each of {@link acked} came. */
  readonly ackedAt: number[];
  /** Readings handed to the client, acknowledged or not. */
  published: number;
}

/** See the module comment. Connect with {@link ReadingStream.connect}; end with {@link close}. */
export class ReadingStream {
  readonly #options: ReadingStreamOptions;
  readonly #meters: Meter[];
  readonly #errors: Error[] = [];
  #loops: Promise<void> | undefined;
  #stopping = false;

  private constructor(options: ReadingStreamOptions, meters: Meter[]) {
    this.#options = options;
    this.#meters = meters;
  }

  /** Connects every meter (all or none). */
  static async connect(options: ReadingStreamOptions): Promise<ReadingStream> {
    const connected = await Promise.allSettled(
      options.meters.map(async (id): Promise<Meter> => {
        const client = await connectAsync(options.url, {
          clientId: id,
          username: id,
          password: `demo-${id}`,
          reconnectPeriod: options.reconnectPeriodMs ?? 0,
        });
        // Without no-delay, each QoS 1 round trip waits ~40 ms for the delayed ACK (Nagle).
        (client.stream as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true);
        // While the broker is away, each reconnection attempt fails with an error event
        // (ECONNREFUSED); mqtt.js tries again, and an unheard 'error' would end the test run.
        client.on('error', () => undefined);
        const topic = topicFor('meter', options.site, id, 'reading');
        return { id, client, topic, acked: [], ackedAt: [], published: 0 };
      }),
    );
    const meters = connected.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = connected.find((result) => result.status === 'rejected');
    if (failed) {
      await Promise.all(meters.map((meter) => meter.client.endAsync(true)));
      throw failed.reason;
    }
    return new ReadingStream(options, meters);
  }

  /** Starts publishing; resolves once every meter stopped (count reached, or {@link stop}). */
  run(): Promise<void> {
    this.#loops ??= Promise.all(this.#meters.map((meter) => this.#publish(meter))).then(() => undefined);
    return this.#loops;
  }

  /** Stops publishing and waits for the acknowledgements of what was published. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loops;
  }

  /** Stops and disconnects every meter. Idempotent. */
  async close(): Promise<void> {
    await this.stop();
    await Promise.all(this.#meters.map((meter) => meter.client.endAsync(true).catch(() => undefined)));
  }

  /** Meter id → `ts` of each reading the broker acknowledged. */
  get acked(): ReadonlyMap<string, readonly number[]> {
    return new Map(this.#meters.map((meter) => [meter.id, meter.acked]));
  }

  /** Each reading the broker acknowledged, as published. */
  messages(): Array<{ meter: string; topic: string; payload: string; ts: number }> {
    const step = this.#options.stepMs ?? 100;
    return this.#meters.flatMap((meter) =>
      meter.acked.map((ts) => {
        const payload = this.payload(Math.round((ts - this.#options.start) / step));
        return { meter: meter.id, topic: meter.topic, payload, ts };
      }),
    );
  }

  /** Meter id → `ts` of each reading whose acknowledgement came at or before `at` (`performance.now()`). */
  ackedBefore(at: number): ReadonlyMap<string, readonly number[]> {
    return new Map(
      this.#meters.map((meter) => [
        meter.id,
        meter.acked.filter((_, i) => (meter.ackedAt[i] as number) <= at),
      ]),
    );
  }

  /** Readings published and not acknowledged yet, all meters. */
  get inFlight(): number {
    return this.publishedCount - this.ackedCount;
  }

  /** Readings acknowledged by the broker, all meters. */
  get ackedCount(): number {
    return this.#meters.reduce((sum, meter) => sum + meter.acked.length, 0);
  }

  /** Readings handed to MQTT.js, all meters. */
  get publishedCount(): number {
    return this.#meters.reduce((sum, meter) => sum + meter.published, 0);
  }

  /** Publish failures (none expected). */
  get errors(): readonly Error[] {
    return this.#errors;
  }

  /** The payload of reading `n` of a meter, as published. */
  payload(n: number): string {
    return JSON.stringify({ ts: this.#ts(n), total: n * 0.25 });
  }

  #ts(n: number): number {
    return this.#options.start + n * (this.#options.stepMs ?? 100);
  }

  async #publish(meter: Meter): Promise<void> {
    const interval = 1000 / this.#options.ratePerMeter;
    const count = this.#options.countPerMeter ?? Number.POSITIVE_INFINITY;
    const window = this.#options.window ?? 1;
    const inFlight = new Set<Promise<void>>();
    let failed = false;
    const began = performance.now();
    for (let n = 0; n < count && !this.#stopping && !failed; n++) {
      const wait = began + n * interval - performance.now();
      if (wait > 0) await sleep(wait);
      while (inFlight.size >= window) await Promise.race(inFlight);
      if (this.#stopping || failed) break;
      meter.published++;
      const ts = this.#ts(n);
      const sent: Promise<void> = meter.client
        .publishAsync(meter.topic, this.payload(n), { qos: 1 })
        .then(
          () => {
            meter.acked.push(ts);
            meter.ackedAt.push(performance.now());
          },
          (error: unknown) => {
            this.#errors.push(error instanceof Error ? error : new Error(String(error)));
            failed = true;
          },
        )
        .finally(() => inFlight.delete(sent));
      inFlight.add(sent);
    }
    await Promise.all(inFlight);
  }
}
