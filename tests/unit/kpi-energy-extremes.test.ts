/**
 * Whatever the store says, the energy figures are finite numbers or nulls with a reason.
 *
 * The store's `registerIntervals` (and the cars' counters) may answer anything a future register
 * rule or a bad reading lets through: nothing, no coverage, 1e300, 1.797e308 (summed, beyond the
 * range of doubles), negative values, NaN, ±Infinity, covered times that are NaN, negative or
 * longer than the interval, arrays too short. Every item of every grouping, with its quota,
 * standard, comparisons and vehicles line, and every series window, must then hold only finite
 * numbers, and each null field must say why in the `nulls` beside it (and `nulls` names only
 * fields that are null). The figures of clean data are other tests' business.
 */
import { describe, expect, it } from 'vitest';
import { loadFacility } from '../../core/facility/load.ts';
import { calendarOf } from '../../core/kpi/common.ts';
import {
  type ComparisonInput,
  energyItem,
  type MeterData,
  type MeterIntervals,
  quotaLeadEdges,
  roundEnergyItem,
  seriesValues,
} from '../../core/kpi/energy.ts';
import { seriesScope, summaryScopes } from '../../core/kpi/energy-scopes.ts';
import { energyTimeline } from '../../core/kpi/energy-timeline.ts';
import { touSchedule } from '../../core/kpi/tou-schedule.ts';
import type { EnergyGroupBy } from '../../core/kpi/types.ts';
import type { VehicleData } from '../../core/kpi/vehicle-energy.ts';

const FACILITY = `
version: 1
site: { id: x-site, name: { zh: 极值, en: Extremes }, timezone: Asia/Shanghai, location: { lat: 30, lon: 104 }, climateZone: hot-summer-cold-winter }
calendar: { workdays: [mon, tue, wed, thu, fri], workingHours: "09:00-18:00" }
buildings:
  - { id: o1, name: { zh: 一号楼, en: O1 }, use: office, ventilationClass: A, floorArea: 1000, floors: 3 }
  - { id: c1, name: { zh: 会议中心, en: C1 }, use: conference, floorArea: 500, floors: 2 }
departments:
  - { id: d1, name: { zh: 一处, en: D1 }, headcount: 10, spaces: [{ building: o1, area: 600 }] }
  - { id: d2, name: { zh: 二处, en: D2 }, headcount: 5 }
meters:
  - { id: o1-e, kind: electricity, building: o1, system: total, interval: 60, secret: s1 }
  - { id: o1-e-d1, kind: electricity, building: o1, system: department, department: d1, parent: o1-e, interval: 60, secret: s2 }
  - { id: o1-hvac, kind: electricity, building: o1, system: hvac, parent: o1-e, interval: 60, secret: s3 }
  - { id: o1-w, kind: water, building: o1, system: total, interval: 300, secret: s4 }
  - { id: c1-g, kind: gas, building: c1, system: total, interval: 300, secret: s5 }
vehicles:
  - { id: v1, plate: 川A·00001, department: d1, type: sedan, energy: gasoline, seats: 5, ratedConsumption: 8, interval: 10, secret: s6 }
  - { id: v2, plate: 川A·00002, department: d1, type: sedan, energy: electric, seats: 5, ratedConsumption: 15, interval: 10, secret: s7 }
  - { id: v3, plate: 川A·00003, department: d2, type: minibus, energy: diesel, seats: 19, ratedConsumption: 11, interval: 10, secret: s8 }
tariffs:
  electricity: { prices: { flat: 0.6, peak: 1.0, valley: 0.3 }, seasons: [{ months: [1,2,3,4,5,6,7,8,9,10,11,12], peak: ["17:00-21:00"], valley: ["23:00-07:00"] }] }
  water: { price: 5 }
quotas:
  - { scope: site, id: x-site, kind: electricity, year: 2026, amount: 100000 }
  - { scope: site, id: x-site, kind: standard-coal, year: 2026, amount: 50000 }
  - { scope: department, id: d1, kind: gasoline, year: 2026, amount: 2000 }
  - { scope: building, id: o1, kind: water, year: 2026, amount: 3000 }
`;

const loaded = loadFacility(FACILITY, 'extremes.yaml');
if (!loaded.ok) throw new Error(JSON.stringify(loaded));
const facility = loaded.facility;
const zone = facility.site.timezone;
const HOUR = 3_600_000;
/** Epoch ms of a Shanghai local time (UTC+8). */
const sh = (y: number, mo: number, d: number, h = 0) => Date.UTC(y, mo - 1, d, h - 8);

/** What a meter's answer is made of in one scenario, per interval `i` of `span` ms. */
type Maker = (i: number, span: number) => readonly [consumption: number, coveredMs: number];

