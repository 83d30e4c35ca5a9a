/**
 * The energy service through a real DuckDB store (a file in a fresh temporary folder) holding a
 * handful of readings; every expected figure is worked out by hand in the comments.
 *
 * Facility "it-site" (Asia/Shanghai, UTC+8; Mon–Fri 09:00-18:00): office building o1 (class A,
 * 1000 m²) with departments d1 (600 m², 6 people) and d2 (400 m², 4 people) — together its whole
 * floor area, so no common area; conference centre c1 (shared services). Tariff October: valley
 * 22:00-08:00 at 0.5, peak 17:00-21:00 at 2, flat 1; water 5/m³; gasoline 7.6/L. Factors 0.1
 * kgce, 0.5 kg CO2 per kWh; gasoline the defaults (GB/T 2589: 1.0888 kgce/L; NDRC guide: 2.165 kg
 * CO2/L). Quotas 2026: site electricity 36 500 kWh, d1 gasoline 1 460 L (4 L a day). Official
 * cars: v1 (gasoline) of d1, v2 (electric) of d2. The calendar has no holidays: 2026 has 261
 * working days (52 weeks + Thursday 31 December) and 104 others.
 *
 * Readings on Monday 2026-10-12 (local):
 * - o1-e (every 3 h, so a gap up to 9 h is covered): 00:00 1000, 08:00 1016, 09:00 1019,
 *   13:00 20 (a counter reset: the 20 counts from zero), 17:00 40, 18:00 46, 21:00 55, 22:00 57,
 *   next 00:00 61. Adjusted register: 1000, 1016, 1019, 1039, 1059, 1065, 1074, 1076, 1080.
 * - o1-e-d1 (d1's floors, every 8 h): 00:00 500, 08:00 510, 16:00 520, next 00:00 530.
 * - o1-w (water, every 6 h): 00:00 100, 12:00 106, next 00:00 110.
 * - c1-e (every 8 h): 00:00 500, 12:00 500, next 00:00 500 (the conference centre idle).
 * - v1's fuel counter (litres used): Sun 2026-10-11 09:00 97, 12:00 99 (2 L that day); Mon
 *   00:00 99, 10:00 99, 10:30 101.5, 11:00 103, 23:00 103 (4 L).
 * - v2's counter (kWh used) on Monday: 00:00 50, 17:30 53 (3 kWh in the peak), 21:30 55 (2 kWh,
 *   flat), 23:00 56 (1 kWh, valley).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Facility } from '../../core/facility/schema.ts';
import { validateFacility } from '../../core/facility/validate.ts';
import { energySeries, energySummary } from '../../core/kpi/energy-service.ts';
import type { KpiContext } from '../../core/kpi/types.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import type { Point } from '../../core/store.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

/** Epoch ms of a Shanghai local time (UTC+8, no DST). */
const sh = (y: number, mo: number, d: number, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h - 8, mi);

const meter = (id: string, kind: string, system: string, interval: number, extra: object = {}) => ({
  id,
  kind,
  building: id.startsWith('c1') ? 'c1' : 'o1',
  system,
  interval,
  secret: `s-${id}`,
  ...extra,
});

