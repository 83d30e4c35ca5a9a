/**
 * Vehicle KPIs against figures worked out by hand, on a small hand-made facility.
 *
 * Geometry used throughout: fixes lie on the meridian 104.0° E, so a leg of 0.01° of latitude
 * is R × 0.01 × π/180 = 6,371,008.8 m × 1.745329e-4 = 1,111.951 m (haversine on a meridian is
 * exact arc length). A sideways step of 0.0001° of longitude at 30.62° N is
 * 11.1195 m × cos 30.62° = 11.1195 × 0.86055 = 9.57 m: GPS jitter (below 20 m).
 *
 * Site Asia/Shanghai (UTC+8, no DST), working hours Mon–Fri 09:00–18:00 = 540 min a day;
 * 2026-11-03 is a Tuesday; 2026-10-01..07 are holidays, 2026-10-10 (a Saturday) a make-up workday.
 */
import { describe, expect, it } from 'vitest';
import { buildCalendar } from '../../core/facility/calendar.ts';
import type { LonLat } from '../../core/facility/geometry.ts';
import { haversineM } from '../../core/kpi/geo.ts';
import {
  DEFAULT_VEHICLE_RULES,
  detectTrips,
  fuelIncrements,
  type VehicleEnv,
  type VehicleFix,
  vehicleFigures,
} from '../../core/kpi/vehicle.ts';

const MIN = 60_000;
const LEG_M = 1111.951; // 0.01° of latitude, see above

/** Epoch ms of a Shanghai local time. */
const at = (day: string, time: string) => Date.parse(`${day}T${time}+08:00`);
const dayPeriod = (day: string) => ({ from: at(day, '00:00:00'), to: at(day, '00:00:00') + 86_400_000 });

const calendar = buildCalendar({
  timezone: 'Asia/Shanghai',
  workdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
  workingHours: '09:00-18:00',
  holidays: ['2026-10-01..2026-10-07'],
  extraWorkdays: ['2026-10-10'],
});

/** Service area: lon 103.9–104.1, lat 30.55–30.655 (a fix at 30.66 is outside). */
const serviceArea: LonLat[] = [
  [103.9, 30.55],
  [104.1, 30.55],
  [104.1, 30.655],
  [103.9, 30.655],
];
const env: VehicleEnv = { calendar, serviceArea, rules: DEFAULT_VEHICLE_RULES };

type FixRow = [
  time: string,
  lat: number,
  lon: number,
  speed: number,
  ignition: boolean,
  fuel?: number | undefined,
  odometer?: number | undefined,
];
function fixes(day: string, rows: FixRow[]): VehicleFix[] {
  return rows.map(([time, lat, lon, speed, ignition, fuel, odometer]) => ({
    time: at(day, time),
    lat,
    lon,
    speed,
    ignition,
    fuel: fuel ?? null,
    odometer: odometer ?? null,
  }));
}

/**
 * A two-trip Tuesday, no odometer (GPS distance), fuel counter in litres.
 * Trip A 10:01–10:08 in working time, inside the area, with a 3-minute stop at a light
 * (10:03–10:05, jittering sideways) that must not split it.
 * Trip B 17:59–18:03, over 18:00 (off-hours), out to 30.66–30.68 (outside the area), at 90 and
 * 95 km/h (one speeding event).
 */
const twoTripDay = fixes('2026-11-03', [
  ['00:00:00', 30.6, 104.0, 0, false, 100.0],
  ['09:50:00', 30.6, 104.0, 0, false, 100.0],
  ['09:55:00', 30.6, 104.0, 0, false, 100.0],
  ['10:00:00', 30.6, 104.0, 0, true, 100.0], // ignition on, idling
  ['10:01:00', 30.61, 104.0, 40, true, 100.05], // trip A starts
  ['10:02:00', 30.62, 104.0, 50, true, 100.1],
  ['10:03:00', 30.62, 104.0001, 0, true, 100.12], // red light, jitter east 9.57 m
  ['10:04:00', 30.62, 103.9999, 0, true, 100.12], // jitter west
  ['10:05:00', 30.62, 104.0001, 0, true, 100.12], // jitter east
  ['10:06:00', 30.63, 104.0, 45, true, 100.2], // moving again after 3 min: same trip
  ['10:07:00', 30.64, 104.0, 60, true, 100.3],
  ['10:08:00', 30.64, 104.0, 0, true, 100.36], // stop begins: trip A ends here
  ['10:09:00', 30.64, 104.0, 0, false, 100.36],
  ['10:14:00', 30.64, 104.0, 0, false, 100.36], // 6 min after the stop began
  ['10:19:00', 30.64, 104.0, 0, false, 100.36],
  ['17:50:00', 30.64, 104.0, 0, false, 100.36],
  ['17:55:00', 30.64, 104.0, 0, false, 100.36],
  ['17:58:00', 30.64, 104.0, 0, true, 100.36], // ignition on, idling
  ['17:59:00', 30.65, 104.0, 70, true, 100.45], // trip B starts (inside: 30.65 < 30.655)
  ['18:00:00', 30.66, 104.0, 90, true, 100.55], // outside the area, speeding
  ['18:01:00', 30.67, 104.0, 95, true, 100.65], // still speeding: same event
  ['18:02:00', 30.68, 104.0, 70, true, 100.75],
  ['18:03:00', 30.68, 104.0, 0, true, 100.8], // stop begins: trip B ends here
  ['18:04:00', 30.68, 104.0, 0, false, 100.8],
  ['18:09:00', 30.68, 104.0, 0, false, 100.8],
  ['23:55:00', 30.68, 104.0, 0, false, 100.8],
]);

