/**
 * Live simulation: every device of the facility as a real MQTT client, publishing its simulated
 * readings as time passes — in real time, or faster with `speed`.
 *
 * Each device connects with its id as client id and user name and its demo `secret` as
 * password, sets a retained last will `offline` on `fac/{site}/{kind}/{id}/status` and publishes
 * `online` there (retained, QoS 1) on every connection. A device with only a `secretHash` cannot
 * log in and is skipped with a warning.
 *
 * The simulated clock is `start + (now − realStart) × speed`, but never more than `maxLeadMs`
 * ahead of the real clock: the ingest refuses readings more than 5 minutes in the future, so a
 * replay started in the past runs fast until it catches up with the present and then continues in
 * real time. Every `tickMs` each device publishes the readings that fell due since the last tick
 * (the same readings a backfill gives for that range): one reading as an object, several as an
 * array (a gateway batch of up to 200), so a device sends at most one message a tick whatever the
 * speed and stays far below the broker's per-device rate limit.
 *
 * With `showcase`, the run plants a showcase episode at its start (`showcase.ts`): a water leak,
 * a meeting room conditioned while empty and a car outside the service area, all under way from
 * the first minute, so an alert engine has something to find at once.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { type Logger, pino } from 'pino';
import { DATA_CHANNEL, topicFor } from '../core/telemetry.ts';
import type { PlantedFault, SimulatedDevice, Simulation } from './simulation.ts';

/** Options of {@link LiveSimulator}. */
export interface LiveSimulatorOptions {
  readonly simulation: Simulation;
  /** `mqtt://host:port` (or `mqtts://`, `ws://`). */
  readonly brokerUrl: string;
  /** Simulated seconds per real second. Default 1. */
  readonly speed?: number;
  /** Simulated instant the run starts at, epoch ms. Default: the real clock at `start()`. */
  readonly start?: number;
  /**
   * Real instant that `start` corresponds to, epoch ms. Default: the real clock at `start()`. Give
   * the instant `start` was read at when time passes before `start()` (a backfill): otherwise the
   * simulated clock lags the real one by that time for the whole run, and a car reporting every
   * 10 s is taken for offline. The first round then publishes what fell due meanwhile.
   */
  readonly realStart?: number;
  /** Only these device ids. Default: every device with a plain `secret`. */
  readonly devices?: readonly string[];
  /** Real time between publishing rounds, ms. Default 1000. */
  readonly tickMs?: number;
  /** Most the simulated clock may run ahead of the real one, ms. Default 4 minutes. */
  readonly maxLeadMs?: number;
  /** QoS of readings. Default 1. */
  readonly qos?: 0 | 1;
  /** Extra mqtt.js options for every connection (TLS CA, keepalive…). */
  readonly mqttOptions?: IClientOptions;
  /** How long `start()` waits for the devices to connect, ms. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Logger; the simulator logs through a child `{ module: 'simulators' }`. Default: silent. */
  readonly logger?: Logger;
  /** Real clock, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Plant a showcase episode at the run's start (`showcase.ts`): a water leak, a meeting room
   * conditioned while empty, a car outside the service area, under way within the first minute.
   * Nothing is added when the simulation already has an episode at that instant. Default false.
   */
  readonly showcase?: boolean;
}

/** Counters of a live simulation. */
export interface LiveStats {
  /** Devices run (connected or trying to). */
  readonly devices: number;
  /** Devices connected now. */
  readonly connected: number;
  /** Messages handed to the clients / acknowledged by the broker (PUBACK at QoS 1). */
  readonly messages: number;
  readonly acknowledged: number;
  /** Readings in those messages. */
  readonly readings: number;
  /** Publishes that failed (the client was closed, the broker refused…). */
  readonly errors: number;
  /** The simulated clock of the last round, epoch ms (NaN before the first). */
  readonly simulatedTime: number;
}

