/**
 * The TimeSeriesStore contract: one suite, run unchanged against every adapter
 * (like MQTT.js' abstract_store suite). Every expected figure below is worked out by hand
 * from the points written in the test.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFacility } from '../../core/facility/load.ts';
import { registerRules } from '../../core/facility/meter-rules.ts';
import type { Facility, Meter } from '../../core/facility/schema.ts';
import { rawData, rollupData } from '../../core/kpi/data.ts';
import { adjustRegister, type Reading } from '../../core/register.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import { type Point, type Query, StoreError, type TimeSeriesStore, toColumns } from '../../core/store.ts';

export interface StoreFixture {
  /**
   * A store over the same location each call (same file or database), so that a second
   * store sees what the first committed. Each fixture is a fresh, empty location.
   */
  open(): TimeSeriesStore;
  /** Remove the location. */
  dispose(): Promise<void>;
}

const T0 = Date.UTC(2026, 10, 2, 0, 0, 0); // 2026-11-02T00:00:00Z, a Monday
const SEC = 1_000;
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

function meter(
  id: string,
  time: number,
  total: number,
  power?: number,
  extra: Record<string, string> = {},
): Point {
  return {
    measurement: 'meter',
    tags: { site: 'test-site', building: 'b1', meter: id, kind: 'electricity', system: 'total', ...extra },
    fields: power === undefined ? { total } : { total, power },
    time,
  };
}

/** The facility of the meters the contract writes (site `test-site`, building b1). */
function contractFacility(): Facility {
  const meters = [
    ['m1', 60],
    ['m2', 60],
    ['ma', 600],
    ['mb', 60],
    ['mh', 3600],
    ['r1', 60],
    ['r2', 30],
    ['r3', 120],
  ]
    .map(
      ([id, interval]) =>
        `  - { id: ${id}, kind: electricity, building: b1, system: total, interval: ${interval}, secret: s }`,
    )
    .join('\n');
  const result = loadFacility(
    `version: 1
site: { id: test-site, name: { zh: 测试, en: Test }, timezone: UTC, location: { lat: 0, lon: 0 }, climateZone: hot-summer-cold-winter }
calendar: { workdays: [mon, tue, wed, thu, fri], workingHours: "09:00-18:00" }
buildings:
  - { id: b1, name: { zh: 楼, en: B1 }, use: office, floorArea: 1000, floors: 1 }
meters:
${meters}
`,
    'contract.yaml',
  );
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.facility;
}

