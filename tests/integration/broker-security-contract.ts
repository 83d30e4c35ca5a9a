/**
 * The MQTT security contract: one suite, run unchanged against every broker the platform runs
 * on — the embedded aedes broker (broker.test.ts) and Debian's Mosquitto started with the files of
 * `facility export mosquitto` (mosquitto-export.test.ts) — like the store contract suite.
 *
 * Unknown devices and wrong secrets are refused; a device cannot publish under another device's
 * topics, nor outside its own, nor to `$SYS`; a device subscribing with wildcards or to `$SYS`
 * gets nothing but its own topics; payloads over the limit are refused; and what a device
 * publishes validly is stored by a real ingest in a real DuckDB file.
 *
 * Where the brokers answer differently on the wire, the fixture says how ({@link BrokerUnderTest});
 * what reaches a subscriber is the same. "Never delivered" is shown with a marker: after the
 * refused action, a permitted message is published and awaited; the subscriber's log must hold
 * the marker and not the refused message (a broker delivers one subscriber's messages in order).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IClientOptions } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { ServiceCredential } from '../../broker/auth.ts';
import { serviceCredentials } from '../../cli/parts.ts';
import { DEMO_FACILITY_PATH, type Facility, hashSecret, loadFacility } from '../../core/facility/index.ts';
import { MemoryDeadLetterSink } from '../../ingest/index.ts';
import { Ingest } from '../../ingest/ingest.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';
import { closed, connectClient, grant, record, refusedWith } from '../setup/mqtt-clients.ts';
import { until } from '../setup/wait.ts';

export const SITE = 'cd-compound';
export const METER = {
  id: 'b1-e-main',
  secret: 'demo-b1-e-main',
  topic: `fac/${SITE}/meter/b1-e-main/reading`,
};
export const VEHICLE = { id: 'v01', secret: 'demo-v01', topic: `fac/${SITE}/vehicle/v01/gps` };
/** A device the facility file gives only by `secretHash`. */
export const SENSOR = {
  id: 's-b1-m0301',
  secret: 'hashed-secret',
  topic: `fac/${SITE}/sensor/s-b1-m0301/state`,
};
/** The platform's service credentials in the contract: svc-ingest, svc-api, svc-simulator. */
export const SERVICES: readonly ServiceCredential[] = serviceCredentials('contract-service-secret');
const INGEST = SERVICES.find((service) => service.service === 'ingest') as ServiceCredential;
/** The payload limit every broker of the contract is started with, bytes. */
export const MAX_PAYLOAD_BYTES = 1024;

/** The demo facility, with the sensor's credential turned into a (cheap) scrypt `secretHash`. */
export async function contractFacility(): Promise<Facility> {
  const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
  if (!loaded.ok) throw new Error(`demo facility does not load: ${JSON.stringify(loaded.problems)}`);
  const secretHash = await hashSecret(SENSOR.secret, { N: 1024, r: 8, p: 1 });
  const sensors = loaded.facility.sensors.map((sensor) => {
    if (sensor.id !== SENSOR.id) return sensor;
    const { secret: _plain, ...rest } = sensor;
    return { ...rest, secretHash };
  });
  return { ...loaded.facility, sensors };
}

/** A running broker, and how it answers where MQTT leaves the answer to the broker. */
export interface BrokerUnderTest {
  /** `mqtt://127.0.0.1:port`. */
  readonly url: string;
  /**
   * CONNACK return code of an unknown user, a wrong or a missing password: aedes says 4 (bad
   * user name or password), Mosquitto 5 (not authorised). Either way the client learns nothing
   * about which device ids exist.
   */
  readonly badCredentialsCode: number;
  /**
   * How a subscription outside the device's own topics is answered: `refused` with SUBACK 0x80
   * (aedes), or `granted` with nothing delivered that the device may not read (Mosquitto's ACL
   * file checks `read` rules on delivery, not on SUBSCRIBE).
   */
  readonly deniedSubscription: 'refused' | 'granted';
  /** How the ingest connects: MQTT 3.1.1 to `fac/#` on aedes, MQTT 5 shared on Mosquitto. */
  readonly ingest: { readonly protocolVersion: 4 | 5; readonly shared: boolean };
  /** Refusals counted by the broker, by reason, when it counts them. */
  refusals?(): Readonly<Record<string, number>>;
}

/** Starts a broker for the facility and services, with {@link MAX_PAYLOAD_BYTES}. */
export type StartBroker = (
  facility: Facility,
  services: readonly ServiceCredential[],
) => Promise<{ readonly broker: BrokerUnderTest; stop(): Promise<void> }>;

