/**
 * `npm run bench:ingest` — the telemetry path end to end, at QoS 1, measured in one run against a
 * reference measured in the same run:
 *
 * * reference: a bare aedes broker (defaults: in-memory persistence, no authentication hooks),
 *   publishers → broker → one plain mqtt.js subscriber at QoS 1, messages/s delivered;
 * * the in-process ingest of `facility start`: publishers → FacilityBroker (authentication, ACL,
 *   limits, LevelDB sessions) with the BrokerIngest as its publish gate → the store wrapped as
 *   `facility start` wraps it (a RollingStore: every write folds the rollups and resolves once
 *   they are committed; `--raw-store` leaves that out) → DuckDB (acknowledged after the commit),
 *   and → InfluxDB (a real `influxd`; acknowledged once in the spool, then written from it),
 *   points/s committed in the store;
 * * the MQTT-client ingest of `facility ingest` (the scale-out path): publishers → FacilityBroker
 *   → `Ingest` (an MQTT client with a persistent session) → DuckDB and → InfluxDB.
 *
 * Each with one reading per message and with gateway messages of 100 readings. The devices
 * (simulators/load.ts) publish from a child process, so that generating the load does not take
 * the broker's event loop; broker and consumer (subscriber, or ingest and store) share this
 * process, as in `facility start`. Each scenario offers more than the path can take, for
 * `--seconds`, and measures what arrives: from the first message the consumer sees to the moment
 * the last acknowledged one is delivered (reference) or committed (ingest: its stored-points
 * counter, then checked against the store: nothing lost, nothing counted that is not there).
 *
 * `--docs` also rewrites the figures in docs/benchmarks.md.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { FacilityBroker } from '../broker/broker.ts';
import { outlierEntries } from '../core/dead-letter.ts';
import { DEMO_FACILITY_PATH, type Facility, loadFacility } from '../core/facility/index.ts';
import { RollingStore } from '../core/rollup/rolling-store.ts';
import type { TimeSeriesStore } from '../core/store.ts';
import { BrokerIngest, Ingest, MemoryDeadLetterSink } from '../ingest/index.ts';
import { type LoadResult, loadDevices, loadTestFacility, runLoad } from '../simulators/load.ts';
import { DuckDbStore } from '../storage/duckdb/duckdb-store.ts';
import { InfluxStore } from '../storage/influx/influx-store.ts';
import { InfluxdProcess } from '../tests/setup/influxd-process.ts';
import { writeDocs } from './report.ts';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '5' },
    /** Publishing devices (one MQTT connection each). */
    publishers: { type: 'string', default: '32' },
    /** Offered messages/s with one reading per message. */
    rate: { type: 'string', default: '60000' },
    /** Offered messages/s with 100 readings per message. */
    'gateway-rate': { type: 'string', default: '12000' },
    /** Offered messages/s to the MQTT-client ingest (it takes about a tenth of the in-process one). */
    'client-rate': { type: 'string', default: '8000' },
    /** Offered messages/s of 100 readings to the MQTT-client ingest. */
    'client-gateway-rate': { type: 'string', default: '2500' },
    /** Sessions of the FacilityBroker under the ingests: `level` (the product's default) or `memory`. */
    persistence: { type: 'string', default: 'level' },
    /** Ingest batch size, points per store write (default: the ingest's). */
    'batch-points': { type: 'string' },
    /** Write to the store itself, without the RollingStore that folds rollups (what folding costs). */
    'raw-store': { type: 'boolean', default: false },
    /** Only scenarios whose label contains this (the references always run). */
    only: { type: 'string' },
    /** Leave the references out (for profiling a path; no ratios then). */
    'no-reference': { type: 'boolean', default: false },
    /** Internal: run as the publishing child process. */
    publisher: { type: 'string' },
  },
});

const SERVICE = { service: 'bench', username: 'svc-bench', password: 'bench-password' };
const GATEWAY = 100;
const DAY = 86_400_000;

