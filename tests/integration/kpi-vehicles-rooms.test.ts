/**
 * The vehicle and room services through a real DuckDB store in a temporary folder: points written
 * as the ingest writes them, figures read back through the port. The expected figures are the
 * hand-worked ones of tests/unit/kpi-vehicles.test.ts and kpi-rooms.test.ts (same geometry:
 * 0.01° of latitude on the meridian 104° E = 1,111.951 m).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFacility } from '../../core/facility/load.ts';
import { roomUtilization } from '../../core/kpi/room-service.ts';
import { type KpiContext, KpiError } from '../../core/kpi/types.ts';
import { vehicleTrack, vehicleTrips, vehicleUtilization } from '../../core/kpi/vehicle-service.ts';
import { RollingStore } from '../../core/rollup/rolling-store.ts';
import type { Point } from '../../core/store.ts';
import { DuckDbStore } from '../../storage/duckdb/duckdb-store.ts';

const FACILITY = `
version: 1
site:
  id: t-site
  name: { zh: 测试, en: Test site }
  timezone: Asia/Shanghai
  location: { lat: 30.6, lon: 104.0 }
  climateZone: hot-summer-cold-winter
calendar:
  workdays: [mon, tue, wed, thu, fri]
  workingHours: "09:00-18:00"
  holidays: [2026-10-01..2026-10-07]
  extraWorkdays: [2026-10-10]
geofences:
  - id: service-area
    name: { zh: 服务区, en: Service area }
    polygon: [[103.9, 30.55], [104.1, 30.55], [104.1, 30.655], [103.9, 30.655]]
buildings:
  - { id: b1, name: { zh: 一号楼, en: B1 }, use: office, floorArea: 1000, floors: 3 }
  - { id: b2, name: { zh: 二号楼, en: B2 }, use: office, floorArea: 1000, floors: 3 }
departments:
  - { id: d1, name: { zh: 一处, en: D1 }, headcount: 10 }
  - { id: d2, name: { zh: 二处, en: D2 }, headcount: 10 }
vehicles:
  - { id: v1, plate: 川A·00001, department: d1, type: sedan, energy: gasoline, seats: 5, ratedConsumption: 8, interval: 60, secret: s-v1 }
  - { id: v2, plate: 川A·00002, department: d2, type: sedan, energy: electric, seats: 5, ratedConsumption: 15, interval: 60, secret: s-v2 }
rooms:
  - { id: r1, name: { zh: 会议室, en: Meeting room }, building: b1, floor: 1, type: meeting, capacity: 10, area: 40, department: d1 }
  - { id: r2, name: { zh: 办公室, en: Office }, building: b2, floor: 1, type: office, capacity: 4, area: 20 }
sensors:
  - { id: s-r1, room: r1, measures: [occupancy, temperature, co2, hvac, lights], interval: 600, secret: s-r1 }
tariffs:
  gasoline: { price: 7.60 }
  electricity:
    prices: { flat: 0.6, peak: 1.0, valley: 0.3 }
    seasons: [{ months: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], peak: ["17:00-21:00"], valley: ["23:00-07:00"] }]
`;

const at = (day: string, time: string) => Date.parse(`${day}T${time}+08:00`);
const DAY = { from: at('2026-11-03', '00:00:00'), to: at('2026-11-04', '00:00:00') };

type FixRow = [time: string, lat: number, speed: number, ignition: boolean, fuel: number];
const V1: FixRow[] = [
  ['00:00:00', 30.6, 0, false, 100.0],
  ['09:55:00', 30.6, 0, false, 100.0],
  ['10:00:00', 30.6, 0, true, 100.0],
  ['10:01:00', 30.61, 40, true, 100.05],
  ['10:02:00', 30.62, 50, true, 100.1],
  ['10:03:00', 30.62, 0, true, 100.12], // a 3-minute stop: same trip
  ['10:06:00', 30.63, 45, true, 100.2],
  ['10:07:00', 30.64, 60, true, 100.3],
  ['10:08:00', 30.64, 0, true, 100.36],
  ['10:09:00', 30.64, 0, false, 100.36],
  ['10:14:00', 30.64, 0, false, 100.36],
  ['17:55:00', 30.64, 0, false, 100.36],
  ['17:58:00', 30.64, 0, true, 100.36],
  ['17:59:00', 30.65, 70, true, 100.45],
  ['18:00:00', 30.66, 90, true, 100.55],
  ['18:01:00', 30.67, 95, true, 100.65],
  ['18:02:00', 30.68, 70, true, 100.75],
  ['18:03:00', 30.68, 0, true, 100.8],
  ['18:04:00', 30.68, 0, false, 100.8],
  ['18:09:00', 30.68, 0, false, 100.8],
];

/**
 * v2, electric (counter in kWh used): one trip 16:50–17:10 north along the meridian, 4 legs of
 * 0.01° = 4 × 1,111.951 m = 4.447804 km, using 0.5 kWh every 5 minutes: 16:50 and 16:55 in the
 * flat period, 17:00 and 17:05 in the peak (17:00-21:00).
 */
