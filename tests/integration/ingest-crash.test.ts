/**
 * Ingest crash (issue 3, "Must show"), for both ingests.
 *
 * The MQTT-client ingest (`facility ingest`): the real `facility ingest` process, writing into a DuckDB
 * file, is killed with SIGKILL while demo meters stream readings through a FacilityBroker with
 * LevelDB sessions; the stream goes on, and a new `facility ingest` takes over the persistent
 * session. Every message the broker acknowledged to a meter is then stored exactly once.
 *
 * The broker acknowledges a meter's message before any ingest has it; what is under test is that
 * the ingest's persistent session and acknowledge-after-commit lose nothing across its own crash.
 * A relay between the ingest and the broker ({@link MqttTap}) shows on the wire which messages
 * the ingest acknowledged: the drain is over when it has acknowledged every message, and the kill
 * is timed to land while it holds messages it has not committed.
 *
 * The in-process ingest (`facility broker --ingest`, as in `facility start`, issue 10): the
 * broker process itself is killed while demo meters keep readings in flight. Before it starts
 * again, the DuckDB file is read: every reading a meter saw acknowledged must be there already
 * (the PUBACK follows the commit). Then the meters reconnect, send what was not acknowledged
 * again, and every reading is stored exactly once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FacilityBroker } from '../../broker/broker.ts';
import { serviceCredentials } from '../../cli/parts.ts';
import type { Facility } from '../../core/facility/index.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';
import { BrokerProcess } from '../setup/broker-process.ts';
import { freePorts } from '../setup/influxd-process.ts';
import { IngestProcess } from '../setup/ingest-process.ts';
import { MqttTap } from '../setup/mqtt-tap.ts';
import { ReadingStream } from '../setup/reading-stream.ts';
import { demoFacility, until } from '../setup/wait.ts';

const SITE = 'cd-compound';
const METERS = ['b1-e-main', 'b2-e-main', 'b3-e-main'];
const SERVICE_SECRET = 'crash-test-service-secret';

const facility: Facility = demoFacility();

describe('ingest: crash of the ingest process', () => {
  it('loses and doubles nothing when `facility ingest` is killed mid-stream and started again', {
    timeout: 120_000,
  }, async () => {
    const folder = await mkdtemp(join(tmpdir(), 'sfp-crash-'));
    onTestFinished(() => rm(folder, { recursive: true, force: true }));
    const broker = new FacilityBroker({
      facility,
      services: serviceCredentials(SERVICE_SECRET),
      mqttPort: 0,
      persistence: { kind: 'level', dir: join(folder, 'mqtt') },
      rateLimit: { perSecond: 10_000, burst: 10_000 },
    });
    onTestFinished(() => broker.stop());
    await broker.start();
    const tap = await MqttTap.start(broker.ports.mqtt as number);
    onTestFinished(() => tap.close());

    const spawnIngest = () => {
      const spawned = IngestProcess.spawn({
        args: ['--data', folder, '--broker-url', tap.url, '--store', 'duckdb', '--log-level', 'warn'],
        env: { FACILITY_SERVICE_SECRET: SERVICE_SECRET },
      });
      onTestFinished(() => spawned.process.kill());
      return spawned;
    };

    const first = spawnIngest();
    await first.ready;
    const start = Date.now() - 10 * 60_000;
    const stream = await ReadingStream.connect({
      url: `mqtt://127.0.0.1:${broker.ports.mqtt}`,
      site: SITE,
      meters: METERS,
      ratePerMeter: 50,
      start,
    });
    onTestFinished(() => stream.close());
    const streaming = stream.run();

    await until(() => tap.ackedKeys().size >= 300, 'the first ingest to acknowledge 300 messages', 15_000);
    // Kill while the oldest message the ingest has not acknowledged arrived < 100 ms ago: its batch
    // is due 200 ms after it arrived, so what the ingest holds then is certainly not committed.
    await until(
      () => {
        const [oldest] = tap.outstanding();
        return oldest !== undefined && performance.now() - oldest.at < 100;
      },
      'a moment when the ingest holds uncommitted messages',
      5_000,
      5,
    );
    await first.process.kill('SIGKILL');
    expect(first.process.exit).toBe('SIGKILL');

    await sleep(3_000); // the stream goes on with no ingest connected
    const second = spawnIngest();
    await second.ready;
    await sleep(3_000);
    await stream.stop();
    await streaming;
    expect(stream.errors).toEqual([]);
    expect(stream.ackedCount).toBe(stream.publishedCount);

    const messages = stream.messages();
    const keys = messages.map(({ topic, payload }) => `${topic} ${payload}`);
    await until(
      () => {
        const acked = tap.ackedKeys();
        return keys.every((key) => acked.has(key));
      },
      () => `the second ingest to acknowledge all ${keys.length} messages (${tap.ackedKeys().size} so far)`,
      30_000,
      100,
    );
    const summary = await second.process.stop();
    expect(second.process.exit, second.process.output).toBe(0);

    // What the first ingest held when it died, the broker delivered again to the second.
    const held = tap.deliveries.filter((delivery) => delivery.connection === 1 && !delivery.acked);
    expect(held.length).toBeGreaterThan(0);
    const redelivered = new Set(tap.deliveries.filter((d) => d.connection > 1).map((d) => d.key));
    expect(held.filter((delivery) => !redelivered.has(delivery.key))).toEqual([]);

    const store = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
    onTestFinished(() => store.stop());
    await store.start();
    const series = await store.query({
      measurement: 'meter',
      fields: ['total'],
      where: { meter: METERS },
      from: start,
      to: Date.now() + 60_000,
      groupBy: ['meter'],
    });
    const stored = new Map(series.map((s) => [s.tags.meter as string, s.rows.map((row) => row.time)]));
    for (const [meter, times] of stream.acked) {
      const got = stored.get(meter) ?? [];
      expect(new Set(got).size, `${meter}: no time stored twice`).toBe(got.length);
      expect(got, meter).toEqual(times);
    }

    console.info(
      `ingest crash: ${messages.length} messages; the first ingest acknowledged ` +
        `${tap.deliveries.filter((d) => d.connection === 1 && d.acked).length} and held ${held.length} ` +
        `uncommitted when killed; ${summary?.messages} stored by the second ingest ` +
        `(${tap.connections} connections through the relay)`,
    );
  });
});

describe('in-process ingest: crash of the broker process', () => {
  it('acknowledged readings are in the store when `facility broker --ingest` is killed mid-stream; after a restart the devices send the rest, stored once', {
    timeout: 120_000,
  }, async () => {
    const folder = await mkdtemp(join(tmpdir(), 'sfp-crash-inprocess-'));
    onTestFinished(() => rm(folder, { recursive: true, force: true }));
    const [port] = await freePorts(1);
    const startBroker = () =>
      BrokerProcess.start(
        {
          args: ['--data', folder, '--mqtt-port', String(port), '--store', 'duckdb', '--log-level', 'warn'],
          env: { FACILITY_SERVICE_SECRET: SERVICE_SECRET, FACILITY_DEVICE_PUBLISH_RATE: '10000' },
        },
        (broker) => onTestFinished(() => broker.kill()),
      );
    const readStore = async <T>(read: (store: DuckDbStore) => Promise<T>): Promise<T> => {
      const store = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
      await store.start();
      try {
        return await read(store);
      } finally {
        await store.stop();
      }
    };
    const storedTimes = (store: DuckDbStore, from: number) =>
      store
        .query({
          measurement: 'meter',
          fields: ['total'],
          where: { meter: METERS },
          from,
          to: Date.now() + 60_000,
          groupBy: ['meter'],
        })
        .then(
          (series) => new Map(series.map((s) => [s.tags.meter as string, s.rows.map((row) => row.time)])),
        );

    const first = await startBroker();
    const start = Date.now() - 10 * 60_000;
    // Each meter keeps up to 20 readings in flight, so the kill finds messages held for their commit.
    const stream = await ReadingStream.connect({
      url: `mqtt://127.0.0.1:${port}`,
      site: SITE,
      meters: METERS,
      ratePerMeter: 200,
      window: 20,
      reconnectPeriodMs: 200,
      start,
    });
    onTestFinished(() => stream.close());
    const streaming = stream.run();

    await until(() => stream.ackedCount >= 600, 'the first 600 readings acknowledged', 15_000);
    await until(() => stream.inFlight > 0, 'readings in flight', 5_000, 1);
    await first.kill('SIGKILL');
    const killedAt = performance.now();
    expect(first.exit).toBe('SIGKILL');
    const inFlightAtKill = stream.inFlight;
    const ackedBeforeKill = stream.ackedBefore(killedAt);

    // The process is gone: every reading a device saw acknowledged is already in the file.
    const afterKill = await readStore((store) => storedTimes(store, start));
    for (const [meter, times] of ackedBeforeKill) {
      const stored = new Set(afterKill.get(meter) ?? []);
      expect(
        times.filter((ts) => !stored.has(ts)),
        `${meter}: acknowledged but not stored`,
      ).toEqual([]);
    }

    const second = await startBroker();
    await sleep(3_000);
    await stream.stop();
    await streaming;
    expect(stream.errors).toEqual([]);
    expect(stream.ackedCount).toBe(stream.publishedCount);
    await second.kill('SIGTERM');
    expect(second.exit, second.output).toBe(0);

    // Every reading acknowledged, before or after the crash, is stored once.
    const stored = await readStore((store) => storedTimes(store, start));
    for (const [meter, acked] of stream.acked) {
      const times = stored.get(meter) ?? [];
      expect(new Set(times).size, `${meter}: no time stored twice`).toBe(times.length);
      expect(times, meter).toEqual([...acked].sort((a, b) => a - b));
    }
    const before = [...ackedBeforeKill.values()].reduce((n, times) => n + times.length, 0);
    console.info(
      `in-process crash: ${stream.ackedCount} readings; ${before} acknowledged before the kill, all in the ` +
        `store then; ${inFlightAtKill} in flight at the kill, sent again after the restart; the second run ` +
        `stored ${second.summary?.messages} messages`,
    );
  });
});
