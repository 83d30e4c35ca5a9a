/**
 * `npm run bench:ingest` — the telemetry path end to end, at QoS 1, measured in one run:
 *
 * * reference: the raw broker, publishers → FacilityBroker → a plain mqtt.js subscriber
 *   (QoS 1, persistent session), messages/s delivered;
 * * publishers → broker → Ingest → DuckDB, points/s committed, with one reading per message and
 *   with gateway messages of 100 readings;
 * * the same into InfluxDB (a real `influxd`, started as tests/setup/influxd-process.ts does).
 *
 * The broker is the product's, every socket no-delay, with LevelDB sessions (the default of
 * `facility start`) and again with in-memory sessions, which show what the ingest does when the
 * broker's disk is not the limit. Broker and consumer (subscriber, or ingest and store) run in
 * this process, as in `facility start`; the virtual devices (simulators/load.ts) publish from a
 * child process, so that generating the load does not take the broker's event loop. Each scenario
 * offers more than the path can take, for `--seconds`, and measures what arrives: from the first
 * message the consumer sees to the moment the last acknowledged one is delivered (reference) or
 * committed (ingest: its committed-points counter, then checked against the store).
 *
 * `--docs` also rewrites the figures in docs/benchmarks.md.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { FacilityBroker } from '../broker/broker.ts';
import { DEMO_FACILITY_PATH, type Facility, loadFacility } from '../core/facility/index.ts';
import type { TimeSeriesStore } from '../core/store.ts';
import { Ingest, MemoryDeadLetterSink } from '../ingest/index.ts';
import { type LoadResult, loadDevices, loadTestFacility, runLoad } from '../simulators/load.ts';
import { DuckDbStore } from '../storage/duckdb/duckdb-store.ts';
import { InfluxStore } from '../storage/influx/influx-store.ts';
import { InfluxdProcess } from '../tests/setup/influxd-process.ts';
import { writeDocs } from './report.ts';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '5' },
    devices: { type: 'string', default: '200' },
    /** Offered messages/s with one reading per message (default per broker persistence, see RATES). */
    rate: { type: 'string' },
    /** Offered messages/s with 100 readings per message (default per broker persistence). */
    'gateway-rate': { type: 'string' },
    /** Broker sessions: `level` (the product's default), `memory`, or `both` (default). */
    persistence: { type: 'string', default: 'both' },
    /** Ingest batch size, points per store write (default: the ingest's). */
    'batch-points': { type: 'string' },
    /** Only scenarios whose label contains this. */
    only: { type: 'string' },
    /** Internal: run as the publishing child process. */
    publisher: { type: 'string' },
  },
});

const SERVICE = { service: 'bench', username: 'svc-bench', password: 'bench-password' };
const GATEWAY = 100;

type Persistence = 'level' | 'memory';

/**
 * Offered load per broker persistence, messages/s: about twice what the raw broker delivers on
 * the 2-core machine, so that every path runs flat out without an hour-long backlog.
 */
const RATES: Readonly<Record<Persistence, { readonly single: number; readonly gateway: number }>> = {
  level: { single: 5_000, gateway: 2_000 },
  memory: { single: 15_000, gateway: 4_000 },
};

function demoFacility(): Facility {
  const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
  if (!loaded.ok) throw new Error('the demo facility does not load');
  return loaded.facility;
}

// ---------------------------------------------------------------------------------------------
// The publishing child
// ---------------------------------------------------------------------------------------------

interface PublisherTask {
  readonly url: string;
  readonly site: string;
  readonly devices: number;
  readonly rate: number;
  readonly batch: number;
  readonly durationMs: number;
}

