/**
 * The energy engine against figures worked out by hand, on a small hand-made facility (not the
 * demo). Asia/Shanghai is UTC+8 all year, so local 00:00 is 16:00Z the day before.
 *
 * The facility "t-site":
 * - calendar Mon–Fri 09:00-18:00; 2026-10-01 (Thursday) a holiday; 2026-10-10 (Saturday) a
 *   make-up workday.
 * - buildings o1 office class A 1000 m² (85/70 kWh/m²·a), o2 office class B 3000 m² (110/80),
 *   c1 conference 500 m² (no department: shared services; no standard).
 * - departments d1 (10 people, 600 m² in o1), d2 (20 people, 200 m² in o1 and 1000 m² in o2).
 * - meters: o1-e (o1 electricity total), o1-e-d1 (d1's own floors in o1), o1-hvac (o1 HVAC
 *   sub-meter), o1-w (o1 water total), o2-e, o2-g1 and o2-g2 (two gas totals in o2), c1-e.
 * - tariff: flat 1.0, peak 2.0, valley 0.5 per kWh; months 10–12 peak 17:00-21:00 and valley
 *   22:00-08:00 (wraps midnight); months 1–9 peak 10:00-12:00, valley 23:00-07:00. Water 5/m³,
 *   gas 3/m³.
 * - factors: 0.1 kgce and 0.5 kg CO2 per kWh; 1.2 kgce and 2 kg CO2 per m³ of gas.
 * - quotas 2026: site electricity 36 500 kWh (100 a day), d1 electricity 3 650 kWh.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { facilityCalendar } from '../../core/facility/calendar.ts';
import type { Facility } from '../../core/facility/schema.ts';
import { validateFacility } from '../../core/facility/validate.ts';
import { type KpiData, rollupData } from '../../core/kpi/data.ts';
import {
  energyItem,
  type MeterData,
  type MeterIntervals,
  offHoursShare,
  quotaLeadEdges,
  roundEnergyItem,
  touPrices,
  touSplit,
} from '../../core/kpi/energy.ts';
import { type EnergyScopeDef, summaryScopes } from '../../core/kpi/energy-scopes.ts';
import { energySeries, energySummary } from '../../core/kpi/energy-service.ts';
import { type EnergyTimeline, energyTimeline, windowEdges } from '../../core/kpi/energy-timeline.ts';
import { touSchedule } from '../../core/kpi/tou-schedule.ts';
import { type KpiContext, KpiError } from '../../core/kpi/types.ts';
import type { Reading } from '../../core/register.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import type { Point } from '../../core/store.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

/** One request of the engine for meter data. */
interface MeterCall {
  readonly meters: readonly string[];
  readonly edges: readonly number[];
}

const HOUR = 3_600_000;
const MIN = 60_000;

/** Epoch ms of a Shanghai local time (UTC+8, no DST). */
const sh = (y: number, mo: number, d: number, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h - 8, mi);

const meter = (id: string, kind: string, building: string, system: string, extra: object = {}) => ({
  id,
  kind,
  building,
  system,
  interval: 600,
  secret: `s-${id}`,
  ...extra,
});

const FILE = {
  version: 1,
  site: {
    id: 't-site',
    name: { zh: '测试', en: 'Test' },
    timezone: 'Asia/Shanghai',
    location: { lat: 30, lon: 104 },
    climateZone: 'hot-summer-cold-winter',
  },
  calendar: {
    workdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
    workingHours: '09:00-18:00',
    holidays: ['2026-10-01'],
    extraWorkdays: ['2026-10-10'],
  },
  buildings: [
    {
      id: 'o1',
      name: { zh: '一号楼', en: 'O1' },
      use: 'office',
      ventilationClass: 'A',
      floorArea: 1000,
      floors: 5,
    },
    {
      id: 'o2',
      name: { zh: '二号楼', en: 'O2' },
      use: 'office',
      ventilationClass: 'B',
      floorArea: 3000,
      floors: 9,
    },
    {
      id: 'c1',
      name: { zh: '会议中心', en: 'C1' },
      use: 'conference',
      ventilationClass: 'B',
      floorArea: 500,
      floors: 2,
    },
  ],
  departments: [
    { id: 'd1', name: { zh: '一处', en: 'D1' }, headcount: 10, spaces: [{ building: 'o1', area: 600 }] },
    {
      id: 'd2',
      name: { zh: '二处', en: 'D2' },
      headcount: 20,
      spaces: [
        { building: 'o1', area: 200 },
        { building: 'o2', area: 1000 },
      ],
    },
  ],
  meters: [
    meter('o1-e', 'electricity', 'o1', 'total'),
    meter('o1-e-d1', 'electricity', 'o1', 'department', { department: 'd1', parent: 'o1-e' }),
    meter('o1-hvac', 'electricity', 'o1', 'hvac', { parent: 'o1-e' }),
    meter('o1-w', 'water', 'o1', 'total'),
    meter('o2-e', 'electricity', 'o2', 'total'),
    meter('o2-g1', 'gas', 'o2', 'total'),
    meter('o2-g2', 'gas', 'o2', 'total'),
    meter('c1-e', 'electricity', 'c1', 'total'),
  ],
  tariffs: {
    currency: 'CNY',
    electricity: {
      prices: { flat: 1.0, peak: 2.0, valley: 0.5 },
      seasons: [
        { months: [10, 11, 12], peak: ['17:00-21:00'], valley: ['22:00-08:00'] },
        { months: [1, 2, 3, 4, 5, 6, 7, 8, 9], peak: ['10:00-12:00'], valley: ['23:00-07:00'] },
      ],
    },
    water: { price: 5 },
    gas: { price: 3 },
  },
  factors: {
    standardCoal: { electricity: 0.1, gas: 1.2 },
    co2: { electricity: 0.5, gas: 2 },
  },
  quotas: [
    { scope: 'site', id: 't-site', kind: 'electricity', year: 2026, amount: 36500 },
    { scope: 'department', id: 'd1', kind: 'electricity', year: 2026, amount: 3650 },
  ],
};

const validated = validateFacility(FILE);
if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
const facility: Facility = validated.facility;
const calendar = facilityCalendar(facility);
const schedule = touSchedule(facility.tariffs.electricity, facility.site.timezone);

const timelineOf = (from: number, to: number, extraEdges: number[] = []) =>
  energyTimeline({ from, to, calendar, schedule, extraEdges });

