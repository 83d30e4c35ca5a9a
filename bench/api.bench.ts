/**
 * `npm run bench:api` — latency of the efficiency API on a year of history, in one run:
 *
 * * a year (`--days`) of the demo facility simulated with a fixed seed, up to a fixed day
 *   (local midnight 2026-11-28 in Chengdu), written through the rolling store as the ingest
 *   writes (raw points, and the 15-minute rollups folded from them) into a DuckDB file in the
 *   system's temporary folder. The file's name carries a fingerprint of what this run's code
 *   writes (the first two days generated into a file of their own and hashed: simulators, demo
 *   facility, DuckDB layout, rollups, register rules), so a change to any of them generates a new
 *   file instead of measuring an old one; `--fresh` regenerates;
 * * the file is then closed and opened again, whether it was generated in this run or an earlier
 *   one, so every run measures the same thing: a store opened from disk, as after a restart;
 * * the real fastify app (`buildApp`, rate limit off, no response cache: every request is
 *   computed) with the clock fixed at the history's last day, 10:00 local, requests through
 *   `inject()` with an admin token: figures include routing, validation, the engine and
 *   serialisation, not TCP;
 * * per row: the first request (the store's and the engine's caches cold: the hour blocks the
 *   DuckDB store keeps for sums, up to `--duckdb-cache-mb`, are dropped before it), then p50 / p95
 *   of `--runs` more; and, as the reference measured in the same run, the same request computed
 *   from raw points (the engine's pre-rollup path, `rawData`), `--raw-runs` times (p50), once
 *   every row is timed (a year's raw path leaves garbage the next row would pay for).
 *
 * Rows: the six requests of a live panel (site today, buildings this week, departments last
 * month, vehicles this week, rooms this week, the site's 15-minute series for two days) and the
 * long ones (site a month and a year, departments a year, vehicles and rooms a month).
 * Aim (issue "Live speed"): every row's p95 under 150 ms. `--docs` rewrites the figures in
 * docs/benchmarks.md.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { SingleBar } from 'cli-progress';
import { buildApp } from '../api/app.ts';
import { readFacilityFile } from '../cli/read-facility.ts';
import { rawData } from '../core/kpi/data.ts';
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
    // The DuckDB store's memory for hour blocks (as `facility start --duckdb-cache-mb`); 0 = none.
    'duckdb-cache-mb': { type: 'string', default: '128' },
    'raw-runs': { type: 'string', default: '1' },
    days: { type: 'string', default: '365' },
    // Only the rows whose name contains this text (for profiling one request).
    only: { type: 'string' },
  },
});

const DAY = 86_400_000;
const SEED = 20_261_128;
const DAYS = Number(args.days);
const RUNS = Number(args.runs);
const RAW_RUNS = Number(args['raw-runs']);
if (!(Number.isInteger(DAYS) && DAYS >= 2 && DAYS <= 731))
  throw new Error('--days must be a whole number from 2 to 731');
if (!(Number.isInteger(RUNS) && RUNS >= 1)) throw new Error('--runs must be a whole number of at least 1');
if (!(Number.isInteger(RAW_RUNS) && RAW_RUNS >= 0)) throw new Error('--raw-runs must be a whole number');
const CACHE_MB = Number(args['duckdb-cache-mb']);
if (!(Number.isInteger(CACHE_MB) && CACHE_MB >= 0))
  throw new Error('--duckdb-cache-mb must be a whole number of megabytes');
if (args.docs && args.only !== undefined) throw new Error('--docs writes every row; leave out --only');
/** History ends at local midnight 2026-11-28 in Chengdu (UTC+8). */
const END = Date.UTC(2026, 10, 27, 16);
const START = END - DAYS * DAY;
/** The clock of the requests: 10:00 local on the history's last day, Friday 2026-11-27. */
const NOW = END - DAY + 10 * 3_600_000;
const TOKEN = 'bench-admin-token-0123456789';

/**
 * Simulates [from, to) of the demo facility into a new DuckDB file through the rolling store, as
 * the ingest writes: raw points and their rollups.
 */
async function generateHistory(
  path: string,
  from: number,
  to: number,
  onProgress?: (fraction: number, points: number) => void,
): Promise<number> {
  await rm(path, { force: true });
  await rm(`${path}.wal`, { force: true });
  const store = new RollingStore({ store: new DuckDbStore({ path }), facility });
  await store.start();
  try {
    const result = await backfill({
      store,
      simulation: createSimulation(facility, { seed: SEED }),
      from,
      to,
      ...(onProgress ? { onProgress: ({ fraction, points }) => onProgress(fraction, points) } : {}),
    });
    return result.points;
  } finally {
    await store.stop();
  }
}

/**
 * A fingerprint of what the history file holds: the first two days generated by the code of this
 * run into a file of their own, every table of it hashed whole (layout and rows). A change to
 * what is written — simulators, demo facility, register rules, folds, DuckDB layout — gives a new
 * fingerprint, so a new file, never an old one measured as new; a change to the read path does not.
 */
