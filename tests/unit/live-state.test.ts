/**
 * The live state (core/live/state.ts), figures worked out by hand: a meter's consumption today from
 * its rollup rows and the stream's tail (split at midnight, a break left to the fold), power from
 * the `power` field or the last step, a car's state and km today, a room's fields with their holds.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEMO_FACILITY_PATH } from '../../core/facility/demo.ts';
import { loadFacility } from '../../core/facility/load.ts';
import { LiveState } from '../../core/live/state.ts';
import type { Point } from '../../core/store.ts';

const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
if (!loaded.ok) throw new Error('the demo facility does not load');
const FACILITY = loaded.facility;
const MIN = 60_000;
/** Local midnight of 2026-12-08 (a Tuesday) in Chengdu. */
const M = Date.UTC(2026, 11, 7, 16);

const meterTags = (id: string) => {
  const m = FACILITY.meters.find((x) => x.id === id);
  if (!m) throw new Error(id);
  return {
    site: 'cd-compound',
    building: m.building,
    department: m.department ?? '',
    meter: id,
    kind: m.kind,
    system: m.system,
  };
};
const reading = (id: string, time: number, total: number, power?: number): Point => ({
  measurement: 'meter',
  tags: meterTags(id),
  fields: power === undefined ? { total } : { total, power },
  time,
});
const state = (time: number, total: number) => JSON.stringify([{ time, total, level: total }]);

describe('a meter today', () => {
  it('adds the stream’s step after the last folded reading to the rows since midnight', () => {
    const live = new LiveState({ facility: FACILITY });
    // Rows: 10 kWh in the first quarter hour, 12.5 in the second, the last kept reading at 00:29.
    live.applyMeterRows('b1-e-main', M, [
      { time: M, values: { consumption: 10 } },
      { time: M + 15 * MIN, values: { consumption: 12.5, state: state(M + 29 * MIN, 1022.5) } },
    ]);
    live.applyPoints([
      reading('b1-e-main', M + 29 * MIN, 1022.5, 42),
      reading('b1-e-main', M + 30 * MIN, 1023.5, 40),
    ]);
    // 10 + 12.5 + (1023.5 − 1022.5) = 23.5 kWh; power from the newest `power` field.
    expect(live.meterToday('b1-e-main', M + 31 * MIN)).toBeCloseTo(23.5, 9);
    expect(live.meterPower('b1-e-main', M + 31 * MIN)).toBe(40);
    // Stale after 3 intervals without a reading.
    expect(live.meterPower('b1-e-main', M + 34 * MIN)).toBeNull();
    expect(live.meterEvent('b1-e-main', M + 31 * MIN)).toEqual({
      id: 'b1-e-main',
      building: 'b1',
      department: null,
      kind: 'electricity',
      at: '2026-12-08T00:30:00+08:00',
      power: 40,
      powerUnit: 'kW',
      today: 23.5,
      todayUnit: 'kWh',
    });
  });

  it('counts only the part of a step after midnight, and nothing of a break the fold has not judged', () => {
    const live = new LiveState({ facility: FACILITY });
    live.applyMeterRows('b2-e-main', M - 15 * MIN, [
      { time: M - 15 * MIN, values: { consumption: 9, state: state(M - 2 * MIN, 500) } },
    ]);
    live.applyPoints([reading('b2-e-main', M + 2 * MIN, 504)]);
    // 4 kWh over 00:58→00:02; the 2 minutes after midnight hold half: 2 kWh.
    expect(live.meterToday('b2-e-main', M + 3 * MIN)).toBeCloseTo(2, 9);
    // A drop of 400 kWh is a break: the tail waits for the fold.
    live.applyPoints([reading('b2-e-main', M + 3 * MIN, 104)]);
    expect(live.meterToday('b2-e-main', M + 4 * MIN)).toBe(0);
  });

  it('gives water the rate of its last step in m³/h, and sums a scope’s meters', () => {
    const live = new LiveState({ facility: FACILITY });
    live.applyPoints([reading('b1-w-main', M, 100), reading('b1-w-main', M + 5 * MIN, 100.05)]);
    // 0.05 m³ in 5 minutes: 0.6 m³/h.
    expect(live.meterPower('b1-w-main', M + 6 * MIN)).toBeCloseTo(0.6, 9);
    expect(live.meterEvent('b1-w-main', M + 6 * MIN)).toMatchObject({ powerUnit: 'm³/h', todayUnit: 'm³' });
    live.applyPoints([
      reading('b1-e-main', M, 0, 100),
      reading('b2-e-main', M, 0, 150),
      reading('b1-e-light', M, 0, 30),
    ]);
    const site = live.scope('site', 'cd-compound');
    if (!site) throw new Error('no site scope');
    // The site is its buildings' total meters; the sub-meter b1-e-light is inside b1-e-main.
    expect(live.scopePower(site, 'electricity', M + MIN)).toBe(250);
  });
});