/** Per-meter data from per-interval consumption; every interval fully covered unless told. */
function data(
  timeline: EnergyTimeline,
  values: Record<string, readonly number[]>,
  coveredShare: Record<string, number> = {},
): MeterData {
  const out = new Map<string, MeterIntervals>();
  for (const [id, consumption] of Object.entries(values)) {
    out.set(id, {
      consumption,
      coveredMs: timeline.intervals.map((i) => (i.end - i.start) * (coveredShare[id] ?? 1)),
    });
  }
  return out;
}

function def(groupBy: Parameters<typeof summaryScopes>[1], id: string): EnergyScopeDef {
  const found = summaryScopes(facility, groupBy).find((d) => d.id === id);
  if (!found) throw new Error(`no ${groupBy} ${id}`);
  return found;
}

const opened: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of opened.splice(0)) await close();
});

/**
 * A real DuckDB store in a temporary folder holding `readings` as the meters' `total` (folded into
 * rollups as they are written), with the meter data the engine asks for recorded (it must ask once
 * per period).
 */
async function context(
  readings: Record<string, Reading[]>,
  now = sh(2026, 12, 31),
): Promise<KpiContext & { calls: MeterCall[] }> {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-kpi-energy-'));
  const store = new RollingStore({
    store: new DuckDbStore({ path: join(folder, 'store.duckdb') }),
    facility,
  });
  await store.start();
  opened.push(async () => {
    await store.stop();
    await rm(folder, { recursive: true, force: true });
  });
  const points: Point[] = Object.entries(readings).flatMap(([id, list]) => {
    const m = facility.meters.find((candidate) => candidate.id === id);
    if (!m) throw new Error(`no meter ${id} in the test facility`);
    const tags = {
      site: facility.site.id,
      meter: id,
      building: m.building,
      kind: m.kind,
      system: m.system,
      ...(m.department ? { department: m.department } : {}),
    };
    return list.map((r) => ({
      measurement: 'meter' as const,
      tags,
      fields: { total: r.total },
      time: r.time,
    }));
  });
  if (points.length > 0) await store.write(points);
  const calls: MeterCall[] = [];
  const rollups = rollupData({ facility, store, now: () => now });
  const data: KpiData = {
    ...rollups,
    meterIntervals: (meters, edges) => {
      calls.push({ meters, edges });
      return rollups.meterIntervals(meters, edges);
    },
  };
  return { facility, store, now: () => now, calls, data };
}

describe('a day split across three tariff periods', () => {
  // Monday 2026-10-12, season of months 10–12: valley 22:00-08:00, peak 17:00-21:00, the rest flat;
  // working 09:00-18:00. Edges (local): 00, 08, 09, 17, 18, 21, 22, 24.
  const from = sh(2026, 10, 12);
  const to = sh(2026, 10, 13);
  const timeline = timelineOf(from, to);

  it('cuts the day at every period change, working boundary and midnight', () => {
    expect(timeline.edges).toEqual([0, 8, 9, 17, 18, 21, 22, 24].map((h) => from + h * HOUR));
    expect(timeline.intervals.map((i) => [i.tou, i.working])).toEqual([
      ['valley', false], // 00-08
      ['flat', false], // 08-09
      ['flat', true], // 09-17
      ['peak', true], // 17-18
      ['peak', false], // 18-21
      ['flat', false], // 21-22
      ['valley', false], // 22-24
    ]);
  });

  it('prices each period and gives the off-hours share', () => {
    const kwh = [16, 3, 40, 6, 9, 2, 4];
    // valley 16 + 4 = 20 kWh × 0.5 = 10; flat 3 + 40 + 2 = 45 × 1 = 45; peak 6 + 9 = 15 × 2 = 30.
    expect(touSplit(kwh, timeline.intervals, touPrices(facility))).toEqual({
      peak: { kwh: 15, costCny: 30 },
      valley: { kwh: 20, costCny: 10 },
      flat: { kwh: 45, costCny: 45 },
    });
    // working 09-18: 40 + 6 = 46 of 80 kWh; off-hours 34 / 80 = 0.425.
    expect(offHoursShare(kwh, timeline.intervals)).toBeCloseTo(0.425, 12);
    const item = energyItem(def('building', 'c1'), {
      facility,
      timeline,
      data: data(timeline, { 'c1-e': kwh }),
    });
    // cost 10 + 45 + 30 = 85; kgce 80 × 0.1 = 8; CO2 80 × 0.5 = 40; 80 kWh / 500 m² = 0.16.
    expect(item.electricityKwh).toBe(80);
    expect(item.costCny).toBeCloseTo(85, 9);
    expect(item.kgce).toBeCloseTo(8, 9);
    expect(item.co2Kg).toBeCloseTo(40, 9);
    expect(item.kwhPerM2).toBeCloseTo(0.16, 9);
    expect(item.sharedServices).toBe(true);
    expect(item.standard).toBeNull(); // a conference centre has no GB/T 51161 value we may use
    // Every null says why: c1 has no water or gas meter, no department (so no headcount), no
    // standard, and nothing was compared (no comparison data given).
    expect(item.nulls).toEqual({
      waterM3: 'not-metered',
      gasM3: 'not-metered',
      headcount: 'no-headcount',
      kgcePerCapita: 'no-headcount',
      waterM3PerCapita: 'not-metered',
      standard: 'no-standard',
      previous: 'not-started',
      lastYear: 'not-started',
    });
    expect(item.coverageByKind).toEqual({ electricity: 100 });
  });

  it('takes the season from the local month (September: peak 10-12, valley 23-07)', () => {
    const day = sh(2026, 9, 14);
    const t = timelineOf(day, day + 24 * HOUR);
    // Edges 00, 07, 09, 10, 12, 18, 23, 24.
    expect(t.edges).toEqual([0, 7, 9, 10, 12, 18, 23, 24].map((h) => day + h * HOUR));
    expect(t.intervals.map((i) => i.tou)).toEqual([
      'valley',
      'flat',
      'flat',
      'peak',
      'flat',
      'flat',
      'valley',
    ]);
  });
});

