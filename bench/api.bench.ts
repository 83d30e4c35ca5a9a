/**
 * `npm run bench:api` — latency of the efficiency API on a year of history, in one run:
 *
 * * one year of simulated history of the demo facility (32 meters at 1-minute readings ≈ 17 M
 *   meter points, plus 24 cars and 21 room sensors) generated straight into a DuckDB file — kept
 *   in the system's temporary folder and reused by the next run (`--fresh` regenerates it);
 * * the real fastify app (`buildApp`, rate limit off) over that store, requests through
 *   `inject()` with an admin token, so the figures include routing, validation, the engine and
 *   serialisation but not TCP;
 * * p50 / p95 of `--runs` requests after one warm-up each: site `energy/summary` for a month and
 *   for the year, `groupBy=department` for the year, `vehicles/utilization` and
 *   `rooms/utilization` for a month.
 *
 * `--docs` rewrites the figures in docs/benchmarks.md.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { buildApp } from '../api/app.ts';
import { readFacilityFile } from '../cli/read-facility.ts';
import { RollingStore } from '../core/rollup/rolling-store.ts';
import { backfill } from '../simulators/backfill.ts';
import { createSimulation } from '../simulators/simulation.ts';
import { DuckDbDeadLetterSink } from '../storage/duckdb/dead-letter.ts';
import { DuckDbStore } from '../storage/duckdb/duckdb-store.ts';
import { percentile, writeDocs } from './report.ts';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'boolean', default: false },
    fresh: { type: 'boolean', default: false },
    runs: { type: 'string', default: '20' },
    days: { type: 'string', default: '365' },
  },
});

const DAY = 86_400_000;
const SEED = 20_261_128;
const DAYS = Number(args.days);
/** History ends at local midnight 2026-11-28 in Chengdu, so the figures do not depend on the day the bench runs. */
const END = Date.UTC(2026, 10, 27, 16);
const START = END - DAYS * DAY;
const TOKEN = 'bench-admin-token-0123456789';

const loaded = await readFacilityFile(undefined);
if (!loaded.result.ok) throw new Error('the demo facility does not load');
const facility = loaded.result.facility;
const file = join(tmpdir(), `sfp-bench-api-${SEED}-${DAYS}d.duckdb`);
const generate = args.fresh || !existsSync(file);
if (generate) await rm(file, { force: true });
const inner = new DuckDbStore({ path: file });
const store = new RollingStore({ store: inner, facility });
await store.start();
if (generate) {
  const bar = new SingleBar({
    format: ' history [{bar}] {percentage}% | {points} points | {eta_formatted} left',
    stream: process.stderr,
  });
  bar.start(100, 0, { points: 0 });
  const t0 = performance.now();
  const result = await backfill({
    store,
    simulation: createSimulation(facility, { seed: SEED }),
    from: START,
    to: END,
    onProgress: ({ fraction, points }) => bar.update(Math.round(fraction * 100), { points }),
  });
  bar.stop();
  process.stderr.write(
    `generated ${result.points.toLocaleString('en-US')} points in ${((performance.now() - t0) / 1000).toFixed(0)} s into ${file}\n`,
  );
}

const primeMs = 0;

const counts = await Promise.all(
  (['meter', 'vehicle', 'sensor'] as const).map(async (measurement) => {
    const field = measurement === 'meter' ? 'total' : measurement === 'vehicle' ? 'speed' : 'occupancy';
    const series = await store.query({
      measurement,
      fields: [field],
      from: START,
      to: END,
      aggregate: 'count',
    });
    return series.reduce((n, s) => n + Number(s.rows[0]?.values[field] ?? 0), 0);
  }),
);

const deadLetters = new DuckDbDeadLetterSink({ database: inner });
await deadLetters.start();
const app = buildApp({
  version: 'bench',
  facility,
  store,
  deadLetters,
  data: tmpdir(),
  adminToken: TOKEN,
  rateLimit: false,
  now: () => END,
});
await app.ready();

const runs = Number(args.runs);
const month = 'from=2026-10-01&to=2026-11-01';
const year = `from=${new Date(START + 8 * 3_600_000).toISOString().slice(0, 10)}&to=2026-11-28`;
const cases = [
  { name: 'energy/summary, site, a month', url: `/api/v1/energy/summary?${month}&groupBy=site` },
  { name: 'energy/summary, site, the year', url: `/api/v1/energy/summary?${year}&groupBy=site` },
  {
    name: 'energy/summary, groupBy=department, the year',
    url: `/api/v1/energy/summary?${year}&groupBy=department`,
  },
  { name: 'vehicles/utilization, a month', url: `/api/v1/vehicles/utilization?${month}` },
  { name: 'rooms/utilization, a month', url: `/api/v1/rooms/utilization?${month}` },
];

const rows: string[] = [];
for (const { name, url } of cases) {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
    const ms = performance.now() - t0;
    if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
    if (i > 0) times.push(ms); // the first is the warm-up
  }
  const p50 = percentile(times, 50);
  const p95 = percentile(times, 95);
  process.stderr.write(`${name}: p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms\n`);
  rows.push(`| ${name} | \`${url}\` | ${p50.toFixed(0)} ms | ${p95.toFixed(0)} ms |`);
}

await app.close();
await deadLetters.stop();
await store.stop();

const n = (v: number) => v.toLocaleString('en-US');
const report = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}, by \`npm run bench:api -- --docs\`.`,
  '',
  `History: ${DAYS} days of the demo facility (seed ${SEED}) in one DuckDB file: ${n(counts[0] ?? 0)} meter points, ${n(counts[1] ?? 0)} vehicle points, ${n(counts[2] ?? 0)} room-sensor points. ${runs} requests per row after one warm-up, through \`inject()\` with an admin token (rate limit off). Aim: p95 under 500 ms for every row. The hourly register summary was ${generate ? `built after generating, in ${(primeMs / 1000).toFixed(1)} s` : 'already built'}.`,
  '',
  '| request | URL | p50 | p95 |',
  '| --- | --- | --- | --- |',
  ...rows,
].join('\n');
process.stdout.write(`${report}\n`);
if (args.docs) await writeDocs('api', report);
