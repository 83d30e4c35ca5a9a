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
import type { Point, RegisterQuery } from '../../core/store.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

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
 * A real DuckDB store in a temporary folder holding `readings` as the meters' `total`, with the
 * register queries the engine makes recorded (the engine must ask once per period).
 */
async function context(
  readings: Record<string, Reading[]>,
  now = sh(2026, 12, 31),
): Promise<KpiContext & { calls: RegisterQuery[] }> {
  const folder = await mkdtemp(join(tmpdir(), 'sfp-kpi-energy-'));
  const store = new DuckDbStore({ path: join(folder, 'store.duckdb') });
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
  const calls: RegisterQuery[] = [];
  const registerIntervals = store.registerIntervals.bind(store);
  store.registerIntervals = (query) => {
    calls.push(query);
    return registerIntervals(query);
  };
  return { facility, store, now: () => now, calls };
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
      now: to,
    });
    // cost 10 + 45 + 30 = 85; kgce 80 × 0.1 = 8; CO2 80 × 0.5 = 40; 80 kWh / 500 m² = 0.16.
    expect(item.electricityKwh).toBe(80);
    expect(item.costCny).toBeCloseTo(85, 9);
    expect(item.kgce).toBeCloseTo(8, 9);
    expect(item.co2Kg).toBeCloseTo(40, 9);
    expect(item.kwhPerM2).toBeCloseTo(0.16, 9);
    expect(item.sharedServices).toBe(true);
    expect(item.standard).toBeNull(); // a conference centre has no GB/T 51161 value we may use
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
  // 09:50 → 1000, 10:10 → 1004, 10:50 → 1012, 11:10 → 3 (reset), 11:40 → 9.
  // Adjusted register: 1000, 1004, 1012, 1012 + 3 = 1015, 1015 + 6 = 1021.
  const at = (h: number, m: number) => sh(2026, 10, 12, h, m);
  const readings = {
    'o1-e': [
      { time: at(9, 50), total: 1000 },
      { time: at(10, 10), total: 1004 },
      { time: at(10, 50), total: 1012 },
      { time: at(11, 10), total: 3 },
      { time: at(11, 40), total: 9 },
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
    // 10:00 → 1000 + 4 × 10/20 = 1002; 11:00 → 1012 + 3 × 10/20 = 1013.5; 12:00 → clamped to 1021.
    // Window 1: 1013.5 − 1002 = 11.5; window 2: 1021 − 1013.5 = 7.5.
    expect(series.items.map((i) => i.value)).toEqual([11.5, 7.5]);
    // Window 1 covered 10:00-10:10 and 10:50-11:00 (10:10-10:50 is a 40-min gap): 20/60 = 33.33 %.
    // Window 2 covered 11:00-11:40 (20 + 30 min steps ≤ 30 min): 40/60 = 66.67 %.
    expect(series.items.map((i) => i.coverage)).toEqual([33.33, 66.67]);
  });

  it('gives the same consumption in a summary (October peak is 17-21, so 10-12 is all flat)', async () => {
    const ctx = await context(readings);
    const summary = await energySummary(ctx, { groupBy: 'meter', from: at(10, 0), to: at(12, 0) });
    const item = summary.items.find((i) => i.id === 'o1-e');
    // 11.5 + 7.5 = 19 kWh, all flat at 1.0 → 19 CNY; all in working time → off-hours share 0.
    expect(item?.electricityKwh).toBe(19);
    expect(item?.costCny).toBe(19);
    expect(item?.offHoursShare).toBe(0);
    expect(item?.kwhPerM2).toBeNull();
    // One call for the period and one for the previous period.
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
    energyItem(d, { facility, timeline, data: meterData, now: to }),
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
    const site = energyItem(def('site', 't-site'), { facility, timeline, data: meterData, now: to });
    expect(site.electricityKwh).toBe(350);
    expect(rows.reduce((s, r) => s + r.electricityKwh, 0)).toBeCloseTo(site.electricityKwh, 9);
    expect(rows.reduce((s, r) => s + r.waterM3, 0)).toBeCloseTo(site.waterM3, 9);
    expect(rows.reduce((s, r) => s + r.gasM3, 0)).toBeCloseTo(site.gasM3, 9);
  });

  it('converts, prices and divides the department figures', () => {
    // d2: kgce 217.5 × 0.1 + 10 × 1.2 = 21.75 + 12 = 33.75; CO2 217.5 × 0.5 + 10 × 2 = 128.75;
    // cost 217.5 × 1 (flat) + 2.5 × 5 + 10 × 3 = 217.5 + 12.5 + 30 = 260.
    const d2 = row('d2');
    expect(d2?.kgce).toBeCloseTo(33.75, 9);
    expect(d2?.co2Kg).toBeCloseTo(128.75, 9);
    expect(d2?.costCny).toBeCloseTo(260, 9);
    // d2: 1200 m², 20 people → 217.5 / 1200 = 0.18125 kWh/m²; 33.75 / 20 = 1.6875 kgce per person.
    expect(d2?.kwhPerM2).toBeCloseTo(0.18125, 9);
    expect(d2?.kgcePerCapita).toBeCloseTo(1.6875, 9);
    // d1: 600 m², 10 people → water 7.5 / 10 = 0.75 m³ per person; kgce 8.25 / 600 m².
    expect(row('d1')?.waterM3PerCapita).toBeCloseTo(0.75, 9);
    expect(row('d1')?.kgcePerM2).toBeCloseTo(8.25 / 600, 12);
    // d1 depends on o1-e, o1-e-d1 and o1-w; o1-w covered half the hour: (100 + 100 + 50) / 3 = 83.33 %.
    expect(row('d1')?.coverage).toBeCloseTo(250 / 3, 9);
  });

  it('reports sub-systems per building', () => {
    const systems = summaryScopes(facility, 'system');
    expect(systems.map((s) => s.id)).toEqual(['o1:hvac']);
    const hvac = energyItem(systems[0] as EnergyScopeDef, { facility, timeline, data: meterData, now: to });
    // 20 kWh over o1's 1000 m² = 0.02 kWh/m²; no headcount.
    expect(hvac).toMatchObject({ electricityKwh: 20, kwhPerM2: 0.02, headcount: null, kgcePerCapita: null });
  });
});

