/**
 * Several embedded brokers on one Redis (issue 12): two real `facility broker --redis-url`
 * processes on one real `redis-server` (temporary folder, free port, nothing saved), as brokers
 * behind a load balancer would run.
 *
 * * A device that reconnects to the other broker finds its session there: its subscription, the
 *   QoS 1 messages it received and did not acknowledge, and those sent while it was away — more
 *   than the 1,000 aedes-persistence-redis hands out per connection by default.
 * * An ingest connected to one broker stores what devices publish on the other, also what they
 *   published while the ingest was away.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MemoryDeadLetterSink } from '../../ingest/index.ts';
import { Ingest } from '../../ingest/ingest.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';
import { FacilityProcess } from '../setup/facility-process.ts';
import { freePorts } from '../setup/influxd-process.ts';
import { connack, connectClient } from '../setup/mqtt-clients.ts';
import { ReadingStream } from '../setup/reading-stream.ts';
import { RedisProcess } from '../setup/redis-process.ts';
import { demoFacility, until } from '../setup/wait.ts';

const SITE = 'cd-compound';
const METER = { id: 'b1-e-main', secret: 'demo-b1-e-main' };
const COMMANDS = `fac/${SITE}/meter/${METER.id}/cmd`;
const SERVICE_SECRET = 'redis-test-service-secret';

async function tempFolder(prefix: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

/** Redis and two `facility broker` processes on it; their MQTT URLs. */
async function twoBrokers(): Promise<[string, string]> {
  const redis = await RedisProcess.start();
  onTestFinished(() => redis.dispose());
  const ports = await freePorts(2);
  const urls = await Promise.all(
    ports.map(async (port) => {
      const broker = await FacilityProcess.start({
        args: [
          ...['broker', '--data', await tempFolder('sfp-broker-redis-'), '--redis-url', redis.url],
          ...['--mqtt-port', String(port), '--device-publish-rate', '10000', '--log-level', 'warn'],
        ],
        env: { FACILITY_SERVICE_SECRET: SERVICE_SECRET },
        ready: /^MQTT broker/m,
      });
      onTestFinished(() => broker.stop());
      return `mqtt://127.0.0.1:${port}`;
    }),
  );
  return urls as [string, string];
}

/** A TCP relay to `brokerUrl` that notes the type of the first packet the broker sends. */
async function firstPacketRelay(
  brokerUrl: string,
): Promise<{ url: string; firstPacketType(): number | undefined }> {
  let first: number | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const broker = createConnection(Number(new URL(brokerUrl).port), '127.0.0.1');
    for (const socket of [client, broker]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        client.destroy();
        broker.destroy();
      });
    }
    broker.on('data', (chunk: Buffer) => {
      first ??= (chunk[0] ?? 0) >> 4;
    });
    broker.pipe(client);
    client.pipe(broker);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    firstPacketType: () => first,
  };
}

/** A service client (svc-api) on `url`. */
function service(url: string, clientId: string): Promise<MqttClient> {
  return connectClient(url, { clientId, username: 'svc-api', password: SERVICE_SECRET });
}