describe('haversine', () => {
  it('gives R × Δφ along a meridian and the cos φ-scaled step sideways', () => {
    expect(haversineM(30.6, 104, 30.61, 104)).toBeCloseTo(LEG_M, 2);
    // 11.1195 m × cos 30.62° = 9.569 m
    expect(haversineM(30.62, 104, 30.62, 104.0001)).toBeCloseTo(9.569, 2);
  });
});

describe('trip detection', () => {
  const trips = detectTrips(twoTripDay);

  it('finds two trips: the 3-minute stop at the light does not split trip A', () => {
    expect(trips.map((t) => [t.start, t.end])).toEqual([
      [at('2026-11-03', '10:01:00'), at('2026-11-03', '10:08:00')],
      [at('2026-11-03', '17:59:00'), at('2026-11-03', '18:03:00')],
    ]);
  });

  it('measures from where the car stood, ignoring the jitter at the light', () => {
    const [a] = trips;
    // from the 10:00 fix at 30.60 to 30.64: 4 legs × 1,111.951 m = 4,447.80 m. With the jitter
    // legs counted it would be 4,447.80 + 9.57 + 19.14 + 19.14 + (≈0.04 back to the line) ≈ 4,495.7 m.
    expect(a?.distanceSource).toBe('gps');
    expect(a?.distanceKm).toBeCloseTo(4.4478, 3);
    expect(a?.from).toEqual({ lat: 30.6, lon: 104.0 });
    expect(a?.to).toEqual({ lat: 30.64, lon: 104.0 });
    expect(a?.maxSpeedKmh).toBe(60);
  });

  it('splits a trip at a gap of over an hour, and a 59-minute gap does not', () => {
    const rows = (gapTo: string): FixRow[] => [
      ['10:00:00', 30.6, 104.0, 30, true],
      ['10:01:00', 30.61, 104.0, 30, true],
      [gapTo, 30.62, 104.0, 30, true], // silence since 10:01
      [gapTo.replace(/:00$/, ':30'), 30.63, 104.0, 30, true],
      ['12:30:00', 30.63, 104.0, 0, false],
      ['12:40:00', 30.63, 104.0, 0, false],
    ];
    const split = detectTrips(fixes('2026-11-03', rows('11:02:00'))); // 61 min > 1 h
    expect(split).toHaveLength(2);
    // first trip: 10:00 (no earlier fix, so measured from its first moving fix) to 10:01, 1 leg
    expect(split[0]?.end).toBe(at('2026-11-03', '10:01:00'));
    expect(split[0]?.distanceKm).toBeCloseTo(LEG_M / 1000, 4);
    // second: measured from 11:02 (the gap hides where it came from) to the stop at 12:30: 1 leg
    expect(split[1]?.start).toBe(at('2026-11-03', '11:02:00'));
    expect(split[1]?.distanceKm).toBeCloseTo(LEG_M / 1000, 4);

    const joined = detectTrips(fixes('2026-11-03', rows('11:00:00'))); // 59 min
    expect(joined).toHaveLength(1);
    expect(joined[0]?.distanceKm).toBeCloseTo((3 * LEG_M) / 1000, 4);
  });

  it('ends a trip at a 5-minute stop exactly, and keeps a 4:59 stop inside', () => {
    const rows = (restart: string): FixRow[] => [
      ['10:00:00', 30.6, 104.0, 30, true],
      ['10:01:00', 30.61, 104.0, 0, true], // stop begins
      [restart, 30.62, 104.0, 30, true],
      ['10:20:00', 30.62, 104.0, 0, false],
      ['10:30:00', 30.62, 104.0, 0, false],
    ];
    expect(detectTrips(fixes('2026-11-03', rows('10:06:00')))).toHaveLength(2); // 5:00 → split
    expect(detectTrips(fixes('2026-11-03', rows('10:05:59')))).toHaveLength(1); // 4:59 → one trip
  });

  it('prefers the odometer to GPS legs when the tracker reports it', () => {
    // GPS says 1 leg (1.112 km); the odometer says 1012.5 − 1000.0 = 12.5 km (the road, not the crow).
    const trip = detectTrips(
      fixes('2026-11-03', [
        ['10:00:00', 30.6, 104.0, 0, true, undefined, 1000.0],
        ['10:10:00', 30.61, 104.0, 50, true, undefined, 1012.4],
        ['10:11:00', 30.61, 104.0, 0, true, undefined, 1012.5],
        ['10:20:00', 30.61, 104.0, 0, false, undefined, 1012.5],
      ]),
    );
    expect(trip[0]?.distanceSource).toBe('odometer');
    expect(trip[0]?.distanceKm).toBeCloseTo(12.5, 9);
  });
});