const validated = validateFacility({
  version: 1,
  site: {
    id: 'it-site',
    name: { zh: '集成', en: 'Integration' },
    timezone: 'Asia/Shanghai',
    location: { lat: 30, lon: 104 },
    climateZone: 'hot-summer-cold-winter',
  },
  calendar: { workdays: ['mon', 'tue', 'wed', 'thu', 'fri'], workingHours: '09:00-18:00' },
  buildings: [
    {
      id: 'o1',
      name: { zh: '办公楼', en: 'O1' },
      use: 'office',
      ventilationClass: 'A',
      floorArea: 1000,
      floors: 4,
    },
    { id: 'c1', name: { zh: '会议中心', en: 'C1' }, use: 'conference', floorArea: 500, floors: 2 },
  ],
  departments: [
    { id: 'd1', name: { zh: '一处', en: 'D1' }, headcount: 6, spaces: [{ building: 'o1', area: 600 }] },
    { id: 'd2', name: { zh: '二处', en: 'D2' }, headcount: 4, spaces: [{ building: 'o1', area: 400 }] },
  ],
  meters: [
    meter('o1-e', 'electricity', 'total', 10800),
    meter('o1-e-d1', 'electricity', 'department', 28800, { department: 'd1', parent: 'o1-e' }),
    meter('o1-w', 'water', 'total', 21600),
    meter('c1-e', 'electricity', 'total', 28800),
  ],
  vehicles: [
    {
      id: 'v1',
      plate: '川A·00001',
      department: 'd1',
      type: 'sedan',
      energy: 'gasoline',
      seats: 5,
      ratedConsumption: 8,
      interval: 60,
      secret: 's-v1',
    },
    {
      id: 'v2',
      plate: '川A·00002',
      department: 'd2',
      type: 'sedan',
      energy: 'electric',
      seats: 5,
      ratedConsumption: 15,
      interval: 60,
      secret: 's-v2',
    },
  ],
  tariffs: {
    electricity: {
      prices: { flat: 1, peak: 2, valley: 0.5 },
      seasons: [
        { months: [10, 11, 12], peak: ['17:00-21:00'], valley: ['22:00-08:00'] },
        { months: [1, 2, 3, 4, 5, 6, 7, 8, 9], peak: ['10:00-12:00'], valley: ['23:00-07:00'] },
      ],
    },
    water: { price: 5 },
    gasoline: { price: 7.6 },
  },
  factors: { standardCoal: { electricity: 0.1 }, co2: { electricity: 0.5 } },
  quotas: [
    { scope: 'site', id: 'it-site', kind: 'electricity', year: 2026, amount: 36500 },
    { scope: 'department', id: 'd1', kind: 'gasoline', year: 2026, amount: 1460 },
  ],
});
if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
const facility: Facility = validated.facility;

const readings: Record<string, readonly (readonly [number, number])[]> = {
  'o1-e': [
    [0, 1000],
    [8, 1016],
    [9, 1019],
    [13, 20],
    [17, 40],
    [18, 46],
    [21, 55],
    [22, 57],
    [24, 61],
  ],
  'o1-e-d1': [
    [0, 500],
    [8, 510],
    [16, 520],
    [24, 530],
  ],
  'o1-w': [
    [0, 100],
    [12, 106],
    [24, 110],
  ],
  'c1-e': [
    [0, 500],
    [12, 500],
    [24, 500],
  ],
};

/** Fuel counters: [hours from Monday 2026-10-12 00:00 local, value]. */
const counters: Record<string, readonly (readonly [number, number])[]> = {
  v1: [
    [-15, 97],
    [-12, 99],
    [0, 99],
    [10, 99],
    [10.5, 101.5],
    [11, 103],
    [23, 103],
  ],
  v2: [
    [0, 50],
    [17.5, 53],
    [21.5, 55],
    [23, 56],
  ],
};

function points(): Point[] {
  const out: Point[] = [];
  for (const [id, rows] of Object.entries(readings)) {
    const m = facility.meters.find((x) => x.id === id);
    if (!m) throw new Error(id);
    for (const [hour, total] of rows) {
      out.push({
        measurement: 'meter',
        tags: {
          site: 'it-site',
          building: m.building,
          department: m.department ?? '',
          meter: id,
          kind: m.kind,
          system: m.system,
        },
        fields: { total },
        time: sh(2026, 10, 12) + hour * 3_600_000,
      });
    }
  }
  for (const [id, rows] of Object.entries(counters)) {
    const v = facility.vehicles.find((x) => x.id === id);
    if (!v) throw new Error(id);
    for (const [hour, fuel] of rows) {
      out.push({
        measurement: 'vehicle',
        tags: { site: 'it-site', vehicle: id, department: v.department },
        fields: { lat: 30.6, lon: 104, speed: 0, ignition: false, fuel },
        time: sh(2026, 10, 12) + hour * 3_600_000,
      });
    }
  }
  return out;
}

