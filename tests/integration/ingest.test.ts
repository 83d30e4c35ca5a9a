/**
 * The ingest for real: a FacilityBroker on a free port of 127.0.0.1, a DuckDbStore and its
 * dead-letter table in a temporary folder, devices publishing with their demo secrets through
 * MQTT.js. A store outage is a fault injector around the real store ({@link FlakyStore}), not a
 * mock: the points that go through are written to DuckDB.
 *
 * "Not acknowledged" is shown the way the broker sees it: an ingest that stops while it holds
 * messages it could not commit, and a new ingest with the same client id, gets them again.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FacilityBroker } from '../../broker/broker.ts';
import type { DeadLetterSink } from '../../core/dead-letter.ts';
import { DEMO_FACILITY_PATH, type Facility, loadFacility } from '../../core/facility/index.ts';
import type {
  RollupLastQuery,
  RollupQuery,
  RollupSeries,
  RollupSumQuery,
  RollupSums,
  RollupWrite,
} from '../../core/rollup/schema.ts';
import {
  type LatestPoint,
  type LatestQuery,
  type Measurement,
  type Point,
  type Query,
  type Series,
  StoreError,
  type TimeSeriesStore,
} from '../../core/store.ts';
import { Ingest, type IngestOptions } from '../../ingest/ingest.ts';
import { DuckDbDeadLetterSink } from '../../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

const SITE = 'cd-compound';
const INGEST = { service: 'ingest', username: 'svc-ingest', password: 'ingest-password' };
const TESTER = { service: 'tester', username: 'svc-tester', password: 'tester-password' };
const DAY = 86_400_000;

const facility: Facility = (() => {
  const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
  if (!loaded.ok) throw new Error('the demo facility does not load');
  return loaded.facility;
})();

/** A folder removed when the test ends. */
async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-ingest-'));
  onTestFinished(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

async function startBroker(): Promise<FacilityBroker> {
  const broker = new FacilityBroker({
    facility,
    services: [INGEST, TESTER],
    host: '127.0.0.1',
    mqttPort: 0,
    persistence: { kind: 'memory' },
    rateLimit: { perSecond: 100_000, burst: 100_000 },
  });
  onTestFinished(() => broker.stop());
  await broker.start();
  return broker;
}

async function startStore(folder: string): Promise<DuckDbStore> {
  const store = new DuckDbStore({ path: join(folder, 'store.duckdb') });
  onTestFinished(() => store.stop());
  await store.start();
  return store;
}

async function startDeadLetters(store: DuckDbStore): Promise<DuckDbDeadLetterSink> {
  const sink = new DuckDbDeadLetterSink({ database: store });
  onTestFinished(() => sink.stop());
  await sink.start();
  return sink;
}

/**
 * The real store, with faults on demand: `down` makes every write fail with a retriable
 * StoreError before it reaches DuckDB; `lostReplies` writes, then fails retriably (committed, but
 * the caller never heard); `refuse` fails a write for good when a point matches.
 */
class FlakyStore implements TimeSeriesStore {
  readonly name = 'flaky duckdb';
  readonly inner: TimeSeriesStore;
  down = false;
  lostReplies = 0;
  refuse: ((point: Point) => boolean) | undefined;
  attempts = 0;

  constructor(inner: TimeSeriesStore) {
    this.inner = inner;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  async write(points: readonly Point[]): Promise<void> {
    this.attempts++;
    if (this.down)
      throw new StoreError('store unavailable (injected)', { code: 'UNAVAILABLE', retriable: true });
    const bad = this.refuse && points.findIndex(this.refuse);
    if (bad !== undefined && bad >= 0) {
      throw new StoreError(`point ${bad}: field type conflict (injected)`, {
        code: 'INVALID_POINT',
        retriable: false,
      });
    }
    await this.inner.write(points);
    if (this.lostReplies > 0) {
      this.lostReplies--;
      throw new StoreError('reply lost (injected)', { code: 'TIMEOUT', retriable: true });
    }
  }

  query(query: Query): Promise<Series[]> {
    return this.inner.query(query);
  }

  latest(query: LatestQuery): Promise<LatestPoint[]> {
    return this.inner.latest(query);
  }

  writeRollups(writes: readonly RollupWrite[]): Promise<void> {
    return this.inner.writeRollups(writes);
  }

  readRollups(query: RollupQuery): Promise<RollupSeries[]> {
    return this.inner.readRollups(query);
  }

  sumRollups(query: RollupSumQuery): Promise<RollupSums[]> {
    return this.inner.sumRollups(query);
  }

  lastRollups(query: RollupLastQuery): Promise<RollupSeries[]> {
    return this.inner.lastRollups(query);
  }
}

function brokerUrl(broker: FacilityBroker): string {
  return `mqtt://127.0.0.1:${broker.ports.mqtt}`;
}

/**
 * A TCP relay in front of the broker that counts the PUBACK packets (MQTT control packet type
 * 4, MQTT 3.1.1 §2.2.1) its clients send: what the broker is told, seen on the wire.
 */
async function pubackCounter(
  broker: FacilityBroker,
): Promise<{ url: string; pubacks: () => number; cut: () => void }> {
  let pubacks = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = tcpConnect(broker.ports.mqtt as number, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => {});
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.pipe(client);
    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        // Fixed header: type in the high nibble, then the remaining length as a varint (§2.2.3).
        let length = 0;
        let multiplier = 1;
        let at = 1;
        let complete = false;
        while (at < pending.length && at <= 4) {
          const byte = pending[at] as number;
          length += (byte & 0x7f) * multiplier;
          multiplier *= 128;
          at++;
          if ((byte & 0x80) === 0) {
            complete = true;
            break;
          }
        }
        if (!complete || pending.length < at + length) break;
        if ((pending[0] as number) >> 4 === 4) pubacks++;
        pending = pending.subarray(at + length);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pubacks: () => pubacks,
    /** Cuts the open connections, as a network failure would. */
    cut: () => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
  };
}

/** An ingest on the broker, stopped when the test ends. */
async function startIngest(
  broker: FacilityBroker,
  store: TimeSeriesStore,
  deadLetters: DeadLetterSink,
  options: Partial<Omit<IngestOptions, 'mqtt'>> & { mqtt?: Partial<IngestOptions['mqtt']> } = {},
): Promise<Ingest> {
  const ingest = new Ingest({
    facility,
    store,
    deadLetters,
    maxAgeMs: 30 * DAY,
    batch: { maxDelayMs: 20 },
    deadLetter: { maxDelayMs: 20 },
    retry: { initialDelayMs: 20, maxDelayMs: 100 },
    ...options,
    mqtt: {
      url: brokerUrl(broker),
      clientId: 'ingest-1',
      username: INGEST.username,
      password: INGEST.password,
      reconnectPeriodMs: 200,
      ...options.mqtt,
    },
  });
  onTestFinished(() => ingest.stop());
  await ingest.start();
  return ingest;
}

/** A device connected with its demo secret, ended when the test ends. */
async function device(broker: FacilityBroker, id: string): Promise<MqttClient> {
  const client = await connectAsync(brokerUrl(broker), {
    clientId: id,
    username: id,
    password: `demo-${id}`,
    reconnectPeriod: 0,
  });
  onTestFinished(() => client.endAsync(true));
  return client;
}

/** A service client that may publish anywhere under fac/ (for topics no device may use). */
async function tester(broker: FacilityBroker): Promise<MqttClient> {
  const client = await connectAsync(brokerUrl(broker), {
    clientId: 'tester',
    username: TESTER.username,
    password: TESTER.password,
    reconnectPeriod: 0,
  });
  onTestFinished(() => client.endAsync(true));
  return client;
}

const topic = (kind: string, id: string, channel: string) => `fac/${SITE}/${kind}/${id}/${channel}`;

/** Waits until `condition` holds, polling. */
async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The raw points of one device field in the store, as [time, value]. */
async function stored(
  store: TimeSeriesStore,
  measurement: Measurement,
  field: string,
  where: Record<string, string>,
  from: number,
): Promise<Array<[number, unknown]>> {
  const series = await store.query({ measurement, fields: [field], where, from, to: Date.now() + DAY });
  return series.flatMap((s) => s.rows.map((row): [number, unknown] => [row.time, row.values[field]]));
}

/** Publishes `count` meter readings a second apart from `start`; resolves once the broker has them. */
async function publishReadings(client: MqttClient, meter: string, start: number, count: number, first = 0) {
  for (let i = first; i < first + count; i++) {
    await client.publishAsync(
      topic('meter', meter, 'reading'),
      JSON.stringify({ ts: start + i * 1000, total: i }),
      {
        qos: 1,
      },
    );
  }
}

describe('ingest: valid messages', () => {
  it('stores what devices publish exactly once, and tracks their status', async () => {
    const folder = await tempFolder();
    const broker = await startBroker();
    const store = await startStore(folder);
    const deadLetters = await startDeadLetters(store);
    const relay = await pubackCounter(broker);
    const ingest = await startIngest(broker, store, deadLetters, { mqtt: { url: relay.url } });

    const start = Date.now() - 3_600_000;
    const meter = await device(broker, 'b1-e-main');
    const vehicle = await device(broker, 'v01');
    const sensor = await device(broker, 's-b1-m0301');
    await meter.publishAsync(topic('meter', 'b1-e-main', 'status'), 'online', { qos: 1, retain: true });
    await publishReadings(meter, 'b1-e-main', start, 300);
    // A gateway message: an array of readings is one MQTT message, several points.
    const gps = Array.from({ length: 50 }, (_, i) => ({
      ts: new Date(start + i * 10_000).toISOString(),
      lat: 30.657 + i * 1e-4,
      lon: 104.066,
      speed: 30,
      ignition: true,
    }));
    await vehicle.publishAsync(topic('vehicle', 'v01', 'gps'), JSON.stringify(gps), { qos: 1 });
    await sensor.publishAsync(
      topic('sensor', 's-b1-m0301', 'state'),
      JSON.stringify({ ts: start, occupancy: 4, temperature: 25.5, co2: 640, hvac: 'cool', lights: true }),
      { qos: 1 },
    );

    await until(() => ingest.stats().points.stored === 351, '351 points committed');
    expect(await stored(store, 'meter', 'total', { meter: 'b1-e-main' }, start)).toEqual(
      Array.from({ length: 300 }, (_, i) => [start + i * 1000, i]),
    );
    expect(await stored(store, 'vehicle', 'lat', { vehicle: 'v01' }, start)).toHaveLength(50);
    expect(await stored(store, 'sensor', 'hvac', { sensor: 's-b1-m0301' }, start)).toEqual([[start, 'cool']]);

    const stats = ingest.stats();
    expect(stats.messages).toMatchObject({ received: 303, stored: 302, status: 1, rejected: 0 });
    await until(() => relay.pubacks() === 303, 'a PUBACK for each QoS 1 message');
    expect(stats.backlog).toEqual({ messages: 0, points: 0, deadLetters: 0 });
    expect(stats.connected).toBe(true);
    expect(stats.batches.count).toBeGreaterThan(0);
    expect(stats.batches.count).toBeLessThan(302); // batched, not one write per message
    expect(await deadLetters.list({ limit: 10 })).toEqual([]);

    const devices = ingest.devices();
    expect(devices).toHaveLength(facility.meters.length + facility.vehicles.length + facility.sensors.length);
    expect(devices.find((d) => d.id === 'b1-e-main')).toMatchObject({ kind: 'meter', status: 'online' });
    expect(devices.find((d) => d.id === 'b1-e-main')?.lastSeen).toBeGreaterThan(0);
    expect(devices.find((d) => d.id === 'v01')).toMatchObject({ status: 'unknown' });
    expect(devices.find((d) => d.id === 'v01')?.lastSeen).toBeGreaterThan(0);
    expect(devices.find((d) => d.id === 'v02')).toEqual({ kind: 'vehicle', id: 'v02', status: 'unknown' });

    const prometheus = await ingest.metrics.prometheus();
    expect(prometheus).toContain('ingest_points_stored_total 351');
    expect(prometheus).toContain('ingest_backlog{of="messages"} 0');
  });

  it('a message delivered twice, or written twice, leaves one point and counts once', async () => {
    const folder = await tempFolder();
    const broker = await startBroker();
    const store = new FlakyStore(await startStore(folder));
    const deadLetters = await startDeadLetters(store.inner as DuckDbStore);
    // The first write commits and then "loses its reply": the batch is written again.
    store.lostReplies = 1;
    const ingest = await startIngest(broker, store, deadLetters);

    const start = Date.now() - 60_000;
    const meter = await device(broker, 'b1-e-light');
    const message = JSON.stringify({ ts: start, total: 42.5, power: 3.2 });
    await meter.publishAsync(topic('meter', 'b1-e-light', 'reading'), message, { qos: 1 });
    await meter.publishAsync(topic('meter', 'b1-e-light', 'reading'), message, { qos: 1 });
    await until(() => {
      const { stored, duplicates } = ingest.stats().messages;
      return stored + duplicates === 2;
    }, 'both messages committed');
    expect(await stored(store, 'meter', 'total', { meter: 'b1-e-light' }, start - 1)).toEqual([
      [start, 42.5],
    ]);
    // Counted as what the store holds: one message, one point; the copy apart.
    expect(ingest.stats().messages).toMatchObject({ received: 2, stored: 1, duplicates: 1 });
    expect(ingest.stats().points.stored).toBe(1);
    expect(ingest.stats().batches.retries).toBeGreaterThanOrEqual(1);
  });
});

describe('ingest: bad input', () => {
  it('dead-letters every bad message with its reason, counts it per device and reason, and goes on', async () => {
    const folder = await tempFolder();
    const broker = await startBroker();
    const store = await startStore(folder);
    const deadLetters = await startDeadLetters(store);
    const ingest = await startIngest(broker, store, deadLetters);

    const now = Date.now();
    const meter = await device(broker, 'b1-e-main');
    const vehicle = await device(broker, 'v01');
    const service = await tester(broker);
    const reading = topic('meter', 'b1-e-main', 'reading');
    await meter.publishAsync(reading, JSON.stringify({ ts: now - 5000, total: 1 }), { qos: 1 });
    await meter.publishAsync(reading, '{"ts": 1, "total": ', { qos: 1 });
    await meter.publishAsync(reading, '{"ts": 2', { qos: 1 });
    await meter.publishAsync(reading, JSON.stringify({ ts: now - 4000, total: 'abc' }), { qos: 1 });
    await meter.publishAsync(reading, JSON.stringify({ ts: now + DAY, total: 2 }), { qos: 1 });
    await meter.publishAsync(reading, Buffer.from([0xff, 0xfe, 0x00]), { qos: 1 });
    await vehicle.publishAsync(
      topic('vehicle', 'v01', 'gps'),
      JSON.stringify({ ts: now - 3000, lat: 95, lon: 104, speed: 10, ignition: true }),
      { qos: 1 },
    );
    await service.publishAsync(
      topic('meter', 'no-such-meter', 'reading'),
      JSON.stringify({ ts: now, total: 1 }),
      {
        qos: 1,
      },
    );
    await service.publishAsync(`fac/${SITE}/meter/b1-e-main`, 'x'.repeat(10_000), { qos: 1 });
    await meter.publishAsync(reading, JSON.stringify({ ts: now - 2000, total: 3 }), { qos: 1 });

    await until(() => ingest.stats().messages.deadLettered === 8, '8 dead-letter entries committed');
    await until(() => ingest.stats().points.stored === 2, 'the 2 valid readings');
    expect(await stored(store, 'meter', 'total', { meter: 'b1-e-main' }, now - 10_000)).toEqual([
      [now - 5000, 1],
      [now - 2000, 3],
    ]);

    const entries = await deadLetters.list({ limit: 100 });
    expect(entries.map((e) => [e.device?.id ?? null, e.reason]).reverse()).toEqual([
      ['b1-e-main', 'not-json'],
      ['b1-e-main', 'not-json'],
      ['b1-e-main', 'schema'],
      ['b1-e-main', 'future-time'],
      ['b1-e-main', 'not-json'],
      ['v01', 'out-of-range'],
      ['no-such-meter', 'unknown-device'],
      [null, 'bad-topic'],
    ]);
    const byReason = (reason: string) => entries.filter((e) => e.reason === reason);
    expect(byReason('schema')[0]).toMatchObject({
      topic: reading,
      device: { kind: 'meter', id: 'b1-e-main' },
      payload: JSON.stringify({ ts: now - 4000, total: 'abc' }),
      encoding: 'utf8',
      truncated: false,
    });
    expect(byReason('schema')[0]?.detail).toMatch(/total/);
    expect(byReason('out-of-range')[0]?.detail).toMatch(/lat/);
    const binary = entries.find((e) => e.encoding === 'base64');
    expect(binary).toMatchObject({ payload: '//4A', size: 3, reason: 'not-json' });
    expect(byReason('bad-topic')[0]).toMatchObject({ size: 10_000, truncated: true });
    expect(byReason('bad-topic')[0]?.payload).toHaveLength(4096);
    expect(byReason('bad-topic')[0]?.device).toBeUndefined();
    for (const entry of entries) expect(entry.detail.length).toBeGreaterThan(10);

    const stats = ingest.stats();
    expect(stats.rejections).toEqual([
      { device: 'b1-e-main', reason: 'not-json', count: 3 },
      { device: null, reason: 'bad-topic', count: 1 },
      { device: 'b1-e-main', reason: 'future-time', count: 1 },
      { device: 'b1-e-main', reason: 'schema', count: 1 },
      { device: 'no-such-meter', reason: 'unknown-device', count: 1 },
      { device: 'v01', reason: 'out-of-range', count: 1 },
    ]);
    expect(stats.messages).toMatchObject({ received: 10, stored: 2, rejected: 8, deadLettered: 8 });
    expect(stats.backlog.messages).toBe(0);
    expect(await ingest.metrics.prometheus()).toContain(
      'ingest_messages_rejected_total{device="b1-e-main",reason="not-json"} 3',
    );
  });

  it('a point the store refuses for good is dead-lettered as store-rejected; the rest of its batch is stored', async () => {
    const folder = await tempFolder();
    const broker = await startBroker();
    const store = new FlakyStore(await startStore(folder));
    const deadLetters = await startDeadLetters(store.inner as DuckDbStore);
    store.refuse = (point) => point.fields.total === 13;
    const ingest = await startIngest(broker, store, deadLetters, { batch: { maxDelayMs: 200 } });

    const start = Date.now() - 60_000;
    const meter = await device(broker, 'b1-e-hvac');
    await publishReadings(meter, 'b1-e-hvac', start, 30);
    await until(() => ingest.stats().messages.deadLettered === 1, 'the refused message dead-lettered');
    await until(() => ingest.stats().points.stored === 29, 'the other 29 stored');
    const totals = (await stored(store, 'meter', 'total', { meter: 'b1-e-hvac' }, start)).map(([, v]) => v);
    expect(totals).toEqual(Array.from({ length: 30 }, (_, i) => i).filter((i) => i !== 13));
    const [entry] = await deadLetters.list({ limit: 10 });
    expect(entry).toMatchObject({ reason: 'store-rejected', device: { kind: 'meter', id: 'b1-e-hvac' } });
    expect(entry?.detail).toMatch(/field type conflict/);
    expect(JSON.parse(entry?.payload ?? '')).toEqual({ ts: start + 13_000, total: 13 });
    expect(ingest.stats().rejections).toEqual([{ device: 'b1-e-hvac', reason: 'store-rejected', count: 1 }]);
    expect(ingest.stats().backlog.messages).toBe(0);
  });
});

describe('ingest: store outage', () => {
  it('acknowledges nothing while the store is down, then stores everything once when it is back', async () => {
    const folder = await tempFolder();
    const broker = await startBroker();
    const store = new FlakyStore(await startStore(folder));
    const deadLetters = await startDeadLetters(store.inner as DuckDbStore);
    store.down = true;
    const relay = await pubackCounter(broker);
    const ingest = await startIngest(broker, store, deadLetters, { mqtt: { url: relay.url } });

    const start = Date.now() - 600_000;
    const meter = await device(broker, 'b2-e-main');
    await publishReadings(meter, 'b2-e-main', start, 200);
    await until(() => ingest.stats().messages.received === 200, 'all 200 messages received');
    await until(() => store.attempts >= 3, 'a few retries');
    let stats = ingest.stats();
    expect(stats.messages.stored).toBe(0);
    expect(stats.backlog).toMatchObject({ messages: 200, points: 200 });
    expect(stats.batches.retries).toBeGreaterThanOrEqual(2);
    expect(await stored(store, 'meter', 'total', { meter: 'b2-e-main' }, start)).toEqual([]);
    expect(relay.pubacks()).toBe(0);

    store.down = false;
    await until(() => ingest.stats().backlog.messages === 0, 'the backlog drained');
    await until(() => relay.pubacks() === 200, 'the 200 PUBACKs, after the commits');
    stats = ingest.stats();
    expect(stats.messages.stored).toBe(200);
    expect(await stored(store, 'meter', 'total', { meter: 'b2-e-main' }, start)).toEqual(
      Array.from({ length: 200 }, (_, i) => [start + i * 1000, i]),
    );
  });

  it('what it could not commit before stopping, the broker delivers again to the next ingest', async () => {
    const folder = await tempFolder();
    const broker = await startBroker();
    const store = new FlakyStore(await startStore(folder));
    const deadLetters = await startDeadLetters(store.inner as DuckDbStore);
    const first = await startIngest(broker, store, deadLetters, { stopTimeoutMs: 300 });

    const start = Date.now() - 600_000;
    const meter = await device(broker, 'b3-e-main');
    await publishReadings(meter, 'b3-e-main', start, 50);
    await until(() => first.stats().points.stored === 50, 'the first 50 stored');
    store.down = true;
    await publishReadings(meter, 'b3-e-main', start, 100, 50);
    await until(() => first.stats().messages.received === 150, 'the next 100 received');
    await first.stop();
    expect(first.stats().messages.stored).toBe(50);
    expect(first.stats().messages.dropped).toBe(100);
    await publishReadings(meter, 'b3-e-main', start, 20, 150); // while no ingest is connected

    store.down = false;
    const second = await startIngest(broker, store, deadLetters);
    await until(() => second.stats().points.stored === 120, 'the 100 unacknowledged and the 20 queued');
    expect(await stored(store, 'meter', 'total', { meter: 'b3-e-main' }, start)).toEqual(
      Array.from({ length: 170 }, (_, i) => [start + i * 1000, i]),
    );
    expect(second.stats().messages.received).toBe(120);
  });

  it('after a lost connection, acknowledges only on the new one what the broker delivers again', async () => {
    const folder = await tempFolder();
    const broker = await startBroker();
    const store = new FlakyStore(await startStore(folder));
    const deadLetters = await startDeadLetters(store.inner as DuckDbStore);
    store.down = true;
    const relay = await pubackCounter(broker);
    const ingest = await startIngest(broker, store, deadLetters, { mqtt: { url: relay.url } });

    const start = Date.now() - 600_000;
    const meter = await device(broker, 'b4-e-main');
    await publishReadings(meter, 'b4-e-main', start, 50);
    await until(() => ingest.stats().messages.received === 50, 'the 50 messages received');
    relay.cut();
    await until(() => ingest.stats().messages.dropped === 50, 'the 50 dropped with the connection');
    await until(() => ingest.stats().connections === 2, 'reconnected');
    await until(() => ingest.stats().messages.received === 100, 'the 50 delivered again');
    store.down = false;
    await until(() => ingest.stats().backlog.messages === 0, 'the backlog drained');
    await until(() => relay.pubacks() === 50, 'one PUBACK per message, on the new connection');
    expect(await stored(store, 'meter', 'total', { meter: 'b4-e-main' }, start)).toEqual(
      Array.from({ length: 50 }, (_, i) => [start + i * 1000, i]),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(relay.pubacks()).toBe(50);
  });

  it('past maxPendingPoints it stops reading (backpressure), and catches up after recovery', async () => {
    const folder = await tempFolder();
    const broker = await startBroker();
    const store = new FlakyStore(await startStore(folder));
    const deadLetters = await startDeadLetters(store.inner as DuckDbStore);
    store.down = true;
    const ingest = await startIngest(broker, store, deadLetters, {
      batch: { maxPoints: 5, maxPendingPoints: 10, maxDelayMs: 20 },
    });

    const start = Date.now() - 600_000;
    const meter = await device(broker, 'b1-w-main');
    await publishReadings(meter, 'b1-w-main', start, 100);
    await until(() => ingest.stats().messages.received >= 10, 'the ingest full');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ingest.stats().messages.received).toBe(10);
    expect(ingest.stats().backlog.points).toBe(10);

    store.down = false;
    await until(() => ingest.stats().points.stored === 100, 'all 100 stored');
    expect(ingest.stats().messages.received).toBe(100);
    expect(await stored(store, 'meter', 'total', { meter: 'b1-w-main' }, start)).toHaveLength(100);
  });
});

describe('DuckDbDeadLetterSink', () => {
  const entry = (n: number) => ({
    time: 1_700_000_000_000 + n,
    topic: `fac/${SITE}/meter/m${n}/reading`,
    device: { kind: 'meter' as const, id: `m${n % 2}` },
    reason: n % 2 === 0 ? ('not-json' as const) : ('schema' as const),
    detail: `entry ${n}`,
    payload: `payload ${n}`,
    encoding: 'utf8' as const,
    size: 9,
    truncated: false,
  });

  it('in a state file of its own: stores, lists newest first with filters, keeps the newest maxEntries, survives a restart', async () => {
    const folder = await tempFolder();
    const path = join(folder, 'state.duckdb');
    const sink = new DuckDbDeadLetterSink({ path, maxEntries: 5 });
    onTestFinished(() => sink.stop());
    await sink.start();
    await sink.start();
    await sink.add([entry(1), entry(2), entry(3)]);
    await sink.add([entry(4), entry(5), entry(6), entry(7)]);
    const all = await sink.list({ limit: 100 });
    expect(all.map((e) => e.detail)).toEqual(['entry 7', 'entry 6', 'entry 5', 'entry 4', 'entry 3']);
    expect(all[0]).toEqual({ ...entry(7), id: 7 });
    expect((await sink.list({ limit: 100, device: 'm0' })).map((e) => e.id)).toEqual([6, 4]);
    expect((await sink.list({ limit: 100, reason: 'schema' })).map((e) => e.id)).toEqual([7, 5, 3]);
    expect((await sink.list({ limit: 2, before: 6 })).map((e) => e.id)).toEqual([5, 4]);
    await sink.stop();
    await sink.stop();

    const reopened = new DuckDbDeadLetterSink({ path });
    onTestFinished(() => reopened.stop());
    await reopened.start();
    await reopened.add([{ ...entry(8), device: undefined } as never]);
    const after = await reopened.list({ limit: 1 });
    expect(after[0]).toMatchObject({ id: 8, detail: 'entry 8' });
    expect(after[0]?.device).toBeUndefined();
  });

  it('in the store file: shares the store connection, and the store still works', async () => {
    const folder = await tempFolder();
    const store = await startStore(folder);
    const sink = await startDeadLetters(store);
    await sink.add([entry(1)]);
    await store.write([
      {
        measurement: 'meter',
        tags: { site: SITE, meter: 'm1' },
        fields: { total: 1 },
        time: 1_700_000_000_000,
      },
    ]);
    expect(await sink.list({ limit: 5 })).toHaveLength(1);
    expect(await stored(store, 'meter', 'total', { meter: 'm1' }, 1_600_000_000_000)).toHaveLength(1);
  });

  it('refuses when not started, and a bad limit', async () => {
    const sink = new DuckDbDeadLetterSink({ path: join(await tempFolder(), 'x.duckdb') });
    await expect(sink.add([entry(1)])).rejects.toThrow(/not started/);
    onTestFinished(() => sink.stop());
    await sink.start();
    await expect(sink.list({ limit: -1 })).rejects.toThrow(/limit/);
  });
});
