/**
 * The store contract against a real DuckDB file in a fresh temporary folder, plus what only the
 * DuckDB adapter has: the file's life cycle, locking, and windows across daylight-saving changes.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type Point, StoreError } from '../../core/store.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';
import { storeContract } from './store-contract.ts';

const T0 = Date.UTC(2026, 10, 2);
const MIN = 60_000;
const HOUR = 3_600_000;

async function tempFolder(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sfp-duckdb-'));
}

storeContract('duckdb', async () => {
  const folder = await tempFolder();
  return {
    open: () => new DuckDbStore({ path: join(folder, 'store.duckdb') }),
    dispose: () => rm(folder, { recursive: true, force: true }),
  };
});

/** A folder removed when the test ends. */
async function testFolder(): Promise<string> {
  const folder = await tempFolder();
  onTestFinished(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

/** A started store, stopped when the test ends. */
async function startedStore(path: string): Promise<DuckDbStore> {
  const store = new DuckDbStore({ path });
  onTestFinished(() => store.stop());
  await store.start();
  return store;
}

function meter(id: string, time: number, power: number, extra: Record<string, string> = {}): Point {
  return { measurement: 'meter', tags: { site: 's', meter: id, ...extra }, fields: { power }, time };
}

async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

describe('DuckDbStore', () => {
  it('creates missing parent folders and leaves a checkpointed file that a new store reopens', async () => {
    const path = join(await testFolder(), 'a', 'b', 'store.duckdb');
    const first = new DuckDbStore({ path });
    await first.start();
    await first.write([meter('m1', T0, 5)]);
    await first.stop();
    expect(existsSync(path)).toBe(true);
    expect(existsSync(`${path}.wal`)).toBe(false);

    const second = await startedStore(path);
    const series = await second.query({ measurement: 'meter', fields: ['power'], from: T0, to: T0 + 1 });
    expect(series).toEqual([{ tags: {}, rows: [{ time: T0, values: { power: 5 } }] }]);
  });

  it('builds the hour tier of a file written before it, once, when opened', async () => {
    const path = join(await testFolder(), 'store.duckdb');
    const first = new DuckDbStore({ path });
    await first.start();
    // Two hours of buckets of 1, 2, …, 8 kWh.
    await first.writeRollups([
      {
        kind: 'meter',
        site: 's',
        device: 'm1',
        from: T0,
        rows: Array.from({ length: 8 }, (_, k) => ({
          time: T0 + k * 15 * MIN,
          values: { consumption: k + 1, coveredMs: 900_000, state: '[]', rules: 'r' },
        })),
      },
    ]);
    await first.stop();
    // The file as an earlier version left it: bucket rows, no tier.
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    for (const kind of ['meter', 'vehicle', 'room']) await connection.run(`DROP TABLE "rollup_${kind}_hour"`);
    connection.closeSync();
    instance.closeSync();

    const second = await startedStore(path);
    const sums = await second.sumRollups({
      kind: 'meter',
      site: 's',
      edges: [T0, T0 + HOUR, T0 + 2 * HOUR],
      fields: ['consumption', 'coveredMs'],
    });
    // 1+2+3+4 = 10 and 5+6+7+8 = 26 kWh; an hour covered in each.
    expect(
      sums.map((s) => [s.device, Array.from(s.sums.consumption ?? []), Array.from(s.sums.coveredMs ?? [])]),
    ).toEqual([['m1', [10, 26], [HOUR, HOUR]]]);
    const tier = await second.read((c) =>
      c.runAndReadAll('SELECT count(*)::DOUBLE FROM "rollup_meter_hour"'),
    );
    expect(tier.getRows()).toEqual([[2]]);
  });

  it('sums the hour tier in batches of devices as in one read, a missing value as 0', async () => {
    const path = join(await testFolder(), 'store.duckdb');
    // At most 6 hour rows per read: 3 hours × 2 devices, so five meters take three reads.
    const store = new DuckDbStore({ path, sumBatchRows: 6 });
    onTestFinished(() => store.stop());
    await store.start();
    const meters = ['m1', 'm2', 'm3', 'm4', 'm5'];
    // Three hours of buckets; meter m{d} uses d kWh per bucket. m3's second hour has no covered
    // time written (NULL), which sums as 0.
    await store.writeRollups(
      meters.map((device, d) => ({
        kind: 'meter' as const,
        site: 's',
        device,
        from: T0,
        rows: Array.from({ length: 12 }, (_, k) => ({
          time: T0 + k * 15 * MIN,
          values: {
            consumption: d + 1,
            ...(device === 'm3' && k >= 4 && k < 8 ? {} : { coveredMs: 900_000 }),
            state: '[]',
            rules: 'r',
          },
        })),
      })),
    );
    // Edges on whole hours (0 h, 1 h, 3 h), and the same with 2:30 cutting the third hour.
    const sums = async (edges: number[]) =>
      (await store.sumRollups({ kind: 'meter', site: 's', edges, fields: ['consumption', 'coveredMs'] })).map(
        (s) => [s.device, Array.from(s.sums.consumption ?? []), Array.from(s.sums.coveredMs ?? [])],
      );
    // m{d}: 4d kWh in the first hour, 8d in the next two; m3 covered 1 h of those two.
    expect(await sums([T0, T0 + HOUR, T0 + 3 * HOUR])).toEqual([
      ['m1', [4, 8], [HOUR, 2 * HOUR]],
      ['m2', [8, 16], [HOUR, 2 * HOUR]],
      ['m3', [12, 24], [HOUR, HOUR]],
      ['m4', [16, 32], [HOUR, 2 * HOUR]],
      ['m5', [20, 40], [HOUR, 2 * HOUR]],
    ]);
    // [0 h, 2:30) = 10 buckets, [2:30, 3 h) = 2: m{d} 10d and 2d kWh; m3 covered 6 and 2 buckets.
    const b = 900_000;
    expect(await sums([T0, T0 + 2 * HOUR + 30 * MIN, T0 + 3 * HOUR])).toEqual([
      ['m1', [10, 2], [10 * b, 2 * b]],
      ['m2', [20, 4], [10 * b, 2 * b]],
      ['m3', [30, 6], [6 * b, 2 * b]],
      ['m4', [40, 8], [10 * b, 2 * b]],
      ['m5', [50, 10], [10 * b, 2 * b]],
    ]);
    expect(() => new DuckDbStore({ path, sumBatchRows: 0 })).toThrow(/sumBatchRows/);
  });

  it('keeps summed hours in memory, reads again only the blocks a write touched, and answers as without them', async () => {
    const folder = await testFolder();
    const cached = new DuckDbStore({ path: join(folder, 'cached.duckdb') });
    const uncached = new DuckDbStore({ path: join(folder, 'uncached.duckdb'), hourCacheBytes: 0 });
    for (const store of [cached, uncached]) {
      onTestFinished(() => store.stop());
      await store.start();
    }
    const DAY = 24 * HOUR;
    const bucket = (k: number, consumption: number) => ({
      time: T0 + k * 15 * MIN,
      values: { consumption, coveredMs: 900_000, state: '[]', rules: 'r' },
    });
    const write = (from: number, rows: ReturnType<typeof bucket>[]) =>
      Promise.all(
        [cached, uncached].map((store) =>
          store.writeRollups([{ kind: 'meter', site: 's', device: 'm1', from, rows }]),
        ),
      );
    // 30 days of buckets of 1 kWh: 96 kWh a day.
    await write(
      T0,
      Array.from({ length: 30 * 96 }, (_, k) => bucket(k, 1)),
    );
    const edges = Array.from({ length: 31 }, (_, d) => T0 + d * DAY);
    const daily = async (store: DuckDbStore) =>
      Array.from(
        (await store.sumRollups({ kind: 'meter', site: 's', edges, fields: ['consumption'] }))[0]?.sums
          .consumption ?? [],
      );
    expect(await daily(cached)).toEqual(new Array(30).fill(96));
    const blocks = cached.hourCache.blocks;
    // 30 days are 720 hours: 3 or 4 blocks of 256 hours, all read once.
    expect(blocks).toBeGreaterThanOrEqual(3);
    expect(cached.hourCache).toMatchObject({ hits: 0, misses: blocks });
    expect(await daily(cached)).toEqual(new Array(30).fill(96));
    expect(cached.hourCache).toMatchObject({ hits: blocks, misses: blocks });
    // A late fold replaces the rows from day 20, 01:00 on with 2 kWh a bucket: day 20 is
    // 4 + 23 × 8 = 188 kWh, the days after 192.
    const from = T0 + 20 * DAY + HOUR;
    await write(
      from,
      Array.from({ length: 10 * 96 - 4 }, (_, k) => bucket(20 * 96 + 4 + k, 2)),
    );
    const expected = [...new Array(20).fill(96), 188, ...new Array(9).fill(192)];
    expect(await daily(cached)).toEqual(expected);
    expect(await daily(uncached)).toEqual(expected);
    // Blocks that end before the write were kept; the others were read again.
    const kept = Math.floor((from - T0) / (256 * HOUR));
    expect(cached.hourCache.hits).toBeGreaterThanOrEqual(blocks + kept);
    expect(cached.hourCache.misses).toBeLessThan(2 * blocks);
    expect(uncached.hourCache).toMatchObject({ blocks: 0, bytes: 0 });
    // A meter without rows is left out, its empty blocks kept; once it reports, it is summed.
    const both = async () =>
      (
        await cached.sumRollups({
          kind: 'meter',
          site: 's',
          devices: ['m1', 'm2'],
          edges,
          fields: ['consumption'],
        })
      ).map((s) => [s.device, Array.from(s.sums.consumption ?? [])[5]]);
    expect(await both()).toEqual([['m1', 96]]);
    await cached.writeRollups([
      { kind: 'meter', site: 's', device: 'm2', from: T0 + 5 * DAY, rows: [bucket(5 * 96, 7)] },
    ]);
    expect(await both()).toEqual([
      ['m1', 96],
      ['m2', 7],
    ]);
  });

  it('gives each sum one snapshot while writes land, a field asked twice once, and trips off the grid', async () => {
    const store = await startedStore(join(await testFolder(), 'store.duckdb'));
    const DAY = 24 * HOUR;
    const buckets = (from: number, days: number, consumption: number) =>
      Array.from({ length: days * 96 }, (_, k) => ({
        time: from + k * 15 * MIN,
        values: { consumption, coveredMs: 900_000, state: '[]', rules: 'r' },
      }));
    const meters = ['m1', 'm2', 'm3'];
    // 40 days of 1 kWh a bucket for three meters: 96 kWh a day each.
    await store.writeRollups(
      meters.map((device) => ({
        kind: 'meter' as const,
        site: 's',
        device,
        from: T0,
        rows: buckets(T0, 40, 1),
      })),
    );
    const edges = Array.from({ length: 41 }, (_, d) => T0 + d * DAY);
    const sum = async () =>
      (
        await store.sumRollups({ kind: 'meter', site: 's', edges, fields: ['consumption', 'consumption'] })
      ).map((s) => Array.from(s.sums.consumption ?? []));
    const before = new Array(40).fill(96);
    expect(await sum()).toEqual([before, before, before]);
    // Sums in flight while one write re-folds every meter from day 10 on at 2 kWh a bucket: each
    // sees the whole write or none of it, for every meter and day.
    const after = [...new Array(10).fill(96), ...new Array(30).fill(192)];
    // With no block in memory, the sums in flight read DuckDB while the write commits.
    store.clearHourCache();
    const during = Array.from({ length: 12 }, () => sum());
    const write = store.writeRollups(
      meters.map((device) => ({
        kind: 'meter' as const,
        site: 's',
        device,
        from: T0 + 10 * DAY,
        rows: buckets(T0 + 10 * DAY, 30, 2),
      })),
    );
    const later = Array.from({ length: 12 }, () => sum());
    await write;
    for (const answer of await Promise.all([...during, ...later])) {
      expect([JSON.stringify([before, before, before]), JSON.stringify([after, after, after])]).toContain(
        JSON.stringify(answer),
      );
    }
    expect(await sum()).toEqual([after, after, after]);
    // A trip row starts anywhere: 12.5 km at 00:07 counts in the first quarter hour.
    await store.writeRollups([
      {
        kind: 'trip',
        site: 's',
        device: 'car1',
        from: T0,
        rows: [{ time: T0 + 7 * MIN, values: { end: T0 + 30 * MIN, distanceKm: 12.5 } }],
      },
    ]);
    const trips = await store.sumRollups({
      kind: 'trip',
      site: 's',
      edges: [T0, T0 + 15 * MIN, T0 + HOUR],
      fields: ['distanceKm'],
    });
    expect(trips.map((s) => [s.device, Array.from(s.sums.distanceKm ?? [])])).toEqual([['car1', [12.5, 0]]]);
  });

  it('says which file it cannot create', async () => {
    const folder = await testFolder();
    await writeFile(join(folder, 'not-a-folder'), '');
    const path = join(folder, 'not-a-folder', 'store.duckdb');
    const error = await rejection(new DuckDbStore({ path }).start());
    expect(error.message).toContain(path);
    expect(error.retriable).toBe(false);
  });

  it('refuses a file already open in this process, naming it, and opens it once the holder stops', async () => {
    const path = join(await testFolder(), 'store.duckdb');
    const first = await startedStore(path);
    const second = new DuckDbStore({ path });
    const error = await rejection(second.start());
    expect(error.code).toBe('STORE_LOCKED');
    expect(error.message).toContain(path);
    await first.stop();
    await second.start();
    await second.stop();
  });

  it('refuses a file locked by another process, naming it, as retriable', async () => {
    const path = join(await testFolder(), 'store.duckdb');
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { DuckDBInstance } from '@duckdb/node-api';
         await DuckDBInstance.create(${JSON.stringify(path)});
         console.log('open');
         setInterval(() => {}, 1000);`,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    onTestFinished(() => {
      holder.kill();
    });
    await once(holder.stdout, 'data');
    const error = await rejection(new DuckDbStore({ path }).start());
    expect(error.code).toBe('STORE_LOCKED');
    expect(error.retriable).toBe(true);
    expect(error.message).toContain(path);
  });

  it('refuses calls before start', async () => {
    const store = new DuckDbStore({ path: join(await testFolder(), 'store.duckdb') });
    const error = await rejection(store.query({ measurement: 'meter', fields: ['power'], from: 0, to: 1 }));
    expect(error.code).toBe('NOT_STARTED');
    await store.stop(); // a store never started stops quietly
  });

  it('serialises concurrent writes and keeps the last of each (device, time), whatever its other tags', async () => {
    const store = await startedStore(join(await testFolder(), 'store.duckdb'));
    await Promise.all([
      store.write([meter('m1', T0, 1, { building: 'old' }), meter('m2', T0, 2)]),
      store.write([meter('m1', T0 + MIN, 3), meter('m1', T0, 4, { building: 'new' })]),
      store.write([meter('m2', T0 + MIN, 5), meter('m2', T0 - MIN, 6), meter('m2', T0 + MIN, 7)]),
    ]);
    const series = await store.query({
      measurement: 'meter',
      fields: ['power'],
      groupBy: ['meter', 'building'],
      from: T0 - HOUR,
      to: T0 + HOUR,
    });
    expect(series).toEqual([
      {
        tags: { meter: 'm1', building: '' },
        rows: [{ time: T0 + MIN, values: { power: 3 } }],
      },
      {
        tags: { meter: 'm1', building: 'new' },
        rows: [{ time: T0, values: { power: 4 } }],
      },
      {
        tags: { meter: 'm2', building: '' },
        rows: [
          { time: T0 - MIN, values: { power: 6 } },
          { time: T0, values: { power: 2 } },
          { time: T0 + MIN, values: { power: 7 } },
        ],
      },
    ]);
  });

  it('writes several measurements in one batch, all or nothing', async () => {
    const store = await startedStore(join(await testFolder(), 'store.duckdb'));
    const vehicle: Point = {
      measurement: 'vehicle',
      tags: { site: 's', vehicle: 'v1' },
      fields: { ignition: true },
      time: T0,
    };
    await expect(store.write([vehicle, meter('m1', T0, Number.POSITIVE_INFINITY)])).rejects.toThrow(
      StoreError,
    );
    expect(await store.latest({ measurement: 'vehicle', fields: ['ignition'] })).toEqual([]);
    await store.write([vehicle, meter('m1', T0, 1)]);
    expect((await store.latest({ measurement: 'vehicle', fields: ['ignition'] }))[0]?.values).toEqual({
      ignition: true,
    });
  });

  it('forgets the new series of a write that fails in the database, and stores them once when retried', async () => {
    const store = await startedStore(join(await testFolder(), 'store.duckdb'));
    await store.write([meter('m1', T0, 1)]);
    // Break the points table behind the store's back so that the next write fails after it
    // has added its new series inside the transaction.
    await store.exclusive((c) => c.run('ALTER TABLE meter_points RENAME TO meter_points_away'));
    const batch = [meter('m2', T0, 2), meter('m1', T0 + MIN, 3, { building: 'b9' })];
    const error = await rejection(store.write(batch));
    expect(error.code).toBe('WRITE_FAILED');
    await store.exclusive((c) => c.run('ALTER TABLE meter_points_away RENAME TO meter_points'));

    await store.write(batch);
    const series = await store.query({
      measurement: 'meter',
      fields: ['power'],
      groupBy: ['meter', 'building'],
      from: T0,
      to: T0 + HOUR,
    });
    expect(series.map((s) => [s.tags, s.rows.map((r) => r.values.power)])).toEqual([
      [{ meter: 'm1', building: '' }, [1]],
      [{ meter: 'm1', building: 'b9' }, [3]],
      [{ meter: 'm2', building: '' }, [2]],
    ]);
    const stored = await store.read(async (c) =>
      (await c.runAndReadAll('SELECT count(*)::INT FROM meter_series')).getRows(),
    );
    expect(stored).toEqual([[3]]);
  });

  it('takes first and last of boolean and string fields, skipping points without the field', async () => {
    const store = await startedStore(join(await testFolder(), 'store.duckdb'));
    const sensor = (time: number, fields: Point['fields']): Point => ({
      measurement: 'sensor',
      tags: { site: 's', sensor: 'x' },
      fields,
      time,
    });
    await store.write([
      sensor(T0, { co2: 400 }),
      sensor(T0 + MIN, { hvac: 'heat', lights: true }),
      sensor(T0 + 2 * MIN, { hvac: 'off', lights: false }),
      sensor(T0 + 3 * MIN, { co2: 500 }),
    ]);
    const ask = (aggregate: 'first' | 'last' | 'count') =>
      store.query({
        measurement: 'sensor',
        fields: ['hvac', 'lights'],
        aggregate,
        from: T0,
        to: T0 + HOUR,
      });
    expect((await ask('first'))[0]?.rows).toEqual([{ time: T0, values: { hvac: 'heat', lights: true } }]);
    expect((await ask('last'))[0]?.rows).toEqual([{ time: T0, values: { hvac: 'off', lights: false } }]);
    expect((await ask('count'))[0]?.rows).toEqual([{ time: T0, values: { hvac: 2, lights: 2 } }]);
  });

  it('keeps calendar days across daylight-saving changes (Europe/Berlin: 23 and 25 hours)', async () => {
    const store = await startedStore(join(await testFolder(), 'store.duckdb'));
    // 2026-03-29: clocks go 02:00 → 03:00 (CET → CEST), so the day is
    // [2026-03-28T23:00Z, 2026-03-29T22:00Z). 2026-10-25: 03:00 → 02:00, the day is
    // [2026-10-24T22:00Z, 2026-10-25T23:00Z).
    const spring = Date.UTC(2026, 2, 28, 23);
    const autumn = Date.UTC(2026, 9, 24, 22);
    await store.write([
      meter('m1', spring - 1, 1),
      meter('m1', spring, 2),
      meter('m1', spring + 23 * HOUR - 1, 4),
      meter('m1', spring + 23 * HOUR, 8),
      meter('m1', autumn + 25 * HOUR - 1, 16),
      meter('m1', autumn + 25 * HOUR, 32),
    ]);
    const series = await store.query({
      measurement: 'meter',
      fields: ['power'],
      aggregate: 'sum',
      every: '1d',
      timezone: 'Europe/Berlin',
      from: spring - HOUR,
      to: autumn + 26 * HOUR,
    });
    expect(series[0]?.rows).toEqual([
      { time: spring - 24 * HOUR, values: { power: 1 } },
      { time: spring, values: { power: 6 } },
      { time: spring + 23 * HOUR, values: { power: 8 } },
      { time: autumn, values: { power: 16 } },
      { time: autumn + 25 * HOUR, values: { power: 32 } },
    ]);
  });

  it('starts a day whose midnight is skipped when the clocks jump (America/Santiago, 2026-09-06 00:00 → 01:00)', async () => {
    const store = await startedStore(join(await testFolder(), 'store.duckdb'));
    const jump = Date.UTC(2026, 8, 6, 4); // 00:00 −04 became 01:00 −03
    await store.write([meter('m1', jump - 1, 1), meter('m1', jump, 2), meter('m1', jump + 23 * HOUR - 1, 4)]);
    const series = await store.query({
      measurement: 'meter',
      fields: ['power'],
      aggregate: 'sum',
      every: '1d',
      timezone: 'America/Santiago',
      from: jump - HOUR,
      to: jump + 24 * HOUR,
    });
    expect(series[0]?.rows).toEqual([
      { time: jump - 24 * HOUR, values: { power: 1 } },
      { time: jump, values: { power: 6 } },
    ]);
  });

  it('starts hourly windows on local hours in a zone with a non-whole-hour offset (Asia/Kathmandu, +05:45)', async () => {
    const store = await startedStore(join(await testFolder(), 'store.duckdb'));
    const localHour = Date.UTC(2026, 10, 2, 6) - (5 * 60 + 45) * MIN; // 06:00 local
    await store.write([
      meter('m1', localHour - 1, 1),
      meter('m1', localHour, 2),
      meter('m1', localHour + 59 * MIN, 4),
    ]);
    const series = await store.query({
      measurement: 'meter',
      fields: ['power'],
      aggregate: 'sum',
      every: '1h',
      timezone: 'Asia/Kathmandu',
      from: localHour - HOUR,
      to: localHour + HOUR,
    });
    expect(series[0]?.rows).toEqual([
      { time: localHour - HOUR, values: { power: 1 } },
      { time: localHour, values: { power: 6 } },
    ]);
  });

  it('rejects an unknown time zone and an out-of-range time as bad input', async () => {
    const store = await startedStore(join(await testFolder(), 'store.duckdb'));
    const zone = await rejection(
      store.query({
        measurement: 'meter',
        fields: ['power'],
        aggregate: 'sum',
        every: '1h',
        timezone: 'Mars/Olympus',
        from: T0,
        to: T0 + 1,
      }),
    );
    expect(zone.message).toMatch(/"Mars\/Olympus" is not an IANA time zone/);
    expect(zone.retriable).toBe(false);
    const time = await rejection(store.write([meter('m1', 1e300, 1)]));
    expect(time.retriable).toBe(false);
  });
});