function publish(task: PublisherTask): { child: ChildProcess; result: Promise<LoadResult> } {
  const child = fork(fileURLToPath(import.meta.url), ['--publisher', JSON.stringify(task)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const result = new Promise<LoadResult>((resolve, reject) => {
    child.once('message', (message) => resolve(message as LoadResult));
    child.once('exit', (code) => reject(new Error(`publisher exited (${code}) without a result`)));
  });
  return { child, result };
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

interface Measured {
  readonly name: string;
  readonly batch: number;
  readonly load: LoadResult;
  /** Messages delivered (reference) or stored (ingest). */
  readonly messages: number;
  readonly points: number;
  /** From the first message seen to the last delivered or committed, ms. */
  readonly ms: number;
  /** Publishing rate the child achieved, messages/s. */
  readonly offered: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startBroker(
  facility: Facility,
  dir: string,
  persistence: Persistence,
): Promise<FacilityBroker> {
  const broker = new FacilityBroker({
    facility,
    services: [SERVICE],
    host: '127.0.0.1',
    mqttPort: 0,
    persistence: persistence === 'memory' ? { kind: 'memory' } : { kind: 'level', dir: join(dir, 'mqtt') },
    // Throughput, not the per-device limit, is measured here.
    rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
  });
  await broker.start();
  return broker;
}

/**
 * Runs one load against `consume`'s counter: `count()` says how many points have arrived so far.
 * Waits until every acknowledged point arrived (or 120 s passed without progress).
 */
async function measure(
  name: string,
  facility: Facility,
  url: string,
  batch: number,
  rate: number,
  count: () => number,
): Promise<Measured> {
  const devices = Number(args.devices);
  const { result } = publish({
    url,
    site: facility.site.id,
    devices,
    rate,
    batch,
    durationMs: Number(args.seconds) * 1000,
  });
  let first = Number.NaN;
  let done: LoadResult | undefined;
  void result.then((r) => {
    done = r;
  });
  let last = -1;
  let lastChange = performance.now();
  let end = Number.NaN;
  for (;;) {
    const n = count();
    const now = performance.now();
    if (n > 0 && Number.isNaN(first)) first = now;
    if (n !== last) {
      last = n;
      lastChange = now;
    }
    if (done && n >= done.acknowledged * batch) {
      end = now;
      break;
    }
    if (now - lastChange > 120_000) throw new Error(`${name}: stuck at ${n} points`);
    await sleep(2);
  }
  const load = await result;
  return {
    name,
    batch,
    load,
    messages: last / batch,
    points: last,
    ms: end - first,
    offered: load.messages / (load.publishMs / 1000),
  };
}

async function rawBroker(
  facility: Facility,
  persistence: Persistence,
  batch: number,
  rate: number,
): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-ingest-'));
  const broker = await startBroker(facility, dir, persistence);
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  const subscriber = await mqtt.connectAsync(url, {
    clientId: 'bench-subscriber',
    username: SERVICE.username,
    password: SERVICE.password,
    clean: false,
    reconnectPeriod: 0,
  });
  let points = 0;
  subscriber.on('message', () => {
    points += batch;
  });
  await subscriber.subscribeAsync('fac/#', { qos: 1 });
  try {
    return await measure(`raw broker → mqtt.js subscriber`, facility, url, batch, rate, () => points);
  } finally {
    await subscriber.endAsync(true);
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function ingestInto(
  facility: Facility,
  persistence: Persistence,
  label: string,
  makeStore: (dir: string) => TimeSeriesStore,
  batch: number,
  rate: number,
): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-ingest-'));
  const broker = await startBroker(facility, dir, persistence);
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  const store = makeStore(dir);
  await store.start();
  // InfluxStore names the server's version once started.
  const shown = label === 'InfluxDB' ? store.name.replace(/^influxdb/, 'InfluxDB') : label;
  const deadLetters = new MemoryDeadLetterSink();
  const ingest = new Ingest({
    facility,
    store,
    deadLetters,
    maxAgeMs: 30 * 86_400_000,
    ...(args['batch-points'] === undefined ? {} : { batch: { maxPoints: Number(args['batch-points']) } }),
    mqtt: { url, clientId: 'bench-ingest', username: SERVICE.username, password: SERVICE.password },
  });
  await ingest.start();
  try {
    const measured = await measure(
      `ingest → ${label}`,
      facility,
      url,
      batch,
      rate,
      () => ingest.stats().points.stored,
    );
    const stats = ingest.stats();
    if (stats.messages.rejected > 0) {
      throw new Error(
        `${label}: ${stats.messages.rejected} messages rejected: ${JSON.stringify(stats.rejections)}`,
      );
    }
    // What the counter says is committed is in the store.
    const counted = await store.query({
      measurement: 'meter',
      fields: ['total'],
      aggregate: 'count',
      from: 0,
      to: Date.now() + 3_600_000,
    });
    const inStore = counted.reduce(
      (n, s) => n + s.rows.reduce((m, r) => m + Number(r.values.total ?? 0), 0),
      0,
    );
    if (inStore !== measured.points) {
      throw new Error(`${label}: the ingest counted ${measured.points} points, the store holds ${inStore}`);
    }
    return { ...measured, name: `ingest → ${shown}`, points: stats.points.stored };
  } finally {
    await ingest.stop();
    await store.stop();
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (n: number) => `${Math.round(n * 100)} %`;

/**
 * Serial QoS 1 round trips (PUBLISH → PUBACK) of one device, with a subscriber attached: p50 and
 * p99, ms. Nagle's algorithm on the broker's sockets shows here as ~40 ms (the peer's delayed ACK).
 */
async function roundTrips(
  facility: Facility,
  persistence: Persistence,
  count = 500,
): Promise<{ p50: number; p99: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-ingest-'));
  const broker = await startBroker(facility, dir, persistence);
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  const subscriber = await mqtt.connectAsync(url, {
    clientId: 'bench-subscriber',
    username: SERVICE.username,
    password: SERVICE.password,
    clean: false,
    reconnectPeriod: 0,
  });
  await subscriber.subscribeAsync('fac/#', { qos: 1 });
  const [device] = loadDevices(1);
  if (!device) throw new Error('no load device');
  const client = await mqtt.connectAsync(url, {
    clientId: device.id,
    username: device.id,
    password: device.secret,
    reconnectPeriod: 0,
  });
  const topic = `fac/${facility.site.id}/meter/${device.id}/reading`;
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      await client.publishAsync(topic, JSON.stringify({ ts: Date.now() - count + i, total: i }), { qos: 1 });
      times.push(performance.now() - t0);
    }
  } finally {
    await client.endAsync(true);
    await subscriber.endAsync(true);
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

async function main(): Promise<void> {
  const devices = Number(args.devices);
  const facility = loadTestFacility(demoFacility(), devices);
  const persistences: Persistence[] =
    args.persistence === 'both' ? ['level', 'memory'] : [args.persistence === 'memory' ? 'memory' : 'level'];
  const rates = (persistence: Persistence) => ({
    single: args.rate === undefined ? RATES[persistence].single : Number(args.rate),
    gateway: args['gateway-rate'] === undefined ? RATES[persistence].gateway : Number(args['gateway-rate']),
  });
  const log = (line: string) => process.stderr.write(`${line}\n`);

  log('warm-up…');
  await rawBroker(facility, 'memory', 1, 2000);
  const latency = await roundTrips(facility, 'level');
  log(`QoS 1 round trip: p50 ${latency.p50.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms`);

  const results: Array<Measured & { readonly persistence: Persistence }> = [];
  const run = async (persistence: Persistence, what: string, scenario: () => Promise<Measured>) => {
    if (args.only !== undefined && !what.startsWith('raw') && !what.includes(args.only)) return;
    log(`${persistence} sessions: ${what}…`);
    const measured = await scenario();
    log(
      `  ${fmt(measured.messages)} messages, ${fmt(measured.points)} points in ${(measured.ms / 1000).toFixed(2)} s: ` +
        `${fmt((measured.messages / measured.ms) * 1000)} msg/s, ${fmt((measured.points / measured.ms) * 1000)} points/s ` +
        `(offered ${fmt(measured.offered)} msg/s)`,
    );
    results.push({ ...measured, persistence });
  };

  const influxd = await InfluxdProcess.create();
  try {
    log('influxd: starting…');
    await influxd.start();
    let n = 0;
    const influx = () => new InfluxStore({ url: influxd.url, database: `bench_ingest_${n++}` });
    const duck = (dir: string) => new DuckDbStore({ path: join(dir, 'bench.duckdb') });
    for (const persistence of persistences) {
      const { single, gateway } = rates(persistence);
      await run(persistence, 'raw broker, 1 reading/message', () =>
        rawBroker(facility, persistence, 1, single),
      );
      await run(persistence, 'raw broker, 100 readings/message', () =>
        rawBroker(facility, persistence, GATEWAY, gateway),
      );
      await run(persistence, 'ingest → DuckDB, 1 reading/message', () =>
        ingestInto(facility, persistence, 'DuckDB', duck, 1, single),
      );
      await run(persistence, 'ingest → DuckDB, 100 readings/message', () =>
        ingestInto(facility, persistence, 'DuckDB', duck, GATEWAY, gateway),
      );
      await run(persistence, 'ingest → InfluxDB, 1 reading/message', () =>
        ingestInto(facility, persistence, 'InfluxDB', influx, 1, single),
      );
      await run(persistence, 'ingest → InfluxDB, 100 readings/message', () =>
        ingestInto(facility, persistence, 'InfluxDB', influx, GATEWAY, gateway),
      );
    }
  } finally {
    await influxd.dispose();
  }

  const perSecond = (r: Measured, n: number) => (n / r.ms) * 1000;
  const rows = results.map((r) => {
    const ref = results.find(
      (x) => x.persistence === r.persistence && x.batch === r.batch && x.name.startsWith('raw'),
    );
    const msgs = perSecond(r, r.messages);
    const vs = r === ref ? '100 % (reference)' : ref ? pct(msgs / perSecond(ref, ref.messages)) : '—';
    const sessions = r.persistence === 'level' ? 'LevelDB (default)' : 'memory';
    return `| ${sessions} | ${r.name} | ${r.batch} | ${fmt(r.messages)} | ${fmt(msgs)} | ${fmt(perSecond(r, r.points))} | ${vs} |`;
  });
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const offered = persistences
    .map(
      (p) =>
        `${fmt(rates(p).single)} / ${fmt(rates(p).gateway)} with ${p === 'level' ? 'LevelDB' : 'memory'} sessions`,
    )
    .join(', ');
  const report = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpu}, Node ${process.version}, by \`npm run bench:ingest\`.`,
    `QoS 1 end to end through the embedded broker (sockets no-delay: a serial PUBLISH → PUBACK round trip takes`,
    `${latency.p50.toFixed(2)} ms at p50, ${latency.p99.toFixed(2)} ms at p99). ${fmt(devices)} virtual meters (simulators/load.ts) publish from a child`,
    `process for ${args.seconds} s, offering messages/s (1 / ${GATEWAY} readings a message): ${offered}, more than the path`,
    'takes; broker and consumer share one process, as in `facility start`. A rate is what arrived, from the first',
    'message seen to the last one delivered (reference) or committed in the store (ingest, checked against the store).',
    '',
    '| broker sessions | path | readings/message | messages | messages/s | points/s | vs raw broker |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  process.stdout.write(`${report}\n`);
  if (args.docs) await writeDocs('ingest', report);
}

// The entry point, last: the constants above must be initialised first.
if (args.publisher !== undefined) {
  const task = JSON.parse(args.publisher) as PublisherTask;
  const result = await runLoad({
    brokerUrl: task.url,
    site: task.site,
    devices: loadDevices(task.devices),
    rate: task.rate,
    batch: task.batch,
    durationMs: task.durationMs,
    qos: 1,
    drainMs: 120_000,
  });
  process.send?.(result);
  process.disconnect?.();
} else {
  await main();
}
