/**
 * RollingStore.commit (core/rollup/rolling-store.ts), the ingest's two-step write: it resolves once
 * the points are committed and the point listeners told, before their fold; the points of the
 * commits made while a fold runs are folded together in the next one; `folded` resolves once the
 * rows are committed. A DuckDB store whose first rollup write is held, so that a fold is running.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { registerRules } from '../../core/facility/meter-rules.ts';
import type { Meter } from '../../core/facility/schema.ts';
import { resumeDepth } from '../../core/rollup/meter.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import type { Point } from '../../core/store.ts';
import { loadTestFacility } from '../../simulators/load.ts';
import { PointMaker } from '../../simulators/points.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';
import { demoFacility } from '../setup/wait.ts';

const facility = demoFacility();
const teardown: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of teardown.reverse()) await step();
});

/**
 * Watches a fold's raw meter reads of `inner` (those with per-meter starts): `reads` has the
 * starts each asked for; `holdNext()` holds the next such read until `release()`, and `started`
 * resolves once it is held.
 */
function watchMeterReads(inner: DuckDbStore) {
  const reads: Array<Record<string, number>> = [];
  let hold: Promise<void> | undefined;
  let reading: () => void = () => {};
  const queryColumns = inner.queryColumns.bind(inner);
  inner.queryColumns = async (query) => {
    if (query.measurement === 'meter' && query.startOf) {
      reads.push({ ...query.startOf });
      reading();
      await hold;
    }
    return queryColumns(query);
  };
  const holdNext = () => {
    let release: () => void = () => {};
    hold = new Promise<void>((resolve) => {
      release = () => {
        hold = undefined;
        resolve();
      };
    });
    const started = new Promise<void>((resolve) => {
      reading = resolve;
    });
    return { started, release };
  };
  return { reads, holdNext };
}

it('commits before folding, and folds the commits made during a fold together', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-commit-'));
  teardown.push(() => rm(folder, { recursive: true, force: true }));
  const inner = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let rollupWrites = 0;
  const writeRollups = inner.writeRollups.bind(inner);
  inner.writeRollups = async (writes) => {
    if (rollupWrites++ === 0) await held;
    return writeRollups(writes);
  };
  const store = new RollingStore({ store: inner, facility, catchUp: false });
  await store.start();
  teardown.push(() => store.stop());
  const told: number[] = [];
  store.subscribePoints((points) => told.push(points.length));

  const maker = new PointMaker(facility);
  const start = Date.UTC(2026, 10, 2, 1, 0);
  const batch = (k: number): Point[] => {
    const out: Point[] = [];
    for (const id of ['b1-e-main', 'b1-e-light']) {
      maker.append('meter', id, [{ ts: start + k * 60_000, total: 1000 + k }] as never, out);
    }
    return out;
  };

  const first = await store.commit(batch(0));
  // Committed and told, while its fold is held.
  expect(told).toEqual([2]);
  const rest = [];
  for (let k = 1; k <= 4; k++) rest.push(await store.commit(batch(k)));
  expect(told).toEqual([2, 2, 2, 2, 2]);
  // The four commits made during the first fold share the next one.
  for (const commit of rest) expect(commit.folded).toBe(rest[0]?.folded);
  expect(rest[0]?.folded).not.toBe(first.folded);
  release();
  await Promise.all([first.folded, ...rest.map((c) => c.folded)]);
  const rows = await store.readRollups({
    kind: 'meter',
    site: facility.site.id,
    devices: ['b1-e-main', 'b1-e-light'],
    from: start - 86_400_000,
    to: start + 86_400_000,
    fields: ['consumption'],
  });
  expect(rows.map((r) => r.device).sort()).toEqual(['b1-e-light', 'b1-e-main']);
  const used = rows.map((r) => Array.from(r.values.consumption as Float64Array).reduce((a, b) => a + b, 0));
  // 1000 → 1004 kWh across the five readings, folded for each meter.
  for (const kwh of used) expect(kwh).toBeCloseTo(4, 6);
});

