/**
 * Rollups against the raw computation (issue 10, "The answer must be identical"): random streams
 * of meter readings, GPS fixes and room samples — resets, outliers, jitter, gaps, duplicates, late
 * batches, trips across midnight — written through a {@link RollingStore} over a real DuckDB file in
 * random batches and orders; then every number the KPI services use is asked of the rollups
 * (core/kpi/data.ts `rollupData`: whole buckets + exact partial buckets) and of the raw points
 * (`rawData`: the pure functions over every point), for random edges on and off the 15-minute grid,
 * in a time zone without daylight saving (Asia/Shanghai), one with it (Europe/Berlin, with its
 * March and October changes inside the data) and one with a 45-minute offset (Asia/Kathmandu).
 * They must agree figure by figure (up to float rounding).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFacility } from '../../core/facility/load.ts';
import type { Facility } from '../../core/facility/schema.ts';
import { type KpiData, rawData, rollupData } from '../../core/kpi/data.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import { BUCKET_MS } from '../../core/rollup/schema.ts';
import type { Point } from '../../core/store.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

const MIN = 60_000;

function facilityYaml(site: string, timezone: string): string {
  return `
version: 1
site: { id: ${site}, name: { zh: 测试, en: Test }, timezone: ${timezone}, location: { lat: 30.6, lon: 104.0 }, climateZone: hot-summer-cold-winter }
calendar: { workdays: [mon, tue, wed, thu, fri], workingHours: "08:30-17:45" }
geofences:
  - { id: service-area, name: { zh: 服务区, en: Area }, polygon: [[103.9, 30.5], [104.1, 30.5], [104.1, 30.605], [103.9, 30.605]] }
buildings:
  - { id: b1, name: { zh: 一号楼, en: B1 }, use: office, ventilationClass: A, floorArea: 1000, floors: 3 }
departments:
  - { id: d1, name: { zh: 一处, en: D1 }, headcount: 10, spaces: [{ building: b1, area: 500 }] }
meters:
  - { id: m1, kind: electricity, building: b1, system: total, interval: 60, secret: s, maxRate: 600 }
  - { id: m2, kind: water, building: b1, system: total, interval: 300, secret: s }
vehicles:
  - { id: v1, plate: 川A·00001, department: d1, type: sedan, energy: gasoline, seats: 5, ratedConsumption: 8, interval: 30, secret: s }
rooms:
  - { id: r1, name: { zh: 会议室, en: Room }, building: b1, floor: 1, type: meeting, capacity: 10, area: 40 }
sensors:
  - { id: s1, room: r1, measures: [occupancy, temperature, co2, hvac, lights], interval: 60, secret: s }
  - { id: s2, room: r1, measures: [occupancy, temperature], interval: 120, secret: s }
`;
}

function loadOrThrow(site: string, timezone: string): Facility {
  const result = loadFacility(facilityYaml(site, timezone), 'test.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.facility;
}

let folder: string;
let inner: DuckDbStore;
let cases = 0;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'sfp-rollups-'));
  inner = new DuckDbStore({ path: join(folder, 'store.duckdb') });
  await inner.start();
});
afterAll(async () => {
  await inner.stop();
  await rm(folder, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------- generators

/** A meter stream: increments, jitter, stray outliers, resets, gaps, duplicates. */
const meterSteps = fc.array(
  fc.oneof(
    {
      arbitrary: fc.double({ min: 0, max: 3, noNaN: true }).map((d) => ({ op: 'up' as const, d })),
      weight: 20,
    },
    {
      arbitrary: fc.double({ min: 0, max: 0.04, noNaN: true }).map((d) => ({ op: 'jitter' as const, d })),
      weight: 2,
    },
    {
      arbitrary: fc.constantFrom(0, 999_999, 1.797e308 / 1e300).map((v) => ({ op: 'stray' as const, d: v })),
      weight: 1,
    },
    {
      arbitrary: fc.double({ min: 0, max: 5, noNaN: true }).map((d) => ({ op: 'reset' as const, d })),
      weight: 1,
    },
    { arbitrary: fc.integer({ min: 2, max: 400 }).map((d) => ({ op: 'gap' as const, d })), weight: 1 },
    { arbitrary: fc.constant({ op: 'dup' as const, d: 0 }), weight: 1 },
  ),
  { minLength: 1, maxLength: 160, size: 'max' },
);

