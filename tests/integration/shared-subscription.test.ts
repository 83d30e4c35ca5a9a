/**
 * Scale-out (issue 3, "Must show"): two real `facility ingest` processes on the MQTT 5 shared
 * subscription `$share/ingest/fac/#` of a real Mosquitto 2, both writing into one InfluxDB
 * database (the run's shared influxd; a DuckDB file cannot be shared between processes). Demo
 * meters publish straight to Mosquitto. Together the workers store every message exactly once,
 * and each takes a share, as the line each prints when it stops shows.
 *
 * Mosquitto allows anonymous clients here (loopback only), so the ingest's service credential
 * is sent and ignored.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { InfluxStore } from '../../storage/influx/influx-store.ts';
import { IngestProcess } from '../setup/ingest-process.ts';
import { MosquittoProcess } from '../setup/mosquitto-process.ts';
import { ReadingStream } from '../setup/reading-stream.ts';

const SITE = 'cd-compound';
const METERS = ['b1-e-main', 'b2-e-main', 'b3-e-main', 'b4-e-main'];
const PER_METER = 500;
const TOTAL = METERS.length * PER_METER;

describe('ingest: scale-out on a shared subscription', () => {
  it('two workers on Mosquitto store every message once between them, each a share', {
    timeout: 120_000,
  }, async () => {
    const mosquitto = await MosquittoProcess.create();
    onTestFinished(() => mosquitto.dispose());
    await mosquitto.start();

    const influxUrl = inject('influxUrl');
    const database = `shared_${Date.now()}_${process.pid}`;
    const spawnWorker = async (name: string) => {
      // Each worker keeps its dead-letter DuckDB file in its own data folder.
      const data = await mkdtemp(join(tmpdir(), `sfp-shared-${name}-`));
      onTestFinished(() => rm(data, { recursive: true, force: true }));
      const { process: worker, ready } = IngestProcess.spawn({
        args: [
          ...['--data', data, '--broker-url', mosquitto.url, '--shared', '--ingest-id', name],
          ...['--store', 'influx', '--influx-url', influxUrl, '--influx-database', database],
          ...['--log-level', 'warn'],
        ],
        env: { FACILITY_SERVICE_SECRET: 'shared-test-service-secret' },
      });
      onTestFinished(() => worker.kill());
      return { worker, ready };
    };
    const a = await spawnWorker('a');
    const b = await spawnWorker('b');
    // Mosquitto drops a message for a share group with no member yet: both subscribe first.
    await Promise.all([a.ready, b.ready]);

    const start = Date.now() - 10 * 60_000;
    const stream = await ReadingStream.connect({
      url: mosquitto.url,
      site: SITE,
      meters: METERS,
      ratePerMeter: 250,
      start,
      countPerMeter: PER_METER,
    });
    onTestFinished(() => stream.close());
    await stream.run();
    expect(stream.errors).toEqual([]);
    expect(stream.ackedCount).toBe(TOTAL);

    const store = new InfluxStore({ url: influxUrl, database });
    onTestFinished(() => store.stop());
    await store.start();
    const storedTimes = async () => {
      const series = await store.query({
        measurement: 'meter',
        fields: ['total'],
        where: { meter: METERS },
        from: start,
        to: Date.now() + 60_000,
        groupBy: ['meter'],
      });
      return new Map(series.map((s) => [s.tags.meter as string, s.rows.map((row) => row.time)]));
    };
    let count = 0;
    const deadline = Date.now() + 30_000;
    while (count < TOTAL) {
      if (Date.now() > deadline) throw new Error(`only ${count} of ${TOTAL} messages stored after 30 s`);
      await sleep(200);
      count = [...(await storedTimes()).values()].reduce((sum, times) => sum + times.length, 0);
    }

    const [shareA, shareB] = await Promise.all([a.worker.stop(), b.worker.stop()]);
    expect(a.worker.exit, a.worker.output).toBe(0);
    expect(b.worker.exit, b.worker.output).toBe(0);
    expect(shareA, a.worker.output).toMatchObject({ name: 'a', rejected: 0, deadLettered: 0 });
    expect(shareB, b.worker.output).toMatchObject({ name: 'b', rejected: 0, deadLettered: 0 });
    const storedA = shareA?.messages ?? 0;
    const storedB = shareB?.messages ?? 0;
    // Each message went to one worker, once: the shares add up to the stream.
    expect(storedA + storedB).toBe(TOTAL);
    expect(storedA).toBeGreaterThan(0);
    expect(storedB).toBeGreaterThan(0);
    expect(storedA).toBeLessThan(TOTAL);

    const stored = await storedTimes();
    for (const [meter, times] of stream.acked) {
      const got = stored.get(meter) ?? [];
      expect(new Set(got).size, `${meter}: no time stored twice`).toBe(got.length);
      expect(got, meter).toEqual(times);
    }
    console.info(`shared subscription: ${TOTAL} messages; worker a stored ${storedA}, worker b ${storedB}`);
  });
});