let folder: string;
let store: RollingStore;
let ctx: KpiContext;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'sfp-kpi-energy-'));
  store = new RollingStore({ store: new DuckDbStore({ path: join(folder, 'store.duckdb') }), facility });
  await store.start();
  await store.write(points());
  ctx = { facility, store, now: () => sh(2026, 10, 13) };
});

afterAll(async () => {
  await store?.stop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

const day = { from: sh(2026, 10, 12), to: sh(2026, 10, 13) };

describe('energy summary over a real DuckDB store', () => {
  it('site: consumption across tariff periods, cars, off-hours, coverage, quota and the day before', async () => {
    const summary = await energySummary(ctx, { ...day, groupBy: 'site' });
    expect(summary).toMatchObject({
      from: '2026-10-12T00:00:00+08:00',
      to: '2026-10-13T00:00:00+08:00',
      measuredTo: '2026-10-13T00:00:00+08:00',
      periodKind: 'day',
    });
    const site = summary.items[0];
    // o1-e: 1080 − 1000 = 80 kWh (the reset at 13:00 counts 20, not −999); c1-e 0.
    // valley 00-08 16 + 22-24 4 = 20 × 0.5 = 10; flat 08-09 3 + 09-17 40 + 21-22 2 = 45 × 1 = 45;
    // peak 17-18 6 + 18-21 9 = 15 × 2 = 30 → 85; water 110 − 100 = 10 m³ × 5 = 50 → 135.
    expect(site?.electricityKwh).toBe(80);
    expect(site?.waterM3).toBe(10);
    expect(site?.tariff).toEqual({
      valley: { kwh: 20, costCny: 10 },
      flat: { kwh: 45, costCny: 45 },
      peak: { kwh: 15, costCny: 30 },
    });
    // Cars: v1 4 L of gasoline (99 → 103; the Sunday litres belong to Sunday), v2 6 kWh (50 → 56):
    // kgce 4 × 1.0888 + 6 × 0.1 = 4.3552 + 0.6 = 4.9552; CO2 4 × 2.165 + 6 × 0.5 = 8.66 + 3 = 11.66;
    // cost 4 × 7.6 = 30.4, and v2's kWh at the price of when they were used: 3 in the peak × 2 +
    // 2 flat × 1 + 1 in the valley × 0.5 = 8.5 → 38.9.
    expect(site?.vehicles).toEqual({
      count: 2,
      reporting: 2,
      gasolineL: 4,
      dieselL: null,
      electricKwh: 6,
      kgce: 4.955,
      co2Kg: 11.66,
      costCny: 38.9,
      nulls: { dieselL: 'no-vehicle' },
    });
    // Site: buildings 80 × 0.1 = 8 kgce + cars 4.9552 = 12.9552; CO2 40 + 11.66 = 51.66;
    // cost 135 + 38.9 = 173.9. Per m² (1500) 0.0086368 → 0.0086; per person (10) 1.29552 → 1.2955.
    expect(site).toMatchObject({ kgce: 12.955, co2Kg: 51.66, costCny: 173.9 });
    expect(site).toMatchObject({ kgcePerM2: 0.0086, kgcePerCapita: 1.2955 });
    // Working 09-18: 40 + 6 = 46 kWh; off-hours 34 / 80 = 0.425.
    expect(site?.offHoursShare).toBe(0.425);
    // o1-e, o1-w and c1-e covered all day.
    expect(site?.coverage).toBe(100);
    // Quota 36 500 × 1/365 = 100 kWh for the day; used 80 → 80 %. Year to date (1 January →
    // 13 October, 285 days) knows one day, a Monday: 0.35 %, partial. Nothing is known of a
    // non-working day, so there is no projection (a straight line said 80 × 365 / 285 = 102 kWh).
    expect(site?.quota[0]).toMatchObject({
      amount: 100,
      used: 80,
      usedPercent: 80,
      usedToDate: 80,
      coverage: 0.35,
      basis: 'partial',
      projectedYearEnd: null,
      nulls: { projectedYearEnd: 'day-type-not-covered', projectedPercent: 'day-type-not-covered' },
    });
    // The day before: no meter reading (null, 0 % covered), v1 2 L = 2.1776 kgce; no % change.
    expect(site?.previous).toMatchObject({
      from: '2026-10-11T00:00:00+08:00',
      to: '2026-10-12T00:00:00+08:00',
      electricityKwh: null,
      kgce: 2.178,
      coverage: 0,
      currentCoverage: 100,
      changePercent: null,
    });
    expect(site?.previous?.nulls).toMatchObject({
      electricityKwh: 'no-data',
      changePercent: 'coverage-under-90',
    });
    expect(site?.lastYear).toMatchObject({
      from: '2025-10-12T00:00:00+08:00',
      kgce: null,
      changePercent: null,
    });
    // GB/T 51161 over o1 only: 80 / 1000 × 365 = 29.2 kWh/m²·a, an estimate by days; a day is not rated.
    expect(site?.standard).toMatchObject({
      constraintKwhPerM2: 85,
      guideKwhPerM2: 70,
      annualisedKwhPerM2: 29.2,
      annualisedMethod: 'days',
      rating: null,
      nulls: { rating: 'not-a-year' },
    });
  });

  it('departments: own meter, a share of the common use and their cars; rows add up to the site', async () => {
    const { items } = await energySummary(ctx, { ...day, groupBy: 'department' });
    // Common = 80 − 30 (d1's meter: 530 − 500) = 50, shared 600:400 → d1 30 + 30 = 60, d2 20.
    // Water all common: d1 6, d2 4. c1 (shared services) 0 kWh, and no water meter: null.
    expect(items.map((i) => [i.id, i.electricityKwh, i.waterM3, i.sharedServices ?? false])).toEqual([
      ['d1', 60, 6, false],
      ['d2', 20, 4, false],
      ['c1', 0, null, true],
    ]);
    // d1: 60 × 0.1 + v1's 4 L × 1.0888 = 6 + 4.3552 = 10.3552 kgce; d2: 20 × 0.1 + v2's 6 × 0.1 = 2.6.
    // Together with c1's 0: 12.9552, the site's.
    expect(items.map((i) => i.kgce)).toEqual([10.355, 2.6, 0]);
    expect(items[0]?.vehicles).toMatchObject({ count: 1, gasolineL: 4, electricKwh: null, costCny: 30.4 });
    expect(items[1]?.vehicles).toMatchObject({ count: 1, gasolineL: null, electricKwh: 6, costCny: 8.5 });
    expect(items[2]?.vehicles).toBeUndefined();
    // d1: 6 people; 10.3552 / 6 = 1.7259 kgce per person; 60 kWh / 600 m² (o1 has no common area).
    expect(items[0]).toMatchObject({
      kgcePerCapita: 1.7259,
      kwhPerM2: 0.1,
      waterM3PerCapita: 1,
      areaM2: 600,
    });
  });

  it('a gasoline quota counts the department’s cars over the year to date', async () => {
    const { items } = await energySummary(ctx, { ...day, groupBy: 'department' });
    // Amount 1 460 / 365 = 4 L for the day; v1 used 4 L, known all day → 100 %.
    // Year to date (1 January → 13 October, 285 days): 2 L on Sunday + 4 on Monday = 6 L. v1 is
    // known from the first interval it reported in to the last: the year-to-date lead-in is cut by
    // day type, so Saturday–Sunday 10–11 October is one interval (48 h, holding Sunday's readings)
    // and Monday is measured throughout (24 h): 72 h of 285 × 24 = 6 840 h = 1.05 %, partial.
    // Projection: non-working days 2 L over 2 days = 1 a day, working days 4 L over 1 day:
    // 6 + 1 × (104 − 2) + 4 × (261 − 1) = 6 + 102 + 1 040 = 1 148 L = 78.63 % of 1 460.
    expect(items[0]?.quota).toEqual([
      {
        kind: 'gasoline',
        unit: 'L',
        annual: 1460,
        year: 2026,
        amount: 4,
        used: 4,
        periodCoverage: 100,
        usedPercent: 100,
        asOf: '2026-10-13T00:00:00+08:00',
        usedToDate: 6,
        coverage: 1.05,
        basis: 'partial',
        projectedYearEnd: 1148,
        projectedPercent: 78.63,
        nulls: {},
      },
    ]);
  });

  it('a month reaching into the future: measured to now, compared on the same elapsed part', async () => {
    // October 2026 asked on 13 October 00:00: measured 1–13 October (12 days), of which the data
    // holds 12 October. Compared with 1–13 September (the same 12 days of the previous month) and
    // 1–13 October 2025.
    const summary = await energySummary(ctx, { from: sh(2026, 10, 1), to: sh(2026, 11, 1), groupBy: 'site' });
    expect(summary).toMatchObject({
      to: '2026-11-01T00:00:00+08:00',
      measuredTo: '2026-10-13T00:00:00+08:00',
      periodKind: 'month',
    });
    const site = summary.items[0];
    expect(site?.previous).toMatchObject({
      from: '2026-09-01T00:00:00+08:00',
      to: '2026-10-01T00:00:00+08:00',
      measuredTo: '2026-09-13T00:00:00+08:00',
    });
    expect(site?.lastYear).toMatchObject({
      from: '2025-10-01T00:00:00+08:00',
      to: '2025-11-01T00:00:00+08:00',
      measuredTo: '2025-10-13T00:00:00+08:00',
    });
    // Quota pro-rated over the 12 elapsed days: 36 500 × 12 / 365 = 1 200 kWh. Each electricity
    // meter is known on 1 of the 12 days (8.33 %): at the measured rate o1-e's 80 kWh a day is
    // 960 over 12 days, c1-e's 0 is 0 → 960 / 1 200 = 80 %.
    expect(site?.quota[0]).toMatchObject({ amount: 1200, used: 80, periodCoverage: 8.33, usedPercent: 80 });
    // Cars over the same 12 days: v1's Sunday 2 L and Monday 4 L, v2's 6 kWh.
    expect(site?.vehicles).toMatchObject({ gasolineL: 6, electricKwh: 6 });
  });
});

describe('energy series over a real DuckDB store', () => {
  it('windows off the reading times, across the reset', async () => {
    const series = await energySeries(ctx, {
      scope: 'building',
      id: 'o1',
      kind: 'electricity',
      every: '1h',
      from: sh(2026, 10, 12, 12, 30),
      to: sh(2026, 10, 12, 14),
    });
    // 09:00 1019 → 13:00 1039 is 5 kWh/h, and 13:00 → 17:00 1059 too:
    // [12:30, 13:00) 2.5; [13:00, 14:00) 5.
    expect(series.items).toEqual([
      {
        start: '2026-10-12T12:30:00+08:00',
        end: '2026-10-12T13:00:00+08:00',
        value: 2.5,
        coverage: 100,
        nulls: {},
      },
      {
        start: '2026-10-12T13:00:00+08:00',
        end: '2026-10-12T14:00:00+08:00',
        value: 5,
        coverage: 100,
        nulls: {},
      },
    ]);
    expect(series.unit).toBe('kWh');
  });

  it('a day of water for a department', async () => {
    const series = await energySeries(ctx, {
      ...day,
      scope: 'department',
      id: 'd2',
      kind: 'water',
      every: '1d',
    });
    // o1-w 10 m³ × 400 / 1000 = 4.
    expect(series.items.map((i) => i.value)).toEqual([4]);
  });

  it('days without readings, and days still to come, have no value (not 0)', async () => {
    // 11–15 October, now 13 October: the 12th is measured; the 11th has no reading; the 13th
    // onwards has none yet.
    const series = await energySeries(ctx, {
      from: sh(2026, 10, 11),
      to: sh(2026, 10, 15),
      scope: 'building',
      id: 'o1',
      kind: 'electricity',
      every: '1d',
    });
    expect(series.measuredTo).toBe('2026-10-13T00:00:00+08:00');
    expect(series.items.map((i) => [i.value, i.coverage, i.nulls])).toEqual([
      [null, 0, { value: 'no-data' }],
      [80, 100, {}],
      [null, 0, { value: 'no-data' }],
      [null, 0, { value: 'no-data' }],
    ]);
  });
});