describe('figures of a two-trip day', () => {
  const f = vehicleFigures(twoTripDay, dayPeriod('2026-11-03'), env);

  it('counts trips, distance, driving and idle time', () => {
    expect(f.trips).toHaveLength(2);
    // 2 trips × 4 legs × 1,111.951 m = 8,895.61 m
    expect(f.distanceKm).toBeCloseTo(8.8956, 3);
    // A 10:01–10:08 = 7 min, B 17:59–18:03 = 4 min → 11 min
    expect(f.drivingMs).toBe(11 * MIN);
    // ignition on and standing, each fix holding until the next: 10:00 (1 min), 10:03, 10:04,
    // 10:05 (3 min), 10:08 (1 min), 17:58 (1 min), 18:03 (1 min) → 7 min
    expect(f.idleMs).toBe(7 * MIN);
  });

  it('utilisation is driving inside working time over working time', () => {
    // inside 09:00–18:00: A 7 min + B 17:59–18:00 1 min = 8 min; working time 540 min
    // 8 / 540 = 0.0148148
    expect(f.drivingWorkMs).toBe(8 * MIN);
    expect(f.workingMs).toBe(540 * MIN);
    expect(f.utilization).toBeCloseTo(8 / 540, 10);
  });

  it('flags the trip over 18:00 as off-hours and the one reaching 30.66 as leaving the area', () => {
    expect(f.trips.map((t) => [t.offHours, t.leftServiceArea])).toEqual([
      [false, false],
      [true, true],
    ]);
    expect(f.offHoursTrips).toBe(1);
    expect(f.geofenceExits).toBe(1);
  });

  it('counts one speeding event for the run of 90 and 95 km/h fixes', () => {
    expect(f.speeding).toEqual([at('2026-11-03', '18:00:00')]);
    expect(
      vehicleFigures(twoTripDay, dayPeriod('2026-11-03'), {
        ...env,
        rules: { ...DEFAULT_VEHICLE_RULES, speedLimitKmh: 92 },
      }).speeding,
    ).toEqual([at('2026-11-03', '18:01:00')]);
  });

  it('energy per 100 km and its cost from the cumulative fuel counter', () => {
    // fuel 100.00 → 100.80 L = 0.80 L; 0.80 / 8.89561 km × 100 = 8.9932 L/100 km
    expect(f.energy).toBeCloseTo(0.8, 9);
    expect(f.energyPer100km).toBeCloseTo(8.9932, 3);
    // at 7.60 CNY/L: 0.80 × 7.60 / 8.89561 = 6.08 / 8.89561 = 0.68349 CNY/km (the service does this)
    expect(((f.energy ?? 0) * 7.6) / f.distanceKm).toBeCloseTo(0.68349, 4);
  });

  it('without a service-area geofence no trip leaves it', () => {
    const none = vehicleFigures(twoTripDay, dayPeriod('2026-11-03'), { ...env, serviceArea: undefined });
    expect(none.geofenceExits).toBe(0);
  });

  it('a trip belongs to the period it starts in; utilisation and idle are clipped', () => {
    // Period 10:05–18:00: trip A started before it (not counted), trip B starts inside.
    const period = { from: at('2026-11-03', '10:05:00'), to: at('2026-11-03', '18:00:00') };
    const g = vehicleFigures(twoTripDay, period, env);
    expect(g.trips.map((t) => t.start)).toEqual([at('2026-11-03', '17:59:00')]);
    // working time 10:05–18:00 = 475 min; driving in it: A 10:05–10:08 = 3 min, B 17:59–18:00 = 1 min
    expect(g.utilization).toBeCloseTo(4 / 475, 10);
    // idle: 10:05 (1 min), 10:08 (1 min), 17:58 (1 min) → 3 min
    expect(g.idleMs).toBe(3 * MIN);
  });
});