describe('facility broker --redis-url: two brokers on one Redis', () => {
  it('keeps a device session and its unacknowledged QoS 1 messages when it reconnects to the other broker', {
    timeout: 90_000,
  }, async () => {
    const [urlA, urlB] = await twoBrokers();
    const session = { clientId: METER.id, username: METER.id, password: METER.secret, clean: false } as const;

    // On broker A, the device subscribes to its commands, receives some, and acknowledges none.
    const first = connect(urlA, { ...session, reconnectPeriod: 0 });
    onTestFinished(() => first.endAsync(true));
    first.on('error', () => {});
    const unacknowledged: string[] = [];
    first.handleMessage = (packet, done) => {
      unacknowledged.push(packet.payload.toString());
      // An error makes mqtt.js go on without sending the PUBACK.
      done(new Error('withheld'));
    };
    expect((await connack(first)).sessionPresent).toBe(false);
    await first.subscribeAsync(`${COMMANDS}/#`, { qos: 1 });

    // The commands are published on broker B.
    const sender = await service(urlB, 'svc-api-sender');
    for (let n = 0; n < 5; n++) await sender.publishAsync(`${COMMANDS}/held`, `held ${n}`, { qos: 1 });
    await until(() => unacknowledged.length === 5, 'the device to receive 5 commands through Redis', 10_000);

    // The device drops off without acknowledging; 1,500 more commands are sent while it is away.
    first.stream.destroy();
    await first.endAsync(true);
    const away = 1_500;
    await Promise.all(
      Array.from({ length: away }, (_, n) =>
        sender.publishAsync(`${COMMANDS}/away`, `away ${n}`, { qos: 1 }),
      ),
    );

    // It comes back on broker B: same session, everything owed; the CONNACK first [MQTT-3.2.0-1]
    // (aedes wrote messages of the restored session before it, under load; broker.ts holds them).
    const relay = await firstPacketRelay(urlB);
    const second = connect(relay.url, { ...session, reconnectPeriod: 0 });
    onTestFinished(() => second.endAsync(true));
    const received = new Set<string>();
    second.on('message', (_topic, payload) => received.add(payload.toString()));
    expect((await connack(second)).sessionPresent).toBe(true);
    expect(relay.firstPacketType()).toBe(2); // CONNACK (MQTT 3.1.1 §2.2.1)
    const expected = [
      ...Array.from({ length: 5 }, (_, n) => `held ${n}`),
      ...Array.from({ length: away }, (_, n) => `away ${n}`),
    ];
    await until(
      () => expected.every((payload) => received.has(payload)),
      () => `all ${expected.length} owed commands on broker B (${received.size} so far)`,
      30_000,
      50,
    );
    // Its subscription came along too: a new command reaches it.
    await sender.publishAsync(`${COMMANDS}/after`, 'after', { qos: 1 });
    await until(() => received.has('after'), 'a new command on broker B', 10_000);
  });

  it('an ingest on one broker stores what devices publish on the other, also while it was away', {
    timeout: 90_000,
  }, async () => {
    const [urlA, urlB] = await twoBrokers();
    const facility = demoFacility();
    const folder = await tempFolder('sfp-redis-ingest-');
    const store = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
    onTestFinished(() => store.stop());
    await store.start();
    const makeIngest = () =>
      new Ingest({
        facility,
        store,
        deadLetters: new MemoryDeadLetterSink(),
        maxAgeMs: 86_400_000,
        mqtt: { url: urlA, clientId: 'svc-ingest-redis', username: 'svc-ingest', password: SERVICE_SECRET },
      });
    let ingest = makeIngest();
    onTestFinished(() => ingest.stop());
    await ingest.start();

    const start = Date.now() - 60 * 60_000;
    const meters = ['b1-e-main', 'b2-e-main'];
    const publish = async (from: number, count: number) => {
      const stream = await ReadingStream.connect({
        url: urlB,
        site: SITE,
        meters,
        ratePerMeter: 500,
        start: start + from * 100,
        countPerMeter: count,
      });
      onTestFinished(() => stream.close());
      await stream.run();
      expect(stream.errors).toEqual([]);
      await stream.close();
      return stream;
    };
    const stored = async () => {
      const series = await store.query({
        measurement: 'meter',
        fields: ['total'],
        where: { meter: meters },
        from: start,
        to: Date.now(),
        groupBy: ['meter'],
      });
      return new Map(series.map((s) => [s.tags.meter as string, s.rows.map((row) => row.time)]));
    };
    const storedCount = async () => [...(await stored()).values()].reduce((n, times) => n + times.length, 0);

    // Online: published on B, stored by the ingest on A.
    const live = await publish(0, 300);
    await until(async () => (await storedCount()) === 600, 'the 600 live readings in the store', 20_000, 100);

    // Away: the ingest stops; 1,200 readings published on B; it comes back on A.
    await ingest.stop();
    const queued = await publish(300, 600);
    ingest = makeIngest();
    await ingest.start();
    let count = 0;
    await until(
      async () => {
        count = await storedCount();
        return count === 1_800;
      },
      () => `all 1,800 readings in the store (${count} so far)`,
      30_000,
      100,
    );
    const times = await stored();
    for (const meter of meters) {
      const acked = [...(live.acked.get(meter) ?? []), ...(queued.acked.get(meter) ?? [])];
      expect(times.get(meter), meter).toEqual(acked);
    }
  });
});