export function storeContract(name: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`TimeSeriesStore contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: TimeSeriesStore;

    beforeEach(async () => {
      fixture = await makeFixture();
      store = fixture.open();
      await store.start();
    });
    afterEach(async () => {
      await store.stop();
      await fixture.dispose();
    });

    it('writes points and reads them back raw, with tags and every field type', async () => {
      await store.write([
        meter('m1', T0, 100.5, 12.25),
        meter('m1', T0 + MIN, 100.75),
        {
          measurement: 'vehicle',
          tags: { site: 'test-site', vehicle: 'v01', department: 'fleet' },
          fields: { lat: 30.657, lon: 104.066, speed: 0, ignition: true },
          time: T0,
        },
        {
          measurement: 'sensor',
          tags: { site: 'test-site', building: 'b1', room: 'r1', sensor: 's1' },
          fields: { occupancy: 3, temperature: 25.5, hvac: 'cool', lights: false },
          time: T0,
        },
      ]);

      const meters = await store.query({
        measurement: 'meter',
        fields: ['total', 'power'],
        from: T0,
        to: T0 + HOUR,
      });
      expect(meters).toEqual([
        {
          tags: {},
          rows: [
            { time: T0, values: { total: 100.5, power: 12.25 } },
            { time: T0 + MIN, values: { total: 100.75, power: null } },
          ],
        },
      ]);

      const vehicles = await store.query({
        measurement: 'vehicle',
        fields: ['lat', 'lon', 'speed', 'ignition', 'odometer'],
        where: { vehicle: 'v01' },
        from: T0,
        to: T0 + 1,
      });
      expect(vehicles).toEqual([
        {
          tags: {},
          rows: [
            { time: T0, values: { lat: 30.657, lon: 104.066, speed: 0, ignition: true, odometer: null } },
          ],
        },
      ]);

      const sensors = await store.query({
        measurement: 'sensor',
        fields: ['occupancy', 'temperature', 'hvac', 'lights', 'co2'],
        where: { room: 'r1' },
        from: T0,
        to: T0 + MIN,
      });
      expect(sensors[0]?.rows).toEqual([
        { time: T0, values: { occupancy: 3, temperature: 25.5, hvac: 'cool', lights: false, co2: null } },
      ]);
    });

    it('includes from and excludes to', async () => {
      await store.write([
        meter('m1', T0 - 1, 1),
        meter('m1', T0, 2),
        meter('m1', T0 + HOUR - 1, 3),
        meter('m1', T0 + HOUR, 4),
      ]);
      const series = await store.query({ measurement: 'meter', fields: ['total'], from: T0, to: T0 + HOUR });
      expect(series[0]?.rows.map((r) => r.values.total)).toEqual([2, 3]);
    });

    it('keeps one point when the same series and time is written twice, the later write winning', async () => {
      await store.write([meter('m1', T0, 10, 1)]);
      await store.write([meter('m1', T0, 10, 1)]);
      await store.write([meter('m1', T0, 11, 2), meter('m1', T0, 12, 3)]); // duplicate inside one batch too
      const series = await store.query({
        measurement: 'meter',
        fields: ['total', 'power'],
        from: T0,
        to: T0 + 1,
      });
      expect(series).toEqual([{ tags: {}, rows: [{ time: T0, values: { total: 12, power: 3 } }] }]);
      const count = await store.query({
        measurement: 'meter',
        fields: ['total'],
        aggregate: 'count',
        from: T0 - HOUR,
        to: T0 + HOUR,
      });
      expect(count[0]?.rows[0]?.values.total).toBe(1);
    });

    it('aggregates a whole range with every aggregate of the model', async () => {
      // power readings 4, 1, 7, 2 at minutes 0, 1, 2, 3; one more point outside the range.
      await store.write([
        meter('m1', T0, 100, 4),
        meter('m1', T0 + MIN, 101, 1),
        meter('m1', T0 + 2 * MIN, 103, 7),
        meter('m1', T0 + 3 * MIN, 106, 2),
        meter('m1', T0 + HOUR, 200, 50),
      ]);
      const expected = {
        first: 4, // the reading at minute 0
        last: 2, // the reading at minute 3
        min: 1,
        max: 7,
        mean: 3.5, // (4 + 1 + 7 + 2) / 4 = 14 / 4
        sum: 14,
        count: 4,
      } as const;
      for (const [aggregate, value] of Object.entries(expected)) {
        const series = await store.query({
          measurement: 'meter',
          fields: ['power'],
          aggregate: aggregate as keyof typeof expected,
          from: T0,
          to: T0 + 10 * MIN,
        });
        expect(series, aggregate).toEqual([{ tags: {}, rows: [{ time: T0, values: { power: value } }] }]);
      }
    });

    it('aggregates per time window, returning only windows that hold points', async () => {
      // Hourly windows over 00:00–04:00 UTC; nothing is written in 02:00–03:00.
      await store.write([
        meter('m1', T0 + 10 * MIN, 10, 1), // 00:10
        meter('m1', T0 + 50 * MIN, 20, 3), // 00:50
        meter('m1', T0 + HOUR, 30, 5), // 01:00 — starts the second window
        meter('m1', T0 + HOUR + 30 * MIN, 40, 10), // 01:30
        meter('m1', T0 + 3 * HOUR + 59 * MIN, 50, 6), // 03:59
      ]);
      const run = (aggregate: NonNullable<Query['aggregate']>) =>
        store.query({
          measurement: 'meter',
          fields: ['total', 'power'],
          aggregate,
          every: '1h',
          from: T0,
          to: T0 + 4 * HOUR,
        });
      const windows = (values: Array<[number, number]>, hours: number[]) =>
        hours.map((h, i) => ({
          time: T0 + h * HOUR,
          values: { total: values[i]?.[0], power: values[i]?.[1] },
        }));

      expect(await run('first')).toEqual([
        {
          tags: {},
          rows: windows(
            [
              [10, 1],
              [30, 5],
              [50, 6],
            ],
            [0, 1, 3],
          ),
        },
      ]);
      expect(await run('last')).toEqual([
        {
          tags: {},
          rows: windows(
            [
              [20, 3],
              [40, 10],
              [50, 6],
            ],
            [0, 1, 3],
          ),
        },
      ]);
      expect(await run('min')).toEqual([
        {
          tags: {},
          rows: windows(
            [
              [10, 1],
              [30, 5],
              [50, 6],
            ],
            [0, 1, 3],
          ),
        },
      ]);
      expect(await run('max')).toEqual([
        {
          tags: {},
          rows: windows(
            [
              [20, 3],
              [40, 10],
              [50, 6],
            ],
            [0, 1, 3],
          ),
        },
      ]);
      // mean: (10+20)/2 = 15, (1+3)/2 = 2; (30+40)/2 = 35, (5+10)/2 = 7.5
      expect(await run('mean')).toEqual([
        {
          tags: {},
          rows: windows(
            [
              [15, 2],
              [35, 7.5],
              [50, 6],
            ],
            [0, 1, 3],
          ),
        },
      ]);
      // sum: 10+20 = 30, 1+3 = 4; 30+40 = 70, 5+10 = 15
      expect(await run('sum')).toEqual([
        {
          tags: {},
          rows: windows(
            [
              [30, 4],
              [70, 15],
              [50, 6],
            ],
            [0, 1, 3],
          ),
        },
      ]);
      expect(await run('count')).toEqual([
        {
          tags: {},
          rows: windows(
            [
              [2, 2],
              [2, 2],
              [1, 1],
            ],
            [0, 1, 3],
          ),
        },
      ]);
    });

    it('groups by tags and filters by one value or a list of values', async () => {
      await store.write([
        meter('m1', T0, 1, 10, { building: 'b1' }),
        meter('m2', T0, 1, 20, { building: 'b1' }),
        meter('m3', T0, 1, 40, { building: 'b2' }),
        meter('m1', T0 + MIN, 2, 30, { building: 'b1' }),
        meter('w1', T0, 5, undefined, { building: 'b2', kind: 'water' }),
      ]);
      const byBuilding = await store.query({
        measurement: 'meter',
        fields: ['power'],
        where: { kind: 'electricity' },
        aggregate: 'sum',
        groupBy: ['building'],
        from: T0,
        to: T0 + HOUR,
      });
      // b1: 10 + 20 + 30 = 60; b2: 40 (the water meter is filtered out)
      expect(byBuilding).toEqual([
        { tags: { building: 'b1' }, rows: [{ time: T0, values: { power: 60 } }] },
        { tags: { building: 'b2' }, rows: [{ time: T0, values: { power: 40 } }] },
      ]);

      const byMeter = await store.query({
        measurement: 'meter',
        fields: ['total'],
        where: { meter: ['m1', 'm3'] },
        aggregate: 'last',
        groupBy: ['meter', 'building'],
        from: T0,
        to: T0 + HOUR,
      });
      expect(byMeter).toEqual([
        { tags: { meter: 'm1', building: 'b1' }, rows: [{ time: T0, values: { total: 2 } }] },
        { tags: { meter: 'm3', building: 'b2' }, rows: [{ time: T0, values: { total: 1 } }] },
      ]);

      const windowed = await store.query({
        measurement: 'meter',
        fields: ['power'],
        where: { building: 'b1' },
        aggregate: 'max',
        every: '1h',
        groupBy: ['meter'],
        from: T0,
        to: T0 + HOUR,
      });
      expect(windowed).toEqual([
        { tags: { meter: 'm1' }, rows: [{ time: T0, values: { power: 30 } }] },
        { tags: { meter: 'm2' }, rows: [{ time: T0, values: { power: 20 } }] },
      ]);
    });

    it('reads raw points column by column: the same series, order and values as query()', async () => {
      const sensor = (sensorId: string, room: string, time: number, fields: Point['fields']): Point => ({
        measurement: 'sensor',
        tags: { site: 'test-site', building: 'b1', room, sensor: sensorId },
        fields,
        time,
      });
      await store.write([
        sensor('s2', 'r1', T0, { occupancy: 2, hvac: 'cool', lights: true }),
        sensor('s1', 'r1', T0, { occupancy: 0, temperature: 21.5 }),
        sensor('s1', 'r1', T0 + MIN, { hvac: 'off', lights: false, co2: 650 }),
        sensor('s3', 'r2', T0 + 2 * MIN, { occupancy: 5 }),
        sensor('s1', 'r1', T0 + HOUR, { occupancy: 9 }),
      ]);
      const fields = ['occupancy', 'temperature', 'co2', 'hvac', 'lights'];
      for (const q of [
        { measurement: 'sensor', fields, from: T0, to: T0 + HOUR },
        { measurement: 'sensor', fields, groupBy: ['sensor'], from: T0, to: T0 + HOUR },
        {
          measurement: 'sensor',
          fields,
          where: { room: ['r1'] },
          groupBy: ['room'],
          from: T0,
          to: T0 + HOUR,
        },
        { measurement: 'sensor', fields: ['co2'], from: T0, to: T0 + HOUR },
        { measurement: 'sensor', fields, where: { room: 'nope' }, from: T0, to: T0 + HOUR },
      ] satisfies Query[]) {
        const columns = await store.queryColumns?.(q);
        expect(columns).toEqual(toColumns(q, await store.query(q)));
      }
      const [all] =
        (await store.queryColumns?.({ measurement: 'sensor', fields, from: T0, to: T0 + HOUR })) ?? [];
      // Two points at T0 (s1 before s2: devices in order), then s1, then s3.
      expect([...(all?.time ?? [])]).toEqual([T0, T0, T0 + MIN, T0 + 2 * MIN]);
      expect([...((all?.values.occupancy as Float64Array | undefined) ?? [])]).toEqual([0, 2, Number.NaN, 5]);
      expect([...((all?.values.lights as Float64Array | undefined) ?? [])]).toEqual([
        Number.NaN,
        1,
        0,
        Number.NaN,
      ]);
      expect(all?.values.hvac).toEqual([null, 'cool', 'off', null]);
    });

    it('reads each device from its own start when a raw read gives starts per device', async () => {
      await store.write([
        meter('m1', T0, 1),
        meter('m1', T0 + MIN, 2),
        meter('m1', T0 + 2 * MIN, 3),
        meter('m2', T0, 10),
        meter('m2', T0 + MIN, 20),
        meter('m2', T0 + 2 * MIN, 30),
        meter('ma', T0 + MIN, 100),
        // An id every object inherits a property of: not listed, so read from `from`.
        meter('constructor', T0, 7),
      ]);
      const read = (startOf: Record<string, number>) =>
        store.queryColumns?.({
          measurement: 'meter',
          fields: ['total'],
          where: { meter: ['m1', 'm2', 'ma', 'constructor'] },
          groupBy: ['meter'],
          from: T0,
          to: T0 + HOUR,
          startOf,
        });
      const totals = (series: Awaited<ReturnType<typeof read>>) =>
        Object.fromEntries((series ?? []).map((s) => [s.tags.meter, [...(s.values.total as Float64Array)]]));
      // m1 from its third reading, m2 from just after its first, ma (not listed) from `from`;
      // a start before `from` is `from`.
      expect(totals(await read({ m1: T0 + 2 * MIN, m2: T0 + 1 }))).toEqual({
        constructor: [7],
        m1: [3],
        m2: [20, 30],
        ma: [100],
      });
      expect(totals(await read({ m1: T0 - DAY, m2: T0 + HOUR }))).toEqual({
        constructor: [7],
        m1: [1, 2, 3],
        ma: [100],
      });
      // Starts need the read grouped by the device, to know whose points are whose.
      await expect(
        store.queryColumns?.({
          measurement: 'meter',
          fields: ['total'],
          from: T0,
          to: T0 + HOUR,
          startOf: { m1: T0 },
        }) ?? Promise.reject(new Error('no queryColumns')),
      ).rejects.toThrow(/startOf: the query must group by "meter"/);
    });

    it('returns no series for an empty range, an empty store or a filter that matches nothing', async () => {
      expect(await store.query({ measurement: 'meter', fields: ['total'], from: T0, to: T0 + HOUR })).toEqual(
        [],
      );
      await store.write([meter('m1', T0, 1)]);
      const ask = (q: Partial<Query>) =>
        store.query({ measurement: 'meter', fields: ['total'], from: T0, to: T0 + HOUR, ...q });
      expect(await ask({ from: T0 + MIN, to: T0 + HOUR })).toEqual([]);
      expect(await ask({ from: T0, to: T0 })).toEqual([]);
      expect(await ask({ where: { meter: 'nope' } })).toEqual([]);
      expect(await ask({ where: { meter: [] } })).toEqual([]);
      expect(await ask({ aggregate: 'sum', from: T0 + MIN })).toEqual([]);
      expect(await ask({ aggregate: 'count', every: '1h', from: T0 + MIN })).toEqual([]);
    });

    it('gives the latest point of each series, optionally before an instant', async () => {
      await store.write([
        meter('m1', T0, 1, 5),
        meter('m1', T0 + 2 * MIN, 3),
        meter('m2', T0 + MIN, 7, 9, { building: 'b2' }),
        meter('w1', T0 + 5 * MIN, 70, undefined, { kind: 'water' }),
      ]);
      const latest = await store.latest({
        measurement: 'meter',
        fields: ['total', 'power'],
        where: { kind: 'electricity' },
      });
      expect(latest).toEqual([
        {
          tags: {
            site: 'test-site',
            building: 'b1',
            department: '',
            meter: 'm1',
            kind: 'electricity',
            system: 'total',
          },
          time: T0 + 2 * MIN,
          values: { total: 3, power: null },
        },
        {
          tags: {
            site: 'test-site',
            building: 'b2',
            department: '',
            meter: 'm2',
            kind: 'electricity',
            system: 'total',
          },
          time: T0 + MIN,
          values: { total: 7, power: 9 },
        },
      ]);
      const before = await store.latest({
        measurement: 'meter',
        fields: ['total'],
        where: { meter: 'm1' },
        before: T0 + 2 * MIN,
      });
      expect(before.map((p) => [p.time, p.values.total])).toEqual([[T0, 1]]);
      expect(await store.latest({ measurement: 'vehicle', fields: ['lat'] })).toEqual([]);
    });

    it('aligns day windows to local midnight of the time zone (Asia/Shanghai day starts 16:00 UTC the day before)', async () => {
      // 2026-11-02 in Shanghai is [2026-11-01T16:00Z, 2026-11-02T16:00Z).
      const day = Date.UTC(2026, 10, 1, 16, 0, 0);
      await store.write([
        meter('m1', day - 1, 1, 100), // 2026-11-01 23:59:59.999 local — the day before
        meter('m1', day, 2, 1), // local midnight — first point of 11-02
        meter('m1', day + 8 * HOUR, 3, 2), // 2026-11-02T00:00Z = 08:00 local, still 11-02
        meter('m1', day + 24 * HOUR - 1, 4, 4), // last millisecond of 11-02
        meter('m1', day + 24 * HOUR, 5, 1000), // 11-03 local
      ]);
      const sh = await store.query({
        measurement: 'meter',
        fields: ['power'],
        aggregate: 'sum',
        every: '1d',
        timezone: 'Asia/Shanghai',
        from: day - HOUR,
        to: day + 25 * HOUR,
      });
      expect(sh[0]?.rows).toEqual([
        { time: day - 24 * HOUR, values: { power: 100 } },
        { time: day, values: { power: 7 } }, // 1 + 2 + 4
        { time: day + 24 * HOUR, values: { power: 1000 } },
      ]);
      // The same points in UTC days: 11-01 holds the first two (100 + 1), 11-02 the next three (2 + 4 + 1000).
      const utc = await store.query({
        measurement: 'meter',
        fields: ['power'],
        aggregate: 'sum',
        every: '1d',
        from: day - HOUR,
        to: day + 25 * HOUR,
      });
      expect(utc[0]?.rows).toEqual([
        { time: Date.UTC(2026, 10, 1), values: { power: 101 } },
        { time: Date.UTC(2026, 10, 2), values: { power: 1006 } },
      ]);
    });

    it('keeps what it committed across a restart', async () => {
      await store.write([meter('m1', T0, 42, 4.2)]);
      await store.stop();
      await store.stop(); // idempotent
      store = fixture.open();
      await store.start();
      await store.start(); // idempotent
      const series = await store.query({
        measurement: 'meter',
        fields: ['total', 'power'],
        from: T0,
        to: T0 + 1,
      });
      expect(series[0]?.rows).toEqual([{ time: T0, values: { total: 42, power: 4.2 } }]);
    });

    it('writes a large batch in one call and reads exact sums back', async () => {
      // 3 meters × 2,000 one-minute readings; power = i % 10 → each meter sums
      // 200 × (0 + 1 + … + 9) = 200 × 45 = 9,000 over its 2,000 readings.
      const points: Point[] = [];
      for (const id of ['a', 'b', 'c']) {
        for (let i = 0; i < 2000; i++) points.push(meter(id, T0 + i * MIN, i, i % 10));
      }
      await store.write(points);
      const series = await store.query({
        measurement: 'meter',
        fields: ['power', 'total'],
        aggregate: 'sum',
        groupBy: ['meter'],
        from: T0,
        to: T0 + 2000 * MIN,
      });
      // total sums 0 + 1 + … + 1999 = 1999 × 2000 / 2 = 1,999,000
      expect(series.map((s) => [s.tags.meter, s.rows[0]?.values.power, s.rows[0]?.values.total])).toEqual([
        ['a', 9000, 1_999_000],
        ['b', 9000, 1_999_000],
        ['c', 9000, 1_999_000],
      ]);
    });

    it('stores tag values with spaces, commas, quotes and Chinese characters unchanged', async () => {
      const odd = 'b 1,"x"=\\y 一号楼';
      await store.write([meter('m1', T0, 1, 1, { building: odd })]);
      const series = await store.query({
        measurement: 'meter',
        fields: ['total'],
        where: { building: odd },
        aggregate: 'last',
        groupBy: ['building'],
        from: T0,
        to: T0 + 1,
      });
      expect(series).toEqual([{ tags: { building: odd }, rows: [{ time: T0, values: { total: 1 } }] }]);
    });

    describe('rollup rows', () => {
      const row = (time: number, consumption: number, rules = 'r') => ({
        time,
        values: { consumption, coveredMs: 1000, state: '[]', rules },
      });
      const write = (device: string, from: number, rows: ReturnType<typeof row>[]) =>
        store.writeRollups([
          { kind: 'meter', site: 'test-site', device, tags: { building: 'b1' }, from, rows },
        ]);
      const read = async (from = T0 - DAY, to = T0 + DAY) =>
        (
          await store.readRollups({
            kind: 'meter',
            site: 'test-site',
            from,
            to,
            fields: ['consumption', 'state'],
          })
        ).map((s) => ({
          device: s.device,
          time: Array.from(s.time),
          consumption: Array.from(s.values.consumption as Float64Array),
        }));

      it('replaces a device’s rows from an instant on, and sums them per interval on the grid', async () => {
        const q = 15 * MIN;
        await write('m1', T0, [row(T0, 1), row(T0 + q, 2), row(T0 + 2 * q, 3), row(T0 + 3 * q, 4)]);
        await write('m2', T0, [row(T0, 10)]);
        // Rows of m1 from T0 + 2q on are replaced: the one at 3q goes, 2q becomes 30, 4q is new.
        await write('m1', T0 + 2 * q, [row(T0 + 2 * q, 30), row(T0 + 4 * q, 50)]);
        expect(await read()).toEqual([
          { device: 'm1', time: [T0, T0 + q, T0 + 2 * q, T0 + 4 * q], consumption: [1, 2, 30, 50] },
          { device: 'm2', time: [T0], consumption: [10] },
        ]);
        // [T0, T0 + 2q) = 1 + 2 = 3; [2q, 5q) = 30 + 50 = 80; m2: 10 and 0.
        const sums = await store.sumRollups({
          kind: 'meter',
          site: 'test-site',
          edges: [T0, T0 + 2 * q, T0 + 5 * q],
          fields: ['consumption', 'coveredMs'],
        });
        expect(
          sums.map((s) => ({
            device: s.device,
            c: Array.from(s.sums.consumption as Float64Array),
            v: Array.from(s.sums.coveredMs as Float64Array),
          })),
        ).toEqual([
          { device: 'm1', c: [3, 80], v: [2000, 2000] },
          { device: 'm2', c: [10, 0], v: [1000, 0] },
        ]);
        const only = await store.sumRollups({
          kind: 'meter',
          site: 'test-site',
          devices: ['m2'],
          edges: [T0, T0 + q],
          fields: ['consumption'],
        });
        expect(only.map((s) => s.device)).toEqual(['m2']);
        // The last row of each device before an instant, with its state.
        const last = await store.lastRollups({
          kind: 'meter',
          site: 'test-site',
          before: T0 + 3 * q,
          fields: ['consumption', 'state'],
        });
        expect(
          last.map((s) => [
            s.device,
            s.time[0],
            (s.values.consumption as Float64Array)[0],
            (s.values.state as string[])[0],
          ]),
        ).toEqual([
          ['m1', T0 + 2 * q, 30, '[]'],
          ['m2', T0, 10, '[]'],
        ]);
        // Removing every row from an instant on.
        await write('m1', T0 + q, []);
        expect((await read()).find((s) => s.device === 'm1')).toEqual({
          device: 'm1',
          time: [T0],
          consumption: [1],
        });
      });

      it('sums whole hours and the hours an edge cuts alike, after rewrites of part of an hour', async () => {
        const q = 15 * MIN;
        const rows = (values: number[], from = 0) => values.map((v, k) => row(T0 + (from + k) * q, v));
        // Three hours of buckets: m1 1, 2, …, 12; m2 100 each.
        await write('m1', T0, rows([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
        await write('m2', T0, rows(new Array(12).fill(100)));
        // Two rewrites of part of the second hour: bucket 5 (50), then from bucket 6 on (60, and
        // 80 at bucket 8). m1 is then 1 2 3 4 | 5 50 60 – | 80 – – –.
        const m1 = { kind: 'meter', site: 'test-site', device: 'm1', tags: {} } as const;
        await store.writeRollups([{ ...m1, from: T0 + 5 * q, to: T0 + 6 * q, rows: rows([50], 5) }]);
        await store.writeRollups([{ ...m1, from: T0 + 6 * q, rows: [...rows([60], 6), ...rows([80], 8)] }]);
        const sums = async (edges: number[]) =>
          (await store.sumRollups({ kind: 'meter', site: 'test-site', edges, fields: ['consumption'] })).map(
            (s) => [s.device, Array.from(s.sums.consumption as Float64Array)],
          );
        // Edges on whole hours: [0 h, 1 h) m1 1+2+3+4 = 10, [1 h, 3 h) 5+50+60+80 = 195; m2 400, 800.
        expect(await sums([T0, T0 + HOUR, T0 + 3 * HOUR])).toEqual([
          ['m1', [10, 195]],
          ['m2', [400, 800]],
        ]);
        // Edges inside hours (0:30, 1:45): m1 1+2 = 3, 3+4+5+50+60 = 122, 80; m2 200, 500, 500.
        expect(await sums([T0, T0 + 2 * q, T0 + 7 * q, T0 + 3 * HOUR])).toEqual([
          ['m1', [3, 122, 80]],
          ['m2', [200, 500, 500]],
        ]);
        // Starting and ending inside hours (0:45 to 2:15): m1 4+5+50+60+80 = 199; m2 6 × 100.
        expect(await sums([T0 + 3 * q, T0 + 9 * q])).toEqual([
          ['m1', [199]],
          ['m2', [600]],
        ]);
      });

      it('refuses rows and sums outside the model', async () => {
        await expect(write('m1', T0, [row(T0 + MIN, 1), row(T0, 2)])).rejects.toThrow(/ascending/);
        await expect(
          store.writeRollups([
            {
              kind: 'meter',
              site: 'test-site',
              device: 'm1',
              from: T0,
              rows: [{ time: T0, values: { speed: 1 } }],
            },
          ]),
        ).rejects.toThrow(/"speed" is not a field/);
        await expect(
          store.sumRollups({
            kind: 'meter',
            site: 'test-site',
            edges: [T0, T0 + MIN],
            fields: ['consumption'],
          }),
        ).rejects.toThrow(/bucket grid/);
        await expect(
          store.sumRollups({ kind: 'meter', site: 'test-site', edges: [T0, T0 + HOUR], fields: ['state'] }),
        ).rejects.toThrow(StoreError);
      });
    });

    describe('meter figures through rollups, the same as core/register.ts over every reading', () => {
      const facility = contractFacility();
      let rolling: RollingStore;
      beforeEach(() => {
        rolling = new RollingStore({ store, facility });
      });
      const ctx = () => ({ facility, store: rolling, now: () => T0 + 30 * DAY });
      /** Rollup figures, checked against the raw reference, rounded to 1e-9 for hand-worked figures. */
      const ask = async (meters: string[], edges: number[]) => {
        const [rolled, raw] = await Promise.all([
          rollupData(ctx()).meterIntervals(meters, edges),
          rawData(ctx()).meterIntervals(meters, edges),
        ]);
        for (const id of meters) {
          const a = rolled.get(id);
          const b = raw.get(id);
          edges.slice(1).forEach((_, i) => {
            // Equal up to float rounding: whole buckets add up what the raw path takes as one difference.
            expect(
              Math.abs((a?.consumption[i] ?? 0) - (b?.consumption[i] ?? 0)),
              `${id} [${i}]`,
            ).toBeLessThan(1e-6);
            expect(Math.abs((a?.coveredMs[i] ?? 0) - (b?.coveredMs[i] ?? 0)), `${id} [${i}]`).toBeLessThan(
              1e-3,
            );
          });
        }
        return [...rolled.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([meter, s]) => ({
            meter,
            consumption: s.consumption.map((c) => Math.round(c * 1e9) / 1e9),
            coveredMs: s.coveredMs.map((c) => Math.round(c * 1e3) / 1e3),
          }));
      };

      it('interpolates at edges that fall between readings, off any grid', async () => {
        await rolling.write([
          meter('m1', T0 + 30 * SEC, 100),
          meter('m1', T0 + 90 * SEC, 106),
          meter('m1', T0 + 150 * SEC, 109),
        ]);
        // R(60 s) = 100 + (106 − 100) × 30/60 = 103; R(120 s) = 106 + (109 − 106) × 30/60 = 107.5;
        // R(150 s) = 109 → 4.5 and 1.5. Every gap is 60 s ≤ 3 × 60 s, so both intervals are covered.
        expect(await ask(['m1'], [T0 + MIN, T0 + 2 * MIN, T0 + 150 * SEC])).toEqual([
          { meter: 'm1', consumption: [4.5, 1.5], coveredMs: [MIN, 30 * SEC] },
        ]);
      });

      it('counts resets from zero once the readings after them go on from the lower value', async () => {
        // One reading a minute; the meter is replaced at minute 2 (3) and again at minute 6 (2),
        // each followed by three readings going on from the new value (outlierRun 3).
        const totals = [1000, 1004, 3, 7, 10, 13, 2, 6, 9, 12];
        await rolling.write(totals.map((total, i) => meter('m1', T0 + i * MIN, total)));
        // R: 1000, 1004, 1007, 1011, 1014, 1017, 1019, 1023, 1026, 1029.
        // [0, 3 min): 1011 − 1000 = 11; R(6.5 min) = 1019 + 4 × 0.5 = 1021: [3, 6.5 min) = 10;
        // [6.5, 9 min): 1029 − 1021 = 8. Every gap is a minute: all covered.
        expect(await ask(['m1'], [T0, T0 + 3 * MIN, T0 + 6.5 * MIN, T0 + 9 * MIN])).toEqual([
          { meter: 'm1', consumption: [11, 10, 8], coveredMs: [3 * MIN, 3.5 * MIN, 2.5 * MIN] },
        ]);
      });

      it('leaves out outliers, holds the level on jitter, the same in every store', async () => {
        // A stray 0 (minute 2) and 999999 (minute 6) between readings that go on from each other;
        // 105.97 (minute 9) is within 0.05 below the level 106: jitter, nothing consumed.
        const totals = [100, 101, 0, 102, 103, 104, 999999, 105, 106, 105.97, 106.5, 107];
        await rolling.write(totals.map((total, i) => meter('m1', T0 + i * MIN, total)));
        // R: 100, 101, –, 102, 103, 104, –, 105, 106, 106, 106.5, 107 → 107 − 100 = 7; the kept gaps
        // around each outlier are 2 min ≤ 3 min: all 11 minutes covered.
        expect(await ask(['m1'], [T0, T0 + 11 * MIN])).toEqual([
          { meter: 'm1', consumption: [7], coveredMs: [11 * MIN] },
        ]);
        const rows = await store.readRollups({
          kind: 'meter',
          site: 'test-site',
          devices: ['m1'],
          from: T0,
          to: T0 + HOUR,
          fields: ['outliers', 'readings'],
        });
        const sum = (field: string) =>
          Array.from(rows[0]?.values[field] as Float64Array).reduce((a, b) => a + b, 0);
        expect([sum('outliers'), sum('readings')]).toEqual([2, 12]);
      });

      it('counts consumption across a gap longer than 3 intervals but not its coverage', async () => {
        await rolling.write([
          meter('m1', T0, 10),
          meter('m1', T0 + MIN, 12),
          meter('m1', T0 + 10 * MIN, 30),
          meter('m1', T0 + 11 * MIN, 31),
        ]);
        // R(5 min) = 12 + (30 − 12) × 4/9 = 20 → [10, 11]. The 9-minute gap (> 3 min) is not
        // covered: [0, 5 min) covers minute 0–1 only, [5, 11 min) minute 10–11 only.
        expect(await ask(['m1'], [T0, T0 + 5 * MIN, T0 + 11 * MIN])).toEqual([
          { meter: 'm1', consumption: [10, 11], coveredMs: [MIN, MIN] },
        ]);
      });

      it('clamps edges before the first and after the last reading, with no extrapolation', async () => {
        await rolling.write([meter('ma', T0 + 10 * MIN, 50), meter('ma', T0 + 20 * MIN, 60)]);
        // R = 50 up to 10 min, 55 at 15 min, 60 from 20 min on; ma reports every 10 min: covered.
        expect(await ask(['ma'], [T0, T0 + 10 * MIN, T0 + 15 * MIN, T0 + 30 * MIN, T0 + 40 * MIN])).toEqual([
          { meter: 'ma', consumption: [0, 5, 5, 0], coveredMs: [0, 5 * MIN, 5 * MIN, 0] },
        ]);
      });

      it('spreads what a register proves across a long silence, without covering it', async () => {
        await rolling.write([
          meter('mh', T0 - 8 * DAY, 5),
          meter('mh', T0 + HOUR, 20),
          meter('mh', T0 + 2 * HOUR, 30),
        ]);
        // mh reports hourly. 15 over the 8 days + 1 h = 193 h before T0 + 1 h: 15/193 of it falls in
        // [T0, T0 + 1 h), then 10. Only the last hour (≤ 3 × 1 h) is covered.
        expect(await ask(['mh'], [T0, T0 + 2 * HOUR])).toEqual([
          { meter: 'mh', consumption: [Math.round((10 + 15 / 193) * 1e9) / 1e9], coveredMs: [HOUR] },
        ]);
      });

      it('answers the meters asked for, each with its own interval', async () => {
        await rolling.write([
          meter('mb', T0, 100),
          meter('mb', T0 + 5 * MIN, 101),
          meter('mb', T0 + 10 * MIN, 103),
          meter('ma', T0, 0),
          meter('ma', T0 + 5 * MIN, 5),
          meter('ma', T0 + 10 * MIN, 10),
          // A point without a total is no reading.
          { ...meter('ma', T0 + 7 * MIN, 0), fields: { power: 3 } },
        ]);
        // ma reports every 10 min (5-minute gaps covered); mb every minute (5 min > 3 min: not covered).
        expect(await ask(['ma', 'mb'], [T0, T0 + 10 * MIN])).toEqual([
          { meter: 'ma', consumption: [10], coveredMs: [10 * MIN] },
          { meter: 'mb', consumption: [3], coveredMs: [0] },
        ]);
      });

      it('matches core/register.ts on random readings, resets, outliers and gaps, before and after late writes', async () => {
        const rng = xoroshiro128plus(20261102);
        const int = (a: number, b: number) => uniformInt(rng, a, b);
        const readings = new Map<string, Map<number, number>>();
        const first: Point[] = [];
        const later: Point[] = [];
        for (const id of ['r1', 'r2', 'r3']) {
          const own = new Map<number, number>();
          readings.set(id, own);
          let time = T0 - int(0, 3 * HOUR);
          let total = int(0, 1000);
          for (let i = 0; i < 600; i++) {
            const roll = int(0, 99);
            time += roll < 3 ? int(5, 40) * MIN : roll < 10 ? int(1, 5000) : int(55, 65) * SEC;
            total = roll === 50 ? int(0, 20) : total + int(0, 5000) / 100; // a reset now and then
            const value = roll === 60 ? 0 : roll === 61 ? 999_999 : total; // and a stray reading
            own.set(time, value);
            (i % 7 === 3 ? later : first).push(meter(id, time, value));
          }
        }
        const check = async () => {
          const edges = [T0 - 4 * HOUR];
          while ((edges.at(-1) as number) < T0 + DAY) {
            const roll = int(0, 9);
            const previous = edges.at(-1) as number;
            // On the hour, off it by whole minutes, or anywhere.
            const next =
              roll < 4
                ? previous - (previous % HOUR) + HOUR
                : roll < 7
                  ? previous + int(1, 90) * MIN
                  : previous + int(1, 2 * HOUR);
            edges.push(next);
          }
          const answer = await ask(['r1', 'r2', 'r3'], edges);
          expect(answer.map((s) => s.meter)).toEqual(['r1', 'r2', 'r3']);
          for (const series of answer) {
            const own = [...(readings.get(series.meter) as Map<number, number>)]
              .map(([time, total]): Reading => ({ time, total }))
              .sort((a, b) => a.time - b.time);
            const register = adjustRegister(
              own,
              registerRules(facility.meters.find((m) => m.id === series.meter) as Meter),
            );
            edges.slice(1).forEach((b, i) => {
              const a = edges[i] as number;
              expect(series.consumption[i], `${series.meter} [${i}]`).toBeCloseTo(
                register.consumption(a, b),
                6,
              );
              expect(series.coveredMs[i], `${series.meter} [${i}]`).toBeCloseTo(register.coveredMs(a, b), 3);
            });
          }
        };
        await rolling.write(first);
        for (const point of later)
          (readings.get(point.tags.meter as string) as Map<number, number>).delete(point.time);
        await check();
        // More readings between those written (late), and some rewritten with other totals.
        const rewrites = first
          .filter((_, i) => i % 50 === 0)
          .map((p) => meter(p.tags.meter as string, p.time, int(0, 100)));
        await rolling.write([...later, ...rewrites]);
        for (const point of [...later, ...rewrites]) {
          (readings.get(point.tags.meter as string) as Map<number, number>).set(
            point.time,
            point.fields.total as number,
          );
        }
        await check();
      });
    });

    it('rejects queries and points outside the model with a StoreError that names the problem', async () => {
      const bad: Array<[Query, RegExp]> = [
        [
          { measurement: 'meter', fields: ['speed'], from: T0, to: T0 + 1 },
          /"speed" is not a field of meter/,
        ],
        [
          { measurement: 'meter', fields: ['total'], groupBy: ['room'], from: T0, to: T0 + 1 },
          /"room" is not a tag of meter/,
        ],
        [{ measurement: 'meter', fields: ['total'], from: T0 + 1, to: T0 }, /to: must not be before from/],
        [
          { measurement: 'sensor', fields: ['hvac'], aggregate: 'mean', from: T0, to: T0 + 1 },
          /needs a numeric field/,
        ],
        [
          { measurement: 'meter', fields: ['total'], every: '1h', from: T0, to: T0 + 1 },
          /windows need an aggregate/,
        ],
        [
          {
            measurement: 'meter',
            fields: ['total'],
            aggregate: 'sum',
            every: '1d',
            timezone: 'Asia/Chengdu-Not',
            from: T0,
            to: T0 + 1,
          },
          /timezone: "Asia\/Chengdu-Not" is not an IANA time zone/,
        ],
      ];
      for (const [query, message] of bad) {
        const error = await store.query(query).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StoreError);
        expect((error as StoreError).message).toMatch(message);
        expect((error as StoreError).retriable).toBe(false);
      }
      await expect(store.write([meter('m1', T0, Number.NaN)])).rejects.toThrow(
        /"total" must be a finite number/,
      );
      await expect(store.write([meter('m1', T0 + 0.5, 1)])).rejects.toThrow(/whole epoch milliseconds/);
      await expect(store.write([meter('m1', T0, 1, 1, { building: 'b1\nb2' })])).rejects.toThrow(
        /tag "building" holds a control character/,
      );
      await expect(store.write([meter('m1', T0, 1, 1, { building: 'ends\\' })])).rejects.toThrow(
        /tag "building" holds/,
      );
      await expect(
        store.latest({ measurement: 'meter', fields: ['total'], where: { room: 'x' } }),
      ).rejects.toThrow(/"room" is not a tag of meter/);
      // A rejected batch writes nothing.
      await expect(store.write([meter('m1', T0, 1), meter('m1', T0 + 1, Number.NaN)])).rejects.toThrow(
        StoreError,
      );
      expect(await store.query({ measurement: 'meter', fields: ['total'], from: T0, to: T0 + HOUR })).toEqual(
        [],
      );
    });
  });
}