describe('quota pro-rated by days, with a straight-line projection', () => {
  it('October: 31/365 of the annual quota, year-to-date from 1 January', () => {
    const from = sh(2026, 10, 1);
    const to = sh(2026, 11, 1);
    const now = sh(2026, 12, 15); // after the period: the projection stops at the period's end
    const t = timelineOf(from, to, quotaLeadEdges(from, to, 'Asia/Shanghai', now));
    // Lead-in interval [2026-01-01, 2026-10-01) first, outside the period.
    expect(t.intervals[0]).toMatchObject({ start: sh(2026, 1, 1), end: from, inPeriod: false });
    const kwh = t.intervals.map((_, i) => (i === 0 ? 27300 : i === 1 ? 2480 : 0));
    const site = energyItem(def('site', 't-site'), {
      facility,
      timeline: t,
      data: data(t, { 'o1-e': kwh }),
      now,
    });
    const q = site.quota[0];
    // amount 36 500 × 31 / 365 = 3 100; used 2 480 / 3 100 = 80 %.
    // Year to date 27 300 + 2 480 = 29 780 over 1 Jan–1 Nov = 304 days → × 365 / 304 = 35 755.59…;
    // ÷ 36 500 = 97.96 %.
    expect(site.electricityKwh).toBe(2480);
    expect(q?.amount).toBeCloseTo(3100, 6);
    expect(q?.usedPercent).toBeCloseTo(80, 9);
    expect(q?.projectedYearEnd).toBeCloseTo((29780 * 365) / 304, 6);
    expect(roundEnergyItem(site).quota[0]?.projectedPercent).toBe(97.96);
    expect(q).toMatchObject({ kind: 'electricity', unit: 'kWh', annual: 36500, year: 2026 });
  });

  it('a period across new year uses only its days in the quota year', () => {
    // 2026-12-17 .. 2027-01-16: 15 days in 2026 → 36 500 × 15 / 365 = 1 500; no 2027 quota.
    const from = sh(2026, 12, 17);
    const to = sh(2027, 1, 16);
    const now = sh(2027, 3, 1);
    const t = timelineOf(from, to, quotaLeadEdges(from, to, 'Asia/Shanghai', now));
    const first2027 = t.intervals.findIndex((i) => i.year === 2027);
    // Lead-in 35 000 (1 Jan–17 Dec), 1 200 in December, 999 in January (not counted against 2026).
    const kwh = t.intervals.map((_, i) => (i === 0 ? 35000 : i === 1 ? 1200 : i === first2027 ? 999 : 0));
    const site = energyItem(def('site', 't-site'), {
      facility,
      timeline: t,
      data: data(t, { 'o1-e': kwh }),
      now,
    });
    expect(site.quota).toHaveLength(1);
    // used 1 200 / 1 500 = 80 %; the year is over, so the projection is the year's total 36 200
    // (99.18 % of 36 500).
    expect(site.quota[0]?.amount).toBeCloseTo(1500, 6);
    expect(site.quota[0]?.usedPercent).toBeCloseTo(80, 9);
    expect(site.quota[0]?.projectedYearEnd).toBeCloseTo(36200, 6);
    expect(site.electricityKwh).toBe(2199);
  });
});