describe('holidays and make-up workdays', () => {
  // The same 10:00–10:30 trip on the National Day holiday (Thu 2026-10-01) and on the make-up
  // Saturday 2026-10-10.
  const trip = (day: string) =>
    fixes(day, [
      ['09:55:00', 30.6, 104.0, 0, false],
      ['10:00:00', 30.61, 104.0, 40, true],
      ['10:30:00', 30.62, 104.0, 40, true],
      ['10:31:00', 30.62, 104.0, 0, false],
      ['10:40:00', 30.62, 104.0, 0, false],
    ]);
  const data = [...trip('2026-10-01'), ...trip('2026-10-10')];
  const period = { from: at('2026-10-01', '00:00:00'), to: at('2026-10-11', '00:00:00') };
  const f = vehicleFigures(data, period, env);

  it('the holiday trip is off-hours, the make-up workday trip is not', () => {
    expect(f.trips.map((t) => t.offHours)).toEqual([true, false]);
  });

  it('utilisation counts only the make-up day, over the working days of the period', () => {
    // working days in 10-01..10-10: Thu 10-08, Fri 10-09, Sat 10-10 (make-up) = 3 × 540 = 1,620 min
    // driving in working time: 10-10 10:00–10:31 = 31 min (the stop begins at 10:31)
    expect(f.workingMs).toBe(1620 * MIN);
    expect(f.utilization).toBeCloseTo(31 / 1620, 10);
  });
});

describe('the fuel counter cut at edges (what the energy figures add per car)', () => {
  // A counter of litres used, on Tuesday 2026-11-03; edges 10:00, 12:00, 14:00.
  const edges = [at('2026-11-03', '10:00:00'), at('2026-11-03', '12:00:00'), at('2026-11-03', '14:00:00')];
  const counter = (rows: [time: string, fuel: number | undefined][]) =>
    fixes(
      '2026-11-03',
      rows.map(([time, fuel]): FixRow => [time, 30.6, 104.0, 0, false, fuel]),
    );

  it('gives each fix the rise since the previous one, in the interval holding the fix', () => {
    const f = fuelIncrements(
      counter([
        ['09:30:00', 50], // before the first edge: only sets the previous value
        ['10:00:00', 50.5], // +0.5, at the edge: belongs to [10:00, 12:00)
        ['11:00:00', undefined], // no counter on this fix: skipped
        ['11:59:00', 51.5], // +1.0
        ['12:00:00', 52], // +0.5, at the edge: belongs to [12:00, 14:00)
        ['13:00:00', 1], // a drop: the counter restarted, 1 counts from zero: +1
        ['13:30:00', 3], // +2
        ['14:00:00', 10], // at the last edge: after the range, not counted
      ]),
      edges,
    );
    // [10:00, 12:00): 0.5 + 1.0 = 1.5 L from 2 readings; [12:00, 14:00): 0.5 + 1 + 2 = 3.5 L from 3.
    expect(Array.from(f.energy)).toEqual([1.5, 3.5]);
    expect(Array.from(f.readings)).toEqual([2, 3]);
    expect(f.reported).toBe(true);
  });

  it('a first reading with nothing before it carries nothing', () => {
    const f = fuelIncrements(
      counter([
        ['10:30:00', 80],
        ['12:30:00', 81],
      ]),
      edges,
    );
    expect(Array.from(f.energy)).toEqual([0, 1]);
  });

  it('sums over the edges to the energy of the period figures', () => {
    // The two-trip day: 100.00 → 100.80 L over the day; cut at 12:00 into 0.36 (trip A, 10:01–
    // 10:08) and 0.44 (trip B, 17:59–18:03).
    const day = dayPeriod('2026-11-03');
    const cut = fuelIncrements(twoTripDay, [day.from, at('2026-11-03', '12:00:00'), day.to]);
    expect(cut.energy[0]).toBeCloseTo(0.36, 9);
    expect(cut.energy[1]).toBeCloseTo(0.44, 9);
    expect((cut.energy[0] as number) + (cut.energy[1] as number)).toBeCloseTo(
      vehicleFigures(twoTripDay, day, env).energy as number,
      12,
    );
  });

  it('a car with no counter in the range reported nothing', () => {
    expect(fuelIncrements(counter([['11:00:00', undefined]]), edges).reported).toBe(false);
    expect(fuelIncrements(counter([['09:00:00', 5]]), edges).reported).toBe(false);
  });
});