describe('readings not aligned to window edges, with a counter reset (through the service)', () => {
  // o1-e every 600 s (a gap over 3 × 600 s = 30 min is not covered). Local times on 2026-10-12:
  // 09:50 → 1000, 10:10 → 1004, 10:50 → 1012, 11:10 → 3 (reset: the 3 readings after it go on
  // from it), 11:40 → 9, 12:10 → 12, 12:30 → 15.
  // Adjusted register: 1000, 1004, 1012, 1012 + 3 = 1015, 1015 + 6 = 1021, 1024, 1027.
  const at = (h: number, m: number) => sh(2026, 10, 12, h, m);
  const readings = {
    'o1-e': [
      { time: at(9, 50), total: 1000 },
      { time: at(10, 10), total: 1004 },
      { time: at(10, 50), total: 1012 },
      { time: at(11, 10), total: 3 },
      { time: at(11, 40), total: 9 },
      { time: at(12, 10), total: 12 },
      { time: at(12, 30), total: 15 },
    ],
  };

  it('interpolates at the window edges and counts the reset from zero', async () => {
    const ctx = await context(readings);
    const series = await energySeries(ctx, {
      scope: 'meter',
      id: 'o1-e',
      kind: 'electricity',
      every: '1h',
      from: at(10, 0),
      to: at(12, 0),
    });
    expect(ctx.calls).toHaveLength(1);
    expect(series.items.map((i) => i.start)).toEqual([
      '2026-10-12T10:00:00+08:00',
      '2026-10-12T11:00:00+08:00',
    ]);
    // 10:00 → 1000 + 4 × 10/20 = 1002; 11:00 → 1012 + 3 × 10/20 = 1013.5;
    // 12:00 → 1021 + 3 × 20/30 = 1023.
    // Window 1: 1013.5 − 1002 = 11.5; window 2: 1023 − 1013.5 = 9.5.
    expect(series.items.map((i) => i.value)).toEqual([11.5, 9.5]);
    // Window 1 covered 10:00-10:10 and 10:50-11:00 (10:10-10:50 is a 40-min gap): 20/60 = 33.33 %.
    // Window 2 covered throughout (steps of 20, 30 and 30 min, each ≤ 30 min): 100 %.
    expect(series.items.map((i) => i.coverage)).toEqual([33.33, 100]);
  });

  it('gives the same consumption in a summary (October peak is 17-21, so 10-12 is all flat)', async () => {
    const ctx = await context(readings);
    const summary = await energySummary(ctx, { groupBy: 'meter', from: at(10, 0), to: at(12, 0) });
    const item = summary.items.find((i) => i.id === 'o1-e');
    // 11.5 + 9.5 = 21 kWh, all flat at 1.0 → 21 CNY; all in working time → off-hours share 0.
    expect(item?.electricityKwh).toBe(21);
    expect(item?.costCny).toBe(21);
    expect(item?.offHoursShare).toBe(0);
    expect(item?.kwhPerM2).toBeNull();
    expect(item?.nulls.kwhPerM2).toBe('no-floor-area');
    // A 2-hour range: compared with the 2 hours before (08:00–10:00: covered only from the first
    // reading at 09:50, 10 of 120 min = 8.33 %) and the same hours a year earlier (nothing).
    expect(summary.periodKind).toBe('range');
    expect(item?.previous).toMatchObject({
      from: '2026-10-12T08:00:00+08:00',
      to: '2026-10-12T10:00:00+08:00',
      measuredTo: '2026-10-12T10:00:00+08:00',
      coverage: 8.33,
      changePercent: null,
      nulls: { changePercent: 'coverage-under-90' },
    });
    expect(item?.lastYear).toMatchObject({
      from: '2025-10-12T10:00:00+08:00',
      electricityKwh: null,
      coverage: 0,
      nulls: { electricityKwh: 'no-data', changePercent: 'coverage-under-90' },
    });
    // One call for the period and one for every period compared with, cut at their midnights.
    expect(ctx.calls).toHaveLength(2);
  });
});

describe('a holiday and a make-up workday', () => {
  const flat = (t: EnergyTimeline, kwhPerHour: number) =>
    t.intervals.map((i) => ((i.end - i.start) / HOUR) * kwhPerHour);

  it('counts a holiday Thursday wholly off-hours', () => {
    const t = timelineOf(sh(2026, 10, 1), sh(2026, 10, 2));
    expect(t.intervals.every((i) => !i.working)).toBe(true);
    expect(offHoursShare(flat(t, 2), t.intervals)).toBe(1);
  });

  it('counts working hours on a make-up Saturday', () => {
    // Fri 10-09 (workday), Sat 10-10 (make-up workday), Sun 10-11 (weekend), 2 kWh every hour:
    // 72 h × 2 = 144 kWh; working 9 h Fri + 9 h Sat = 18 h × 2 = 36 kWh; off 108 / 144 = 0.75.
    const t = timelineOf(sh(2026, 10, 9), sh(2026, 10, 12));
    expect(offHoursShare(flat(t, 2), t.intervals)).toBeCloseTo(0.75, 12);
    // Sat alone: working 9 of 24 h → off 15/24 = 0.625.
    const sat = timelineOf(sh(2026, 10, 10), sh(2026, 10, 11));
    expect(offHoursShare(flat(sat, 2), sat.intervals)).toBeCloseTo(0.625, 12);
  });
});

