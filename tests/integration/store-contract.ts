/**
 * The TimeSeriesStore contract: one suite, run unchanged against every adapter
 * (like MQTT.js' abstract_store suite). Every expected figure below is worked out by hand
 * from the points written in the test.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Point, type Query, StoreError, type TimeSeriesStore } from '../../core/store.ts';

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
const MIN = 60_000;
const HOUR = 3_600_000;

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