it('with soleWriter, holds writes while a fold reads its meters, so the next fold resumes from the checkpoint', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-commit-'));
  teardown.push(() => rm(folder, { recursive: true, force: true }));
  const inner = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  const { reads, holdNext } = watchMeterReads(inner);
  const store = new RollingStore({ store: inner, facility, catchUp: false, soleWriter: true });
  await store.start();
  teardown.push(() => store.stop());
  const told: number[] = [];
  store.subscribePoints((points) => told.push(points.length));

  const maker = new PointMaker(facility);
  const start = Date.UTC(2026, 10, 2, 1, 0);
  const readings = (from: number, to: number): Point[] => {
    const out: Point[] = [];
    for (let k = from; k < to; k++) {
      maker.append('meter', 'b1-e-main', [{ ts: start + k * 60_000, total: 1000 + k }] as never, out);
    }
    return out;
  };

  await store.write(readings(0, 30));
  // The next fold's read is held once it starts.
  const { started, release } = holdNext();
  const second = await store.commit(readings(30, 40));
  await started;
  let committed = false;
  const third = store.commit(readings(40, 50)).then((commit) => {
    committed = true;
    return commit;
  });
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  // Not written while the fold reads: the fold's read sees only its own points.
  expect(committed).toBe(false);
  expect(told).toEqual([30, 10]);
  release();
  await second.folded;
  await (await third).folded;
  expect(told).toEqual([30, 10, 10]);
  // The third fold resumed inside a bucket, after a reading the second fold settled: not from a
  // bucket start, which it would fold from had it found the third batch's readings already read.
  // The second fold read readings 0–39; its checkpoint is 1 ms after the reading `resumeDepth`
  // before its last.
  const depth = resumeDepth(registerRules(facility.meters.find((m) => m.id === 'b1-e-main') as Meter));
  expect(reads.at(-1)?.['b1-e-main']).toBe(start + (39 - depth) * 60_000 + 1);
  const [row] = await store.readRollups({
    kind: 'meter',
    site: facility.site.id,
    devices: ['b1-e-main'],
    from: start - 86_400_000,
    to: start + 86_400_000,
    fields: ['consumption', 'readings'],
  });
  const sum = (field: string) => Array.from(row?.values[field] as Float64Array).reduce((a, b) => a + b, 0);
  // 1000 → 1049 kWh over the fifty readings.
  expect(sum('consumption')).toBeCloseTo(49, 6);
  expect(sum('readings')).toBe(50);
});

it('with soleWriter, lets writes through while a fold reads when more than 64 of its meters fold from their bucket starts', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-commit-'));
  teardown.push(() => rm(folder, { recursive: true, force: true }));
  // 70 meters more than the demo's; none has a checkpoint yet, so the first fold starts each one
  // at its bucket (after looking up where, one meter at a time): writes must not wait for that.
  const many = loadTestFacility(facility, 70);
  const inner = new DuckDbStore({ path: join(folder, 'facility.duckdb') });
  const { holdNext } = watchMeterReads(inner);
  const store = new RollingStore({ store: inner, facility: many, catchUp: false, soleWriter: true });
  await store.start();
  teardown.push(() => store.stop());
  const maker = new PointMaker(many);
  const start = Date.UTC(2026, 10, 2, 1, 0);
  const readings = (k: number): Point[] => {
    const out: Point[] = [];
    for (const meter of many.meters.filter((m) => m.id.startsWith('load-'))) {
      maker.append('meter', meter.id, [{ ts: start + k * 60_000, total: 1000 + k }] as never, out);
    }
    return out;
  };
  const { started, release } = holdNext();
  const first = await store.commit(readings(0));
  await started;
  // The fold is held in its read; the next write commits meanwhile.
  const second = await store.commit(readings(1));
  release();
  await first.folded;
  await second.folded;
  const rows = await store.readRollups({
    kind: 'meter',
    site: many.site.id,
    devices: ['load-0001', 'load-0070'],
    from: start - 86_400_000,
    to: start + 86_400_000,
    fields: ['consumption', 'readings'],
  });
  // Each meter: 1000 → 1001 over its two readings.
  for (const row of rows) {
    expect(Array.from(row.values.readings as Float64Array).reduce((a, b) => a + b, 0)).toBe(2);
    expect(Array.from(row.values.consumption as Float64Array).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  }
  expect(rows).toHaveLength(2);
});
