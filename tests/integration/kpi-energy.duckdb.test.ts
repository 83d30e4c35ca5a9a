/**
 * The energy service through a real DuckDB store (a file in a fresh temporary folder) holding a
 * handful of readings; every expected figure is worked out by hand in the comments.
 *
 * Facility "it-site" (Asia/Shanghai, UTC+8; Mon–Fri 09:00-18:00): office building o1 (class A,
 * 1000 m²) with departments d1 (600 m², 6 people) and d2 (400 m², 4 people); conference centre c1
 * (shared services, no readings). Tariff October: valley 22:00-08:00 at 0.5, peak 17:00-21:00 at
 * 2, flat 1; water 5/m³. Factors 0.1 kgce, 0.5 kg CO2 per kWh. Quota: site electricity 36 500 kWh
 * in 2026.
 *
 * Readings on Monday 2026-10-12 (local):
 * - o1-e (every 3 h, so a gap up to 9 h is covered): 00:00 1000, 08:00 1016, 09:00 1019,
 *   13:00 20 (a counter reset: the 20 counts from zero), 17:00 40, 18:00 46, 21:00 55, 22:00 57,
 *   next 00:00 61. Adjusted register: 1000, 1016, 1019, 1039, 1059, 1065, 1074, 1076, 1080.
 * - o1-e-d1 (d1's floors, every 8 h): 00:00 500, 08:00 510, 16:00 520, next 00:00 530.
 * - o1-w (water, every 6 h): 00:00 100, 12:00 106, next 00:00 110.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Facility } from '../../core/facility/schema.ts';
import { validateFacility } from '../../core/facility/validate.ts';
import { energySeries, energySummary } from '../../core/kpi/energy-service.ts';
import type { KpiContext } from '../../core/kpi/types.ts';
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
    meter('c1-e', 'electricity', 'total', 600),
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
  },
  factors: { standardCoal: { electricity: 0.1 }, co2: { electricity: 0.5 } },
  quotas: [{ scope: 'site', id: 'it-site', kind: 'electricity', year: 2026, amount: 36500 }],
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
  return out;
}

let folder: string;
let store: DuckDbStore;
let ctx: KpiContext;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'sfp-kpi-energy-'));
  store = new DuckDbStore({ path: join(folder, 'store.duckdb') });
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
  it('site: consumption across tariff periods, off-hours, coverage, quota and previous day', async () => {
    const summary = await energySummary(ctx, { ...day, groupBy: 'site' });
    expect(summary).toMatchObject({ from: '2026-10-12T00:00:00+08:00', to: '2026-10-13T00:00:00+08:00' });
    const site = summary.items[0];
    // o1-e: 1080 − 1000 = 80 kWh (the reset at 13:00 counts 20, not −999). c1-e has no readings.
    // valley 00-08 16 + 22-24 4 = 20 × 0.5 = 10; flat 08-09 3 + 09-17 40 + 21-22 2 = 45 × 1 = 45;
    // peak 17-18 6 + 18-21 9 = 15 × 2 = 30 → 85; water 110 − 100 = 10 m³ × 5 = 50 → cost 135.
    expect(site?.electricityKwh).toBe(80);
    expect(site?.waterM3).toBe(10);
    expect(site?.tariff).toEqual({
      valley: { kwh: 20, costCny: 10 },
      flat: { kwh: 45, costCny: 45 },
      peak: { kwh: 15, costCny: 30 },
    });
    expect(site?.costCny).toBe(135);
    expect(site?.kgce).toBe(8); // 80 × 0.1
    expect(site?.co2Kg).toBe(40); // 80 × 0.5
    // Working 09-18: 40 + 6 = 46 kWh; off-hours 34 / 80 = 0.425.
    expect(site?.offHoursShare).toBe(0.425);
    // Meters behind the site: o1-e 100 %, o1-w 100 %, c1-e 0 % → 66.67 %.
    expect(site?.coverage).toBe(66.67);
    // Quota 36 500 × 1/365 = 100 kWh for the day; used 80 %. Year to date (nothing before
    // 10-12) 80 kWh over 1 Jan–13 Oct = 285 days → 80 × 365 / 285 = 102.456 kWh (0.28 %).
    expect(site?.quota[0]).toMatchObject({ amount: 100, usedPercent: 80, projectedYearEnd: 102.456 });
    expect(site?.quota[0]?.projectedPercent).toBe(0.28);
    // The day before has no readings (no extrapolation): 0, so no % change.
    expect(site?.previous).toMatchObject({ electricityKwh: 0, kgce: 0, changePercent: null });
    // GB/T 51161 over o1 only: 80 / 1000 × 365 = 29.2 kWh/m²·a ≤ 70 → below-guide.
    expect(site?.standard).toMatchObject({
      constraintKwhPerM2: 85,
      guideKwhPerM2: 70,
      annualisedKwhPerM2: 29.2,
    });
    expect(site?.standard?.rating).toBe('below-guide');
  });

  it('departments: own meter plus a share of the common use; rows add up to the site', async () => {
    const { items } = await energySummary(ctx, { ...day, groupBy: 'department' });
    // Common = 80 − 30 (d1's meter: 530 − 500) = 50, shared 600:400 → d1 30 + 30 = 60, d2 20.
    // Water all common: d1 6, d2 4. c1 (shared services) 0.
    expect(items.map((i) => [i.id, i.electricityKwh, i.waterM3, i.sharedServices ?? false])).toEqual([
      ['d1', 60, 6, false],
      ['d2', 20, 4, false],
      ['c1', 0, 0, true],
    ]);
    // d1 per person: 60 × 0.1 = 6 kgce / 6 people = 1; per m²: 60 / 600 = 0.1 kWh.
    expect(items[0]).toMatchObject({ kgcePerCapita: 1, kwhPerM2: 0.1, waterM3PerCapita: 1 });
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
      { start: '2026-10-12T12:30:00+08:00', end: '2026-10-12T13:00:00+08:00', value: 2.5, coverage: 100 },
      { start: '2026-10-12T13:00:00+08:00', end: '2026-10-12T14:00:00+08:00', value: 5, coverage: 100 },
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
});