/** Vehicle fixes: alternating driving and standing runs, gaps, fuel with a rare reset. */
const vehicleRuns = fc.array(
  fc.record({
    moving: fc.boolean(),
    ignition: fc.oneof(
      { arbitrary: fc.constant(true), weight: 3 },
      { arbitrary: fc.constant(false), weight: 1 },
    ),
    fixes: fc.integer({ min: 1, max: 25 }),
    step: fc.integer({ min: 5, max: 90 }),
    speed: fc.integer({ min: 5, max: 110 }),
    gapBefore: fc.oneof(
      { arbitrary: fc.constant(0), weight: 6 },
      { arbitrary: fc.integer({ min: 1, max: 150 }), weight: 1 },
    ),
    fuelReset: fc.oneof(
      { arbitrary: fc.constant(false), weight: 12 },
      { arbitrary: fc.constant(true), weight: 1 },
    ),
    north: fc.double({ min: -0.002, max: 0.004, noNaN: true }),
  }),
  { minLength: 1, maxLength: 30, size: 'max' },
);

/** Room samples from two sensors, with gaps. */
const roomSamples = fc.array(
  fc.record({
    sensor: fc.constantFrom('s1', 's2'),
    step: fc.integer({ min: 10, max: 400 }),
    occupancy: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 12 })),
    temperature: fc.double({ min: 15, max: 30, noNaN: true }),
    co2: fc.integer({ min: 400, max: 1400 }),
    hvac: fc.constantFrom('off', 'cool', 'heat', 'fan'),
    lights: fc.boolean(),
  }),
  { minLength: 1, maxLength: 120, size: 'max' },
);

function meterPoints(
  site: string,
  meter: string,
  start: number,
  intervalMs: number,
  steps: ReadonlyArray<{ op: string; d: number }>,
): Point[] {
  const out: Point[] = [];
  let t = start;
  let total = 1000;
  for (const step of steps) {
    let value = total;
    switch (step.op) {
      case 'up':
        total += step.d;
        value = total;
        break;
      case 'jitter':
        value = total - step.d;
        break;
      case 'stray':
        value = step.d;
        break;
      case 'reset':
        total = step.d;
        value = total;
        break;
      case 'gap':
        t += step.d * intervalMs;
        break;
      case 'dup': {
        const last = out.at(-1);
        if (last) out.push({ ...last });
        continue;
      }
    }
    out.push({
      measurement: 'meter',
      tags: { site, meter, building: 'b1', kind: 'electricity', system: 'total' },
      fields: { total: value },
      time: t,
    });
    t += intervalMs;
  }
  return out;
}

function vehiclePoints(
  site: string,
  start: number,
  runs: ReadonlyArray<{
    moving: boolean;
    ignition: boolean;
    fixes: number;
    step: number;
    speed: number;
    gapBefore: number;
    fuelReset: boolean;
    north: number;
  }>,
): Point[] {
  const out: Point[] = [];
  let t = start;
  let lat = 30.6;
  let fuel = 50;
  let odometer = 1000;
  for (const run of runs) {
    t += run.gapBefore * MIN;
    if (run.fuelReset) fuel = 0.5;
    for (let k = 0; k < run.fixes; k++) {
      const moving = run.moving && run.ignition;
      if (moving) {
        lat += run.north;
        odometer += (run.speed * run.step) / 3600;
        fuel += (run.speed * run.step) / 3600 / 12;
      }
      out.push({
        measurement: 'vehicle',
        tags: { site, vehicle: 'v1', department: 'd1' },
        fields: { lat, lon: 104.0, speed: moving ? run.speed : 0, ignition: run.ignition, odometer, fuel },
        time: t,
      });
      t += run.step * 1000;
    }
  }
  return out;
}

function roomPoints(
  site: string,
  start: number,
  samples: ReadonlyArray<{
    sensor: string;
    step: number;
    occupancy: number;
    temperature: number;
    co2: number;
    hvac: string;
    lights: boolean;
  }>,
): Point[] {
  const out: Point[] = [];
  let t = start;
  for (const s of samples) {
    t += s.step * 1000;
    const fields =
      s.sensor === 's1'
        ? { occupancy: s.occupancy, temperature: s.temperature, co2: s.co2, hvac: s.hvac, lights: s.lights }
        : { occupancy: s.occupancy, temperature: s.temperature };
    out.push({
      measurement: 'sensor',
      tags: { site, room: 'r1', building: 'b1', sensor: s.sensor },
      fields,
      time: t,
    });
  }
  return out;
}