/** Shares of the offered load the reference runs at; its best counts. */
const REFERENCE_SHARES = [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;

/** Aims of issue 10 for the in-process ingest into DuckDB. */
const AIMS = { single: { vsReference: 1.0, pointsPerSecond: 25_000 }, gateway: { pointsPerSecond: 250_000 } };

type Persistence = 'level' | 'memory';

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

type Path = 'reference' | 'in-process' | 'mqtt-client';

interface Measured {
  readonly path: Path;
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

/** How long a scenario may go without a point arriving before it is given up, ms. */
const STUCK_MS = 120_000;

/** A scenario given up: no point arrived for {@link STUCK_MS}; its row says so, and why. */
class Stuck extends Error {}

interface Unfinished {
  readonly what: string;
  readonly batch: number;
  readonly reason: string;
}

/**
 * Runs one load against a counter: `count()` says how many points have arrived so far. Waits
 * until every acknowledged point arrived (or 120 s passed without progress).
 */
async function measure(
  path: Path,
  name: string,
  facility: Facility,
  url: string,
  batch: number,
  rate: number,
  count: () => number,
  /** What the consumer says when it is stuck (its store's state, its rejections). */
  explain: () => string = () => '',
): Promise<Measured> {
  const { child, result } = publish({
    url,
    site: facility.site.id,
    devices: Number(args.publishers),
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
    if (now - lastChange > STUCK_MS) {
      child.kill('SIGKILL');
      result.catch(() => undefined);
      const acknowledged = done ? ` of ${fmt(done.acknowledged * batch)} acknowledged` : '';
      throw new Stuck(
        `no point committed for ${STUCK_MS / 1000} s, at ${fmt(n)}${acknowledged} after ${Math.round((now - first) / 1000)} s${explain()}`,
      );
    }
    await sleep(2);
  }
  const load = await result;
  if (load.errors > 0 || load.acknowledged !== load.messages) {
    throw new Error(
      `${name}: ${load.errors} publish errors, ${load.acknowledged}/${load.messages} acknowledged`,
    );
  }
  return {
    path,
    name,
    batch,
    load,
    messages: last / batch,
    points: last,
    ms: end - first,
    offered: load.messages / (load.publishMs / 1000),
  };
}

/** The reference: a bare aedes broker on TCP (no-delay sockets), one mqtt.js subscriber at QoS 1. */
async function bareBroker(facility: Facility, batch: number, rate: number): Promise<Measured> {
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const url = `mqtt://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const subscriber = await mqtt.connectAsync(url, { clientId: 'bench-subscriber', reconnectPeriod: 0 });
  (subscriber.stream as Socket).setNoDelay(true);
  let points = 0;
  subscriber.on('message', () => {
    points += batch;
  });
  await subscriber.subscribeAsync('fac/#', { qos: 1 });
  try {
    return await measure(
      'reference',
      'bare aedes → mqtt.js subscriber',
      facility,
      url,
      batch,
      rate,
      () => points,
    );
  } finally {
    await subscriber.endAsync(true);
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

async function facilityBroker(
  facility: Facility,
  dir: string,
  persistence: Persistence,
  gate?: BrokerIngest,
): Promise<FacilityBroker> {
  const broker = new FacilityBroker({
    facility,
    services: [SERVICE],
    host: '127.0.0.1',
    mqttPort: 0,
    persistence: persistence === 'memory' ? { kind: 'memory' } : { kind: 'level', dir: join(dir, 'mqtt') },
    // Throughput, not the per-device limit, is measured here.
    rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
    ...(gate ? { gate } : {}),
  });
  await broker.start();
  return broker;
}

interface StoreChoice {
  readonly label: 'DuckDB' | 'InfluxDB';
  make(dir: string): TimeSeriesStore;
}

/** Points in the store's `meter` measurement. */
async function pointsInStore(store: TimeSeriesStore): Promise<number> {
  const counted = await store.query({
    measurement: 'meter',
    fields: ['total'],
    aggregate: 'count',
    from: Date.now() - DAY,
    to: Date.now() + DAY,
  });
  return counted.reduce((n, s) => n + s.rows.reduce((m, r) => m + Number(r.values.total ?? 0), 0), 0);
}

/** Readings the meter rollups count, over the same day as {@link pointsInStore}. */
async function readingsInRollups(store: TimeSeriesStore, facility: Facility): Promise<number> {
  const series = await store.readRollups({
    kind: 'meter',
    site: facility.site.id,
    from: Date.now() - DAY,
    to: Date.now() + DAY,
    fields: ['readings'],
  });
  let n = 0;
  for (const s of series) for (const value of s.values.readings as Float64Array) n += value;
  return n;
}

async function ingestInto(
  facility: Facility,
  path: 'in-process' | 'mqtt-client',
  choice: StoreChoice,
  batch: number,
  rate: number,
): Promise<Measured> {
  const persistence: Persistence = args.persistence === 'memory' ? 'memory' : 'level';
  const dir = await mkdtemp(join(tmpdir(), 'bench-ingest-'));
  const deadLetters = new MemoryDeadLetterSink();
  // As createStorage (cli/platform.ts) builds it for `facility start` and `facility ingest`.
  const inner = choice.make(dir);
  const store: TimeSeriesStore = args['raw-store']
    ? inner
    : new RollingStore({
        store: inner,
        facility,
        // As createStorage builds it: DuckDB's file is this process's alone.
        soleWriter: choice.label === 'DuckDB',
        onOutliers: (outliers) =>
          void deadLetters.add(outlierEntries(facility.site.id, outliers, Date.now())),
      });
  await store.start();
  // InfluxStore names the server's version once started.
  const shown = choice.label === 'InfluxDB' ? store.name.replace(/^influxdb/, 'InfluxDB') : choice.label;
  const common = {
    facility,
    store,
    deadLetters,
    maxAgeMs: 30 * DAY,
    ...(args['batch-points'] === undefined ? {} : { batch: { maxPoints: Number(args['batch-points']) } }),
  };
  const stops: Array<() => Promise<void>> = [];
  try {
    let stats: () => ReturnType<Ingest['stats']>;
    let url: string;
    let label: string;
    if (path === 'in-process') {
      const ingest = new BrokerIngest({
        ...common,
        ...(choice.label === 'InfluxDB' ? { spool: { dir: join(dir, 'spool') } } : {}),
      });
      await ingest.start();
      stops.push(() => ingest.stop());
      const broker = await facilityBroker(facility, dir, persistence, ingest);
      stops.push(() => broker.stop());
      url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
      stats = () => ingest.stats();
      label = `in-process ingest → ${shown}${choice.label === 'InfluxDB' ? ' (through the spool)' : ''}`;
    } else {
      const broker = await facilityBroker(facility, dir, persistence);
      stops.push(() => broker.stop());
      url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
      const ingest = new Ingest({
        ...common,
        mqtt: { url, clientId: 'bench-ingest', username: SERVICE.username, password: SERVICE.password },
      });
      await ingest.start();
      stops.push(() => ingest.stop());
      stats = () => ingest.stats();
      label = `MQTT-client ingest → ${shown}`;
    }
    const measured = await measure(
      path,
      label,
      facility,
      url,
      batch,
      rate,
      () => stats().points.stored,
      () => {
        const now = stats();
        const store = now.store.status === 'ok' ? '' : `; store: ${JSON.stringify(now.store)}`;
        const rejected =
          now.messages.rejected > 0 ? `; rejected: ${JSON.stringify(now.rejectedByReason)}` : '';
        return `${store}${rejected}`;
      },
    );
    const final = stats();
    if (final.messages.rejected > 0) {
      throw new Error(
        `${label}: ${final.messages.rejected} messages rejected: ${JSON.stringify(final.rejections)}`,
      );
    }
    // Nothing lost: every acknowledged reading is in the store, and the counter says no more.
    const inStore = await pointsInStore(store);
    const acknowledged = measured.load.acknowledged * batch;
    if (inStore !== measured.points || inStore !== acknowledged) {
      throw new Error(
        `${label}: ${acknowledged} readings acknowledged, the ingest counted ${measured.points}, the store holds ${inStore}`,
      );
    }
    // And folded: the meter rollups count every stored reading (the last folds may still run:
    // a batch is stored before its rollups fold, and through the spool acknowledged before both).
    if (store instanceof RollingStore) {
      await store.settled();
      const folded = await readingsInRollups(store, facility);
      if (folded !== inStore)
        throw new Error(`${label}: ${inStore} readings stored, ${folded} in the rollups`);
    }
    return measured;
  } finally {
    for (const stop of stops.reverse()) await stop();
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ratio = (n: number) => `${n.toFixed(2)}×`;

async function main(): Promise<void> {
  const publishers = Number(args.publishers);
  const facility = loadTestFacility(demoFacility(), publishers);
  const rates = { 1: Number(args.rate), [GATEWAY]: Number(args['gateway-rate']) } as Record<number, number>;
  const clientRates = {
    1: Number(args['client-rate']),
    [GATEWAY]: Number(args['client-gateway-rate']),
  } as Record<number, number>;
  const log = (line: string) => process.stderr.write(`${line}\n`);

  log('warm-up…');
  await bareBroker(facility, 1, 2000);

  const results: Measured[] = [];
  /** Every scenario run, in order: measured, or given up. */
  const outcomes: Array<Measured | Unfinished> = [];
  const run = async (what: string, scenario: () => Promise<Measured>, batch = 1) => {
    if (args.only !== undefined && !what.startsWith('bare') && !what.includes(args.only)) return;
    log(`${what}…`);
    let measured: Measured;
    try {
      measured = await scenario();
    } catch (error) {
      if (!(error instanceof Stuck)) throw error;
      log(`  did not finish: ${error.message}`);
      outcomes.push({ what, batch, reason: error.message });
      return;
    }
    log(
      `  ${fmt(measured.messages)} messages, ${fmt(measured.points)} points in ${(measured.ms / 1000).toFixed(2)} s: ` +
        `${fmt((measured.messages / measured.ms) * 1000)} msg/s, ${fmt((measured.points / measured.ms) * 1000)} points/s ` +
        `(offered ${fmt(measured.offered)} msg/s)`,
    );
    results.push(measured);
    outcomes.push(measured);
  };

  const influxd = await InfluxdProcess.create();
  try {
    log('influxd: starting…');
    await influxd.start();
    let n = 0;
    const stores: StoreChoice[] = [
      { label: 'DuckDB', make: (dir) => new DuckDbStore({ path: join(dir, 'bench.duckdb') }) },
      {
        label: 'InfluxDB',
        make: () => new InfluxStore({ url: influxd.url, database: `bench_ingest_${n++}` }),
      },
    ];
    for (const batch of [1, GATEWAY]) {
      const rate = rates[batch] as number;
      const readings = batch === 1 ? '1 reading/message' : `${batch} readings/message`;
      // The reference at its best: overloaded, aedes queues deliveries (mqemitter's queue, which
      // it shifts one by one) and slows down, so it runs at several loads and the best is kept.
      if (!args['no-reference'])
        await run(`bare aedes, ${readings}`, async () => {
          const tries: Measured[] = [];
          for (const share of REFERENCE_SHARES) tries.push(await bareBroker(facility, batch, rate * share));
          return tries.reduce((best, r) => (r.messages / r.ms > best.messages / best.ms ? r : best));
        });
      for (const path of ['in-process', 'mqtt-client'] as const) {
        const offered = path === 'in-process' ? rate : (clientRates[batch] as number);
        for (const store of stores) {
          await run(
            `${path} → ${store.label}, ${readings}`,
            () => ingestInto(facility, path, store, batch, offered),
            batch,
          );
        }
      }
    }
  } finally {
    await influxd.dispose();
  }

  const perSecond = (r: Measured, n: number) => (n / r.ms) * 1000;
  const rows = outcomes.map((r) => {
    if ('reason' in r) {
      const name = r.what
        .replace(/, \d+ readings?\/message$/, '')
        .replace(/^in-process →/, 'in-process ingest →')
        .replace(/^mqtt-client →/, 'MQTT-client ingest →');
      return `| ${name} | ${r.batch} | — | — | — | — | did not finish: ${r.reason} |`;
    }
    const ref = results.find((x) => x.path === 'reference' && x.batch === r.batch);
    const msgs = perSecond(r, r.messages);
    const vs = r === ref ? '1.00× (reference)' : ref ? ratio(msgs / perSecond(ref, ref.messages)) : '—';
    return `| ${r.name} | ${r.batch} | ${fmt(r.offered)} | ${fmt(r.messages)} | ${fmt(msgs)} | ${fmt(perSecond(r, r.points))} | ${vs} |`;
  });
  const aim = (batch: number) => {
    const row = results.find(
      (r) => r.path === 'in-process' && r.batch === batch && r.name.includes('DuckDB'),
    );
    const ref = results.find((r) => r.path === 'reference' && r.batch === batch);
    if (!row || !ref) return '—';
    const points = perSecond(row, row.points);
    if (batch === 1) {
      const vs = perSecond(row, row.messages) / perSecond(ref, ref.messages);
      const ok = vs >= AIMS.single.vsReference && points >= AIMS.single.pointsPerSecond;
      return `${ratio(vs)} the bare broker and ${fmt(points)} points/s (aim ≥ ${ratio(AIMS.single.vsReference)} and ≥ ${fmt(AIMS.single.pointsPerSecond)}): ${ok ? 'met' : 'missed'}`;
    }
    const ok = points >= AIMS.gateway.pointsPerSecond;
    return `${fmt(points)} points/s (aim ≥ ${fmt(AIMS.gateway.pointsPerSecond)}): ${ok ? 'met' : 'missed'}`;
  };
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const report = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpu}, Node ${process.version}, by \`npm run bench:ingest\`.`,
    `QoS 1 end to end, ${publishers} publishing devices (simulators/load.ts) in a child process for ${args.seconds} s, offering`,
    `${fmt(rates[1] as number)} messages/s of 1 reading and ${fmt(rates[GATEWAY] as number)} of ${GATEWAY} readings to the in-process ingest (${fmt(clientRates[1] as number)} and ${fmt(clientRates[GATEWAY] as number)} to the`,
    'MQTT-client ingest, which takes far less), more than each path takes. Reference: a bare aedes broker (defaults)',
    `passing the same messages to one mqtt.js subscriber at QoS 1, at its best of ${REFERENCE_SHARES.map((x) => `${Math.round(x * 100)} %`).join(', ')} of the`,
    'offered load (overloaded, aedes queues deliveries and slows down). The ingests run on the',
    `platform's broker (authentication, ACL, limits, ${args.persistence === 'memory' ? 'in-memory' : 'LevelDB'} sessions) in the same process as their store,`,
    args['raw-store']
      ? 'as in `facility start` but writing to the store itself, without folding rollups (`--raw-store`).'
      : 'as in `facility start`: through the RollingStore, so a batch is committed once its rollups are.',
    'A rate is what arrived, from the first message seen to the last one delivered (reference)',
    'or committed in the store (ingest); every acknowledged reading was then counted in the store.',
    '',
    `In-process → DuckDB, 1 reading/message: ${aim(1)}.`,
    `In-process → DuckDB, ${GATEWAY} readings/message: ${aim(GATEWAY)}.`,
    '',
    '| path | readings/message | offered msg/s | messages | messages/s | points/s | vs bare broker |',
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