describe('departments: own meters plus a share of common use by floor area', () => {
  // One working hour, 2026-10-12 09:00-10:00 (flat, one interval).
  const from = sh(2026, 10, 12, 9);
  const to = sh(2026, 10, 12, 10);
  const timeline = timelineOf(from, to);
  const values = {
    'o1-e': [100],
    'o1-e-d1': [30],
    'o1-hvac': [20],
    'o1-w': [10],
    'o2-e': [200],
    'o2-g1': [4],
    'o2-g2': [6],
    'c1-e': [50],
  };
  const meterData = data(timeline, values, { 'o1-w': 0.5 });
  const rows = summaryScopes(facility, 'department').map((d) =>
    energyItem(d, { facility, timeline, data: meterData }),
  );
  const row = (id: string) => rows.find((r) => r.id === id);

  it('has one interval', () => {
    expect(timeline.intervals).toHaveLength(1);
  });

  it('shares o1 common use 3:1 and o2 wholly to d2; c1 is shared services', () => {
    // o1 common electricity = 100 − 30 (all department meters in o1) = 70; areas d1 600, d2 200 → ¾, ¼.
    // d1 = 30 + 0.75 × 70 = 82.5. d2 = 0.25 × 70 + 200 (o2: d2 alone) = 217.5.
    // Water (no department meters): o1's 10 m³ is common → d1 7.5, d2 2.5. Gas: o2 4 + 6 = 10 → d2.
    expect(rows.map((r) => r.id)).toEqual(['d1', 'd2', 'c1']);
    expect(row('d1')?.electricityKwh).toBeCloseTo(82.5, 9);
    expect(row('d2')?.electricityKwh).toBeCloseTo(217.5, 9);
    expect(row('c1')).toMatchObject({ sharedServices: true, electricityKwh: 50 });
    expect(row('d1')?.waterM3).toBeCloseTo(7.5, 9);
    expect(row('d2')?.waterM3).toBeCloseTo(2.5, 9);
    expect(row('d2')?.gasM3).toBeCloseTo(10, 9);
    // Rows add up to the site: 82.5 + 217.5 + 50 = 350 = 100 + 200 + 50.
    const site = energyItem(def('site', 't-site'), { facility, timeline, data: meterData });
    expect(site.electricityKwh).toBe(350);
    const total = (pick: (r: (typeof rows)[number]) => number | null) =>
      rows.reduce((sum, r) => sum + (pick(r) ?? 0), 0);
    expect(total((r) => r.electricityKwh)).toBeCloseTo(350, 9);
    expect(total((r) => r.waterM3)).toBeCloseTo(10, 9);
    expect(total((r) => r.gasM3)).toBeCloseTo(10, 9);
    // d1 has space in o1 only, which has no gas meter: no gas stands behind it.
    expect(row('d1')?.gasM3).toBeNull();
    expect(row('d1')?.nulls.gasM3).toBe('not-metered');
  });

  it('does not split a building whose department meter is silent', () => {
    // Without o1-e-d1, o1's 100 kWh cannot be split into d1's own use and the common share: both
    // departments in o1 lose their electricity (d2's o2 part alone would be a part read as the
    // whole). Water (no department meter) still splits; c1 is unaffected.
    const { 'o1-e-d1': _silent, ...rest } = values;
    const silent = data(timeline, rest, { 'o1-w': 0.5 });
    const items = summaryScopes(facility, 'department').map((d) =>
      energyItem(d, { facility, timeline, data: silent }),
    );
    expect(items.map((r) => [r.id, r.electricityKwh, r.nulls.electricityKwh, r.waterM3])).toEqual([
      ['d1', null, 'meter-without-data', 7.5],
      ['d2', null, 'meter-without-data', 2.5],
      ['c1', 50, undefined, null],
    ]);
  });

  it('divides a department by its own area plus the same share of its buildings’ common area', () => {
    // o1: 1000 m², departments d1 600 + d2 200 = 800 → common 200 m², shared ¾ : ¼ as o1's common
    // use: d1 600 + 150 = 750 m²; d2 there 200 + 50 = 250 m². o2: 3000 m², d2 alone with 1000 →
    // common 2000, all d2's: 3000 m². d2 = 250 + 3000 = 3250 m² (own 1200, common 2050).
    // The department rows of o1 add up to its floor area: 750 + 250 = 1000.
    expect(row('d1')).toMatchObject({ areaM2: 750, ownAreaM2: 600, commonAreaM2: 150 });
    expect(row('d2')).toMatchObject({ areaM2: 3250, ownAreaM2: 1200, commonAreaM2: 2050 });
    // d1 82.5 kWh / 750 = 0.11 kWh/m² (over its own 600 m² it would read 0.1375, ×1.25 too high);
    // d2 217.5 / 3250 = 0.066923…
    expect(row('d1')?.kwhPerM2).toBeCloseTo(0.11, 12);
    expect(row('d2')?.kwhPerM2).toBeCloseTo(217.5 / 3250, 12);
    // Σ department kWh over Σ department areas of o1 and o2 equals the two buildings' intensity:
    // d1 + d2 = 82.5 + 217.5 = 300 kWh over 750 + 3250 = 4000 m² = (100 + 200) / (1000 + 3000).
    expect((82.5 + 217.5) / (750 + 3250)).toBeCloseTo(300 / 4000, 12);
  });

  it('converts, prices and divides the department figures', () => {
    // d2: kgce 217.5 × 0.1 + 10 × 1.2 = 21.75 + 12 = 33.75; CO2 217.5 × 0.5 + 10 × 2 = 128.75;
    // cost 217.5 × 1 (flat) + 2.5 × 5 + 10 × 3 = 217.5 + 12.5 + 30 = 260.
    const d2 = row('d2');
    expect(d2?.kgce).toBeCloseTo(33.75, 9);
    expect(d2?.co2Kg).toBeCloseTo(128.75, 9);
    expect(d2?.costCny).toBeCloseTo(260, 9);
    // d2: 20 people → 33.75 / 20 = 1.6875 kgce per person; 33.75 kgce / 3250 m² (below).
    expect(d2?.kgcePerCapita).toBeCloseTo(1.6875, 9);
    expect(d2?.kgcePerM2).toBeCloseTo(33.75 / 3250, 12);
    // d1: 10 people → water 7.5 / 10 = 0.75 m³ per person; kgce 82.5 × 0.1 = 8.25 / 750 m² = 0.011.
    expect(row('d1')?.waterM3PerCapita).toBeCloseTo(0.75, 9);
    expect(row('d1')?.kgcePerM2).toBeCloseTo(0.011, 12);
    // No cars in this facility: the vehicles line is there, empty, and adds nothing.
    expect(row('d1')?.vehicles).toMatchObject({ count: 0, reporting: 0, gasolineL: null, kgce: null });
    expect(row('d1')?.vehicles?.nulls).toMatchObject({ gasolineL: 'no-vehicle', kgce: 'no-vehicle' });
    // d1 depends on o1-e, o1-e-d1 and o1-w; o1-w covered half the hour: (100 + 100 + 50) / 3 = 83.33 %.
    expect(row('d1')?.coverage).toBeCloseTo(250 / 3, 9);
  });

  it('reports sub-systems per building', () => {
    const systems = summaryScopes(facility, 'system');
    expect(systems.map((s) => s.id)).toEqual(['o1:hvac']);
    const hvac = energyItem(systems[0] as EnergyScopeDef, { facility, timeline, data: meterData });
    // 20 kWh over o1's 1000 m² = 0.02 kWh/m²; no headcount.
    expect(hvac).toMatchObject({ electricityKwh: 20, kwhPerM2: 0.02, headcount: null, kgcePerCapita: null });
  });
});

/**
 * The test calendar worked by hand, independent of the code: Mon–Fri, 2026-10-01 off, 2026-10-10
 * worked. `t` is any instant; the local day is that of UTC+8.
 */
function isWorkdayByHand(t: number): boolean {
  const local = new Date(t + 8 * HOUR);
  const date = local.toISOString().slice(0, 10);
  if (date === '2026-10-01') return false;
  if (date === '2026-10-10') return true;
  const weekday = local.getUTCDay(); // 0 Sunday … 6 Saturday
  return weekday >= 1 && weekday <= 5;
}

/** A meter's consumption profile: kWh per hour on working and other days, over [start, end). */
interface Profile {
  readonly work: number;
  readonly off: number;
  readonly start?: number;
  readonly end?: number;
  /** A gap [from, to) bridged by the register: not covered, its consumption still counted. */
  readonly bridged?: readonly [number, number];
}