describe('a car', () => {
  const fix = (
    time: number,
    lat: number,
    lon: number,
    speed: number,
    ignition: boolean,
    odometer: number,
  ): Point => ({
    measurement: 'vehicle',
    tags: { site: 'cd-compound', vehicle: 'v01', department: 'service-center' },
    fields: { lat, lon, speed, ignition, odometer, fuel: 10 },
    time,
  });

  it('is driving, idle or parked, inside or outside the service area, with its km today from the odometer', () => {
    const live = new LiveState({ facility: FACILITY });
    live.setVehicleDayStart('v01', M, 12_000, 10);
    // 01:00, parked in the compound: nothing driven yet today.
    live.applyPoints([fix(M + 60 * MIN, 30.657, 104.066, 0, false, 12_000)]);
    expect(live.vehicleEvent('v01', M + 61 * MIN)).toMatchObject({
      state: 'parked',
      offHours: false,
      todayKm: 0,
    });
    // 01:10, driving at 45 km/h in the city: off hours (before 09:00), 3.5 km today.
    live.applyPoints([fix(M + 70 * MIN, 30.66, 104.07, 45, true, 12_003.5)]);
    expect(live.vehicleEvent('v01', M + 71 * MIN)).toMatchObject({
      state: 'driving',
      offHours: true,
      outsideServiceArea: false,
      speedKmh: 45,
      heading: null,
      todayKm: 3.5,
    });
    // Dujiangyan (103.62 E) lies west of the service area (103.90 E at its widest): outside; idle.
    live.applyPoints([fix(M + 80 * MIN, 30.99, 103.62, 0, true, 12_055)]);
    expect(live.vehicleEvent('v01', M + 81 * MIN)).toMatchObject({
      state: 'idle',
      outsideServiceArea: true,
      todayKm: 55,
    });
  });
});

describe('a room', () => {
  const sample = (time: number, fields: Point['fields']): Point => ({
    measurement: 'sensor',
    tags: { site: 'cd-compound', building: 'b1', room: 'b1-m0301', sensor: 's-b1-m0301' },
    fields,
    time,
  });

  it('holds each field for 3 sensor intervals (3 minutes), and says when it is conditioned while empty', () => {
    const live = new LiveState({ facility: FACILITY });
    live.applyPoints([
      sample(M + 10 * MIN, { occupancy: 0, temperature: 23.5, co2: 480, hvac: 'heat', lights: false }),
      sample(M + 11 * MIN, { co2: 470 }),
    ]);
    expect(live.roomEvent('b1-m0301', M + 12 * MIN)).toEqual({
      id: 'b1-m0301',
      building: 'b1',
      floor: 3,
      at: '2026-12-08T00:11:00+08:00',
      occupied: false,
      occupancy: 0,
      temperatureC: 23.5,
      co2Ppm: 470,
      hvac: true,
      hvacMode: 'heat',
      lights: false,
      conditionedWhileEmpty: true,
    });
    // 00:13:30: occupancy and HVAC (last at 00:10) are past their hold; CO2 (00:11) is not.
    expect(live.roomNow('b1-m0301', M + 13.5 * MIN)).toMatchObject({ occupancy: null, hvac: null, co2: 470 });
  });
});
