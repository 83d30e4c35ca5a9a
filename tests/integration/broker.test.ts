/**
 * The embedded broker, for real: a FacilityBroker on free ports of 127.0.0.1, real MQTT.js
 * clients over TCP, WebSocket and TLS, and LevelDB persistence in a temporary folder.
 *
 * "Never delivered" is shown with a marker: after the refused action, a permitted message is
 * published and awaited; the subscriber's log must hold the marker and not the refused message
 * (one broker delivers a client's messages in order).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import { authorizePublish, authorizeSubscribe, type Principal } from '../../broker/auth.ts';
import { FacilityBroker, type FacilityBrokerOptions } from '../../broker/broker.ts';
import { RateLimiter } from '../../broker/rate-limit.ts';
import { DEMO_FACILITY_PATH, type Facility, hashSecret, loadFacility } from '../../core/facility/index.ts';

const SITE = 'cd-compound';
const METER = { id: 'b1-e-main', secret: 'demo-b1-e-main', topic: `fac/${SITE}/meter/b1-e-main/reading` };
const VEHICLE = { id: 'v01', secret: 'demo-v01', topic: `fac/${SITE}/vehicle/v01/gps` };
const SENSOR = { id: 's-b1-m0301', secret: 'hashed-secret', topic: `fac/${SITE}/sensor/s-b1-m0301/state` };
const INGEST = { service: 'ingest', username: 'svc-ingest', password: 'ingest-password' };

/** The demo facility, with the sensor's credential turned into a (cheap) scrypt `secretHash`. */
const facility: Facility = await (async () => {
  const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
  if (!loaded.ok) throw new Error(`demo facility does not load: ${JSON.stringify(loaded.problems)}`);
  const secretHash = await hashSecret(SENSOR.secret, { N: 1024, r: 8, p: 1 });
  const sensors = loaded.facility.sensors.map((sensor) => {
    if (sensor.id !== SENSOR.id) return sensor;
    const { secret: _plain, ...rest } = sensor;
    return { ...rest, secretHash };
  });
  return { ...loaded.facility, sensors };
})();

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