/** Splits points into batches and writes them, some batches late (after later ones). */
async function writeInBatches(
  store: RollingStore,
  points: readonly Point[],
  cuts: readonly number[],
  lateSwaps: readonly number[],
): Promise<void> {
  const bounds = [...new Set(cuts.map((c) => c % (points.length + 1)))].sort((a, b) => a - b);
  const batches: Point[][] = [];
  let previous = 0;
  for (const bound of [...bounds, points.length]) {
    if (bound > previous) batches.push(points.slice(previous, bound));
    previous = Math.max(previous, bound);
  }
  for (const swap of lateSwaps) {
    const i = swap % batches.length;
    if (i + 1 < batches.length)
      [batches[i], batches[i + 1]] = [batches[i + 1] as Point[], batches[i] as Point[]];
  }
  for (const batch of batches) await store.write(batch);
}

/**
 * Edges over the span of some points: random instants in it (fractions of the span, a little
 * beyond both ends), with the bucket boundary and the local midnight before the first few, so
 * that intervals start and end on the grid, at midnight and anywhere.
 */
function edgesOf(fractions: readonly number[], points: readonly Point[], zone: string): number[] {
  if (points.length === 0) return [];
  const lo = (points[0] as Point).time - 30 * MIN;
  const hi = (points.at(-1) as Point).time + 30 * MIN;
  const set = new Set<number>();
  for (const f of fractions) set.add(Math.round(lo + f * (hi - lo)));
  for (const f of fractions.slice(0, 3)) {
    const value = Math.round(lo + f * (hi - lo));
    set.add(Math.floor(value / BUCKET_MS) * BUCKET_MS);
    set.add(DateTime.fromMillis(value, { zone }).startOf('day').toMillis());
  }
  return [...set].sort((a, b) => a - b);
}

/**
 * Equal up to float rounding: the rollups add per-bucket shares that the raw path takes as one
 * difference of the register, so the two differ by rounding of the register's size (`scale`).
 */
function close(a: number, b: number, scale: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) + 1e-12 * Math.abs(scale) + 1e-12;
}

async function compare(
  raw: KpiData,
  rolled: KpiData,
  facility: Facility,
  edges: { meters: number[]; vehicle: number[]; room: number[] },
): Promise<void> {
  await compareMeters(raw, rolled, edges.meters);
  await compareVehicle(raw, rolled, edges.vehicle);
  await compareRoom(raw, rolled, facility, edges.room);
}

async function compareMeters(raw: KpiData, rolled: KpiData, edges: number[]): Promise<void> {
  if (edges.length < 2) return;
  const [rm, um] = await Promise.all([
    raw.meterIntervals(['m1', 'm2'], edges),
    rolled.meterIntervals(['m1', 'm2'], edges),
  ]);
  for (const meter of ['m1', 'm2']) {
    const a = rm.get(meter);
    const b = um.get(meter);
    // The largest register value in play: the sum of every step the meter ever took.
    const scale = (await raw.meterIntervals([meter], [-8.64e15, 8.64e15])).get(meter)?.consumption[0] ?? 0;
    for (let i = 0; i + 1 < edges.length; i++) {
      const ca = a?.consumption[i] ?? 0;
      const cb = b?.consumption[i] ?? 0;
      if (!close(ca, cb, scale))
        throw new Error(`${meter} consumption [${edges[i]}, ${edges[i + 1]}): raw ${ca} rollup ${cb}`);
      const va = a?.coveredMs[i] ?? 0;
      const vb = b?.coveredMs[i] ?? 0;
      if (Math.abs(va - vb) > 1e-6)
        throw new Error(`${meter} covered [${edges[i]}, ${edges[i + 1]}): raw ${va} rollup ${vb}`);
    }
  }
  // How the readings were judged, over the whole range: the same counts both ways (a meter
  // without readings there counts nothing).
  const from = edges[0] as number;
  const to = edges.at(-1) as number;
  const [rq, uq] = await Promise.all([
    raw.meterQuality(['m1', 'm2'], from, to),
    rolled.meterQuality(['m1', 'm2'], from, to),
  ]);
  const none = { outliers: 0, resets: 0, rateExceeded: 0 };
  for (const meter of ['m1', 'm2']) expect(uq.get(meter) ?? none).toEqual(rq.get(meter) ?? none);
}