const V2: FixRow[] = [
  ['16:45:00', 30.6, 0, true, 20.0],
  ['16:50:00', 30.61, 40, true, 20.5],
  ['16:55:00', 30.62, 40, true, 21.0],
  ['17:00:00', 30.63, 40, true, 21.5],
  ['17:05:00', 30.64, 40, true, 22.0],
  ['17:10:00', 30.64, 0, true, 22.0],
  ['17:15:00', 30.64, 0, false, 22.0],
];

function vehiclePoints(): Point[] {
  const points = (id: string, department: string, rows: FixRow[]): Point[] =>
    rows.map(([time, lat, speed, ignition, fuel]) => ({
      measurement: 'vehicle',
      tags: { site: 't-site', vehicle: id, department },
      fields: { lat, lon: 104.0, speed, ignition, fuel },
      time: at('2026-11-03', time),
    }));
  return [...points('v1', 'd1', V1), ...points('v2', 'd2', V2)];
}

function sensorPoints(): Point[] {
  const rows: [string, Record<string, number | string | boolean>][] = [
    ['08:40', { occupancy: 4, temperature: 24, co2: 600, hvac: 'off', lights: true }],
    ['09:10', { occupancy: 6, temperature: 24, co2: 700, hvac: 'off', lights: true }],
    ['09:20', { occupancy: 0, temperature: 24, co2: 700, hvac: 'off', lights: false }],
    ['14:00', { occupancy: 8, temperature: 26.5, co2: 800, hvac: 'cool', lights: true }],
    ['14:20', { occupancy: 8, temperature: 26.4, co2: 1100, hvac: 'cool', lights: true }],
    ['14:50', { occupancy: 8, temperature: 25.5, co2: 950, hvac: 'cool', lights: true }],
    ['15:00', { occupancy: 0, temperature: 25.5, co2: 900, hvac: 'cool', lights: true }],
    ['15:20', { occupancy: 0, temperature: 27, co2: 700, hvac: 'off', lights: false }],
  ];
  return rows.map(([time, fields]) => ({
    measurement: 'sensor',
    tags: { site: 't-site', building: 'b1', room: 'r1', sensor: 's-r1' },
    fields,
    time: at('2026-11-03', `${time}:00`),
  }));
}

let folder: string;
let store: RollingStore;
let ctx: KpiContext;

beforeAll(async () => {
  const loaded = loadFacility(FACILITY, 'test.yaml');
  if (!loaded.ok) throw new Error(`test facility does not load: ${JSON.stringify(loaded)}`);
  folder = await mkdtemp(join(tmpdir(), 'sfp-kpi-'));
  store = new RollingStore({
    store: new DuckDbStore({ path: join(folder, 'store.duckdb') }),
    facility: loaded.facility,
  });
  await store.start();
  await store.write([...vehiclePoints(), ...sensorPoints()]);
  ctx = { facility: loaded.facility, store };
});

