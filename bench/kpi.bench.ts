/**
 * `npm run bench:kpi` — latency of the vehicle and room KPI services on a month of history:
 *
 * * one month (October 2026, site time) of the demo facility's cars and room sensors (seed
 *   20261128, plus a day before for the look-back) generated into a DuckDB file in the system's
 *   temporary folder and reused by the next run (`--fresh` regenerates it);
 * * `vehicleUtilization` and `roomUtilization` for that month, called directly (no HTTP):
 *   p50 / p95 of `--runs` calls after one warm-up each, split into the wall time during which a
 *   store read (`query()`, `queryColumns()`) was in flight and the rest (compute alone).
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readFacilityFile } from '../cli/read-facility.ts';
import { roomUtilization } from '../core/kpi/room-service.ts';
import type { KpiContext } from '../core/kpi/types.ts';
import { vehicleUtilization } from '../core/kpi/vehicle-service.ts';
import { queryColumns, type TimeSeriesStore } from '../core/store.ts';
import { backfill } from '../simulators/backfill.ts';
import { createSimulation } from '../simulators/simulation.ts';
import { DuckDbStore } from '../storage/duckdb/duckdb-store.ts';
import { percentile } from './report.ts';

const { values: args } = parseArgs({
  options: {
    fresh: { type: 'boolean', default: false },
    runs: { type: 'string', default: '10' },
  },
});

const SEED = 20_261_128;
const DAY = 86_400_000;
/** October 2026 in Chengdu (UTC+8). */
const FROM = Date.UTC(2026, 8, 30, 16);
const TO = Date.UTC(2026, 9, 31, 16);

const loaded = await readFacilityFile(undefined);
if (!loaded.result.ok) throw new Error('the demo facility does not load');
const facility = loaded.result.facility;
const file = join(tmpdir(), `sfp-bench-kpi-${SEED}-2026-10.duckdb`);
const generate = args.fresh || !existsSync(file);
if (generate) await rm(file, { force: true });
const store = new DuckDbStore({ path: file });
await store.start();
if (generate) {
  const t0 = performance.now();
  const result = await backfill({
    store,
    simulation: createSimulation(facility, { seed: SEED }),
    from: FROM - DAY,
    to: TO + DAY,
    devices: [...facility.vehicles.map((v) => v.id), ...facility.sensors.map((s) => s.id)],
  });
  process.stderr.write(
    `generated ${result.points.toLocaleString('en-US')} points in ${((performance.now() - t0) / 1000).toFixed(0)} s into ${file}\n`,
  );
}

/** The store, with the time spent in its reads added up (`queryColumns` only where the store has it). */
let readMs = 0;
const timed: TimeSeriesStore = {
  name: store.name,
  start: () => store.start(),
  stop: () => store.stop(),
  write: (points) => store.write(points),
  latest: (query) => store.latest(query),
  registerIntervals: (query) => store.registerIntervals(query),
  query: (query) => timedRead(() => store.query(query)),
  queryColumns: (query) => timedRead(() => queryColumns(store, query)),
};

/** Reads in flight, and since when at least one has been. */
let reading = 0;
let readingSince = 0;

/**
 * Adds up the wall time during which at least one read is in flight: the services start the read
 * of the next device before computing the current one, so reads and compute overlap, and
 * "compute" below is the time no read was waiting.
 */
async function timedRead<T>(read: () => Promise<T>): Promise<T> {
  if (reading++ === 0) readingSince = performance.now();
  try {
    return await read();
  } finally {
    if (--reading === 0) readMs += performance.now() - readingSince;
  }
}

const ctx: KpiContext = { facility, store: timed };

const runs = Number(args.runs);
const cases = [
  { name: 'vehicleUtilization, a month', run: () => vehicleUtilization(ctx, { from: FROM, to: TO }) },
  { name: 'roomUtilization, a month', run: () => roomUtilization(ctx, { from: FROM, to: TO }) },
];
const rows: string[] = [];
for (const { name, run } of cases) {
  const total: number[] = [];
  const read: number[] = [];
  const compute: number[] = [];
  for (let i = 0; i <= runs; i++) {
    readMs = 0;
    const t0 = performance.now();
    await run();
    const ms = performance.now() - t0;
    if (i === 0) continue; // warm-up
    total.push(ms);
    read.push(readMs);
    compute.push(ms - readMs);
  }
  const f = (values: number[]) =>
    `${percentile(values, 50).toFixed(0)} / ${percentile(values, 95).toFixed(0)} ms`;
  const row = `| ${name} | ${f(total)} | ${f(read)} | ${f(compute)} |`;
  process.stderr.write(`${row}\n`);
  rows.push(row);
}
await store.stop();

process.stdout.write(
  [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}, by \`npm run bench:kpi\`; ${runs} calls per row after one warm-up.`,
    '',
    '| call | total p50 / p95 | a store read in flight p50 / p95 | compute alone p50 / p95 |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n'),
);
process.stdout.write('\n');
