/**
 * The TimeSeriesStore contract: one suite, run unchanged against every adapter
 * (like MQTT.js' abstract_store suite). Every expected figure below is worked out by hand
 * from the points written in the test.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adjustRegister, type Reading } from '../../core/register.ts';
import {
  type Point,
  type Query,
  REGISTER_LOOKAROUND_MS,
  type RegisterQuery,
  type RegisterSeries,
  StoreError,
  type TimeSeriesStore,
  toColumns,
} from '../../core/store.ts';

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

    describe('registerIntervals', () => {
      const ask = (edges: number[], more: Partial<RegisterQuery> = {}) =>
        store.registerIntervals({ edges, intervalSeconds: {}, defaultIntervalSeconds: 60, ...more });
      /** Round to 1e-9 so that hand-worked figures compare exactly. */
      const rounded = (series: RegisterSeries[]) =>
        series.map((s) => ({
          meter: s.meter,
          consumption: s.consumption.map((c) => Math.round(c * 1e9) / 1e9),
          coveredMs: s.coveredMs.map((c) => Math.round(c * 1e3) / 1e3),
        }));

      it('interpolates at edges that fall between readings, off any grid', async () => {
        await store.write([
          meter('m1', T0 + 30 * SEC, 100),
          meter('m1', T0 + 90 * SEC, 106),
          meter('m1', T0 + 150 * SEC, 109),
        ]);
        // register(60 s) = 100 + (106 − 100) × 30/60 = 103; register(120 s) = 106 + (109 − 106) × 30/60 = 107.5;
        // register(150 s) = 109 → 4.5 and 1.5. Every gap is 60 s ≤ 3 × 60 s, so both intervals are covered.
        expect(rounded(await ask([T0 + MIN, T0 + 2 * MIN, T0 + 150 * SEC]))).toEqual([
          { meter: 'm1', consumption: [4.5, 1.5], coveredMs: [MIN, 30 * SEC] },
        ]);
      });

      it('counts a counter reset inside an interval and one straddling an edge', async () => {
        const totals = [1000, 1004, 3, 7, 10, 2, 6]; // one reading a minute; resets at minutes 2 and 5
        await store.write(totals.map((total, i) => meter('m1', T0 + i * MIN, total)));
        // Adjusted register: 1000, 1004, 1007 (1004 + 3), 1011, 1014, 1016 (1014 + 2), 1020.
        // [0, 3 min): 4 + 3 + 4 = 11. The edge at 4.5 min lies in the step 10 → 2 (increase 2):
        // register(4.5 min) = 1014 + 2 × 0.5 = 1015, so [3, 4.5 min) = 4 and [4.5, 6 min) = 5.
        expect(rounded(await ask([T0, T0 + 3 * MIN, T0 + 4.5 * MIN, T0 + 6 * MIN]))).toEqual([
          { meter: 'm1', consumption: [11, 4, 5], coveredMs: [3 * MIN, 1.5 * MIN, 1.5 * MIN] },
        ]);
      });

      it('counts consumption across a gap longer than 3 intervals but not its coverage', async () => {
        await store.write([
          meter('m1', T0, 10),
          meter('m1', T0 + MIN, 12),
          meter('m1', T0 + 10 * MIN, 30),
          meter('m1', T0 + 11 * MIN, 31),
        ]);
        // register(5 min) = 12 + (30 − 12) × 4/9 = 20 → [10, 11]. The 9-minute gap (> 3 min) is not
        // covered: [0, 5 min) covers minute 0–1 only, [5, 11 min) minute 10–11 only.
        expect(rounded(await ask([T0, T0 + 5 * MIN, T0 + 11 * MIN]))).toEqual([
          { meter: 'm1', consumption: [10, 11], coveredMs: [MIN, MIN] },
        ]);
      });

      it('clamps edges before the first and after the last reading, with no extrapolation', async () => {
        await store.write([meter('m1', T0 + 10 * MIN, 50), meter('m1', T0 + 20 * MIN, 60)]);
        // register = 50 up to 10 min, 55 at 15 min, 60 from 20 min on; a 10-minute reporting interval covers the gap.
        expect(
          rounded(
            await ask([T0, T0 + 10 * MIN, T0 + 15 * MIN, T0 + 30 * MIN, T0 + 40 * MIN], {
              defaultIntervalSeconds: 600,
            }),
          ),
        ).toEqual([{ meter: 'm1', consumption: [0, 5, 5, 0], coveredMs: [0, 5 * MIN, 5 * MIN, 0] }]);
      });

      it('ignores readings further than the lookaround from the edges', async () => {
        const last = T0 + 2 * HOUR;
        await store.write([
          meter('m1', T0 - 8 * DAY, 5), // too old: without the limit, register(T0) would interpolate from it
          meter('m1', T0 + HOUR, 20),
          meter('m1', T0 + 2 * HOUR, 30),
          meter('gone', T0 - REGISTER_LOOKAROUND_MS - 1, 1), // silent for longer than the lookaround: no series
          meter('late', last + REGISTER_LOOKAROUND_MS, 7), // exactly at the end of the range: counted, alone
          meter('late', last + REGISTER_LOOKAROUND_MS + 1, 9),
        ]);
        expect(rounded(await ask([T0, last], { defaultIntervalSeconds: 3600 }))).toEqual([
          { meter: 'late', consumption: [0], coveredMs: [0] },
          { meter: 'm1', consumption: [10], coveredMs: [HOUR] }, // register(T0) clamps to 20
        ]);
      });

      it('answers one series per meter, sorted, filtered by tags, each with its own interval', async () => {
        await store.write([
          meter('mb', T0, 100, undefined, { building: 'b1' }),
          meter('mb', T0 + 5 * MIN, 101, undefined, { building: 'b1' }),
          meter('mb', T0 + 10 * MIN, 103, undefined, { building: 'b1' }),
          meter('ma', T0, 0, undefined, { building: 'b1' }),
          meter('ma', T0 + 5 * MIN, 5, undefined, { building: 'b1' }),
          meter('ma', T0 + 10 * MIN, 10, undefined, { building: 'b1' }),
          // A point without a total is no reading.
          { ...meter('ma', T0 + 7 * MIN, 0, undefined, { building: 'b1' }), fields: { power: 3 } },
          meter('w1', T0, 1, undefined, { building: 'b2', kind: 'water' }),
          meter('w1', T0 + 10 * MIN, 2, undefined, { building: 'b2', kind: 'water' }),
        ]);
        // ma reports every 10 min (5-minute gaps covered); mb at the default 60 s (5 min > 3 min: not covered).
        const query = { where: { building: 'b1' }, intervalSeconds: { ma: 600 } };
        expect(rounded(await ask([T0, T0 + 10 * MIN], query))).toEqual([
          { meter: 'ma', consumption: [10], coveredMs: [10 * MIN] },
          { meter: 'mb', consumption: [3], coveredMs: [0] },
        ]);
        expect((await ask([T0, T0 + 10 * MIN], { where: { kind: ['water'] } })).map((s) => s.meter)).toEqual([
          'w1',
        ]);
        expect(await ask([T0, T0 + 10 * MIN], { where: { meter: [] } })).toEqual([]);
        expect(await ask([T0 + 30 * DAY, T0 + 31 * DAY])).toEqual([]);
      });

      it('matches adjustRegister on random readings, resets and gaps, before and after more writes', async () => {
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
          for (let i = 0; i < 1500; i++) {
            const roll = int(0, 99);
            time += roll < 3 ? int(5, 40) * MIN : roll < 10 ? int(1, 5000) : int(55, 65) * SEC;
            total = roll === 50 ? int(0, 20) : total + int(0, 5000) / 100; // a reset now and then
            own.set(time, total);
            (i % 7 === 3 ? later : first).push(meter(id, time, total));
          }
        }
        const check = async () => {
          const lo = T0 - 4 * HOUR;
          const edges = [lo];
          while ((edges.at(-1) as number) < T0 + 2 * DAY) {
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
          const intervalSeconds = { r1: 60, r2: 30 };
          const answer = await store.registerIntervals({
            edges,
            intervalSeconds,
            defaultIntervalSeconds: 120,
          });
          expect(answer.map((s) => s.meter)).toEqual(['r1', 'r2', 'r3']);
          for (const series of answer) {
            const own = [...(readings.get(series.meter) as Map<number, number>)]
              .map(([time, total]): Reading => ({ time, total }))
              .sort((a, b) => a.time - b.time);
            const seconds = intervalSeconds[series.meter as 'r1'] ?? 120;
            const register = adjustRegister(own, { intervalSeconds: seconds });
            edges.slice(1).forEach((b, i) => {
              const a = edges[i] as number;
              expect(series.consumption[i], `${series.meter} [${i}]`).toBeCloseTo(
                register.consumption(a, b),
                6,
              );
              expect(series.coveredMs[i], `${series.meter} [${i}]`).toBeCloseTo(
                (register.coverage(a, b) * (b - a)) / 100,
                3,
              );
            });
          }
        };
        await store.write(first);
        for (const point of later)
          (readings.get(point.tags.meter as string) as Map<number, number>).delete(point.time);
        await check();
        // More readings between those written, and some rewritten with other totals.
        const rewrites = first
          .filter((_, i) => i % 50 === 0)
          .map((p) => meter(p.tags.meter as string, p.time, int(0, 100)));
        await store.write([...later, ...rewrites]);
        for (const point of [...later, ...rewrites]) {
          (readings.get(point.tags.meter as string) as Map<number, number>).set(
            point.time,
            point.fields.total as number,
          );
        }
        await check();
      });

      it('rejects malformed register queries with a StoreError', async () => {
        const bad: Array<[Partial<RegisterQuery>, RegExp]> = [
          [{ edges: [T0] }, /edges: at least 2/],
          [{ edges: [T0, T0] }, /strictly ascending/],
          [{ edges: [T0 + HOUR, T0] }, /strictly ascending/],
          [{ edges: [T0, T0 + 0.5] }, /whole epoch milliseconds/],
          [{ edges: [T0, Number.NaN] }, /whole epoch milliseconds/],
          [{ defaultIntervalSeconds: 0 }, /defaultIntervalSeconds/],
          [{ intervalSeconds: { m1: -1 } }, /intervalSeconds\["m1"\]/],
          [{ where: { room: 'x' } }, /"room" is not a tag of meter/],
        ];
        for (const [query, message] of bad) {
          const error = await ask([T0, T0 + HOUR], query).then(
            () => null,
            (e: unknown) => e,
          );
          expect(error, String(message)).toBeInstanceOf(StoreError);
          expect((error as StoreError).message).toMatch(message);
          expect((error as StoreError).code).toBe('INVALID_QUERY');
          expect((error as StoreError).retriable).toBe(false);
        }
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
