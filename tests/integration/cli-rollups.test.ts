/**
 * `facility rollups rebuild` as a user runs it, a child process on a data folder: rollup rows
 * damaged by hand are folded again from the raw points — only in [--from, --to) when those are
 * given, everything without — and then answer as the raw points do.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFacilityFile } from '../../cli/read-facility.ts';
import type { Facility } from '../../core/facility/schema.ts';
import { rawData, rollupData } from '../../core/kpi/data.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import { backfill } from '../../simulators/backfill.ts';
import { createSimulation } from '../../simulators/simulation.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOUR = 3_600_000;
/** Monday 2026-11-30 00:00 in Chengdu (+08:00): one day of history from here. */
const DAY = Date.parse('2026-11-30T00:00:00+08:00');
const METER = 'b1-e-main';

function rebuild(data: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/facility.js', 'rollups', 'rebuild', '--data', data, ...args],
      { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' } },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

let folder: string;
let facility: Facility;

beforeAll(async () => {
  const loaded = await readFacilityFile(undefined);
  if (!loaded.result.ok) throw new Error('the demo facility does not load');
  facility = loaded.result.facility;
  folder = await mkdtemp(join(tmpdir(), 'sfp-cli-rollups-'));
  const store = new RollingStore({
    store: new DuckDbStore({ path: join(folder, 'facility.duckdb') }),
    facility,
  });
  await store.start();
  await backfill({
    store,
    simulation: createSimulation(facility, { seed: 7 }),
    from: DAY,
    to: DAY + 24 * HOUR,
    devices: [METER, 'v01', 's-b1-m0301'],
  });
  await store.stop();
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Consumption of the meter per hour of the day: from the rollups, and from the raw points. */
async function hourly(): Promise<{ rolled: number[]; raw: number[] }> {
  const inner = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  await inner.start();
  try {
    const ctx = { facility, store: inner, now: () => DAY + 48 * HOUR };
    const edges = Array.from({ length: 25 }, (_, h) => DAY + h * HOUR);
    const [rolled, raw] = await Promise.all([
      rollupData(ctx).meterIntervals([METER], edges),
      rawData(ctx).meterIntervals([METER], edges),
    ]);
    const round = (v: number) => Math.round(v * 1e6) / 1e6;
    return {
      rolled: (rolled.get(METER)?.consumption ?? []).map(round),
      raw: (raw.get(METER)?.consumption ?? []).map(round),
    };
  } finally {
    await inner.stop();
  }
}

/** Overwrites the meter's rows of the whole day with 1,000 kWh a bucket. */
async function damage(): Promise<void> {
  const inner = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  await inner.start();
  try {
    const rows = Array.from({ length: 96 }, (_, q) => ({
      time: DAY + q * 900_000,
      values: { consumption: 1000, coveredMs: 900_000, state: '[]', rules: 'damaged' },
    }));
    await inner.writeRollups([{ kind: 'meter', site: facility.site.id, device: METER, from: DAY, rows }]);
  } finally {
    await inner.stop();
  }
}

describe('facility rollups rebuild', () => {
  it('folds the rows of [--from, --to) again from the raw points, and leaves the others', async () => {
    const before = await hourly();
    expect(before.rolled).toEqual(before.raw);
    expect(before.raw.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    await damage();
    // Each damaged hour holds 4 buckets of 1,000 kWh.
    expect((await hourly()).rolled).toEqual(Array(24).fill(4000));

    const run = await rebuild(
      folder,
      '--from',
      '2026-11-30T06:00:00+08:00',
      '--to',
      '2026-11-30T12:00:00+08:00',
    );
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/rebuilt the rollups of \d+ devices/);
    const partly = await hourly();
    // 06:00–12:00 are right again (a fold resumes a little before --from: 05:00 may be too);
    // the hours from 12:00 on keep the damage.
    expect(partly.rolled.slice(6, 12)).toEqual(partly.raw.slice(6, 12));
    expect(partly.rolled.slice(12)).toEqual(Array(12).fill(4000));
    expect(partly.rolled.slice(0, 4)).toEqual(Array(4).fill(4000));

    const all = await rebuild(folder);
    expect(all.code).toBe(0);
    const after = await hourly();
    expect(after.rolled).toEqual(after.raw);
    expect(after.raw).toEqual(before.raw);
  }, 120_000);

  it('refuses --to before --from, and a bad date, with exit 2', async () => {
    const reversed = await rebuild(folder, '--from', '2026-11-30', '--to', '2026-11-29');
    expect(reversed.code).toBe(2);
    expect(reversed.stderr).toMatch(/--to must be after --from/);
    const bad = await rebuild(folder, '--from', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/"yesterday" is not a date/);
  });
});