const SCENARIOS: Record<string, Maker | 'empty' | 'short'> = {
  'no meter answered': 'empty',
  'arrays shorter than the edges': 'short',
  'no coverage, no consumption': () => [0, 0],
  'no coverage, 1e300 bridged': () => [1e300, 0],
  '1e300 everywhere': (_i, span) => [1e300, span],
  'Number.MAX_VALUE everywhere (sums overflow)': (_i, span) => [Number.MAX_VALUE, span],
  '−Number.MAX_VALUE everywhere': (_i, span) => [-Number.MAX_VALUE, span],
  'NaN consumption': (_i, span) => [Number.NaN, span],
  '+Infinity consumption': (_i, span) => [Number.POSITIVE_INFINITY, span],
  '−Infinity consumption': (_i, span) => [Number.NEGATIVE_INFINITY, span],
  'NaN covered time': () => [5, Number.NaN],
  'negative covered time': () => [5, -1e12],
  'covered time of 1e300 ms': () => [5, 1e300],
  'alternating huge, NaN and tiny': (i, span) =>
    i % 3 === 0 ? [Number.MAX_VALUE, span] : i % 3 === 1 ? [Number.NaN, span / 2] : [5e-324, span],
  'negative consumption, half covered': (_i, span) => [-3, span / 2],
};

function meterData(scenario: Maker | 'empty' | 'short', spans: readonly number[]): MeterData {
  const out = new Map<string, MeterIntervals>();
  if (scenario === 'empty') return out;
  for (const meter of facility.meters) {
    if (scenario === 'short') {
      out.set(meter.id, { consumption: [1], coveredMs: [] });
      continue;
    }
    const rows = spans.map((span, i) => scenario(i, span));
    out.set(meter.id, { consumption: rows.map((r) => r[0]), coveredMs: rows.map((r) => r[1]) });
  }
  return out;
}

function vehicleData(scenario: Maker | 'empty' | 'short', intervals: number): VehicleData {
  const out = new Map<string, { energy: number[]; readings: number[] }>();
  if (scenario === 'empty') return out;
  for (const vehicle of facility.vehicles) {
    const energy = Array.from({ length: scenario === 'short' ? 1 : intervals }, (_, i) =>
      scenario === 'short' ? 1 : scenario(i, HOUR)[0],
    );
    out.set(vehicle.id, { energy, readings: energy.map((_, i) => (i % 2 === 0 ? 1 : Number.NaN)) });
  }
  return out;
}

/**
 * Every number in `value` is finite; in every object holding `nulls`, a field is null exactly
 * when `nulls` names it. Returns the paths that break this.
 */
function problems(value: unknown, path = '$'): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [`${path} = ${value}`];
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => problems(v, `${path}[${i}]`));
  const record = value as Record<string, unknown>;
  const found = Object.entries(record).flatMap(([k, v]) => problems(v, `${path}.${k}`));
  if ('nulls' in record) {
    const nulls = record.nulls as Record<string, unknown>;
    for (const [k, v] of Object.entries(record)) {
      if (v === null && typeof nulls[k] !== 'string') found.push(`${path}.${k} is null without a reason`);
    }
    for (const k of Object.keys(nulls)) {
      if (record[k] !== null) found.push(`${path}.nulls.${k} names a field that is not null`);
    }
  }
  return found;
}

const GROUP_BYS: readonly EnergyGroupBy[] = ['site', 'building', 'department', 'meter', 'system'];

/** A period, its timeline with the year-to-date lead-in, and comparisons cut at two days. */
function setting(from: number, to: number, measuredTo: number) {
  const timeline = energyTimeline({
    from,
    to: measuredTo,
    calendar: calendarOf(facility),
    schedule: touSchedule(facility.tariffs.electricity, zone),
    extraEdges: quotaLeadEdges(from, measuredTo, zone),
  });
  const spans = timeline.intervals.map((i) => i.end - i.start);
  const edges = [sh(2025, 6, 1), sh(2025, 6, 2), sh(2026, 5, 31), from];
  return { timeline, spans, edges, period: { from, to, measuredTo } };
}

function itemsOf(
  scenario: Maker | 'empty' | 'short',
  { timeline, spans, edges, period }: ReturnType<typeof setting>,
) {
  const cSpans = edges.slice(1).map((end, i) => end - (edges[i] as number));
  const comparisons: ComparisonInput = {
    edges,
    data: meterData(scenario, cSpans),
    previous: {
      from: edges[2] as number,
      to: period.from,
      measuredTo: period.from,
      vehicles: vehicleData(scenario, 1),
    },
    lastYear: {
      from: edges[0] as number,
      to: edges[1] as number,
      measuredTo: edges[1] as number,
      vehicles: vehicleData(scenario, 1),
    },
    twelveMonths: { from: edges[0] as number, to: period.from },
  };
  const input = {
    facility,
    timeline,
    data: meterData(scenario, spans),
    vehicles: vehicleData(scenario, spans.length),
    period,
    comparisons,
  };
  return GROUP_BYS.flatMap((groupBy) =>
    summaryScopes(facility, groupBy).map((def) => roundEnergyItem(energyItem(def, input))),
  );
}

