/**
 * The embedded broker, for real: a FacilityBroker on free ports of 127.0.0.1, real MQTT.js
 * clients over TCP, WebSocket and TLS, and LevelDB persistence in a temporary folder.
 *
 * The security rules every broker of the platform keeps (refused logins, topic ACL, payload
 * limit, data stored) are the shared contract of broker-security-contract.ts, run here against
 * the embedded broker and in mosquitto-export.test.ts against Mosquitto; this file adds what only
 * the embedded broker does (client id bound to the device, Will check, connection and rate
 * limits, LevelDB sessions, transports, life cycle).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, connectAsync, type IClientOptions } from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import { authorizePublish, authorizeSubscribe, type Principal } from '../../broker/auth.ts';
import { FacilityBroker, type FacilityBrokerOptions } from '../../broker/broker.ts';
import { RateLimiter } from '../../broker/rate-limit.ts';
import type { Facility } from '../../core/facility/index.ts';
import {
  closed,
  connack,
  connectClient,
  type Received,
  record,
  refusedWith as refusedAt,
} from '../setup/mqtt-clients.ts';
import {
  brokerSecurityContract,
  contractFacility,
  MAX_PAYLOAD_BYTES,
  METER,
  SENSOR,
  SERVICES,
  SITE,
  VEHICLE,
} from './broker-security-contract.ts';

const INGEST = SERVICES.find((service) => service.service === 'ingest') as (typeof SERVICES)[number];

/** The demo facility, with the sensor's credential turned into a (cheap) scrypt `secretHash`. */
const facility: Facility = await contractFacility();

brokerSecurityContract('embedded aedes broker', async (contractFacility, services) => {
  const broker = new FacilityBroker({
    facility: contractFacility,
    services,
    host: '127.0.0.1',
    mqttPort: 0,
    persistence: { kind: 'memory' },
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
  });
  await broker.start();
  return {
    broker: {
      url: url(broker),
      badCredentialsCode: 4,
      deniedSubscription: 'refused',
      ingest: { protocolVersion: 4, shared: false },
      refusals: () => broker.refusals,
    },
    stop: () => broker.stop(),
  };
});

/** A started broker on free ports, stopped when the test ends. */
async function startBroker(options: Partial<FacilityBrokerOptions> = {}): Promise<FacilityBroker> {
  const broker = new FacilityBroker({
    facility,
    services: [INGEST],
    host: '127.0.0.1',
    mqttPort: 0,
    persistence: { kind: 'memory' },
    ...options,
  });
  onTestFinished(() => broker.stop());
  await broker.start();
  return broker;
}

/** A folder removed when the test ends. */
async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-broker-'));
  onTestFinished(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

function url(broker: FacilityBroker): string {
  return `mqtt://127.0.0.1:${broker.ports.mqtt}`;
}

function client(address: string, options: IClientOptions) {
  return connectClient(address, options);
}

function device(broker: FacilityBroker, who: { id: string; secret: string }, extra: IClientOptions = {}) {
  return client(url(broker), { clientId: who.id, username: who.id, password: who.secret, ...extra });
}

function ingest(broker: FacilityBroker, extra: IClientOptions = {}) {
  return client(url(broker), {
    clientId: 'ingest-test',
    username: INGEST.username,
    password: INGEST.password,
    ...extra,
  });
}

/** The CONNACK return code a connection attempt is refused with. */
function refusedWith(broker: FacilityBroker, options: IClientOptions): Promise<number> {
  return refusedAt(url(broker), options);
}

const reading = (total: number) => JSON.stringify({ ts: Date.now(), total });

describe('access rules, as pure functions', () => {
  const meter: Principal = { kind: 'meter', id: 'm1', site: 's' };
  const service: Principal = { service: 'ingest' };

  it.each([
    [meter, 'fac/s/meter/m1/reading', true],
    [meter, 'fac/s/meter/m1/status', true],
    [meter, 'fac/s/meter/m1/gps', false],
    [meter, 'fac/s/meter/m10/reading', false],
    [meter, 'fac/s/meter/m1/reading/x', false],
    [meter, 'fac/s/vehicle/m1/gps', false],
    [meter, 'fac/other/meter/m1/reading', false],
    [meter, 'fac/s/meter/../reading', false],
    [meter, '$SYS/x', false],
    [service, 'fac/s/meter/m1/cmd/reset', true],
    [service, 'fac/anything', true],
    [service, '$SYS/x', false],
    [service, 'elsewhere/x', false],
    [service, 'fac/+/x', false],
  ] as const)('publish %j to %s: %s', (principal, topic, allowed) => {
    expect(authorizePublish(principal, topic)).toBe(allowed);
  });

  it.each([
    [meter, 'fac/s/meter/m1/cmd/#', true],
    [meter, 'fac/s/meter/m1/#', true],
    [meter, 'fac/s/meter/m1', true],
    [meter, 'fac/s/meter/m1/+', true],
    [meter, 'fac/s/meter/m10/#', false],
    [meter, 'fac/s/meter/+/#', false],
    [meter, 'fac/#', false],
    [meter, '#', false],
    [meter, '+/s/meter/m1/#', false],
    [meter, '$SYS/#', false],
    [meter, '$share/g/fac/s/meter/m1/#', false],
    [meter, 'fac/s/meter/m1/#/x', false],
    [service, 'fac/#', true],
    [service, '$share/ingest/fac/#', true],
    [service, '$SYS/#', true],
    [service, '#', false],
    [service, '+/#', false],
    [service, 'fac/a#', false],
  ] as const)('subscribe %j to %s: %s', (principal, filter, allowed) => {
    expect(authorizeSubscribe(principal, filter)).toBe(allowed);
  });

  it('rate limiter: a burst, then the sustained rate, per key', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 }, () => now);
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([true, true, true, false]);
    expect(limiter.take('b')).toBe(true);
    now = 499;
    expect(limiter.take('a')).toBe(false);
    now = 500;
    expect([limiter.take('a'), limiter.take('a')]).toEqual([true, false]);
    now = 10_000;
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([true, true, true, false]);
  });
});