/** ∫ of a profile's rate over [a, b), hour by hour of the local days (hours never straddle days). */
function kwhOf(profile: Profile, a: number, b: number): number {
  let sum = 0;
  for (let t = Math.floor(a / HOUR) * HOUR; t < b; t += HOUR) {
    const part = Math.min(b, t + HOUR) - Math.max(a, t);
    if (part > 0) sum += (isWorkdayByHand(t) ? profile.work : profile.off) * (part / HOUR);
  }
  return sum;
}

/** Per-interval data of meters following profiles: consumption and covered time, by hand. */
function profileData(t: EnergyTimeline, profiles: Record<string, Profile>): MeterData {
  const out = new Map<string, MeterIntervals>();
  for (const [id, p] of Object.entries(profiles)) {
    const consumption: number[] = [];
    const coveredMs: number[] = [];
    for (const interval of t.intervals) {
      const a = Math.max(interval.start, p.start ?? Number.NEGATIVE_INFINITY);
      const b = Math.min(interval.end, p.end ?? Number.POSITIVE_INFINITY);
      const inside = Math.max(0, b - a);
      const [g0, g1] = p.bridged ?? [0, 0];
      const gap = Math.max(0, Math.min(b, g1) - Math.max(a, g0));
      consumption.push(inside > 0 ? kwhOf(p, a, b) : 0);
      coveredMs.push(inside - gap);
    }
    out.set(id, { consumption, coveredMs });
  }
  return out;
}

describe('quota on covered time: pro-rated to the measured part, projected by day type', () => {
  it('cuts the year-to-date lead-in wherever the day type changes', () => {
    // 2026-01-01 is a Thursday: Thu–Fri 1–2 working, Sat–Sun 3–4 not, Mon–Fri 5–9 working…
    const from = sh(2026, 10, 1);
    const t = timelineOf(from, sh(2026, 10, 2), quotaLeadEdges(from, sh(2026, 10, 2), 'Asia/Shanghai'));
    expect(t.intervals.slice(0, 3).map((i) => [i.start, i.end, i.workday, i.inPeriod])).toEqual([
      [sh(2026, 1, 1), sh(2026, 1, 3), true, false],
      [sh(2026, 1, 3), sh(2026, 1, 5), false, false],
      [sh(2026, 1, 5), sh(2026, 1, 10), true, false],
    ]);
    // The lead-in ends at 1 October, the holiday (not a working day).
    const last = t.intervals.findLast((i) => !i.inPeriod);
    expect(last).toMatchObject({ start: sh(2026, 9, 28), end: from, workday: true });
    expect(t.intervals.find((i) => i.inPeriod)?.workday).toBe(false);
  });

  it('October measured to the 16th, with data only since 1 September (no straight line from 1 January)', () => {
    // The period is October; now is 16 October 00:00, so it is measured over 1–16 October (15 days).
    // o1-e uses 4 kWh an hour on working days (96 a day) and 1 an hour on other days (24 a day),
    // from 1 September — the store's first reading; o2-e and c1-e report 0 from then on.
    const from = sh(2026, 10, 1);
    const measuredTo = sh(2026, 10, 16);
    const t = timelineOf(from, measuredTo, quotaLeadEdges(from, measuredTo, 'Asia/Shanghai'));
    const since = sh(2026, 9, 1);
    const meterData = profileData(t, {
      'o1-e': { work: 4, off: 1, start: since },
      'o2-e': { work: 0, off: 0, start: since },
      'c1-e': { work: 0, off: 0, start: since },
    });
    const input = {
      facility,
      timeline: t,
      data: meterData,
      period: { from, to: sh(2026, 11, 1), measuredTo },
    };
    const site = roundEnergyItem(energyItem(def('site', 't-site'), input));
    // 1–15 October: working days 2, 5–9, 10 (make-up), 12–15 = 11; other days 1 (holiday), 3, 4,
    // 11 = 4. Used 11 × 96 + 4 × 24 = 1 056 + 96 = 1 152 kWh.
    // Amount: 36 500 × 15 / 365 = 1 500 (pro-rated over the measured 15 days, not October's 31).
    // Fully covered: usedPercent = 1 152 / 1 500 = 76.8 %.
    // Year to date 1 January → 16 October = 288 days (243 to 1 September + 30 + 15); known from
    // 1 September: 45 days of 288 = 15.625 % for each of the three meters.
    // September 2026 (1 is a Tuesday): weekdays 1–4, 7–11, 14–18, 21–25, 28–30 = 22, weekends 8:
    // 22 × 96 + 8 × 24 = 2 304. Used to date 2 304 + 1 152 = 3 456.
    // Projection: known working days 22 + 11 = 33 at 96, other days 8 + 4 = 12 at 24; the year has
    // 261 working days and 104 others (2026: 52 weeks + Thu 31 December; −1 holiday +1 make-up),
    // so 3 456 + (261 − 33) × 96 + (104 − 12) × 24 = 3 456 + 21 888 + 2 208 = 27 552 kWh
    // = 75.48 % of 36 500. (A straight line from 1 January would say 3 456 × 365 / 288 = 4 380,
    // 12 %: ten months without data read as zero.)
    expect(site.quota[0]).toEqual({
      kind: 'electricity',
      unit: 'kWh',
      annual: 36500,
      year: 2026,
      amount: 1500,
      used: 1152,
      periodCoverage: 100,
      usedPercent: 76.8,
      asOf: '2026-10-16T00:00:00+08:00',
      usedToDate: 3456,
      coverage: 15.63,
      basis: 'partial',
      projectedYearEnd: 27552,
      projectedPercent: 75.48,
      nulls: {},
    });
    // d1 = o1-e-d1 + ¾ (o1-e − o1-e-d1): its own meter has never reported, so o1's use cannot be
    // split between d1 and the common share: nothing is given rather than ¾ × 1 152 = 864.
    const d1 = roundEnergyItem(energyItem(def('department', 'd1'), input));
    expect(d1.electricityKwh).toBeNull();
    expect(d1.nulls.electricityKwh).toBe('meter-without-data');
    expect(d1.quota[0]).toMatchObject({ amount: 150, used: null, usedPercent: null, projectedYearEnd: null });
    expect(d1.quota[0]?.nulls).toEqual({
      used: 'meter-without-data',
      usedPercent: 'meter-without-data',
      usedToDate: 'meter-without-data',
      projectedYearEnd: 'meter-without-data',
      projectedPercent: 'meter-without-data',
    });
  });

  it('a week whose meters stopped on Thursday: used at the measured rate, over covered time', () => {
    // Mon 12 – Mon 19 October, measured throughout (now is later); every electricity meter stopped
    // at Thu 15 00:00 (an end gap: nothing known after). o1-e: Mon–Wed 3 × 96 = 288 kWh.
    // Amount 36 500 × 7 / 365 = 700. Known 3 of 7 days (42.86 %): at the measured rate the week
    // is 288 × 7 / 3 = 672 → 96 %, not 288 / 700 = 41.14 % with four days read as zero.
    const from = sh(2026, 10, 12);
    const to = sh(2026, 10, 19);
    const t = timelineOf(from, to, quotaLeadEdges(from, to, 'Asia/Shanghai'));
    const stop = sh(2026, 10, 15);
    const meterData = profileData(t, {
      'o1-e': { work: 4, off: 1, start: sh(2026, 9, 1), end: stop },
      'o2-e': { work: 0, off: 0, start: sh(2026, 9, 1), end: stop },
      'c1-e': { work: 0, off: 0, start: sh(2026, 9, 1), end: stop },
    });
    const site = roundEnergyItem(
      energyItem(def('site', 't-site'), { facility, timeline: t, data: meterData }),
    );
    expect(site.quota[0]).toMatchObject({ amount: 700, used: 288, periodCoverage: 42.86, usedPercent: 96 });
    expect(site.electricityKwh).toBe(288);
    // The site's coverage also counts its water and gas meters, silent here: (3 × 3/7 + 3 × 0) / 6.
    expect(site.coverageByKind).toEqual({ electricity: 42.86, water: 0, gas: 0 });
    expect(site.coverage).toBe(21.43);
  });

  it('a period across new year, the year over: a bridged gap is measured, not filled twice', () => {
    // 2026-12-17 .. 2027-01-16, now 2027-03-01. o1-e uses 100 kWh a day all year; in June its
    // readings are further apart than 3 intervals (not covered) but the register bridges the gap,
    // so June's 3 000 kWh still count. o2-e and c1-e report 0 all the time.
    const from = sh(2026, 12, 17);
    const to = sh(2027, 1, 16);
    const t = timelineOf(from, to, quotaLeadEdges(from, to, 'Asia/Shanghai'));
    const perHour = 100 / 24;
    const meterData = profileData(t, {
      'o1-e': { work: perHour, off: perHour, bridged: [sh(2026, 6, 1), sh(2026, 7, 1)] },
      'o2-e': { work: 0, off: 0 },
      'c1-e': { work: 0, off: 0 },
    });
    const site = roundEnergyItem(
      energyItem(def('site', 't-site'), { facility, timeline: t, data: meterData }),
    );
    // Only the 2026 quota: 15 days of 2026 in the period → 36 500 × 15 / 365 = 1 500; used 15 × 100
    // = 1 500 → 100 %. 2027 has no quota.
    expect(site.quota).toHaveLength(1);
    // Year over: asOf is 2027-01-01. Used to date 365 × 100 = 36 500 (June included). Coverage:
    // o1-e 335 / 365 = 91.78 %, o2-e and c1-e 100 % → (91.7808 + 200) / 3 = 97.26 %. Known
    // throughout (June lies between covered days), so basis measured and the projection is the
    // year's use, 36 500 = 100 % — scaling by coverage would have said 36 500 × 365 / 335 = 39 769.
    expect(site.quota[0]).toMatchObject({
      amount: 1500,
      used: 1500,
      usedPercent: 100,
      asOf: '2027-01-01T00:00:00+08:00',
      usedToDate: 36500,
      coverage: 97.26,
      basis: 'measured',
      projectedYearEnd: 36500,
      projectedPercent: 100,
    });
    // 30 days × 100 kWh.
    expect(site.electricityKwh).toBe(3000);
  });
});