const MAX_BATCH = 200;
/** Rounds are skipped while this many messages wait for their PUBACK (a slow broker). */
const MAX_IN_FLIGHT = 20_000;

interface RunningDevice {
  readonly device: SimulatedDevice;
  readonly client: MqttClient;
  readonly topic: string;
  readonly status: string;
  /** Readings from here on are not published yet, epoch ms. */
  cursor: number;
}

/** The live simulator. `start()` and `stop()` are idempotent. */
export class LiveSimulator {
  readonly #options: LiveSimulatorOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #simulation: Simulation;
  #showcase: PlantedFault[] = [];
  #devices: RunningDevice[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #ticking = false;
  #realStart = 0;
  #simStart = 0;
  #simulatedTime = Number.NaN;
  #messages = 0;
  #acknowledged = 0;
  #readings = 0;
  #errors = 0;
  #inFlight = 0;

  constructor(options: LiveSimulatorOptions) {
    this.#options = options;
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ module: 'simulators' });
    this.#now = options.now ?? Date.now;
    this.#simulation = options.simulation;
  }

  /**
   * The showcase faults under way at the run's start (empty before `start()`, or when neither
   * the option nor the simulation plants any).
   */
  showcase(): PlantedFault[] {
    return [...this.#showcase];
  }

  /** Counters since construction. */
  stats(): LiveStats {
    return {
      devices: this.#devices.length,
      connected: this.#devices.filter((d) => d.client.connected).length,
      messages: this.#messages,
      acknowledged: this.#acknowledged,
      readings: this.#readings,
      errors: this.#errors,
      simulatedTime: this.#simulatedTime,
    };
  }

  /** Connects the devices and starts publishing. Resolves once each device connected or failed. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#starting ??= this.#start().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  /** Stops publishing, says `offline` for every device and disconnects. */
  async stop(): Promise<void> {
    await this.#starting?.catch(() => {});
    this.#stopping ??= this.#stop().finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  async #start(): Promise<void> {
    await this.#stopping;
    const options = this.#options;
    const speed = options.speed ?? 1;
    if (!(speed > 0) || !Number.isFinite(speed))
      throw new RangeError(`speed must be a positive number, got ${speed}`);
    const { simulation } = options;
    const site = simulation.facility.site.id;
    const wanted = options.devices ? new Set(options.devices) : undefined;
    const all = simulation.devices().filter((d) => wanted === undefined || wanted.has(d.id));
    if (wanted) {
      const known = new Set(all.map((d) => d.id));
      const unknown = [...wanted].filter((id) => !known.has(id));
      if (unknown.length > 0) throw new RangeError(`no device ${unknown.join(', ')} in the facility`);
    }
    const usable = all.flatMap((d) => (d.secret === undefined ? [] : [{ ...d, secret: d.secret }]));
    const skipped = all.filter((d) => d.secret === undefined).map((d) => d.id);
    if (skipped.length > 0) {
      this.#log.warn(
        { devices: skipped },
        `${skipped.length} device(s) have only a secretHash and cannot be simulated: ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', …' : ''}`,
      );
    }
    const real = this.#now();
    this.#realStart = Math.min(options.realStart ?? real, real);
    this.#simStart = options.start ?? this.#realStart;
    this.#simulation = options.showcase ? simulation.withShowcase(this.#simStart) : simulation;
    this.#showcase =
      this.#simulation.showcase.length === 0
        ? []
        : this.#simulation
            .faults(this.#simStart, this.#simStart + 1)
            .filter((fault) => fault.showcase === true);
    this.#devices = usable.map((device) => {
      const status = topicFor(device.kind, site, device.id, 'status');
      const client = mqtt.connect(options.brokerUrl, {
        reconnectPeriod: 2000,
        connectTimeout: options.connectTimeoutMs ?? 10_000,
        ...options.mqttOptions,
        clientId: device.id,
        username: device.id,
        password: device.secret,
        clean: true,
        will: { topic: status, payload: Buffer.from('offline'), qos: 1, retain: true },
      });
      client.on('connect', () => {
        client.publish(status, 'online', { qos: 1, retain: true }, (error) => {
          if (error)
            this.#log.warn({ device: device.id, err: error.message }, 'could not publish online status');
        });
      });
      client.on('error', (error) =>
        this.#log.warn({ device: device.id, err: error.message }, 'device connection error'),
      );
      return {
        device,
        client,
        topic: topicFor(device.kind, site, device.id, DATA_CHANNEL[device.kind]),
        status,
        cursor: this.#simStart,
      };
    });
    const timeout = options.connectTimeoutMs ?? 10_000;
    await Promise.all(
      this.#devices.map(
        ({ client }) =>
          new Promise<void>((resolve) => {
            if (client.connected) return resolve();
            const done = () => {
              clearTimeout(timer);
              client.off('connect', done);
              client.off('error', done);
              resolve();
            };
            const timer = setTimeout(done, timeout);
            client.once('connect', done);
            client.once('error', done);
          }),
      ),
    );
    const connected = this.#devices.filter((d) => d.client.connected).length;
    this.#log.info(
      { devices: this.#devices.length, connected, speed, start: new Date(this.#simStart).toISOString() },
      'simulated devices connected',
    );
    for (const fault of this.#showcase) {
      this.#log.info(
        { kind: fault.kind, device: fault.device, until: new Date(fault.to).toISOString() },
        `showcase: ${fault.description}`,
      );
    }
    this.#running = true;
    this.#timer = setInterval(() => this.#tick(), options.tickMs ?? 1000);
    this.#tick();
  }

  /** The simulated clock now. */
  #simNow(): number {
    const real = this.#now();
    const simulated = this.#simStart + (real - this.#realStart) * (this.#options.speed ?? 1);
    return Math.min(simulated, real + (this.#options.maxLeadMs ?? 240_000));
  }

  /** Publishes what fell due since the last round. Never throws. */
  #tick(): void {
    if (!this.#running || this.#ticking || this.#inFlight > MAX_IN_FLIGHT) return;
    this.#ticking = true;
    try {
      const until = Math.floor(this.#simNow());
      this.#simulatedTime = until;
      const simulation = this.#simulation;
      const qos = this.#options.qos ?? 1;
      for (const running of this.#devices) {
        // Readings wait while the device is offline, and go out when it is back.
        if (!running.client.connected || until < running.cursor) continue;
        const { device } = running;
        let readings: unknown[];
        try {
          readings = simulation.readings(device.kind, device.id, running.cursor, until + 1);
        } catch (error) {
          this.#errors++;
          this.#log.error({ device: device.id, err: (error as Error).message }, 'simulation failed');
          continue;
        }
        running.cursor = until + 1;
        for (let i = 0; i < readings.length; i += MAX_BATCH) {
          const part = readings.slice(i, i + MAX_BATCH);
          const payload = JSON.stringify(part.length === 1 ? part[0] : part);
          this.#messages++;
          this.#readings += part.length;
          this.#inFlight++;
          running.client.publish(running.topic, payload, { qos }, (error) => {
            this.#inFlight--;
            if (error) this.#errors++;
            else this.#acknowledged++;
          });
        }
      }
    } finally {
      this.#ticking = false;
    }
  }

  async #stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const devices = this.#devices;
    await Promise.all(
      devices.map(async ({ client, status, device }) => {
        try {
          if (client.connected) {
            await withTimeout(client.publishAsync(status, 'offline', { qos: 1, retain: true }), 2000);
          }
        } catch (error) {
          this.#log.debug(
            { device: device.id, err: (error as Error).message },
            'could not publish offline status',
          );
        }
        await withTimeout(client.endAsync(), 2000).catch(() => client.end(true));
      }),
    );
    this.#log.info({ messages: this.#messages, readings: this.#readings }, 'simulated devices stopped');
  }
}

/** Resolves like `promise`, or rejects after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
