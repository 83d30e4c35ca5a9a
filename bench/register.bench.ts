/**
 * `node --import tsx bench/register.bench.ts [--file PATH]` — DuckDB `registerIntervals` over a
 * year of 32 one-minute meters (16.8 M readings, with resets and gaps), written through the
 * store's `write()` into a DuckDB file (kept with `--file`, so that a second run skips writing).
 * Times the first call (which rolls the year up), then month and year of hourly edges, and a
 * month of edges on the half hour (every hour read raw), 5 runs each.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Point } from '../core/store.ts';
import { DuckDbStore } from '../storage/duckdb/duckdb-store.ts';

const { values: args } = parseArgs({ options: { file: { type: 'string' } } });
const METERS = 32;
const START = Date.UTC(2025, 11, 31, 16); // 2026-01-01 Asia/Shanghai
const HOUR = 3_600_000;
const DAY = 86_400_000;

async function fill(store: DuckDbStore): Promise<void> {
  const totals = Array.from({ length: METERS }, (_, m) => 1000 * m);
  for (let d = 0; d < 365; d++) {
    const points: Point[] = [];
    for (let i = 0; i < 1440; i++) {
      for (let m = 0; m < METERS; m++) {
        const power = 20 + ((i * 7 + m * 13) % 50) / 2;
        totals[m] = (totals[m] as number) + power / 60;
        if (m === 3 && d % 50 === 7 && i === 100) totals[m] = 0.5; // a reset now and then
        if (m === 5 && d % 20 === 3 && i > 200 && i < 400) continue; // a gap
        const tags = { site: 'bench', building: `b${(m % 4) + 1}`, meter: `m${String(m).padStart(2, '0')}` };
        points.push({
          measurement: 'meter',
          tags,
          fields: { total: totals[m] as number, power },
          time: START + (d * 1440 + i) * 60_000,
        });
      }
    }
    await store.write(points);
  }
}

const dir = args.file ? undefined : await mkdtemp(join(tmpdir(), 'bench-register-'));
const path = args.file ?? join(dir as string, 'register.duckdb');
const fresh = !existsSync(path);
const store = new DuckDbStore({ path });
await store.start();
try {
  if (fresh) {
    process.stderr.write('writing a year of 32 one-minute meters…\n');
    await fill(store);
  }
  const hourly = (hours: number, offset = 0) =>
    Array.from({ length: hours + 1 }, (_, i) => START + 7 * DAY + offset + i * HOUR);
  const ask = (edges: number[]) =>
    store.registerIntervals({ edges, intervalSeconds: {}, defaultIntervalSeconds: 60 });
  let t0 = performance.now();
  await ask(hourly(24));
  process.stdout.write(`first call (rolls up what was written): ${(performance.now() - t0).toFixed(0)} ms\n`);
  for (const [label, edges] of [
    ['month of hourly edges (721)', hourly(24 * 30)],
    ['year of hourly edges (8,401)', hourly(24 * 350)],
    ['month of half-hour-offset edges (721)', hourly(24 * 30, HOUR / 2)],
  ] as const) {
    const times: number[] = [];
    for (let r = 0; r < 5; r++) {
      t0 = performance.now();
      await ask(edges);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    process.stdout.write(`${label}: ${times.map((t) => t.toFixed(0)).join(', ')} ms\n`);
  }
} finally {
  await store.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}
