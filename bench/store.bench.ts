/**
 * `npm run bench:store` — store adapters, measured in one run on this machine:
 *
 * * 1,000,000 meter points (32 meters × 31,250 one-minute readings, fields total + power)
 *   written through each adapter's `write()`;
 * * the reference for InfluxDB: a plain batched HTTP `/write` loop (hand-formatted line
 *   protocol, same batch size, one request at a time) against the same `influxd`;
 * * a month of hourly sums per meter (Asia/Shanghai windows) read back, p50 and p95.
 *
 * `--docs` also rewrites the figures in docs/benchmarks.md. `--points N` changes the size.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Point, Query, TimeSeriesStore } from '../core/store.ts';
import { DuckDbStore } from '../storage/duckdb/duckdb-store.ts';
import { InfluxStore } from '../storage/influx/influx-store.ts';
import { InfluxdProcess } from '../tests/setup/influxd-process.ts';
import { percentile, writeDocs } from './report.ts';

const { values: args } = parseArgs({
  options: {
    points: { type: 'string', default: '1000000' },
    docs: { type: 'boolean', default: false },
    runs: { type: 'string', default: '20' },
  },
});

const METERS = 32;
const PER_METER = Math.ceil(Number(args.points) / METERS);
const TOTAL = METERS * PER_METER;
const BATCH = 50_000;
const INFLUX_BATCH = 5_000;
const START = Date.UTC(2026, 9, 31, 16, 0, 0); // 2026-11-01 00:00 Asia/Shanghai
const MONTH: Pick<Query, 'from' | 'to'> = { from: START, to: START + 30 * 86_400_000 };

function makePoints(): Point[] {
  const points: Point[] = [];
  for (let m = 0; m < METERS; m++) {
    let total = 1000 * m;
    for (let i = 0; i < PER_METER; i++) {
      const power = 20 + ((i * 7 + m * 13) % 50) / 2; // kW, deterministic
      total += power / 60; // kWh per minute at that power
      points.push({
        measurement: 'meter',
        tags: {
          site: 'bench',
          building: `b${(m % 4) + 1}`,
          department: '',
          meter: `m${String(m).padStart(2, '0')}`,
          kind: 'electricity',
          system: 'total',
        },
        fields: { total, power },
        time: START + i * 60_000,
      });
    }
  }
  // Interleave meters by time, as live ingest writes them.
  return points.sort((a, b) => a.time - b.time);
}

async function timeWrites(store: TimeSeriesStore, points: Point[], batch: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < points.length; i += batch) await store.write(points.slice(i, i + batch));
  return (points.length / (performance.now() - t0)) * 1000;
}

async function timeQuery(
  store: TimeSeriesStore,
  runs: number,
): Promise<{ p50: number; p95: number; rows: number }> {
  const query: Query = {
    measurement: 'meter',
    fields: ['power'],
    aggregate: 'sum',
    every: '1h',
    timezone: 'Asia/Shanghai',
    groupBy: ['meter'],
    ...MONTH,
  };
  const first = await store.query(query); // warm-up, and a sanity check of the result
  const rows = first.reduce((n, s) => n + s.rows.length, 0);
  const expected = METERS * Math.ceil(PER_METER / 60);
  if (first.length !== METERS || rows !== expected) {
    throw new Error(
      `${store.name}: expected ${METERS} series and ${expected} hourly rows, got ${first.length} and ${rows}`,
    );
  }
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await store.query(query);
    times.push(performance.now() - t0);
  }
  return { p50: percentile(times, 50), p95: percentile(times, 95), rows };
}

/** The reference: line protocol formatted by a template literal, POSTed one batch at a time. */
async function plainWriteLoop(url: string, db: string, points: Point[]): Promise<number> {
  await fetch(`${url}/query?q=${encodeURIComponent(`CREATE DATABASE "${db}"`)}`, { method: 'POST' });
  const t0 = performance.now();
  for (let i = 0; i < points.length; i += INFLUX_BATCH) {
    let body = '';
    for (const p of points.slice(i, i + INFLUX_BATCH)) {
      const t = p.tags;
      body += `meter,building=${t.building},kind=${t.kind},meter=${t.meter},site=${t.site},system=${t.system} total=${p.fields.total},power=${p.fields.power} ${p.time}\n`;
    }
    const res = await fetch(`${url}/write?db=${db}&precision=ms`, { method: 'POST', body });
    if (res.status !== 204) throw new Error(`plain /write: HTTP ${res.status} ${await res.text()}`);
  }
  return (points.length / (performance.now() - t0)) * 1000;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => `${n.toFixed(1)} ms`;

async function main(): Promise<void> {
  const runs = Number(args.runs);
  process.stderr.write(`generating ${fmt(TOTAL)} points…\n`);
  const points = makePoints();

  const dir = await mkdtemp(join(tmpdir(), 'bench-store-'));
  const influxd = await InfluxdProcess.create();
  try {
    process.stderr.write('duckdb: writing…\n');
    const duck = new DuckDbStore({ path: join(dir, 'bench.duckdb') });
    await duck.start();
    const duckWrite = await timeWrites(duck, points, BATCH);
    process.stderr.write('duckdb: querying…\n');
    const duckQuery = await timeQuery(duck, runs);
    await duck.stop();

    process.stderr.write('influxd: starting…\n');
    await influxd.start();
    process.stderr.write('influxdb: plain /write loop…\n');
    const plain = await plainWriteLoop(influxd.url, 'bench_plain', points);
    process.stderr.write('influxdb: adapter writing…\n');
    const influx = new InfluxStore({ url: influxd.url, database: 'bench_adapter', batchSize: INFLUX_BATCH });
    await influx.start();
    const influxWrite = await timeWrites(influx, points, BATCH);
    process.stderr.write('influxdb: querying…\n');
    const influxQuery = await timeQuery(influx, runs);
    const influxName = influx.name;
    await influx.stop();

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const report = [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpu}, Node ${process.version}, by \`npm run bench:store\`.`,
      `${fmt(TOTAL)} meter points (${METERS} meters × ${fmt(PER_METER)} one-minute readings); query: a month of hourly`,
      `sums of \`power\` per meter in Asia/Shanghai windows (${fmt(duckQuery.rows)} rows), ${runs} runs after a warm-up.`,
      '',
      '| store | write batch | points/s written | vs reference | query p50 | query p95 |',
      '|---|---|---|---|---|---|',
      `| DuckDB (embedded file) | ${fmt(BATCH)} | ${fmt(duckWrite)} | — | ${ms(duckQuery.p50)} | ${ms(duckQuery.p95)} |`,
      `| reference: plain batched HTTP \`/write\` loop, ${influxName} | ${fmt(INFLUX_BATCH)} per request | ${fmt(plain)} | 100 % | — | — |`,
      `| InfluxStore adapter, ${influxName} | ${fmt(BATCH)} per call, ${fmt(INFLUX_BATCH)} per request | ${fmt(influxWrite)} | ${((influxWrite / plain) * 100).toFixed(0)} % | ${ms(influxQuery.p50)} | ${ms(influxQuery.p95)} |`,
    ].join('\n');
    process.stdout.write(`${report}\n`);
    if (args.docs) await writeDocs('store', report);
  } finally {
    await influxd.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