describe('GB/T 51161: rated only over 12 months, corrected for hours of use', () => {
  const year = { from: sh(2026, 1, 1), to: sh(2027, 1, 1) };
  const yearTimeline = timelineOf(year.from, year.to);
  // o1 (class A: constraint 85, guide 70 kWh/m²·a, 1000 m²) uses 82 000 kWh in 2026, evenly:
  // 82 000 / 8 760 h an hour.
  const even = (start?: number) => ({ work: 82000 / 8760, off: 82000 / 8760, ...(start ? { start } : {}) });
  // 2026: 261 working days (see the quota test) × 9 h (09:00–18:00) = 2 349 h of use.
  // γ = 0.3 + 0.7 × 2 500 / 2 349 = 0.3 + 0.744998 = 1.044998.

  it('rates a full year on the corrected intensity', () => {
    const o1 = roundEnergyItem(
      energyItem(def('building', 'o1'), {
        facility,
        timeline: yearTimeline,
        data: profileData(yearTimeline, { 'o1-e': even() }),
        period: { ...year, measuredTo: year.to },
      }),
    );
    // 82 kWh/m² measured; corrected 82 × 1.044998 = 85.69 > 85 → over-constraint (uncorrected,
    // 82 would have read "between").
    expect(o1.standard).toEqual({
      source: expect.stringContaining('GB/T 51161'),
      constraintKwhPerM2: 85,
      guideKwhPerM2: 70,
      areaM2: 1000,
      coverage: 100,
      annualisedKwhPerM2: 82,
      annualisedMethod: 'measured-year',
      estimate: false,
      hoursOfUse: 2349,
      gamma: 1.045,
      correctedKwhPerM2: 85.69,
      rating: 'over-constraint',
      nulls: {},
    });
  });

  it('withholds the rating of a year under 90 % covered, keeping the estimate', () => {
    // Data from 15 February: 320 of 365 days = 87.67 % < 90 %. The estimate over covered time is
    // still 82 000 × 320/365 measured × 365/320 = 82 kWh/m².
    const o1 = roundEnergyItem(
      energyItem(def('building', 'o1'), {
        facility,
        timeline: yearTimeline,
        data: profileData(yearTimeline, { 'o1-e': even(sh(2026, 2, 15)) }),
        period: { ...year, measuredTo: year.to },
      }),
    ).standard;
    expect(o1).toMatchObject({
      coverage: 87.67,
      annualisedKwhPerM2: 82,
      correctedKwhPerM2: 85.69,
      rating: null,
    });
    expect(o1?.nulls).toEqual({ rating: 'coverage-under-90' });
  });

  it('does not rate twelve months that are not over', () => {
    // Now is 1 December: measured 1 January – 1 December = 334 days, 82 000 × 334 / 365 kWh;
    // × 365 / 334 days → 82 kWh/m² a year (an estimate by days); no rating, no γ.
    const measuredTo = sh(2026, 12, 1);
    const t = timelineOf(year.from, measuredTo);
    const o1 = roundEnergyItem(
      energyItem(def('building', 'o1'), {
        facility,
        timeline: t,
        data: profileData(t, { 'o1-e': even() }),
        period: { ...year, measuredTo },
      }),
    ).standard;
    expect(o1).toMatchObject({
      annualisedKwhPerM2: 82,
      annualisedMethod: 'days',
      estimate: true,
      rating: null,
    });
    expect(o1?.nulls).toEqual({
      hoursOfUse: 'year-not-over',
      gamma: 'year-not-over',
      correctedKwhPerM2: 'year-not-over',
      rating: 'year-not-over',
    });
  });

  it('a June without data is not rated, nor estimated', () => {
    const june = timelineOf(sh(2026, 6, 1), sh(2026, 7, 1));
    const o1 = energyItem(def('building', 'o1'), { facility, timeline: june, data: new Map() }).standard;
    expect(o1).toMatchObject({ coverage: 0, annualisedKwhPerM2: null, rating: null });
    expect(o1?.nulls).toMatchObject({ annualisedKwhPerM2: 'no-data', rating: 'not-a-year' });
  });

  it('a month scaled by last year: this June × the 12 months before ÷ last June', () => {
    // June 2026: o1-e 7 000 kWh (7 kWh/m²). Stored: June 2025 6 000, July 2025 – April 2026
    // 48 000, May 2026 6 000: the twelve months before June 2026 used 60 000.
    // Annualised 7 × 60 000 / 6 000 = 70 kWh/m²·a, labelled an estimate; no rating for a month.
    const from = sh(2026, 6, 1);
    const to = sh(2026, 7, 1);
    const june = timelineOf(from, to);
    const edges = [sh(2025, 6, 1), sh(2025, 7, 1), sh(2026, 5, 1), sh(2026, 6, 1)];
    const spans = edges.slice(1).map((end, i) => end - (edges[i] as number));
    const comparisons = {
      edges,
      data: new Map([['o1-e', { consumption: [6000, 48000, 6000], coveredMs: spans }]]),
      previous: { from: sh(2026, 5, 1), to: from, measuredTo: from },
      lastYear: { from: sh(2025, 6, 1), to: sh(2025, 7, 1), measuredTo: sh(2025, 7, 1) },
      twelveMonths: { from: sh(2025, 6, 1), to: from },
    };
    const o1 = roundEnergyItem(
      energyItem(def('building', 'o1'), {
        facility,
        timeline: june,
        data: profileData(june, { 'o1-e': { work: 7000 / 720, off: 7000 / 720 } }),
        comparisons,
      }),
    );
    expect(o1.standard).toMatchObject({
      annualisedKwhPerM2: 70,
      annualisedMethod: 'last-year-profile',
      estimate: true,
      rating: null,
      nulls: { rating: 'not-a-year' },
    });
    // June 700 kgce against May's 600 and last June's 600: +16.67 % both.
    expect(o1.previous).toMatchObject({
      kgce: 600,
      changePercent: 16.67,
      coverage: 100,
      currentCoverage: 100,
    });
    expect(o1.lastYear).toMatchObject({ kgce: 600, changePercent: 16.67 });
  });

  it('estimates a day by days, over a department’s allocated area and values', () => {
    // One day, 2026-10-13. o1 (A, 85/70): 250 kWh / 1000 m² × 365 = 91.25 kWh/m²·a (by days).
    const from = sh(2026, 10, 13);
    const t = timelineOf(from, from + 24 * HOUR);
    const only = (value: number) => t.intervals.map((_, i) => (i === 0 ? value : 0));
    const current = data(t, { 'o1-e': only(250), 'o2-e': only(600), 'c1-e': only(40), 'o1-e-d1': only(100) });
    const input = { facility, timeline: t, data: current };
    expect(energyItem(def('building', 'o1'), input).standard).toMatchObject({
      annualisedKwhPerM2: 91.25,
      annualisedMethod: 'days',
      rating: null,
    });
    // Site: o1 + o2 (c1 has no value): (250 + 600) / 4000 × 365 = 77.5625; values weighted by area:
    // constraint (1000 × 85 + 3000 × 110) / 4000 = 103.75, guide (1000 × 70 + 3000 × 80) / 4000 = 77.5.
    const site = energyItem(def('site', 't-site'), input).standard;
    expect(site?.annualisedKwhPerM2).toBeCloseTo(77.5625, 9);
    expect(site?.constraintKwhPerM2).toBeCloseTo(103.75, 9);
    expect(site?.guideKwhPerM2).toBeCloseTo(77.5, 9);
    // d2 over its allocated 250 m² in o1 (A) and 3 000 m² in o2 (B):
    // constraint (250 × 85 + 3000 × 110) / 3250 = 351 250 / 3250, guide (250 × 70 + 3000 × 80) / 3250.
    // d2's kWh: ¼ × (250 − 100) + 600 = 637.5 over 3 250 m² × 365 = 71.596…
    const d2 = energyItem(def('department', 'd2'), input).standard;
    expect(d2?.areaM2).toBe(3250);
    expect(d2?.constraintKwhPerM2).toBeCloseTo(351250 / 3250, 9);
    expect(d2?.guideKwhPerM2).toBeCloseTo(257500 / 3250, 9);
    expect(d2?.annualisedKwhPerM2).toBeCloseTo((637.5 / 3250) * 365, 9);
  });
});