export function brokerSecurityContract(name: string, startBroker: StartBroker): void {
  describe(`MQTT security contract: ${name}`, () => {
    let facility: Facility;
    let broker: BrokerUnderTest;
    let stop: () => Promise<void>;

    beforeEach(async () => {
      facility ??= await contractFacility();
      ({ broker, stop } = await startBroker(facility, SERVICES));
    });
    afterEach(() => stop());

    const device = (who: { id: string; secret: string }, extra: IClientOptions = {}) =>
      connectClient(broker.url, { clientId: who.id, username: who.id, password: who.secret, ...extra });
    const service = (clientId: string, extra: IClientOptions = {}) =>
      connectClient(broker.url, { clientId, username: INGEST.username, password: INGEST.password, ...extra });

    it('refuses an unknown device, a wrong secret and missing credentials', async () => {
      const code = broker.badCredentialsCode;
      expect(await refusedWith(broker.url, { clientId: 'nobody', username: 'nobody', password: 'x' })).toBe(
        code,
      );
      expect(
        await refusedWith(broker.url, { clientId: METER.id, username: METER.id, password: 'wrong' }),
      ).toBe(code);
      expect(await refusedWith(broker.url, { clientId: METER.id })).toBe(code);
      expect(
        await refusedWith(broker.url, { clientId: 'svc-x', username: INGEST.username, password: 'wrong' }),
      ).toBe(code);
      expect(
        await refusedWith(broker.url, { clientId: SENSOR.id, username: SENSOR.id, password: 'nope' }),
      ).toBe(code);
      if (broker.refusals) {
        expect(broker.refusals()).toMatchObject({
          'unknown-user': 1,
          'bad-password': 3,
          'no-credentials': 1,
        });
      }
    });

    it('accepts a device with its secret, a device whose secret matches its secretHash, and a service', async () => {
      const meter = await device(METER);
      const sensor = await device(SENSOR);
      const ingest = await service('svc-ingest-contract');
      expect([meter.connected, sensor.connected, ingest.connected]).toEqual([true, true, true]);
    });

    it("closes device A publishing under device B's topic; the subscriber never gets it", async () => {
      const watcher = await service('svc-ingest-contract');
      const inbox = record(watcher);
      expect(await grant(watcher, 'fac/#', 1)).toBe(1);
      const meter = await device(METER);
      const vehicle = await device(VEHICLE);

      const gone = closed(meter);
      meter.publish(VEHICLE.topic, JSON.stringify({ forged: true }), { qos: 1 });
      await gone;
      await vehicle.publishAsync(VEHICLE.topic, 'marker', { qos: 1 });
      await inbox.until((all) => all.some((m) => m.payload === 'marker'));
      expect(inbox.messages.map((m) => m.payload)).toEqual(['marker']);
      expect(vehicle.connected).toBe(true);
      if (broker.refusals) expect(broker.refusals()['publish-denied']).toBe(1);
    });

    it('closes a device publishing to $SYS, outside fac/, or on a channel not its own', async () => {
      const watcher = await service('svc-ingest-contract');
      const inbox = record(watcher);
      await watcher.subscribeAsync('fac/#', { qos: 1 });
      for (const topic of [
        '$SYS/broker/forged',
        'other/topic',
        `fac/${SITE}/meter/${METER.id}/gps`,
        `fac/${SITE}/meter/${METER.id}/reading/extra`,
      ]) {
        const meter = await device(METER);
        const gone = closed(meter);
        meter.publish(topic, 'forged', { qos: 1 });
        await gone;
      }
      const meter = await device(METER);
      await meter.publishAsync(METER.topic, 'marker', { qos: 1 });
      await inbox.until((all) => all.some((m) => m.payload === 'marker'));
      expect(inbox.messages.map((m) => m.payload)).toEqual(['marker']);
      if (broker.refusals) expect(broker.refusals()['publish-denied']).toBe(4);
    });

    it('gives a device subscribing to fac/#, #, other devices or $SYS nothing but its own topics', async () => {
      const meter = await device(METER);
      const inbox = record(meter);
      const own = `fac/${SITE}/meter/${METER.id}/cmd/#`;
      const foreign = [
        'fac/#',
        '#',
        `+/${SITE}/meter/${METER.id}/#`,
        `fac/${SITE}/+/#`,
        `fac/${SITE}/vehicle/${VEHICLE.id}/#`,
        '$SYS/#',
      ];
      const denied = broker.deniedSubscription === 'refused' ? 128 : 1;
      for (const filter of foreign) expect(await grant(meter, filter, 1), filter).toBe(denied);
      expect(await grant(meter, own, 1)).toBe(1);
      expect(meter.connected).toBe(true);
      if (broker.refusals) expect(broker.refusals()['subscribe-denied']).toBe(foreign.length);

      // Other devices' data, another device's commands, then its own command as the marker.
      const vehicle = await device(VEHICLE);
      await vehicle.publishAsync(VEHICLE.topic, 'vehicle data', { qos: 1 });
      const sender = await service('svc-ingest-contract');
      await sender.publishAsync(`fac/${SITE}/vehicle/${VEHICLE.id}/cmd/reset`, 'not yours', { qos: 1 });
      await sender.publishAsync(`fac/${SITE}/meter/${METER.id}/cmd/reset`, 'yours', { qos: 1 });
      await inbox.until((all) => all.some((m) => m.payload === 'yours'));
      expect(inbox.messages).toEqual([
        { topic: `fac/${SITE}/meter/${METER.id}/cmd/reset`, payload: 'yours' },
      ]);
    });

    it('lets a service subscribe to fac/# and $SYS/#, and closes it publishing to $SYS', async () => {
      const ingest = await service('svc-ingest-contract');
      expect(await grant(ingest, 'fac/#', 1)).toBe(1);
      expect(await grant(ingest, '$SYS/#', 0)).toBe(0);
      const gone = closed(ingest);
      ingest.publish('$SYS/forged', 'x', { qos: 1 });
      await gone;
      if (broker.refusals) expect(broker.refusals()['publish-denied']).toBe(1);
    });

    it('closes a device sending a payload over the limit, and delivers one at the limit', async () => {
      const watcher = await service('svc-ingest-contract');
      const inbox = record(watcher);
      await watcher.subscribeAsync('fac/#', { qos: 1 });
      let meter = await device(METER);
      const gone = closed(meter);
      meter.publish(METER.topic, Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x61), { qos: 1 });
      await gone;
      meter = await device(METER);
      await meter.publishAsync(METER.topic, Buffer.alloc(MAX_PAYLOAD_BYTES, 0x62), { qos: 1 });
      await meter.publishAsync(METER.topic, 'marker', { qos: 1 });
      await inbox.until((all) => all.some((m) => m.payload === 'marker'));
      expect(inbox.messages.map((m) => m.payload.length)).toEqual([MAX_PAYLOAD_BYTES, 'marker'.length]);
      if (broker.refusals) expect(broker.refusals()['payload-too-large']).toBe(1);
    });

    it('stores what devices publish validly, through a real ingest into DuckDB', async () => {
      const folder = await mkdtemp(join(tmpdir(), 'sfp-contract-'));
      onTestFinished(() => rm(folder, { recursive: true, force: true }));
      const store = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
      onTestFinished(() => store.stop());
      await store.start();
      const deadLetters = new MemoryDeadLetterSink();
      const ingest = new Ingest({
        facility,
        store,
        deadLetters,
        maxAgeMs: 86_400_000,
        mqtt: {
          url: broker.url,
          clientId: 'svc-ingest-contract',
          username: INGEST.username,
          password: INGEST.password,
          ...broker.ingest,
        },
      });
      onTestFinished(() => ingest.stop());
      await ingest.start();

      const ts = Date.now() - 60_000;
      const meter = await device(METER);
      await meter.publishAsync(METER.topic, JSON.stringify({ ts, total: 1234.5, power: 12 }), { qos: 1 });
      const sensor = await device(SENSOR);
      await sensor.publishAsync(SENSOR.topic, JSON.stringify({ ts, temperature: 24.5, co2: 600 }), {
        qos: 1,
      });
      // A forged reading from the meter under the vehicle's topic is not stored.
      const gone = closed(meter);
      meter.publish(VEHICLE.topic, JSON.stringify({ ts, lat: 30, lon: 104, speed: 1, ignition: true }), {
        qos: 1,
      });
      await gone;

      const stored = async () => {
        const [meters, sensors, vehicles] = await Promise.all([
          store.latest({ measurement: 'meter', fields: ['total', 'power'], where: { meter: [METER.id] } }),
          store.latest({
            measurement: 'sensor',
            fields: ['temperature', 'co2'],
            where: { sensor: [SENSOR.id] },
          }),
          store.latest({ measurement: 'vehicle', fields: ['lat'], where: { vehicle: [VEHICLE.id] } }),
        ]);
        return { meters, sensors, vehicles };
      };
      await until(
        async () => {
          const { meters, sensors } = await stored();
          return meters.length === 1 && sensors.length === 1;
        },
        'the readings to be stored',
        10_000,
        50,
      );
      const { meters, sensors, vehicles } = await stored();
      expect(meters[0]).toMatchObject({ time: ts, values: { total: 1234.5, power: 12 } });
      expect(sensors[0]).toMatchObject({ time: ts, values: { temperature: 24.5, co2: 600 } });
      expect(vehicles).toEqual([]);
      expect(ingest.stats().messages).toMatchObject({ stored: 2, rejected: 0 });
    });
  });
}
