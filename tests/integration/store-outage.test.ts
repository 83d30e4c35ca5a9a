/**
 * Store outage, with a real InfluxDB (issue 3, "Must show"): demo meters stream readings through
 * a FacilityBroker into an Ingest writing to InfluxDB; `influxd` is stopped mid-stream, the
 * stream goes on for 30 s, `influxd` is started again on the same data folder and port. Every
 * message published is then in the store exactly once.
 *
 * The ingest runs with its default retry policy and keepalive. Its in-memory backlog is capped
 * low, so that most of the outage's messages wait in the broker's session, as they would in a
 * longer outage; a connection that cycles meanwhile (a keepalive timeout while the ingest holds
 * off reading) only means redeliveries, which the store absorbs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FacilityBroker } from '../../broker/broker.ts';
import type { Facility } from '../../core/facility/index.ts';
import type { TimeSeriesStore } from '../../core/store.ts';
import { Ingest } from '../../ingest/ingest.ts';
import { DuckDbDeadLetterSink } from '../../storage/duckdb/dead-letter.ts';
import { InfluxStore } from '../../storage/influx/influx-store.ts';
import { InfluxdProcess } from '../setup/influxd-process.ts';
import { ReadingStream } from '../setup/reading-stream.ts';
import { demoFacility, until } from '../setup/wait.ts';

const SITE = 'cd-compound';
const METERS = ['b1-e-main', 'b2-e-main', 'b3-e-main', 'b4-e-main'];
const INGEST = { service: 'ingest', username: 'svc-ingest', password: 'ingest-password' };
/** How long the stream goes on while the store is down (the figure). */
const OUTAGE_MS = 30_000;
const RATE_PER_METER = 40;

const facility: Facility = demoFacility();

/** Meter id → the `ts` of each stored `total`, in the store's order. */
async function storedTimes(store: TimeSeriesStore, from: number): Promise<Map<string, number[]>> {
  const series = await store.query({
    measurement: 'meter',
    fields: ['total'],
    where: { meter: METERS },
    from,
    to: Date.now() + 60_000,
    groupBy: ['meter'],
  });
  return new Map(series.map((s) => [s.tags.meter as string, s.rows.map((row) => row.time)]));
}

describe('ingest: store outage with a real InfluxDB', () => {
  it('stores every message published while influxd was down for 30 s, exactly once', {
    timeout: 150_000,
  }, async () => {
    const folder = await mkdtemp(join(tmpdir(), 'sfp-outage-'));
    onTestFinished(() => rm(folder, { recursive: true, force: true }));
    // Its own influxd, not the shared one: this test stops it.
    const influxd = await InfluxdProcess.create();
    onTestFinished(() => influxd.dispose());
    await influxd.start();

    const broker = new FacilityBroker({
      facility,
      services: [INGEST],
      mqttPort: 0,
      persistence: { kind: 'level', dir: join(folder, 'mqtt') },
      rateLimit: { perSecond: 10_000, burst: 10_000 },
    });
    onTestFinished(() => broker.stop());
    await broker.start();

    const store = new InfluxStore({ url: influxd.url, database: 'outage' });
    onTestFinished(() => store.stop());
    await store.start();
    const deadLetters = new DuckDbDeadLetterSink({ path: join(folder, 'state.duckdb') });
    onTestFinished(() => deadLetters.stop());
    await deadLetters.start();

    const ingest = new Ingest({
      facility,
      store,
      deadLetters,
      maxAgeMs: 400 * 86_400_000,
      batch: { maxPoints: 500, maxPendingPoints: 1_000 },
      mqtt: {
        url: `mqtt://127.0.0.1:${broker.ports.mqtt}`,
        clientId: 'svc-ingest-outage',
        username: INGEST.username,
        password: INGEST.password,
      },
    });
    onTestFinished(() => ingest.stop());
    await ingest.start();

    const start = Date.now() - 10 * 60_000;
    const stream = await ReadingStream.connect({
      url: `mqtt://127.0.0.1:${broker.ports.mqtt}`,
      site: SITE,
      meters: METERS,
      ratePerMeter: RATE_PER_METER,
      start,
    });
    onTestFinished(() => stream.close());
    const streaming = stream.run();

    await until(() => ingest.stats().messages.stored >= 400, 'the first 400 messages stored', 15_000);
    await influxd.stop();
    const ackedWhenDown = stream.ackedCount;
    // A reply that left influxd just before it exited may still be on its way to the ingest.
    await sleep(1_000);
    const storedWhenDown = ingest.stats().messages.stored;
    await sleep(OUTAGE_MS - 1_000);
    const during = ingest.stats();
    const ackedAtRestart = stream.ackedCount;
    const publishedDuringOutage = ackedAtRestart - ackedWhenDown;
    await influxd.start();
    const restarted = Date.now();

    await sleep(3_000);
    await stream.stop();
    await streaming;
    expect(stream.errors).toEqual([]);
    expect(stream.ackedCount).toBe(stream.publishedCount);

    const acked = stream.acked;
    // Stored / acknowledged per meter at the last look, for the message if the drain times out.
    let counts: Record<string, string> = {};
    await until(
      async () => {
        const stored = await storedTimes(store, start);
        counts = Object.fromEntries(
          METERS.map((meter) => [meter, `${stored.get(meter)?.length ?? 0}/${acked.get(meter)?.length}`]),
        );
        return METERS.every((meter) => stored.get(meter)?.length === acked.get(meter)?.length);
      },
      () =>
        `every acknowledged message in InfluxDB (stored/acknowledged ${JSON.stringify(counts)}; ` +
        `ingest ${JSON.stringify(ingest.stats().messages)})`,
      60_000,
      250,
    );
    const drainedMs = Date.now() - restarted;
    await until(() => ingest.stats().backlog.messages === 0, 'the ingest backlog empty', 10_000);

    // Nothing was committed while the store was down…
    expect(during.messages.stored).toBe(storedWhenDown);
    expect(during.batches.retries).toBeGreaterThan(0);
    // …and most of the outage's messages waited in the broker, not in the ingest.
    expect(publishedDuringOutage).toBeGreaterThan((OUTAGE_MS / 1000) * RATE_PER_METER * METERS.length * 0.8);
    expect(during.backlog.points).toBeLessThanOrEqual(1_000);
    expect(ackedAtRestart - during.messages.received).toBeGreaterThan(publishedDuringOutage / 2);
    // Every message the broker acknowledged to a meter is stored once: one point per `ts`.
    const stored = await storedTimes(store, start);
    for (const meter of METERS) {
      const times = stored.get(meter) ?? [];
      expect(new Set(times).size, `${meter}: no time stored twice`).toBe(times.length);
      expect(times, meter).toEqual(acked.get(meter));
    }
    const stats = ingest.stats();
    expect(stats.messages.rejected).toBe(0);
    expect(stats.messages.stored).toBeGreaterThanOrEqual(stream.ackedCount);
    console.info(
      `store outage: ${stream.ackedCount} messages (${publishedDuringOutage} during the ${OUTAGE_MS / 1000} s outage), ` +
        `drained ${drainedMs} ms after influxd restarted; ingest received ${stats.messages.received}, ` +
        `stored ${stats.messages.stored}, dropped ${stats.messages.dropped}, connections ${stats.connections}, ` +
        `retries ${stats.batches.retries}`,
    );
  });
});
