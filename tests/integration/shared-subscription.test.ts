/**
 * Scale-out on a shared subscription (issue 12, "Scale-out with real parts"): real
 * `facility ingest --shared` processes on `$share/ingest/fac/#` of Debian's Mosquitto 2, started
 * with the files `facility export mosquitto` writes (devices and services log in, the ACL holds),
 * all writing into one InfluxDB database (the run's shared influxd; a DuckDB file cannot be shared
 * between processes). Demo meters publish straight to Mosquitto with their own credentials.
 *
 * * Two workers store every message exactly once between them, each a share, and serve
 *   `/metrics` and `/health`.
 * * One worker SIGKILLed mid-stream and started again 4 s later: on the exported configuration,
 *   0 messages lost and 0 doubled in the store; meanwhile `facility api` names the dead worker as
 *   the one whose share is queuing. The same run on Mosquitto's default queue cap (1,000) loses
 *   messages — what the exported `max_queued_messages 0` is for, and what shows the count can fail.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { InfluxStore } from '../../storage/influx/influx-store.ts';
import { startExportedMosquitto } from '../setup/exported-mosquitto.ts';
import { FacilityProcess } from '../setup/facility-process.ts';
import { freePorts } from '../setup/influxd-process.ts';
import { IngestProcess } from '../setup/ingest-process.ts';
import { ReadingStream } from '../setup/reading-stream.ts';
import { until } from '../setup/wait.ts';

const SITE = 'cd-compound';
const METERS = ['b1-e-main', 'b2-e-main', 'b3-e-main', 'b4-e-main'];
const SERVICE_SECRET = 'scale-out-service-secret';
const ADMIN_TOKEN = 'scale-out-admin-token-0123456789';

interface Setup {
  readonly brokerUrl: string;
  readonly influxUrl: string;
  readonly database: string;
}

/** A folder removed when the test ends. */
async function tempFolder(prefix: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

/** Exported Mosquitto (with `extraConfig` overriding it) and a fresh database name. */
async function setUp(name: string, extraConfig?: string): Promise<Setup> {
  const exported = await startExportedMosquitto({
    serviceSecret: SERVICE_SECRET,
    ...(extraConfig === undefined ? {} : { extraConfig }),
  });
  onTestFinished(() => exported.dispose());
  return {
    brokerUrl: exported.mosquitto.url,
    influxUrl: inject('influxUrl'),
    database: `${name}_${Date.now()}_${process.pid}`,
  };
}

/** A `facility ingest --shared` worker; each keeps its dead-letter DuckDB file in its data folder. */
function spawnWorker(setup: Setup, name: string, data: string, metricsPort: number) {
  const spawned = IngestProcess.spawn({
    args: [
      ...['--data', data, '--broker-url', setup.brokerUrl, '--shared', '--ingest-id', name],
      ...['--store', 'influx', '--influx-url', setup.influxUrl, '--influx-database', setup.database],
      ...['--host', '127.0.0.1', '--metrics-port', String(metricsPort), '--log-level', 'warn'],
    ],
    env: { FACILITY_SERVICE_SECRET: SERVICE_SECRET },
  });
  onTestFinished(() => spawned.process.kill());
  return spawned;
}

/** Timestamps stored per meter. */
async function storedTimes(setup: Setup, from: number): Promise<Map<string, number[]>> {
  const store = new InfluxStore({ url: setup.influxUrl, database: setup.database });
  await store.start();
  try {
    const series = await store.query({
      measurement: 'meter',
      fields: ['total'],
      where: { meter: METERS },
      from,
      to: Date.now() + 60_000,
      groupBy: ['meter'],
    });
    return new Map(series.map((s) => [s.tags.meter as string, s.rows.map((row) => row.time)]));
  } catch {
    return new Map(); // the database does not exist until the first write
  } finally {
    await store.stop();
  }
}

const countOf = (stored: ReadonlyMap<string, readonly number[]>) =>
  [...stored.values()].reduce((sum, times) => sum + times.length, 0);

/**
 * Waits until the store holds `total` points, or its count has not moved for `quietMs` (messages
 * were lost); returns what it holds then.
 */
async function settle(setup: Setup, from: number, total: number, quietMs: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let since = Date.now();
  for (;;) {
    const stored = await storedTimes(setup, from);
    const count = countOf(stored);
    if (count >= total) return stored;
    if (count !== last) {
      last = count;
      since = Date.now();
    } else if (Date.now() - since > quietMs || Date.now() > deadline) {
      return stored;
    }
    await sleep(250);
  }
}

/** Acknowledged readings missing from the store, and readings stored beyond the acknowledged. */
function lostAndDoubled(stream: ReadingStream, stored: ReadonlyMap<string, readonly number[]>) {
  let lost = 0;
  let doubled = 0;
  for (const [meter, times] of stream.acked) {
    const got = stored.get(meter) ?? [];
    const have = new Set(got);
    lost += times.filter((time) => !have.has(time)).length;
    doubled += got.length - new Set(got).size + [...have].filter((time) => !times.includes(time)).length;
  }
  return { lost, doubled };
}

async function getJson(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface Health {
  status: string;
  reasons: string[];
  ingest?: { watching: boolean; queuing: string[]; workers: Array<{ name: string; state: string }> };
}

/**
 * Workers a and b, a stream of `total` readings; b is SIGKILLed once 4,000 are acknowledged and
 * started again once 4 s have passed and 3,000 more were acknowledged (so its queued share is
 * well over Mosquitto's default cap of 1,000). With `api`, a `facility api` watches the workers.
 */
async function killAndRestart(setup: Setup, options: { total: number; api: boolean }) {
  const [portA, portB, httpPort] = await freePorts(3);
  const dataA = await tempFolder('sfp-worker-a-');
  const dataB = await tempFolder('sfp-worker-b-');
  const a = spawnWorker(setup, 'a', dataA, portA);
  let b = spawnWorker(setup, 'b', dataB, portB);
  // Mosquitto drops a message for a share group with no member yet: both subscribe first.
  await Promise.all([a.ready, b.ready]);

  let api: FacilityProcess | undefined;
  if (options.api) {
    const apiData = await tempFolder('sfp-api-');
    api = await FacilityProcess.start({
      args: [
        ...['api', '--data', apiData, '--broker-url', setup.brokerUrl, '--http-port', String(httpPort)],
        ...['--store', 'influx', '--influx-url', setup.influxUrl, '--influx-database', setup.database],
        ...['--log-level', 'warn'],
      ],
      env: { FACILITY_SERVICE_SECRET: SERVICE_SECRET, FACILITY_ADMIN_TOKEN: ADMIN_TOKEN },
      ready: /^api: http:/m,
    });
    onTestFinished(() => api?.stop());
  }
  const health = async () =>
    (await getJson(`http://127.0.0.1:${httpPort}/api/v1/health`)).body as unknown as Health;
  if (api) {
    await until(
      async () => (await health()).ingest?.workers.filter((w) => w.state === 'online').length === 2,
      'the api to see both workers online',
      15_000,
      100,
    );
  }

  const start = Date.now() - 30 * 60_000;
  const stream = await ReadingStream.connect({
    url: setup.brokerUrl,
    site: SITE,
    meters: METERS,
    ratePerMeter: 250,
    start,
    countPerMeter: options.total / METERS.length,
  });
  onTestFinished(() => stream.close());
  const streaming = stream.run();

  await until(() => stream.ackedCount >= 4_000, '4,000 acknowledged readings', 30_000);
  await b.process.kill('SIGKILL');
  const killedAt = Date.now();
  const ackedAtKill = stream.ackedCount;

  let whileAway: Health | undefined;
  if (api) {
    await until(
      async () => (await health()).ingest?.queuing.includes('b') === true,
      'the api to name b',
      10_000,
      50,
    );
    whileAway = await health();
  }
  await until(
    () => Date.now() - killedAt >= 4_000 && stream.ackedCount - ackedAtKill >= 3_000,
    '4 s and 3,000 readings with b away',
    30_000,
  );
  b = spawnWorker(setup, 'b', dataB, portB);
  await b.ready;
  const awayMs = Date.now() - killedAt;
  const queuedWhileAway = stream.ackedCount - ackedAtKill;

  let afterReturn: Health | undefined;
  if (api) {
    await until(async () => (await health()).status === 'ok', 'the api to be ok again', 15_000, 100);
    afterReturn = await health();
  }
  await streaming;
  expect(stream.errors).toEqual([]);
  expect(stream.ackedCount).toBe(options.total);

  const stored = await settle(setup, start, options.total, 5_000, 60_000);
  const [summaryA, summaryB] = await Promise.all([a.process.stop(), b.process.stop()]);
  expect(a.process.exit, a.process.output).toBe(0);
  expect(b.process.exit, b.process.output).toBe(0);
  let stats: Record<string, unknown> | undefined;
  if (api) {
    stats = (
      await getJson(`http://127.0.0.1:${httpPort}/api/v1/ingest/stats`, {
        authorization: `Bearer ${ADMIN_TOKEN}`,
      })
    ).body;
  }
  return {
    ...lostAndDoubled(stream, stored),
    stored: countOf(stored),
    awayMs,
    queuedWhileAway,
    whileAway,
    afterReturn,
    stats,
    summaries: [summaryA, summaryB],
  };
}

describe('ingest: scale-out on a shared subscription of the exported Mosquitto', () => {
  it('two workers store every message once between them, each a share, and serve /metrics and /health', {
    timeout: 120_000,
  }, async () => {
    const setup = await setUp('shared');
    const [portA, portB] = await freePorts(2);
    const a = spawnWorker(setup, 'a', await tempFolder('sfp-worker-a-'), portA);
    const b = spawnWorker(setup, 'b', await tempFolder('sfp-worker-b-'), portB);
    await Promise.all([a.ready, b.ready]);

    const perMeter = 500;
    const total = METERS.length * perMeter;
    const start = Date.now() - 10 * 60_000;
    const stream = await ReadingStream.connect({
      url: setup.brokerUrl,
      site: SITE,
      meters: METERS,
      ratePerMeter: 250,
      start,
      countPerMeter: perMeter,
    });
    onTestFinished(() => stream.close());
    await stream.run();
    expect(stream.errors).toEqual([]);
    expect(stream.ackedCount).toBe(total);
    const stored = await settle(setup, start, total, 5_000, 30_000);
    expect(lostAndDoubled(stream, stored)).toEqual({ lost: 0, doubled: 0 });

    // Each worker's own figures, over HTTP.
    const healthA = await getJson(`http://127.0.0.1:${portA}/health`);
    expect(healthA).toMatchObject({ status: 200, body: { status: 'ok', name: 'a', connected: true } });
    const metrics = await (await fetch(`http://127.0.0.1:${portB}/metrics`)).text();
    const storedByB = Number(/^ingest_messages_stored_total (\d+)$/m.exec(metrics)?.[1]);
    expect(storedByB).toBeGreaterThan(0);

    const [shareA, shareB] = await Promise.all([a.process.stop(), b.process.stop()]);
    expect(a.process.exit, a.process.output).toBe(0);
    expect(b.process.exit, b.process.output).toBe(0);
    expect(shareA, a.process.output).toMatchObject({ name: 'a', rejected: 0, deadLettered: 0 });
    expect(shareB, b.process.output).toMatchObject({ name: 'b', rejected: 0, deadLettered: 0 });
    const storedA = shareA?.messages ?? 0;
    const storedB = shareB?.messages ?? 0;
    // Each message went to one worker, once: the shares add up to the stream.
    expect(storedA + storedB).toBe(total);
    expect(storedA).toBeGreaterThan(0);
    expect(storedB).toBe(storedByB);
    console.info(`shared subscription: ${total} messages; worker a stored ${storedA}, worker b ${storedB}`);
  });

  it('loses and doubles nothing when a worker is SIGKILLed and back 4 s later; the api names it meanwhile', {
    timeout: 180_000,
  }, async () => {
    const setup = await setUp('killed');
    const total = 20_000;
    const run = await killAndRestart(setup, { total, api: true });
    expect({ lost: run.lost, doubled: run.doubled, stored: run.stored }).toEqual({
      lost: 0,
      doubled: 0,
      stored: total,
    });

    expect(run.whileAway?.status).toBe('degraded');
    expect(run.whileAway?.ingest?.queuing).toEqual(['b']);
    expect(run.whileAway?.reasons.join('\n')).toMatch(
      /ingest worker "b" is offline.*its share of the stream is queuing at the broker \(session svc-ingest-b\)/,
    );
    expect(run.afterReturn).toMatchObject({ status: 'ok', ingest: { watching: true, queuing: [] } });
    expect(run.afterReturn?.ingest?.workers.map((w) => [w.name, w.state])).toEqual([
      ['a', 'online'],
      ['b', 'online'],
    ]);
    // The api's ingest stats name both workers (b's counters are those of its second run).
    expect(run.stats).toMatchObject({ workers: [{ name: 'a' }, { name: 'b' }] });
    console.info(
      `kill and restart (exported configuration): ${total} acknowledged, ${run.stored} stored, ` +
        `lost ${run.lost}, doubled ${run.doubled}; b away ${run.awayMs} ms while ${run.queuedWhileAway} ` +
        `readings were acknowledged; a stored ${run.summaries[0]?.messages}, b after its return ${run.summaries[1]?.messages}`,
    );
  });

  it('retires a worker for good: what queued for it is stored, nothing more queues for it, the api forgets it', {
    timeout: 180_000,
  }, async () => {
    const setup = await setUp('retired');
    const [portA, portB, httpPort] = await freePorts(3);
    const dataB = await tempFolder('sfp-worker-b-');
    const a = spawnWorker(setup, 'a', await tempFolder('sfp-worker-a-'), portA);
    const b = spawnWorker(setup, 'b', dataB, portB);
    await Promise.all([a.ready, b.ready]);
    const api = await FacilityProcess.start({
      args: [
        ...['api', '--data', await tempFolder('sfp-api-'), '--broker-url', setup.brokerUrl],
        ...['--http-port', String(httpPort), '--store', 'influx', '--influx-url', setup.influxUrl],
        ...['--influx-database', setup.database, '--log-level', 'warn'],
      ],
      env: { FACILITY_SERVICE_SECRET: SERVICE_SECRET, FACILITY_ADMIN_TOKEN: ADMIN_TOKEN },
      ready: /^api: http:/m,
    });
    onTestFinished(() => api.stop());
    const health = async () =>
      (await getJson(`http://127.0.0.1:${httpPort}/api/v1/health`)).body as unknown as Health;

    const start = Date.now() - 60 * 60_000;
    const perMeter = 500;
    const streams: ReadingStream[] = [];
    const publish = async (round: number) => {
      const stream = await ReadingStream.connect({
        url: setup.brokerUrl,
        site: SITE,
        meters: METERS,
        ratePerMeter: 250,
        start: start + round * perMeter * 100,
        countPerMeter: perMeter,
      });
      onTestFinished(() => stream.close());
      await stream.run();
      expect(stream.errors).toEqual([]);
      streams.push(stream);
    };

    await publish(0);
    // b stops (gracefully): its share queues in its session while a round is published.
    await b.process.stop();
    expect(b.process.exit, b.process.output).toBe(0);
    await publish(1);
    await until(
      async () => (await health()).ingest?.queuing.includes('b') === true,
      'the api to name b',
      10_000,
    );

    // Retired: it stores what queued for it, ends its session and clears its status.
    const retired = await FacilityProcess.start({
      args: [
        ...['ingest', '--data', dataB, '--broker-url', setup.brokerUrl, '--shared', '--ingest-id', 'b'],
        ...['--store', 'influx', '--influx-url', setup.influxUrl, '--influx-database', setup.database],
        ...['--log-level', 'warn', '--retire'],
      ],
      env: { FACILITY_SERVICE_SECRET: SERVICE_SECRET },
      ready: /^ingest b: retired: its session svc-ingest-b is ended/m,
    });
    const drained = Number(
      /^ingest b: stored ([\d,]+) messages/m.exec(retired.stdout)?.[1]?.replaceAll(',', ''),
    );
    expect(drained, retired.output).toBeGreaterThan(0);
    await until(
      async () => {
        const now = await health();
        return now.status === 'ok' && now.ingest?.workers.map((w) => w.name).join() === 'a';
      },
      'the api to forget b',
      10_000,
    );

    // A last round: all of it goes to a, since b has no session left to queue in.
    await publish(2);
    const total = 3 * METERS.length * perMeter;
    const stored = await settle(setup, start, total, 5_000, 30_000);
    let lost = 0;
    for (const stream of streams) lost += lostAndDoubled(stream, stored).lost;
    expect({ lost, stored: countOf(stored) }).toEqual({ lost: 0, stored: total });
    const shareA = await a.process.stop();
    expect(a.process.exit, a.process.output).toBe(0);
    // a took every message of the last round, and b's queued share went to the retired b.
    expect((shareA?.messages ?? 0) + (b.process.summary?.messages ?? 0) + drained).toBe(total);
    console.info(
      `retire: ${total} messages; a stored ${shareA?.messages}, b ${b.process.summary?.messages} before it ` +
        `stopped and ${drained} queued for it while away, stored when retired`,
    );
  });

  it("loses acknowledged messages on Mosquitto's default queue cap (the control)", {
    timeout: 180_000,
  }, async () => {
    const setup = await setUp('defaults', 'max_queued_messages 1000\nmax_inflight_messages 20');
    const total = 12_000;
    const run = await killAndRestart(setup, { total, api: false });
    expect(run.doubled).toBe(0);
    expect(run.lost).toBeGreaterThan(0);
    console.info(
      `kill and restart (Mosquitto's defaults): ${total} acknowledged, lost ${run.lost} ` +
        `(${((100 * run.lost) / total).toFixed(1)} %); b away ${run.awayMs} ms while ${run.queuedWhileAway} ` +
        'readings were acknowledged',
    );
  });
});