async function compareVehicle(raw: KpiData, rolled: KpiData, edges: number[]): Promise<void> {
  if (edges.length < 2) return;
  const [rv, uv] = await Promise.all([
    raw.vehicleIntervals(['v1'], edges),
    rolled.vehicleIntervals(['v1'], edges),
  ]);
  const a = rv.get('v1');
  const b = uv.get('v1');
  expect(b?.idleMs.map((v) => Math.round(v))).toEqual(a?.idleMs.map((v) => Math.round(v)));
  expect(b?.speedingStarts).toEqual(a?.speedingStarts);
  expect(b?.fixes).toEqual(a?.fixes);
  (a?.energy ?? []).forEach((e, i) => {
    const f = b?.energy[i] ?? null;
    if (e === null || f === null) expect(f).toBe(e);
    else if (!close(e, f, e)) throw new Error(`energy ${i}: raw ${e} rollup ${f}`);
  });
  const from = edges[0] as number;
  const to = edges.at(-1) as number;
  const [rt, ut] = await Promise.all([raw.trips(['v1'], from, to), rolled.trips(['v1'], from, to)]);
  const trim = (t: {
    start: number;
    end: number;
    distanceKm: number;
    leftServiceArea: boolean;
    maxSpeedKmh: number;
  }) => ({
    start: t.start,
    end: t.end,
    km: Math.round(t.distanceKm * 1e6),
    left: t.leftServiceArea,
    max: t.maxSpeedKmh,
  });
  expect((ut.get('v1') ?? []).map(trim)).toEqual((rt.get('v1') ?? []).map(trim));
}

async function compareRoom(
  raw: KpiData,
  rolled: KpiData,
  facility: Facility,
  edges: number[],
): Promise<void> {
  if (edges.length < 2) return;
  const room = facility.rooms;
  const [rr, ur] = await Promise.all([raw.roomIntervals(room, edges), rolled.roomIntervals(room, edges)]);
  const ra = rr.get('r1') ?? [];
  const rb = ur.get('r1') ?? [];
  ra.forEach((x, i) => {
    for (const [field, value] of Object.entries(x)) {
      const other = (rb[i] as unknown as Record<string, number> | undefined)?.[field] ?? 0;
      if (Math.abs(value - other) > 1e-6 * (1 + Math.abs(value)))
        throw new Error(`room ${field} ${i}: raw ${value} rollup ${other}`);
    }
  });
}

describe('rollups give the raw answer', () => {
  it.each([
    ['Asia/Shanghai', '2026-11-27T20:00:00+08:00'],
    ['Europe/Berlin', '2026-10-24T18:00:00+02:00'],
    ['Asia/Kathmandu', '2026-03-01T21:10:00+05:45'],
  ])(
    'for random streams in %s',
    async (zone, startIso) => {
      const start = Date.parse(startIso);
      await fc.assert(
        fc.asyncProperty(
          meterSteps,
          meterSteps,
          vehicleRuns,
          roomSamples,
          fc.array(fc.nat(), { maxLength: 8 }),
          fc.array(fc.nat(), { maxLength: 3 }),
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 2, maxLength: 10 }),
          async (m1, m2, runs, samples, cuts, swaps, fractions) => {
            // Each case twice: meter folds from bucket starts, and resuming inside buckets where
            // the readings allow (soleWriter).
            for (const soleWriter of [false, true])
              await check(m1, m2, runs, samples, cuts, swaps, fractions, soleWriter);
          },
        ),
        { numRuns: 25, seed: 20261207, endOnFailure: true },
      );

      async function check(
        m1: Parameters<typeof meterPoints>[4],
        m2: Parameters<typeof meterPoints>[4],
        runs: Parameters<typeof vehiclePoints>[2],
        samples: Parameters<typeof roomPoints>[2],
        cuts: number[],
        swaps: number[],
        fractions: number[],
        soleWriter: boolean,
      ): Promise<void> {
        const site = `case-${++cases}`;
        const facility = loadOrThrow(site, zone);
        const store = new RollingStore({ store: inner, facility, soleWriter });
        const meters = [
          ...meterPoints(site, 'm1', start + 7_000, MIN, m1),
          ...meterPoints(site, 'm2', start + 90_000, 5 * MIN, m2).map((p) => ({
            ...p,
            tags: { ...p.tags, meter: 'm2', kind: 'water' },
          })),
        ].sort((a, b) => a.time - b.time);
        const vehicle = vehiclePoints(site, start - 3_600_000, runs);
        const room = roomPoints(site, start, samples);
        const points = [...meters, ...vehicle, ...room].sort((a, b) => a.time - b.time);
        await writeInBatches(store, points, cuts, swaps);
        const ctx = { facility, store, now: () => start + 30 * 86_400_000 };
        await compare(rawData(ctx), rollupData(ctx), facility, {
          meters: edgesOf(fractions, meters, zone),
          vehicle: edgesOf(fractions, vehicle, zone),
          room: edgesOf(fractions, room, zone),
        });
      }
    },
    240_000,
  );
});