afterAll(async () => {
  await store?.stop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe('vehicle service on DuckDB', () => {
  it('utilisation of a two-trip day', async () => {
    const result = await vehicleUtilization(ctx, DAY);
    expect(result.from).toBe('2026-11-03T00:00:00+08:00');
    expect(result.to).toBe('2026-11-04T00:00:00+08:00');
    const [v1, v2] = result.items;
    expect(v1).toMatchObject({
      id: 'v1',
      plate: '川A·00001',
      trips: 2,
      // 8 legs × 1,111.951 m = 8.896 km
      distanceKm: 8.896,
      // 7 + 4 = 11 min = 0.1833 h
      drivingHours: 0.1833,
      // 10:00, 10:03–10:06 (3 min), 10:08, 17:58, 18:03 → 7 min = 0.1167 h
      idleHours: 0.1167,
      // 8 min in working time / 540 = 0.0148
      utilization: 0.0148,
      offHoursTrips: 1,
      geofenceExits: 1,
      speedingEvents: 1,
      // 0.80 L / 8.89561 km × 100 = 8.99
      energyPer100km: 8.99,
      energyUnit: 'L',
      ratedPer100km: 8,
      // 0.80 × 7.60 / 8.89561 = 0.683
      costPerKm: 0.683,
    });
    // v2, electric: 2.0 kWh over 4.447804 km = 44.97 kWh/100 km. Cost at the time-of-use price of
    // when the counter rose: 1.0 kWh flat × 0.6 + 1.0 kWh peak × 1.0 = 1.6 CNY → 0.360 CNY/km (at the
    // flat price alone it would read 2.0 × 0.6 / 4.4478 = 0.270).
    expect(v2).toMatchObject({
      id: 'v2',
      trips: 1,
      distanceKm: 4.448,
      energyPer100km: 44.97,
      energyUnit: 'kWh',
      energyUsed: 2,
      costCny: 1.6,
      costPerKm: 0.36,
    });
    expect(v1?.costCny).toBe(6.08); // 0.80 L × 7.60
  });

  it('filters by department', async () => {
    const result = await vehicleUtilization(ctx, { ...DAY, department: 'd2' });
    expect(result.items.map((i) => i.id)).toEqual(['v2']);
  });

  it('lists the trips with site-offset times', async () => {
    const trips = await vehicleTrips(ctx, 'v1', DAY);
    expect(trips.items).toEqual([
      {
        start: '2026-11-03T10:01:00+08:00',
        end: '2026-11-03T10:08:00+08:00',
        distanceKm: 4.448,
        durationMin: 7,
        maxSpeedKmh: 60,
        offHours: false,
        leftServiceArea: false,
        from: { lat: 30.6, lon: 104.0 },
        to: { lat: 30.64, lon: 104.0 },
      },
      {
        start: '2026-11-03T17:59:00+08:00',
        end: '2026-11-03T18:03:00+08:00',
        distanceKm: 4.448,
        durationMin: 4,
        maxSpeedKmh: 95,
        offHours: true,
        leftServiceArea: true,
        from: { lat: 30.64, lon: 104.0 },
        to: { lat: 30.68, lon: 104.0 },
      },
    ]);
  });

  it('gives the track as a GeoJSON LineString of [lon, lat]', async () => {
    const track = await vehicleTrack(ctx, 'v1', {
      from: at('2026-11-03', '10:00:00'),
      to: at('2026-11-03', '10:03:00'),
    });
    expect(track).toEqual({
      type: 'Feature',
      geometry: {
        type: 'LineString',
        coordinates: [
          [104.0, 30.6],
          [104.0, 30.61],
          [104.0, 30.62],
        ],
      },
      properties: {
        id: 'v1',
        plate: '川A·00001',
        from: '2026-11-03T10:00:00+08:00',
        to: '2026-11-03T10:03:00+08:00',
        times: ['2026-11-03T10:00:00+08:00', '2026-11-03T10:01:00+08:00', '2026-11-03T10:02:00+08:00'],
      },
    });
  });

  it('answers an unknown vehicle with a 404 KpiError, a reversed range with a 400', async () => {
    const unknown = await vehicleTrips(ctx, 'nope', DAY).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(KpiError);
    expect(unknown).toMatchObject({ status: 404 });
    await expect(vehicleTrack(ctx, 'nope', DAY)).rejects.toMatchObject({ status: 404 });
    await expect(vehicleUtilization(ctx, { from: DAY.to, to: DAY.from })).rejects.toMatchObject({
      status: 400,
      parameter: 'to',
    });
  });
});

describe('room service on DuckDB', () => {
  it('figures of a day with a meeting and HVAC left on after it', async () => {
    const result = await roomUtilization(ctx, DAY);
    const r1 = result.items.find((i) => i.id === 'r1');
    // occupied 08:40–09:20 (40 min) + 14:00–15:00 (60 min) = 100 min = 1.6667 h
    // in working time: 09:00–09:20 + 14:00–15:00 = 80 min; 80 / 540 = 0.1481
    // seat use: (4×30 + 6×10 + 8×60) / 100 = 660 / 100 = 6.6 people / 10 seats = 0.66
    // conditioned while empty: 15:00–15:20 (cool, lights) = 0.3333 h; 09:20–09:50 is dark and off
    // set-point: cooling at 25.5 °C 14:50–15:20 = 0.5 h; CO2 > 1000: 14:20–14:50 = 0.5 h
    expect(r1).toMatchObject({
      id: 'r1',
      building: 'b1',
      department: 'd1',
      capacity: 10,
      occupiedHours: 1.6667,
      utilization: 0.1481,
      seatUse: 0.66,
      conditionedEmptyHours: 0.3333,
      setpointViolationHours: 0.5,
      co2OverHours: 0.5,
      comfort: null, // November: neither season
    });
    // r2 has no sensor: nothing known, nothing claimed
    expect(result.items.find((i) => i.id === 'r2')).toMatchObject({
      occupiedHours: 0,
      seatUse: null,
      comfort: null,
    });
  });

  it('filters by building and by department, and refuses an unknown building', async () => {
    expect((await roomUtilization(ctx, { ...DAY, building: 'b2' })).items.map((i) => i.id)).toEqual(['r2']);
    expect((await roomUtilization(ctx, { ...DAY, department: 'd1' })).items.map((i) => i.id)).toEqual(['r1']);
    await expect(roomUtilization(ctx, { ...DAY, building: 'b9' })).rejects.toMatchObject({
      status: 400,
      parameter: 'building',
    });
  });
});