describe('环比 and 同比 on covered time', () => {
  // One day, 2026-10-13 (Tue); previous 2026-10-12, last year 2025-10-13. The comparison data is
  // cut at [2025-10-13, 2025-10-14, 2026-10-12, 2026-10-13]: last year's day, the gap, the previous day.
  const from = sh(2026, 10, 13);
  const t = timelineOf(from, from + 24 * HOUR);
  const only = (value: number) => t.intervals.map((_, i) => (i === 0 ? value : 0));
  // o2's gas meters stand behind its kgce too: they report 0 on every day compared.
  const current = data(t, {
    'o1-e': only(250),
    'o2-e': only(600),
    'c1-e': only(40),
    'o2-g1': only(0),
    'o2-g2': only(0),
  });
  const edges = [sh(2025, 10, 13), sh(2025, 10, 14), sh(2026, 10, 12), from];
  const DAY_MS = 24 * HOUR;
  const comparisons = (previousData: Map<string, MeterIntervals>) => ({
    edges,
    data: previousData,
    previous: { from: sh(2026, 10, 12), to: from, measuredTo: from },
    lastYear: { from: sh(2025, 10, 13), to: sh(2025, 10, 14), measuredTo: sh(2025, 10, 14) },
  });
  const stored = new Map<string, MeterIntervals>([
    ['o1-e', { consumption: [150, 0, 200], coveredMs: [DAY_MS, 0, DAY_MS] }],
    ['o2-e', { consumption: [0, 0, 0], coveredMs: [DAY_MS, 0, DAY_MS] }],
    ['o2-g1', { consumption: [0, 0, 0], coveredMs: [DAY_MS, 0, DAY_MS] }],
    ['o2-g2', { consumption: [0, 0, 0], coveredMs: [DAY_MS, 0, DAY_MS] }],
    // c1-e covered only 12 h of the previous day.
    ['c1-e', { consumption: [40, 0, 30], coveredMs: [DAY_MS, 0, DAY_MS / 2] }],
  ]);
  const item = (id: string, compared = stored) =>
    roundEnergyItem(
      energyItem(def('building', id), {
        facility,
        timeline: t,
        data: current,
        comparisons: comparisons(compared),
      }),
    );

  it('compares kgce with the previous day and the same day last year', () => {
    // o1: 250 × 0.1 = 25 kgce; previous 200 → 20 kgce: +25 %; last year 150 → 15: +66.67 %.
    const o1 = item('o1');
    expect(o1.previous).toEqual({
      from: '2026-10-12T00:00:00+08:00',
      to: '2026-10-13T00:00:00+08:00',
      measuredTo: '2026-10-13T00:00:00+08:00',
      electricityKwh: 200,
      waterM3: null,
      gasM3: null,
      kgce: 20,
      coverage: 100,
      currentCoverage: 100,
      changePercent: 25,
      nulls: { waterM3: 'no-data', gasM3: 'not-metered' },
    });
    expect(o1.lastYear).toMatchObject({ from: '2025-10-13T00:00:00+08:00', kgce: 15, changePercent: 66.67 });
  });

  it('withholds a change against nothing, and against a side under 90 % covered', () => {
    // o2 used nothing the day before: no % change.
    expect(item('o2').previous).toMatchObject({
      kgce: 0,
      changePercent: null,
      nulls: { changePercent: 'zero-base' },
    });
    // c1's previous day is 50 % covered: no % change, both coverages given; last year's day is
    // whole: 40 → 40 kWh, 0 %.
    expect(item('c1').previous).toMatchObject({
      coverage: 50,
      currentCoverage: 100,
      changePercent: null,
      nulls: { changePercent: 'coverage-under-90' },
    });
    expect(item('c1').lastYear).toMatchObject({ coverage: 100, changePercent: 0 });
  });

  it('compares estimates over covered time when a side is 90 % or more covered', () => {
    // The previous day of o1 covered from 00:00 to 21:36 (90 %), 180 kWh measured: at that rate
    // the day is 180 / 0.9 = 200 kWh = 20 kgce, so +25 % — not +38.9 % with 2.4 hours read as zero.
    const partial = new Map(stored);
    partial.set('o1-e', { consumption: [150, 0, 180], coveredMs: [DAY_MS, 0, 0.9 * DAY_MS] });
    expect(item('o1', partial).previous).toMatchObject({
      electricityKwh: 180,
      kgce: 18,
      coverage: 90,
      changePercent: 25,
    });
  });
});