/** Connects (no automatic reconnect) and ends the client when the test ends. */
async function client(address: string, options: IClientOptions): Promise<MqttClient> {
  const mqtt = await connectAsync(address, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
  onTestFinished(() => mqtt.endAsync(true));
  return mqtt;
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
async function refusedWith(broker: FacilityBroker, options: IClientOptions): Promise<number> {
  try {
    const mqtt = await connectAsync(url(broker), { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
    await mqtt.endAsync(true);
  } catch (error) {
    return (error as { code: number }).code;
  }
  throw new Error('the connection was accepted');
}

interface Received {
  readonly topic: string;
  readonly payload: string;
}

/** Records every message a client receives; `until` waits for one matching. */
function record(mqtt: MqttClient) {
  const messages: Received[] = [];
  const waiters: Array<() => void> = [];
  mqtt.on('message', (topic, payload) => {
    messages.push({ topic, payload: payload.toString() });
    for (const wake of waiters.splice(0)) wake();
  });
  const until = async (predicate: (all: readonly Received[]) => boolean, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(messages)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received ${JSON.stringify(messages)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return { messages, until };
}

/**
 * Resolves when the client's connection closes. The broker may cut it mid-write, which the
 * client reports as an error (ECONNRESET, EPIPE): expected here.
 */
function closed(mqtt: MqttClient): Promise<void> {
  mqtt.on('error', () => {});
  if (!mqtt.connected) return Promise.resolve();
  return new Promise((resolve) => mqtt.once('close', () => resolve()));
}

/** The CONNACK of a client being connected by `connect()`. */
function connack(mqtt: MqttClient): Promise<{ sessionPresent: boolean }> {
  return new Promise((resolve, reject) => {
    mqtt.once('connect', (packet) => resolve({ sessionPresent: packet.sessionPresent }));
    mqtt.once('error', reject);
  });
}

/** The SUBACK return code for one filter: the granted QoS, or 0x80 (128) for a refusal. */
async function grant(mqtt: MqttClient, filter: string, qos: 0 | 1): Promise<number> {
  try {
    const [granted] = await mqtt.subscribeAsync(filter, { qos });
    return granted?.qos ?? -1;
  } catch (error) {
    // MQTT.js rejects on a 0x80 and carries the SUBACK.
    const packet = (error as { packet?: { granted?: number[] } }).packet;
    if (packet?.granted?.length === 1) return packet.granted[0] ?? -1;
    throw error;
  }
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

describe('authentication', () => {
  it('refuses an unknown device, a wrong secret and missing credentials with CONNACK 4', async () => {
    const broker = await startBroker();
    expect(await refusedWith(broker, { clientId: 'nobody', username: 'nobody', password: 'x' })).toBe(4);
    expect(await refusedWith(broker, { clientId: METER.id, username: METER.id, password: 'wrong' })).toBe(4);
    expect(await refusedWith(broker, { clientId: METER.id })).toBe(4);
    expect(await refusedWith(broker, { clientId: 'x', username: INGEST.username, password: 'wrong' })).toBe(
      4,
    );
    expect(broker.refusals).toMatchObject({ 'unknown-user': 1, 'bad-password': 2, 'no-credentials': 1 });
  });

  it('accepts a device with its plain secret, and a service with its credential', async () => {
    const broker = await startBroker();
    const meter = await device(broker, METER);
    const service = await ingest(broker);
    expect(meter.connected && service.connected).toBe(true);
    expect(broker.connectedClients).toBe(2);
  });

  it('accepts a device whose secret is an scrypt secretHash, and refuses a wrong password for it', async () => {
    const broker = await startBroker();
    expect(await refusedWith(broker, { clientId: SENSOR.id, username: SENSOR.id, password: 'nope' })).toBe(4);
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

describe('topic ACL', () => {
  it('delivers a device message to a subscribed service client', async () => {
    const broker = await startBroker();
    const service = await ingest(broker);
    const inbox = record(service);
    expect((await service.subscribeAsync('fac/#', { qos: 1 }))[0]?.qos).toBe(1);
    const meter = await device(broker, METER);
    await meter.publishAsync(METER.topic, reading(1), { qos: 1 });
    await inbox.until((all) => all.length === 1);
    expect(inbox.messages).toEqual([{ topic: METER.topic, payload: expect.stringContaining('"total":1') }]);
  });

  it("disconnects device A publishing under device B's topic; the subscriber never gets it", async () => {
    const broker = await startBroker();
    const service = await ingest(broker);
    const inbox = record(service);
    await service.subscribeAsync('fac/#', { qos: 1 });
    const meter = await device(broker, METER);
    const vehicle = await device(broker, VEHICLE);

    const gone = closed(meter);
    meter.publish(VEHICLE.topic, JSON.stringify({ forged: true }), { qos: 1 });
    await gone;
    await vehicle.publishAsync(VEHICLE.topic, 'marker', { qos: 1 });
    await inbox.until((all) => all.some((m) => m.payload === 'marker'));
    expect(inbox.messages.map((m) => m.payload)).toEqual(['marker']);
    expect(broker.refusals['publish-denied']).toBe(1);
    expect(vehicle.connected).toBe(true);
  });

  it('refuses a device publishing to $SYS, outside fac/, or on a channel not its own', async () => {
    const broker = await startBroker();
    for (const topic of [
      '$SYS/broker/forged',
      'other/topic',
      `fac/${SITE}/meter/${METER.id}/gps`,
      `fac/${SITE}/meter/${METER.id}/reading/extra`,
    ]) {
      const meter = await device(broker, METER);
      const gone = closed(meter);
      meter.publish(topic, 'x', { qos: 1 });
      await gone;
    }
    expect(broker.refusals['publish-denied']).toBe(4);
  });

  it('grants 0x80 to a device subscribing to fac/#, #, other devices or $SYS, and its own topics', async () => {
    const broker = await startBroker();
    const meter = await device(broker, METER);
    const own = `fac/${SITE}/meter/${METER.id}/cmd/#`;
    const filters = [
      'fac/#',
      '#',
      `+/${SITE}/meter/${METER.id}/#`,
      `fac/${SITE}/+/#`,
      `fac/${SITE}/vehicle/${VEHICLE.id}/#`,
      '$SYS/#',
      own,
    ];
    const grants: Record<string, number> = {};
    for (const filter of filters) grants[filter] = await grant(meter, filter, 1);
    expect(grants).toEqual({
      'fac/#': 128,
      '#': 128,
      [`+/${SITE}/meter/${METER.id}/#`]: 128,
      [`fac/${SITE}/+/#`]: 128,
      [`fac/${SITE}/vehicle/${VEHICLE.id}/#`]: 128,
      '$SYS/#': 128,
      [own]: 1,
    });
    expect(meter.connected).toBe(true);
    expect(broker.refusals['subscribe-denied']).toBe(6);

    // Its own command topic works: a service publishes, the device receives.
    const inbox = record(meter);
    const service = await ingest(broker);
    await service.publishAsync(`fac/${SITE}/meter/${METER.id}/cmd/reset`, 'go', { qos: 1 });
    await inbox.until((all) => all.length === 1);
    expect(inbox.messages[0]?.payload).toBe('go');
  });

  it('lets a service subscribe to fac/# and $SYS/#, but not publish to $SYS', async () => {
    const broker = await startBroker();
    const service = await ingest(broker);
    expect(await grant(service, 'fac/#', 1)).toBe(1);
    expect(await grant(service, '$SYS/#', 0)).toBe(0);
    const gone = closed(service);
    service.publish('$SYS/forged', 'x', { qos: 1 });
    await gone;
    expect(broker.refusals['publish-denied']).toBe(1);
  });
});

describe('limits', () => {
  it('disconnects a device sending a payload over the limit, and delivers one at the limit', async () => {
    const broker = await startBroker({ maxPayloadBytes: 1024 });
    const service = await ingest(broker);
    const inbox = record(service);
    await service.subscribeAsync('fac/#', { qos: 1 });

    // Just over the limit: buffered, refused by the publish check.
    let meter = await device(broker, METER);
    let gone = closed(meter);
    meter.publish(METER.topic, Buffer.alloc(1025, 0x61), { qos: 1 });
    await gone;
    // Far over: cut off from its fixed header, before it is buffered.
    meter = await device(broker, METER);
    gone = closed(meter);
    meter.publish(METER.topic, Buffer.alloc(4 * 1024 * 1024, 0x61), { qos: 0 });
    await gone;
    expect(broker.refusals['payload-too-large']).toBe(2);

    meter = await device(broker, METER);
    await meter.publishAsync(METER.topic, Buffer.alloc(1024, 0x62), { qos: 1 });
    await meter.publishAsync(METER.topic, 'marker', { qos: 1 });
    await inbox.until((all) => all.some((m) => m.payload === 'marker'));
    expect(inbox.messages.map((m) => m.payload.length)).toEqual([1024, 'marker'.length]);
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