async function historyFingerprint(): Promise<string> {
  const sample = join(await mkdtemp(join(tmpdir(), 'sfp-bench-api-sample-')), 'sample.duckdb');
  try {
    await generateHistory(sample, START, START + 2 * DAY);
    const hash = createHash('sha256').update(`${SEED}/${DAYS}/${END}`);
    const instance = await DuckDBInstance.create(sample, { access_mode: 'READ_ONLY' });
    const connection = await instance.connect();
    try {
      const tables = await connection.runAndReadAll(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name",
      );
      const text = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x));
      for (const [table] of tables.getRows()) {
        const name = `"${String(table).replaceAll('"', '""')}"`;
        hash.update(text((await connection.runAndReadAll(`DESCRIBE ${name}`)).getRows()));
        hash.update(text((await connection.runAndReadAll(`SELECT * FROM ${name} ORDER BY ALL`)).getRows()));
      }
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    return hash.digest('hex').slice(0, 12);
  } finally {
    await rm(join(sample, '..'), { recursive: true, force: true });
  }
}

const loaded = await readFacilityFile(undefined);
if (!loaded.result.ok) throw new Error('the demo facility does not load');
const facility = loaded.result.facility;
const fingerprint = await historyFingerprint();
const file = join(tmpdir(), `sfp-bench-api-${DAYS}d-${fingerprint}.duckdb`);
const generate = args.fresh || !existsSync(file);
process.stderr.write(`history file ${file}${generate ? ' (to generate)' : ''}\n`);
let generatedIn = 0;
if (generate) {
  const bar = new SingleBar({
    format: ' history [{bar}] {percentage}% | {points} points | {eta_formatted} left',
    stream: process.stderr,
  });
  bar.start(100, 0, { points: 0 });
  const t0 = performance.now();
  const points = await generateHistory(file, START, END, (fraction, points) =>
    bar.update(Math.round(fraction * 100), { points }),
  );
  bar.stop();
  generatedIn = (performance.now() - t0) / 1000;
  process.stderr.write(
    `generated ${points.toLocaleString('en-US')} points with their rollups in ${generatedIn.toFixed(0)} s into ${file}\n`,
  );
}

// Measure a store opened from disk, whether generated now or before.
const inner = new DuckDbStore({ path: file, hourCacheBytes: CACHE_MB * 1024 * 1024 });
const store = new RollingStore({ store: inner, facility, catchUp: false });
await store.start();
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
const now = () => NOW;
// Each app its own data folder: the management state the app opens there is one process's.
const appOf = async (kpiData?: ReturnType<typeof rawData>) =>
  buildApp({
    version: 'bench',
    facility,
    store,
    deadLetters,
    data: await mkdtemp(join(tmpdir(), 'sfp-bench-api-data-')),
    adminToken: TOKEN,
    rateLimit: false,
    now,
    liveAnswerTtlMs: 0,
    ...(kpiData ? { kpiData } : {}),
  });
const app = await appOf();
const raw = await appOf(rawData({ facility, store, now }));
await Promise.all([app.ready(), raw.ready()]);

const date = (ms: number) => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10);
const today = END - DAY; // Friday 2026-11-27
const monday = today - 4 * DAY;
const week = `from=${date(monday)}&to=${date(monday + 7 * DAY)}`;
const month = 'from=2026-10-01&to=2026-11-01';
const year = `from=${date(START)}&to=${date(END)}`;
const cases = [
  { name: 'site today', url: `/api/v1/energy/summary?from=${date(today)}&to=${date(END)}&groupBy=site` },
  { name: 'buildings this week', url: `/api/v1/energy/summary?${week}&groupBy=building` },
  { name: 'departments last month', url: `/api/v1/energy/summary?${month}&groupBy=department` },
  { name: 'vehicles this week', url: `/api/v1/vehicles/utilization?${week}` },
  { name: 'rooms this week', url: `/api/v1/rooms/utilization?${week}` },
  {
    name: 'site 15-minute series, two days',
    url: `/api/v1/energy/series?scope=site&kind=electricity&every=15m&from=${date(today - DAY)}&to=${date(END)}`,
  },
  { name: 'site a month', url: `/api/v1/energy/summary?${month}&groupBy=site` },
  { name: 'site the year', url: `/api/v1/energy/summary?${year}&groupBy=site` },
  { name: 'departments the year', url: `/api/v1/energy/summary?${year}&groupBy=department` },
  { name: 'vehicles a month', url: `/api/v1/vehicles/utilization?${month}` },
  { name: 'rooms a month', url: `/api/v1/rooms/utilization?${month}` },
];

async function timed(target: typeof app, url: string): Promise<{ ms: number; body: string }> {
  const t0 = performance.now();
  const response = await target.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
  const ms = performance.now() - t0;
  if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
  return { ms, body: response.body };
}

/**
 * Where two answers differ, figure by figure. Sums over rollups and over raw points add the same
 * terms in another order, so they may differ in the last bits of a double (the property test
 * compares them within 1e-9, relative); the API rounds to a few decimals, so a figure on a rounding
 * boundary may show one unit of its last decimal apart. That is the one difference allowed.
 */