describe('authentication (embedded only)', () => {
  it('remembers a verified secretHash login', async () => {
    const broker = await startBroker();
    const sensor = await device(broker, SENSOR);
    expect(sensor.connected).toBe(true);
    await sensor.endAsync();
    // Again, from the verification cache.
    expect((await device(broker, SENSOR)).connected).toBe(true);
  });

  it('refuses a device using another client id, and a service using a device id, with CONNACK 2', async () => {
    const broker = await startBroker();
    expect(await refusedWith(broker, { clientId: 'other', username: METER.id, password: METER.secret })).toBe(
      2,
    );
    expect(
      await refusedWith(broker, { clientId: METER.id, username: INGEST.username, password: INGEST.password }),
    ).toBe(2);
    expect(broker.refusals['client-id']).toBe(2);
  });

  it('refuses a Will on a topic the device may not publish with CONNACK 5, and accepts its own status', async () => {
    const broker = await startBroker();
    const will = {
      topic: VEHICLE.topic.replace('/gps', '/status'),
      payload: Buffer.from('offline'),
      qos: 1 as const,
    };
    expect(
      await refusedWith(broker, { clientId: METER.id, username: METER.id, password: METER.secret, will }),
    ).toBe(5);
    const ownWill = { ...will, topic: `fac/${SITE}/meter/${METER.id}/status`, retain: true };
    const meter = await device(broker, METER, { will: ownWill });
    expect(meter.connected).toBe(true);
    expect(broker.refusals['will-denied']).toBe(1);
  });

  it('refuses a connection over maxConnections with CONNACK 3', async () => {
    const broker = await startBroker({ maxConnections: 2 });
    await ingest(broker);
    await device(broker, METER);
    expect(
      await refusedWith(broker, { clientId: VEHICLE.id, username: VEHICLE.id, password: VEHICLE.secret }),
    ).toBe(3);
    expect(broker.refusals['max-connections']).toBe(1);
  });
});

describe('limits', () => {
  it('cuts a packet far over the limit off from its fixed header, before it is buffered', async () => {
    const broker = await startBroker({ maxPayloadBytes: 1024 });
    const service = await ingest(broker);
    const inbox = record(service);
    await service.subscribeAsync('fac/#', { qos: 1 });
    let meter = await device(broker, METER);
    const gone = closed(meter);
    meter.publish(METER.topic, Buffer.alloc(4 * 1024 * 1024, 0x61), { qos: 0 });
    await gone;
    expect(broker.refusals['payload-too-large']).toBe(1);
    meter = await device(broker, METER);
    await meter.publishAsync(METER.topic, 'marker', { qos: 1 });
    await inbox.until((all) => all.some((m) => m.payload === 'marker'));
    expect(inbox.messages.map((m) => m.payload)).toEqual(['marker']);
  });

  it('disconnects a device over its publish rate while another device keeps publishing', async () => {
    const broker = await startBroker({ rateLimit: { perSecond: 10, burst: 10 } });
    const service = await ingest(broker);
    const inbox = record(service);
    await service.subscribeAsync('fac/#', { qos: 1 });
    const noisy = await device(broker, METER);
    const quiet = await device(broker, VEHICLE);

    const gone = closed(noisy);
    for (let i = 0; i < 50; i++) noisy.publish(METER.topic, reading(i), { qos: 0 });
    await gone;
    for (let i = 0; i < 5; i++) await quiet.publishAsync(VEHICLE.topic, `gps ${i}`, { qos: 1 });

    await inbox.until((all) => all.filter((m) => m.topic === VEHICLE.topic).length === 5);
    expect(quiet.connected).toBe(true);
    expect(broker.refusals['rate-limited']).toBe(1);
    // The burst got through, then the connection was closed.
    const fromNoisy = inbox.messages.filter((m) => m.topic === METER.topic).length;
    expect(fromNoisy).toBeGreaterThanOrEqual(10);
    expect(fromNoisy).toBeLessThan(50);
  });
});

