/**
 * Load mode, for benchmarks: M virtual meters publishing R messages a second in total, each
 * message one reading or a gateway array of K, counting what was published and acknowledged.
 *
 * The virtual meters are real devices of a facility, so the broker authenticates them and the
 * ingest decodes their readings like any other: {@link loadTestFacility} adds M meters
 * (`load-0001`… with secret `load-secret-0001`…) to a facility, and the broker and ingest under
 * test are given that facility.
 *
 * Readings are valid meter readings: `ts` is the real clock, or 1 ms after the device's previous
 * reading when that is later, so every reading is a distinct point (a store keeps one point per
 * device and time); past 1,000 readings a second per device the stamps run ahead of the clock,
 * and the ingest refuses them once 5 minutes ahead: use enough devices. The broker disconnects a
 * device over its publish rate (50 messages/s by default): use M ≥ R / 40, or raise the limit.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Facility, Meter } from '../core/facility/schema.ts';
import { topicFor } from '../core/telemetry.ts';

/** A virtual device: a meter id and its secret. */
export interface LoadDevice {
  readonly id: string;
  readonly secret: string;
}

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** `mqtt://host:port`. */
  readonly brokerUrl: string;
  /** Site id of the facility the devices belong to. */
  readonly site: string;
  /** The virtual meters (see {@link loadTestFacility} and {@link loadDevices}). */
  readonly devices: readonly LoadDevice[];
  /** Messages per second, all devices together. */
  readonly rate: number;
  /** Readings per message; 1 sends an object, more a gateway array. Default 1. */
  readonly batch?: number;
  /** How long to publish, ms. */
  readonly durationMs: number;
  /** QoS of the messages. Default 1. */
  readonly qos?: 0 | 1;
  /** How long to wait for the last acknowledgements after publishing, ms. Default 30 s. */
  readonly drainMs?: number;
  /** Extra mqtt.js options for every connection. */
  readonly mqttOptions?: IClientOptions;
  /** Real clock, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Stops publishing early. */
  readonly signal?: AbortSignal;
}

/** What a load run published. */
export interface LoadResult {
  readonly devices: number;
  /** Messages handed to the clients. */
  readonly messages: number;
  /** Readings in them. */
  readonly readings: number;
  /** Messages acknowledged (PUBACK at QoS 1; written to the socket at QoS 0). */
  readonly acknowledged: number;
  /** Publishes that failed. */
  readonly errors: number;
  /** From the first publish to the last acknowledgement, ms. */
  readonly elapsedMs: number;
  /** Publishing time only (the rate the run achieved is messages / this), ms. */
  readonly publishMs: number;
}

const pad = (i: number) => String(i + 1).padStart(4, '0');

/**
 * A copy of `facility` with `count` more electricity meters in its first building, `load-0001`…,
 * secret `load-secret-0001`…, reporting every 60 s.
 */
export function loadTestFacility(facility: Facility, count: number): Facility {
  const building = facility.buildings[0]?.id;
  if (building === undefined) throw new RangeError('the facility has no building');
  const meters: Meter[] = Array.from({ length: count }, (_, i) => ({
    id: `load-${pad(i)}`,
    kind: 'electricity',
    building,
    system: 'total',
    interval: 60,
    secret: `load-secret-${pad(i)}`,
  }));
  return { ...facility, meters: [...facility.meters, ...meters] };
}

/** The virtual devices {@link loadTestFacility} added. */
export function loadDevices(count: number): LoadDevice[] {
  return Array.from({ length: count }, (_, i) => ({ id: `load-${pad(i)}`, secret: `load-secret-${pad(i)}` }));
}

/** Connects every device, waiting for each CONNACK (rejects on the first refusal). */
async function connectAll(options: LoadOptions): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  try {
    for (let i = 0; i < options.devices.length; i += 50) {
      const group = options.devices.slice(i, i + 50);
      clients.push(
        ...(await Promise.all(
          group.map((device) =>
            mqtt.connectAsync(options.brokerUrl, {
              reconnectPeriod: 0,
              ...options.mqttOptions,
              clientId: device.id,
              username: device.id,
              password: device.secret,
              clean: true,
            }),
          ),
        )),
      );
    }
  } catch (error) {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    throw error;
  }
  return clients;
}

/** Publishes at the requested rate for the requested time, then waits for acknowledgements. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const batch = options.batch ?? 1;
  const qos = options.qos ?? 1;
  const now = options.now ?? Date.now;
  if (!(options.rate > 0) || !(options.durationMs > 0) || !Number.isInteger(batch) || batch < 1) {
    throw new RangeError('runLoad: rate and durationMs must be positive, batch a whole number ≥ 1');
  }
  if (options.devices.length === 0) throw new RangeError('runLoad: no devices');
  const clients = await connectAll(options);
  const topics = options.devices.map((d) => topicFor('meter', options.site, d.id, 'reading'));
  const lastTs = options.devices.map(() => 0);
  const totals = options.devices.map((_, i) => 1000 * (i + 1));
  let messages = 0;
  let acknowledged = 0;
  let errors = 0;
  let next = 0;

  const publishOne = () => {
    const i = next;
    next = (next + 1) % clients.length;
    const readings: Array<{ ts: number; total: number; power: number }> = [];
    for (let k = 0; k < batch; k++) {
      const ts = Math.max(now(), (lastTs[i] as number) + 1);
      lastTs[i] = ts;
      const power = 20 + ((ts / 1000) % 30);
      totals[i] = (totals[i] as number) + power / 3600;
      readings.push({
        ts,
        total: Math.round((totals[i] as number) * 1000) / 1000,
        power: Math.round(power * 100) / 100,
      });
    }
    messages++;
    (clients[i] as MqttClient).publish(
      topics[i] as string,
      JSON.stringify(batch === 1 ? readings[0] : readings),
      { qos },
      (error) => {
        if (error) errors++;
        else acknowledged++;
      },
    );
  };

  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      const due = Math.min(
        options.rate * (Math.min(elapsed, options.durationMs) / 1000),
        Number.MAX_SAFE_INTEGER,
      );
      while (messages < due) publishOne();
      if (elapsed >= options.durationMs || options.signal?.aborted) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  const publishMs = performance.now() - started;
  const drainUntil = performance.now() + (options.drainMs ?? 30_000);
  while (acknowledged + errors < messages && performance.now() < drainUntil) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const elapsedMs = performance.now() - started;
  await Promise.all(clients.map((client) => client.endAsync().catch(() => client.end(true))));
  return {
    devices: clients.length,
    messages,
    readings: messages * batch,
    acknowledged,
    errors,
    elapsedMs,
    publishMs,
  };
}