function disagreements(a: unknown, b: unknown, path: string): string[] {
  if (typeof a === 'number' && typeof b === 'number') {
    const decimals = Math.max(...[a, b].map((v) => (String(v).split('.')[1] ?? '').length));
    const unit = decimals > 0 ? 10 ** -decimals : 0;
    return Math.abs(a - b) <= unit * 1.000001 + 1e-9 * Math.abs(a) ? [] : [`${path}: ${a} vs ${b}`];
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    return JSON.stringify(a) === JSON.stringify(b)
      ? []
      : [`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`];
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((key) =>
    disagreements((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}.${key}`),
  );
}

const ms = (v: number) => `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`;
const rows: string[] = [];
let worstP95 = 0;
// Every row is timed first, then every reference computed: the raw path of a year leaves
// gigabytes of garbage, which the next row's requests would otherwise pay for in collections.
const timedRows: Array<{
  name: string;
  url: string;
  first: Awaited<ReturnType<typeof timed>>;
  /** The last answer timed, from the store's memory where it keeps hour blocks. */
  last: string;
  p50: number;
  p95: number;
}> = [];
for (const { name, url } of cases.filter((c) => args.only === undefined || c.name.includes(args.only))) {
  inner.clearHourCache();
  const first = await timed(app, url);
  const times: number[] = [];
  let last = first.body;
  for (let i = 0; i < RUNS; i++) {
    const answer = await timed(app, url);
    times.push(answer.ms);
    last = answer.body;
  }
  const p50 = percentile(times, 50);
  const p95 = percentile(times, 95);
  worstP95 = Math.max(worstP95, p95);
  timedRows.push({ name, url, first, last, p50, p95 });
  process.stderr.write(`${name}: first ${ms(first.ms)}, p50 ${ms(p50)}, p95 ${ms(p95)}\n`);
}
const cached = inner.hourCache;
for (const { name, url, first, last, p50, p95 } of timedRows) {
  let reference = '–';
  let ratio = '–';
  if (RAW_RUNS > 0) {
    const rawTimes: number[] = [];
    for (let i = 0; i < RAW_RUNS; i++) {
      const answer = await timed(raw, url);
      rawTimes.push(answer.ms);
      // The two paths must give one answer (identical figures, issue "Live speed"), whether the
      // store read its hours from DuckDB (the first request) or from memory (the last).
      const differences = [first.body, last].flatMap((body) =>
        disagreements(JSON.parse(body), JSON.parse(answer.body), ''),
      );
      if (differences.length > 0) {
        throw new Error(`${name}: rollups and raw points disagree: ${differences.slice(0, 5).join('; ')}`);
      }
    }
    const rawP50 = percentile(rawTimes, 50);
    reference = ms(rawP50);
    ratio = `${(rawP50 / p50).toFixed(0)}×`;
    process.stderr.write(`${name}: raw ${reference}, both paths agree\n`);
  }
  rows.push(`| ${name} | \`${url}\` | ${ms(first.ms)} | ${ms(p50)} | ${ms(p95)} | ${reference} | ${ratio} |`);
}

await Promise.all([app.close(), raw.close()]);
await deadLetters.stop();
await store.stop();

const n = (v: number) => v.toLocaleString('en-US');
const report = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}, by \`npm run bench:api -- --docs\`.`,
  '',
  `History: ${DAYS} days of the demo facility (seed ${SEED}) up to 2026-11-28, with its rollups, in one DuckDB file opened from disk (file ${fingerprint}${generate ? `, generated in this run in ${generatedIn.toFixed(0)} s` : ', generated by an earlier run by code that writes the same (fingerprint of a two-day sample)'}): ${n(counts[0] ?? 0)} meter points, ${n(counts[1] ?? 0)} vehicle points, ${n(counts[2] ?? 0)} room-sensor points. Clock at 2026-11-27 10:00 (UTC+8). Through \`inject()\` with an admin token, no response cache (every request computed), rate limit off. "first" is the first request of the row, with the hours it sums read from DuckDB (the store's hour blocks dropped before it); p50 / p95 over the ${RUNS} after it, with the blocks it kept (\`--duckdb-cache-mb ${CACHE_MB}\`${CACHE_MB === 0 ? ': none kept' : `; ${(cached.bytes / 1024 / 1024).toFixed(1)} MB held after the last row`}). Reference: the same request from raw points (the engine's path before rollups), p50 of ${RAW_RUNS}, computed after every row was timed; both paths' answers are checked equal figure by figure (a figure on a rounding boundary may show one unit of its last decimal apart: the sums add the same terms in another order). Aim: every p95 under 150 ms; worst p95 this run: ${ms(worstP95)}.`,
  '',
  '| request | URL | first | p50 | p95 | from raw points (reference) | speed-up |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...rows,
].join('\n');
process.stdout.write(`${report}\n`);
if (args.docs) await writeDocs('api', report);