describe('GB/T 51161 rating and the previous period', () => {
  // One day, 2026-10-13; previous day 2026-10-12.
  const from = sh(2026, 10, 13);
  const to = sh(2026, 10, 14);
  const t = timelineOf(from, to);
  const only = (value: number) => t.intervals.map((_, i) => (i === 0 ? value : 0));
  const current = data(t, { 'o1-e': only(250), 'o2-e': only(600), 'c1-e': only(40), 'o1-e-d1': only(100) });
  const previous = new Map<string, MeterIntervals>([
    ['o1-e', { consumption: [200], coveredMs: [24 * HOUR] }],
    ['o2-e', { consumption: [0], coveredMs: [24 * HOUR] }],
  ]);
  const input = {
    facility,
    timeline: t,
    data: current,
    previous: { from: from - 24 * HOUR, to: from, data: previous },
    now: to,
  };

  it('rates buildings by class, and the site over its office buildings only', () => {
    // o1 (A, 85/70): 250 / 1000 = 0.25 kWh/m² × 365 = 91.25 > 85 → over-constraint.
    expect(energyItem(def('building', 'o1'), input).standard).toMatchObject({
      constraintKwhPerM2: 85,
      guideKwhPerM2: 70,
      annualisedKwhPerM2: 91.25,
      rating: 'over-constraint',
    });
    // o2 (B, 110/80): 600 / 3000 = 0.2 × 365 = 73 ≤ 80 → below-guide.
    expect(energyItem(def('building', 'o2'), input).standard?.rating).toBe('below-guide');
    // Site: o1 + o2 (c1 has no value): constraint (1000 × 85 + 3000 × 110) / 4000 = 103.75,
    // guide (1000 × 70 + 3000 × 80) / 4000 = 77.5; (250 + 600) / 4000 × 365 = 77.5625 → between.
    const site = energyItem(def('site', 't-site'), input).standard;
    expect(site?.constraintKwhPerM2).toBeCloseTo(103.75, 9);
    expect(site?.guideKwhPerM2).toBeCloseTo(77.5, 9);
    expect(site?.annualisedKwhPerM2).toBeCloseTo(77.5625, 9);
    expect(site?.rating).toBe('between');
    // d2: 200 m² in o1 (A) and 1000 m² in o2 (B): constraint (200 × 85 + 1000 × 110) / 1200 = 105.833…
    const d2 = energyItem(def('department', 'd2'), input).standard;
    expect(d2?.constraintKwhPerM2).toBeCloseTo(127000 / 1200, 9);
    expect(d2?.guideKwhPerM2).toBeCloseTo(94000 / 1200, 9);
  });

  it('compares kgce with the previous day', () => {
    // o1: 250 × 0.1 = 25 kgce against 200 × 0.1 = 20 → +25 %.
    const o1 = roundEnergyItem(energyItem(def('building', 'o1'), input));
    expect(o1.previous).toEqual({
      from: '2026-10-12T00:00:00+08:00',
      to: '2026-10-13T00:00:00+08:00',
      electricityKwh: 200,
      waterM3: 0,
      gasM3: 0,
      kgce: 20,
      changePercent: 25,
    });
    // o2 used nothing the day before: no % change.
    expect(energyItem(def('building', 'o2'), input).previous?.changePercent).toBeNull();
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