describe('QoS 1 persistent sessions on LevelDB', () => {
  it('keeps the backlog of an absent subscriber, across a broker restart on the same folder', async () => {
    const dir = await tempFolder();
    const options = { persistence: { kind: 'level', dir } } as const;
    const session = { clientId: 'ingest-1', clean: false } as const;
    let broker = await startBroker(options);

    // The subscriber registers its session, then goes away.
    let service = await ingest(broker, session);
    await service.subscribeAsync('fac/#', { qos: 1 });
    await service.endAsync();

    // While it is away, a device publishes. A second, online subscriber shows each message has
    // been routed: aedes queues it for absent sessions before delivering to online ones.
    const publishAll = async (target: FacilityBroker, from: number, count: number) => {
      const watching = await client(url(target), { ...credentials(), clientId: 'watcher' });
      const watcher = record(watching);
      await watching.subscribeAsync('fac/#', { qos: 1 });
      const meter = await device(target, METER);
      for (let i = from; i < from + count; i++) await meter.publishAsync(METER.topic, reading(i), { qos: 1 });
      await watcher.until((all) => all.length === count);
      await meter.endAsync();
      await watching.endAsync();
    };
    await publishAll(broker, 0, 5);

    const totals = (messages: readonly Received[]) =>
      messages.map((m) => JSON.parse(m.payload).total as number);
    service = connect(url(broker), { ...credentials(), ...session, reconnectPeriod: 0 });
    onTestFinished(() => service.endAsync(true));
    let inbox = record(service);
    expect((await connack(service)).sessionPresent).toBe(true);
    await inbox.until((all) => all.length === 5);
    expect(totals(inbox.messages)).toEqual([0, 1, 2, 3, 4]);
    await service.endAsync();

    // Away again; three more; the broker restarts on the same folder.
    await publishAll(broker, 5, 3);
    await broker.stop();
    broker = await startBroker(options);

    service = connect(url(broker), { ...credentials(), ...session, reconnectPeriod: 0 });
    onTestFinished(() => service.endAsync(true));
    inbox = record(service);
    expect((await connack(service)).sessionPresent).toBe(true);
    await inbox.until((all) => all.length === 3);
    expect(totals(inbox.messages)).toEqual([5, 6, 7]);
  });
});

describe('transports', () => {
  it('speaks MQTT over WebSocket', async () => {
    const broker = await startBroker({ wsPort: 0 });
    const service = await ingest(broker);
    const inbox = record(service);
    await service.subscribeAsync('fac/#', { qos: 1 });
    const meter = await client(`ws://127.0.0.1:${broker.ports.ws}/mqtt`, {
      clientId: METER.id,
      username: METER.id,
      password: METER.secret,
    });
    await meter.publishAsync(METER.topic, reading(7), { qos: 1 });
    await inbox.until((all) => all.length === 1);
    expect(inbox.messages[0]?.topic).toBe(METER.topic);

    // And refuses a wrong secret there too.
    await expect(
      connectAsync(`ws://127.0.0.1:${broker.ports.ws}/mqtt`, {
        reconnectPeriod: 0,
        clientId: VEHICLE.id,
        username: VEHICLE.id,
        password: 'wrong',
      }),
    ).rejects.toMatchObject({ code: 4 });
  });

  it('speaks MQTT over TLS when given a certificate', async () => {
    const dir = await tempFolder();
    const [keyFile, certFile] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    const [key, cert] = await Promise.all([readFile(keyFile), readFile(certFile)]);
    const broker = await startBroker({ tls: { key, cert, port: 0 } });
    const service = await ingest(broker);
    const inbox = record(service);
    await service.subscribeAsync('fac/#', { qos: 1 });
    const meter = await client(`mqtts://127.0.0.1:${broker.ports.tls}`, {
      clientId: METER.id,
      username: METER.id,
      password: METER.secret,
      ca: cert,
    });
    await meter.publishAsync(METER.topic, reading(8), { qos: 1 });
    await inbox.until((all) => all.length === 1);
    expect(inbox.messages[0]?.topic).toBe(METER.topic);
  });
});

describe('life cycle', () => {
  it('starts and stops idempotently, and frees its port', async () => {
    const broker = new FacilityBroker({
      facility,
      services: [INGEST],
      mqttPort: 0,
      persistence: { kind: 'memory' },
    });
    onTestFinished(() => broker.stop());
    await Promise.all([broker.start(), broker.start()]);
    const port = broker.ports.mqtt;
    expect(port).toBeGreaterThan(0);
    const meter = await device(broker, METER);
    await Promise.all([broker.stop(), broker.stop(), closed(meter)]);
    await broker.stop();
    expect(broker.ports).toEqual({});
    await expect(
      connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 1_000 }),
    ).rejects.toThrow();
  });

  it('refuses to start with a service user name that is a device id', async () => {
    const broker = new FacilityBroker({
      facility,
      services: [{ service: 'api', username: METER.id, password: 'x' }],
      mqttPort: 0,
      persistence: { kind: 'memory' },
    });
    onTestFinished(() => broker.stop());
    await expect(broker.start()).rejects.toThrow(/is a device id/);
  });
});

function credentials() {
  return { username: INGEST.username, password: INGEST.password };
}