describe.each(Object.entries(SCENARIOS))('%s', (_name, scenario) => {
  it('a day: every item finite or null with a reason', () => {
    const items = itemsOf(scenario, setting(sh(2026, 6, 1), sh(2026, 6, 2), sh(2026, 6, 2)));
    expect(items.length).toBe(1 + 2 + 3 + 5 + 1);
    expect(problems(items)).toEqual([]);
  });

  it('a year, rated: every item finite or null with a reason', () => {
    const items = itemsOf(scenario, setting(sh(2026, 1, 1), sh(2027, 1, 1), sh(2027, 1, 1)));
    expect(problems(items)).toEqual([]);
  });

  it('a month reaching into the future: every item finite or null with a reason', () => {
    const items = itemsOf(scenario, setting(sh(2026, 6, 1), sh(2026, 7, 1), sh(2026, 6, 10, 13)));
    expect(problems(items)).toEqual([]);
  });

  it('series windows: finite or null with a reason', () => {
    const windows = Array.from({ length: 24 }, (_, h) => ({
      start: sh(2026, 6, 1, h),
      end: sh(2026, 6, 1, h + 1),
    }));
    const spans = windows.map((w) => w.end - w.start);
    for (const [scope, id] of [
      ['site', 'x-site'],
      ['building', 'o1'],
      ['department', 'd1'],
      ['meter', 'o1-e'],
    ] as const) {
      for (const kind of ['electricity', 'water', 'gas'] as const) {
        const values = seriesValues(
          seriesScope(facility, scope, id),
          kind,
          facility,
          windows,
          meterData(scenario, spans),
        );
        expect(values).toHaveLength(24);
        expect(problems(values)).toEqual([]);
      }
    }
  });
});

describe('the check itself', () => {
  it('flags a non-finite number, a null without a reason and a reason without a null', () => {
    expect(problems({ a: 1, b: null, nulls: { b: 'no-data' } })).toEqual([]);
    expect(problems({ a: [Number.NaN] })).toEqual(['$.a[0] = NaN']);
    expect(problems({ a: null, nulls: {} })).toEqual(['$.a is null without a reason']);
    expect(problems({ a: 1, nulls: { a: 'no-data' } })).toEqual(['$.nulls.a names a field that is not null']);
  });
});

describe('the reasons given', () => {
  const day = setting(sh(2026, 6, 1), sh(2026, 6, 2), sh(2026, 6, 2));
  const site = (scenario: Maker | 'empty') => itemsOf(scenario, day)[0];

  it('sums beyond the range of numbers are not-finite', () => {
    const item = site(SCENARIOS['Number.MAX_VALUE everywhere (sums overflow)'] as Maker);
    // One interval of 1.797e308 is finite, but a day holds several: the sum overflows.
    expect(item?.electricityKwh).toBeNull();
    expect(item?.nulls.electricityKwh).toBe('not-finite');
    expect(item?.nulls.kgce).toBe('not-finite');
    expect(item?.nulls.costCny).toBe('not-finite');
  });

  it('readings that are not numbers count as not covered: no data', () => {
    const item = site(SCENARIOS['NaN consumption'] as Maker);
    expect(item).toMatchObject({ electricityKwh: null, coverage: 0 });
    expect(item?.nulls).toMatchObject({ electricityKwh: 'no-data', waterM3: 'no-data', gasM3: 'no-data' });
  });

  it('nothing from the store: no data, not zero', () => {
    const item = site('empty');
    expect(item).toMatchObject({
      electricityKwh: null,
      waterM3: null,
      kgce: null,
      costCny: null,
      coverage: 0,
    });
    expect(item?.quota.every((q) => q.usedPercent === null)).toBe(true);
    expect(item?.standard).toMatchObject({ annualisedKwhPerM2: null, rating: null });
  });

  it('covered time is kept within its interval', () => {
    const item = site(SCENARIOS['covered time of 1e300 ms'] as Maker);
    expect(item?.coverage).toBe(100);
  });

  it('a bridged interval with no covered time still counts what the register proves', () => {
    const item = site(SCENARIOS['no coverage, 1e300 bridged'] as Maker);
    expect(item?.coverage).toBe(0);
    expect(item?.electricityKwh).toBeGreaterThan(1e300);
  });
});