describe('windows aligned to local midnight, DST-safe', () => {
  it('a Berlin day of the spring change is one 23-hour window, or 23 hourly windows', () => {
    // 2026-03-29 00:00 Berlin = 2026-03-28T23:00Z (UTC+1); 2026-03-30 00:00 = 2026-03-29T22:00Z (UTC+2).
    const from = Date.UTC(2026, 2, 28, 23);
    const to = Date.UTC(2026, 2, 29, 22);
    expect(windowEdges(from, to, '1d', 'Europe/Berlin')).toEqual([from, to]);
    expect(windowEdges(from, to, '1h', 'Europe/Berlin')).toHaveLength(24);
    // A range starting off the grid: first window partial.
    expect(windowEdges(from + 10 * MIN, from + HOUR + 10 * MIN, '15m', 'Europe/Berlin')).toEqual([
      from + 10 * MIN,
      from + 15 * MIN,
      from + 30 * MIN,
      from + 45 * MIN,
      from + HOUR,
      from + HOUR + 10 * MIN,
    ]);
  });
});

describe('errors name the parameter', () => {
  let ctx: KpiContext;
  beforeAll(async () => {
    ctx = await context({});
  });
  const period = { from: sh(2026, 10, 12), to: sh(2026, 10, 13) };
  const fails = async (promise: Promise<unknown>, status: number, parameter: string) => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KpiError);
    expect(error).toMatchObject({ status, parameter });
  };

  it.each([
    [
      'unknown department',
      () => energySummary(ctx, { ...period, groupBy: 'department', department: 'nope' }),
      404,
      'department',
    ],
    [
      'department with groupBy site',
      () => energySummary(ctx, { ...period, groupBy: 'site', department: 'd1' }),
      400,
      'groupBy',
    ],
    ['bad groupBy', () => energySummary(ctx, { ...period, groupBy: 'floor' as never }), 400, 'groupBy'],
    [
      'reversed range',
      () => energySummary(ctx, { from: period.to, to: period.from, groupBy: 'site' }),
      400,
      'to',
    ],
    [
      'unknown building',
      () => energySeries(ctx, { ...period, scope: 'building', id: 'x', kind: 'gas', every: '1h' }),
      404,
      'id',
    ],
    [
      'wrong site id',
      () => energySeries(ctx, { ...period, scope: 'site', id: 'x', kind: 'gas', every: '1h' }),
      404,
      'id',
    ],
    [
      'meter of another kind',
      () => energySeries(ctx, { ...period, scope: 'meter', id: 'o1-w', kind: 'gas', every: '1h' }),
      400,
      'kind',
    ],
    [
      'bad kind',
      () => energySeries(ctx, { ...period, scope: 'site', id: 't-site', kind: 'heat' as never, every: '1h' }),
      400,
      'kind',
    ],
    [
      'bad every',
      () => energySeries(ctx, { ...period, scope: 'site', id: 't-site', kind: 'gas', every: '2h' as never }),
      400,
      'every',
    ],
    [
      'bad scope',
      () => energySeries(ctx, { ...period, scope: 'room' as never, id: 'x', kind: 'gas', every: '1h' }),
      400,
      'scope',
    ],
  ] as const)('%s', async (_name, call, status, parameter) => {
    await fails(call(), status, parameter);
  });

  it('a department restricts groupBy=meter to its meters and groupBy=department to its row', async () => {
    const meters = await energySummary(ctx, { ...period, groupBy: 'meter', department: 'd1' });
    expect(meters.items.map((i) => i.id)).toEqual(['o1-e-d1']);
    const rows = await energySummary(ctx, { ...period, groupBy: 'department', department: 'd2' });
    expect(rows.items.map((i) => i.id)).toEqual(['d2']);
  });
});
