/**
 * The simulators against the demo facility: determinism, reproducibility of a value whatever the
 * range it is generated in, physical consistency (registers, sub-meters, trips), the calendar in
 * the load profiles, heating and cooling from the outdoor temperature (no step at a month
 * boundary), the sizing against the quotas, every payload accepted by the telemetry decoder, and
 * every planted fault present where the schedule says — and nowhere else.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { facilityCalendar } from '../../core/facility/calendar.ts';
import { DEMO_FACILITY_PATH } from '../../core/facility/demo.ts';
import { type LonLat, pointInPolygon } from '../../core/facility/geometry.ts';
import { loadFacility } from '../../core/facility/load.ts';
import type { Facility } from '../../core/facility/schema.ts';
import type { Point } from '../../core/store.ts';
import {
  createTelemetryDecoder,
  DATA_CHANNEL,
  type DeviceKind,
  type MeterReading,
  type ReadingOfKind,
  type SensorState,
  topicFor,
  type VehicleGps,
} from '../../core/telemetry.ts';
import { FAULT_KINDS } from '../../simulators/faults.ts';
import { PointMaker } from '../../simulators/points.ts';
import { createSimulation, type PlantedFault, type Simulation } from '../../simulators/simulation.ts';
import { COOLING_BALANCE_C, HEATING_BALANCE_C } from '../../simulators/weather.ts';

function demoFacility(): Facility {
  const result = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
  if (!result.ok) throw new Error('the demo facility does not load');
  return result.facility;
}

const FACILITY = demoFacility();
const CALENDAR = facilityCalendar(FACILITY);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Epoch ms of a Chengdu (UTC+8) local time. */
const local = (y: number, m: number, d: number, h = 0, min = 0) => Date.UTC(y, m - 1, d, h - 8, min);
const SEED = 20_261_125;
const SIM = createSimulation(FACILITY, { seed: SEED });
const CALM = createSimulation(FACILITY, { seed: SEED, faults: false });

/** The 30 days the fault tests look at: 2026-10-26 (a Monday) to 2026-11-25. */
const MONTH_FROM = local(2026, 10, 26);
const MONTH_TO = local(2026, 11, 25);

const byKind = <K extends DeviceKind>(kind: K) => SIM.devices().filter((d) => d.kind === kind);
const meters = (sim: Simulation, id: string, from: number, to: number) =>
  sim.readings('meter', id, from, to) as MeterReading[];
const fixes = (sim: Simulation, id: string, from: number, to: number) =>
  sim.readings('vehicle', id, from, to) as VehicleGps[];
const states = (sim: Simulation, id: string, from: number, to: number) =>
  sim.readings('sensor', id, from, to) as SensorState[];

/** Readings of every device over the month, generated once for the tests that need them. */
const month = (() => {
  let cache: Map<string, unknown[]> | undefined;
  return (): Map<string, unknown[]> => {
    cache ??= new Map(SIM.devices().map((d) => [d.id, SIM.readings(d.kind, d.id, MONTH_FROM, MONTH_TO)]));
    return cache;
  };
})();
const monthFaults = SIM.faults(MONTH_FROM, MONTH_TO);
const faultsOf = (kind: PlantedFault['kind']) => monthFaults.filter((f) => f.kind === kind);
const inWindow = (ts: number, f: PlantedFault) => ts >= f.from && ts < f.to;

function polygon(id: string): LonLat[] {
  const fence = FACILITY.geofences.find((g) => g.id === id);
  if (!fence) throw new Error(`no geofence ${id}`);
  return fence.polygon.map(([lon, lat]) => [lon, lat] as LonLat);
}
const COMPOUND = polygon('compound');
const SERVICE_AREA = polygon('service-area');

describe('determinism', () => {
  const day = [local(2026, 11, 18), local(2026, 11, 19)] as const;
  const sample = ['b1-e-main', 'b4-g-kitchen', 'v01', 'v13', 's-b1-m0301', 's-b4-canteen'];
  const kindOf = (id: string) => SIM.devices().find((d) => d.id === id)?.kind as DeviceKind;

  it('gives identical readings for the same seed, from a fresh simulation', () => {
    const again = createSimulation(FACILITY, { seed: SEED });
    for (const id of sample) {
      expect(again.readings(kindOf(id), id, ...day)).toEqual(SIM.readings(kindOf(id), id, ...day));
    }
    expect(again.faults(MONTH_FROM, MONTH_TO)).toEqual(monthFaults);
  });

  it('gives different readings for another seed', () => {
    const other = createSimulation(FACILITY, { seed: SEED + 1 });
    for (const id of sample) {
      expect(other.readings(kindOf(id), id, ...day)).not.toEqual(SIM.readings(kindOf(id), id, ...day));
    }
    expect(other.faults(MONTH_FROM, MONTH_TO)).not.toEqual(monthFaults);
  });

  it('gives each reading at time t whatever range it is generated in', () => {
    // A fresh simulation asked for the later range first, so no cache of the first can help.
    const fresh = createSimulation(FACILITY, { seed: SEED });
    const from = local(2026, 11, 17, 6);
    const to = local(2026, 11, 19, 6);
    const cut = local(2026, 11, 18, 13, 37);
    for (const device of SIM.devices()) {
      const late = fresh.readings(device.kind, device.id, cut, to);
      const whole = SIM.readings(device.kind, device.id, from, to) as Array<{ ts: number }>;
      expect(late, device.id).toEqual(whole.filter((r) => r.ts >= cut));
    }
  });

  it('keeps a device’s readings when the others change', () => {
    const fewer: Facility = { ...FACILITY, vehicles: FACILITY.vehicles.filter((v) => v.id !== 'v02') };
    const sim = createSimulation(fewer, { seed: SEED, faults: false });
    const calm = (id: string) => CALM.readings('vehicle', id, local(2026, 11, 18), local(2026, 11, 19));
    expect(sim.readings('vehicle', 'v05', local(2026, 11, 18), local(2026, 11, 19))).toEqual(calm('v05'));
  });

  it('refuses times before the first simulated day and unknown devices', () => {
    expect(() => SIM.readings('meter', 'b1-e-main', local(2023, 12, 31), local(2024, 1, 2))).toThrow(
      /2024-01-01/,
    );
    expect(() => SIM.readings('meter', 'b9-e-main', MONTH_FROM, MONTH_TO)).toThrow(/no meter "b9-e-main"/);
  });
});

describe('meters', () => {
  it('puts readings exactly on the interval grid', () => {
    const water = meters(SIM, 'b1-w-main', local(2026, 11, 18), local(2026, 11, 19));
    expect(water).toHaveLength(288);
    expect(water.every((r) => (r.ts as number) % 300_000 === 0)).toBe(true);
    expect(water.some((r) => 'power' in r)).toBe(false);
    const main = meters(SIM, 'b1-e-main', local(2026, 11, 18), local(2026, 11, 19));
    expect(main).toHaveLength(1440);
    expect(main[0]?.ts).toBe(local(2026, 11, 18));
  });

  it('keeps every register monotone except at a planted reset, where it restarts from 0', () => {
    const resets = faultsOf('meter-reset');
    expect(resets.length).toBeGreaterThanOrEqual(2);
    for (const meter of FACILITY.meters) {
      const readings = month().get(meter.id) as MeterReading[];
      for (let i = 1; i < readings.length; i++) {
        const prev = readings[i - 1] as MeterReading;
        const cur = readings[i] as MeterReading;
        if (cur.total >= prev.total) continue;
        const reset = resets.find(
          (f) => f.device === meter.id && f.from > (prev.ts as number) && f.from <= (cur.ts as number),
        );
        expect(reset, `${meter.id} drops at ${new Date(cur.ts as number).toISOString()}`).toBeDefined();
        expect(cur.total).toBeLessThan(5);
      }
    }
    for (const reset of resets) {
      const readings = month().get(reset.device) as MeterReading[];
      const after = readings.find((r) => (r.ts as number) >= reset.from) as MeterReading;
      const before = readings.filter((r) => (r.ts as number) < reset.from).at(-1) as MeterReading;
      expect(after.total).toBeLessThan(before.total);
    }
  });

  it('measures every parent at least the sum of its children, day by day', () => {
    const parents = FACILITY.meters.filter((m) => FACILITY.meters.some((c) => c.parent === m.id));
    expect(parents.map((m) => m.id)).toEqual([
      'b1-e-main',
      'b1-e-light',
      'b2-e-main',
      'b2-e-light',
      'b3-e-main',
      'b4-e-main',
      'b4-e-light',
    ]);
    // From the registers (no planted reset or silence in the calm simulation)…
    for (let day = local(2026, 11, 16); day < local(2026, 11, 23); day += DAY) {
      const used = (id: string) => {
        const readings = meters(CALM, id, day, day + DAY + 1);
        return (readings.at(-1) as MeterReading).total - (readings[0] as MeterReading).total;
      };
      for (const parent of parents) {
        const children = FACILITY.meters.filter((c) => c.parent === parent.id);
        const own = used(parent.id) - children.reduce((sum, c) => sum + used(c.id), 0);
        expect(own, `${parent.id} on ${new Date(day).toISOString()}`).toBeGreaterThan(0);
      }
    }
    // …and from the true consumption, faults included, over the month.
    for (let day = MONTH_FROM; day < MONTH_TO; day += DAY) {
      for (const parent of parents) {
        const children = FACILITY.meters.filter((c) => c.parent === parent.id);
        const sum = children.reduce((s, c) => s + SIM.meterEnergy(c.id, day, day + DAY), 0);
        expect(SIM.meterEnergy(parent.id, day, day + DAY)).toBeGreaterThan(sum);
      }
    }
  });

  it('follows the calendar: workday, Sunday, holiday and make-up workday', () => {
    const dayUse = (y: number, m: number, d: number) =>
      CALM.meterEnergy('b1-e-main', local(y, m, d), local(y, m, d + 1));
    const wednesday = dayUse(2026, 10, 14);
    const saturday = dayUse(2026, 10, 17);
    const sunday = dayUse(2026, 10, 18);
    const holiday = dayUse(2026, 10, 1); // National Day, a Thursday
    const makeUp = dayUse(2026, 10, 10); // 调休上班, a Saturday
    expect(wednesday / sunday).toBeGreaterThan(1.8);
    expect(holiday / sunday).toBeGreaterThan(0.8);
    expect(holiday / sunday).toBeLessThan(1.2);
    expect(makeUp / wednesday).toBeGreaterThan(0.8);
    expect(makeUp / saturday).toBeGreaterThan(1.8);
    // Working hours show in the load: 10:00 against 03:00.
    const load = (id: string, y: number, m: number, d: number, h: number) =>
      (meters(CALM, id, local(y, m, d, h), local(y, m, d, h) + 60_000)[0] as MeterReading).power as number;
    expect(load('b1-e-main', 2026, 10, 14, 10) / load('b1-e-main', 2026, 10, 14, 3)).toBeGreaterThan(3);
    expect(load('b1-e-main', 2026, 10, 1, 10) / load('b1-e-main', 2026, 10, 1, 3)).toBeLessThan(1.5);
  });

  it('runs the data room around the clock and the kitchen at meal times', () => {
    const at = (id: string, h: number, min = 0) =>
      (meters(CALM, id, local(2026, 11, 18, h, min), local(2026, 11, 18, h, min) + 60_000)[0] as MeterReading)
        .power as number;
    expect(at('b2-e-datacenter', 3) / at('b2-e-datacenter', 11)).toBeGreaterThan(0.85);
    expect(at('b2-e-datacenter', 3)).toBeGreaterThan(40);
    expect(at('b4-e-kitchen', 11) / at('b4-e-kitchen', 15)).toBeGreaterThan(1.5);
    const gas = (from: number, to: number) =>
      CALM.meterEnergy('b4-g-kitchen', local(2026, 11, 18, from), local(2026, 11, 18, to));
    expect(gas(11, 12)).toBeGreaterThan(3 * gas(14, 15));
  });

  it('cools in summer and heats in winter with the HVAC meters', () => {
    const week = (y: number, m: number, d: number) =>
      CALM.meterEnergy('b1-e-hvac', local(y, m, d), local(y, m, d + 7));
    const july = week(2026, 7, 13);
    const january = week(2026, 1, 12);
    const april = week(2026, 4, 13);
    expect(july).toBeGreaterThan(3 * april);
    expect(january).toBeGreaterThan(2 * april);
  });

  it('follows the outdoor temperature, not the month: no step in site electricity between ordinary working days', () => {
    // Site electricity: the main meter (system total, no parent) of every building.
    const mains = FACILITY.meters.filter(
      (m) => m.kind === 'electricity' && m.system === 'total' && m.parent === undefined,
    );
    expect(mains.map((m) => m.id)).toEqual(['b1-e-main', 'b2-e-main', 'b3-e-main', 'b4-e-main']);
    const year = [local(2026, 1, 1), local(2027, 1, 1)] as const;
    const siteKwh = (sim: Simulation, day: number) =>
      mains.reduce((sum, m) => sum + sim.meterEnergy(m.id, day, day + DAY), 0);
    /** Day-to-day change between consecutive days that are both ordinary working days. */
    const changes = (sim: Simulation, skipped: readonly PlantedFault[]) => {
      const out: Array<{ days: string; change: number }> = [];
      let previous: { date: string; kwh: number } | undefined;
      for (let day = year[0]; day < year[1]; day += DAY) {
        const date = CALENDAR.localDate(day);
        // Not a weekend, holiday or make-up workday, and no fault that changes site load.
        const ordinary =
          CALENDAR.dayKind(date) === 'workday' && !skipped.some((f) => f.from < day + DAY && f.to > day);
        if (!ordinary) {
          previous = undefined;
          continue;
        }
        const kwh = siteKwh(sim, day);
        if (previous) out.push({ days: `${previous.date} → ${date}`, change: kwh / previous.kwh - 1 });
        previous = { date, kwh };
      }
      return out;
    };
    const over = (list: ReadonlyArray<{ change: number }>) => list.filter((c) => Math.abs(c.change) > 0.25);

    // With the planted faults, leaving out the days a fault changes site electricity on: the HVAC
    // plant left on over a weekend (Friday evening, Monday morning) and a creeping night base.
    const loadFaults = SIM.faults(...year).filter(
      (f) => f.kind === 'hvac-left-on' || f.kind === 'base-load-creep',
    );
    expect(loadFaults.length).toBeGreaterThan(30);
    const planted = changes(SIM, loadFaults);
    expect(planted.length).toBeGreaterThan(60);
    expect(over(planted)).toEqual([]);
    // Without faults, every pair of consecutive ordinary working days of the year.
    const calm = changes(CALM, []);
    expect(calm.length).toBeGreaterThan(170);
    expect(over(calm)).toEqual([]);
    // The month boundary that used to switch the plant to heating (+62 % from 30 Nov to 1 Dec).
    const turn = calm.find((c) => c.days === '2026-11-30 → 2026-12-01');
    expect(Math.abs(turn?.change as number)).toBeLessThan(0.1);
  });

  it('lands the site near its 2026 quotas', () => {
    const year = [local(2026, 1, 1), local(2027, 1, 1)] as const;
    const total = (kind: string) =>
      FACILITY.meters
        .filter((m) => m.kind === kind && m.parent === undefined)
        .reduce((sum, m) => sum + SIM.meterEnergy(m.id, ...year), 0);
    const quota = (kind: string) =>
      FACILITY.quotas.find((q) => q.scope === 'site' && q.kind === kind)?.amount as number;
    for (const kind of ['electricity', 'water', 'gas']) {
      const ratio = total(kind) / quota(kind);
      expect(ratio, kind).toBeGreaterThan(0.85);
      expect(ratio, kind).toBeLessThan(1.1);
    }
    // The building quotas, within ±25 %.
    for (const quota of FACILITY.quotas.filter((q) => q.scope === 'building')) {
      const main = FACILITY.meters.find(
        (m) => m.building === quota.id && m.kind === 'electricity' && m.system === 'total',
      );
      const ratio = SIM.meterEnergy(main?.id as string, ...year) / quota.amount;
      expect(Math.abs(ratio - 1), quota.id).toBeLessThan(0.25);
    }
  });
});

describe('vehicles', () => {
  it('starts and ends every mission parked in the compound, on plausible paths', () => {
    for (const { id } of byKind('vehicle')) {
      const missions = SIM.missions(id, MONTH_FROM, MONTH_TO);
      for (const mission of missions) {
        const [out, back] = mission.legs as [(typeof mission.legs)[0], (typeof mission.legs)[0]];
        expect(pointInPolygon(out.path[0] as LonLat, COMPOUND), id).toBe(true);
        expect(pointInPolygon(back.path.at(-1) as LonLat, COMPOUND), id).toBe(true);
        expect(out.from).toBe('compound');
        expect(back.to).toBe('compound');
        // Road-like: longer than the straight line, not absurdly so.
        const straight = Math.hypot(
          ((mission.destination.lon - (out.path[0]?.[0] as number)) * 96_000) / 1000,
          ((mission.destination.lat - (out.path[0]?.[1] as number)) * 111_000) / 1000,
        );
        expect(out.distanceKm).toBeGreaterThan(straight * 0.95);
        expect(out.distanceKm).toBeLessThan(straight * 1.6 + 1);
      }
      const readings = month().get(id) as VehicleGps[];
      const first = readings[0] as VehicleGps;
      const last = readings.at(-1) as VehicleGps;
      for (const fix of [first, last]) {
        expect(fix.ignition).toBe(false);
        expect(pointInPolygon([fix.lon, fix.lat], COMPOUND), id).toBe(true);
      }
    }
  });

  it('dispatches in working hours, at city speeds, inside the service area — except the planted faults', () => {
    const planted = monthFaults.filter((f) => f.deviceKind === 'vehicle');
    let fixesOn = 0;
    for (const { id } of byKind('vehicle')) {
      for (const mission of SIM.missions(id, MONTH_FROM, MONTH_TO)) {
        if (mission.fault === 'off-hours-trip') {
          expect(CALENDAR.isWorkingTime(mission.depart)).toBe(false);
          continue;
        }
        expect(
          CALENDAR.isWorkingTime(mission.depart),
          `${id} departs ${new Date(mission.depart).toISOString()}`,
        ).toBe(true);
        expect(CALENDAR.isWorkingTime(mission.return)).toBe(true);
      }
      for (const fix of month().get(id) as VehicleGps[]) {
        const ts = fix.ts as number;
        if (fix.ignition) fixesOn++;
        if (fix.speed > 80) {
          expect(
            planted.some((f) => f.kind === 'speeding' && f.device === id && inWindow(ts, f)),
            `${id} at ${fix.speed}`,
          ).toBe(true);
        }
        if (!pointInPolygon([fix.lon, fix.lat], SERVICE_AREA)) {
          expect(
            planted.some((f) => f.kind === 'out-of-area-trip' && f.device === id && inWindow(ts, f)),
          ).toBe(true);
        }
        if (fix.ignition && fix.speed > 0) expect(fix.speed).toBeGreaterThan(5);
      }
    }
    expect(fixesOn).toBeGreaterThan(10_000);
  });

  it('reports fixes every interval while driving and a heartbeat every 5 minutes while parked', () => {
    const readings = month().get('v01') as VehicleGps[];
    for (let i = 1; i < readings.length; i++) {
      const prev = readings[i - 1] as VehicleGps;
      const cur = readings[i] as VehicleGps;
      const gap = (cur.ts as number) - (prev.ts as number);
      expect(gap).toBeLessThanOrEqual(prev.ignition ? 10_000 : 300_000);
      expect(cur.odometer as number).toBeGreaterThanOrEqual(prev.odometer as number);
      expect(cur.fuel as number).toBeGreaterThanOrEqual(prev.fuel as number);
      if (!prev.ignition && !cur.ignition) expect([prev.lat, prev.lon]).toEqual([cur.lat, cur.lon]);
    }
  });

  it('uses about the rated consumption per 100 km', () => {
    for (const vehicle of FACILITY.vehicles) {
      const readings = month().get(vehicle.id) as VehicleGps[];
      const first = readings[0] as VehicleGps;
      const last = readings.at(-1) as VehicleGps;
      const km = (last.odometer as number) - (first.odometer as number);
      if (km < 50) continue;
      const per100 = (((last.fuel as number) - (first.fuel as number)) / km) * 100;
      expect(per100 / vehicle.ratedConsumption, vehicle.id).toBeGreaterThan(0.9);
      expect(per100 / vehicle.ratedConsumption, vehicle.id).toBeLessThan(1.2);
    }
  });
});

describe('rooms', () => {
  it('follows the meetings, office hours and meal times', () => {
    const day = [local(2026, 11, 18), local(2026, 11, 19)] as const;
    const meetings = CALM.meetings('s-b1-m0301', ...day);
    expect(meetings.length).toBeGreaterThan(0);
    const room = states(CALM, 's-b1-m0301', ...day);
    for (const state of room) {
      const meeting = meetings.find((m) => (state.ts as number) >= m.start && (state.ts as number) < m.end);
      if (meeting) {
        expect(state.occupancy).toBeGreaterThan(0);
        expect(state.occupancy).toBeLessThanOrEqual(meeting.attendance);
        expect(state.lights).toBe(true);
        expect(state.hvac).not.toBe('off');
      } else {
        expect(state.occupancy).toBe(0);
        expect(state.hvac).toBe('off');
      }
    }
    const at = (id: string, h: number, min = 0) =>
      states(CALM, id, local(2026, 11, 18, h, min), local(2026, 11, 18, h, min) + 60_000)[0] as SensorState;
    expect(at('s-b1-z-genoffice', 10).occupancy).toBeGreaterThan(300);
    expect(at('s-b1-z-genoffice', 3).occupancy).toBe(0);
    expect(at('s-b4-canteen', 12, 15).occupancy).toBeGreaterThan(350);
    expect(at('s-b4-canteen', 15).occupancy).toBe(0);
    // People raise CO2 in the office during the day.
    expect(at('s-b1-z-genoffice', 16).co2 as number).toBeGreaterThan(
      (at('s-b1-z-genoffice', 6).co2 as number) + 200,
    );
  });

  it('reports only what each sensor measures', () => {
    const office = states(SIM, 's-b1-z-finance', MONTH_FROM, MONTH_FROM + HOUR);
    expect(Object.keys(office[0] as object).sort()).toEqual([
      'co2',
      'humidity',
      'occupancy',
      'temperature',
      'ts',
    ]);
    const meeting = states(SIM, 's-b3-hall', MONTH_FROM, MONTH_FROM + HOUR);
    expect(Object.keys(meeting[0] as object).sort()).toEqual([
      'co2',
      'humidity',
      'hvac',
      'lights',
      'occupancy',
      'temperature',
      'ts',
    ]);
  });

  it('heats and cools a room only when the plant does, from the outdoor temperature', () => {
    // Ten spring weeks, when the plant changes over from heating to cooling.
    const from = local(2026, 3, 16);
    const modes = { cool: 0, heat: 0 };
    for (const { id } of byKind('sensor')) {
      for (const state of states(CALM, id, from, from + 70 * DAY)) {
        if (state.hvac !== 'cool' && state.hvac !== 'heat') continue;
        modes[state.hvac]++;
        const outdoor = CALM.outdoorTemperature(state.ts as number);
        if (state.hvac === 'cool') expect(outdoor, id).toBeGreaterThan(COOLING_BALANCE_C);
        else expect(outdoor, id).toBeLessThan(HEATING_BALANCE_C);
      }
    }
    expect(modes.cool).toBeGreaterThan(100);
    expect(modes.heat).toBeGreaterThan(100);
  });

  it('cools in summer without breaking the 26 °C rule, heats in winter without breaking 20 °C', () => {
    const check = (from: number, mode: 'cool' | 'heat') => {
      let seen = 0;
      for (const { id } of byKind('sensor')) {
        for (const state of states(CALM, id, from, from + 7 * DAY)) {
          if (state.hvac !== mode) continue;
          seen++;
          if (mode === 'cool') expect(state.temperature as number).toBeGreaterThanOrEqual(26);
          else expect(state.temperature as number).toBeLessThanOrEqual(20);
        }
      }
      return seen;
    };
    expect(check(local(2026, 7, 13), 'cool')).toBeGreaterThan(500);
    expect(check(local(2026, 1, 12), 'heat')).toBeGreaterThan(500);
  });
});

describe('telemetry contract', () => {
  it('has every payload of a day accepted by the decoder, as the points the backfill writes', () => {
    const decoder = createTelemetryDecoder(FACILITY, { maxAgeMs: Number.POSITIVE_INFINITY });
    const maker = new PointMaker(FACILITY);
    const from = local(2026, 11, 20);
    const site = FACILITY.site.id;
    let count = 0;
    for (const device of SIM.devices()) {
      const readings = SIM.readings(device.kind, device.id, from, from + DAY) as ReadingOfKind[DeviceKind][];
      const expected: Point[] = [];
      maker.append(device.kind, device.id, readings, expected);
      const topic = topicFor(device.kind, site, device.id, DATA_CHANNEL[device.kind]);
      readings.forEach((reading, i) => {
        const result = decoder.decode(topic, Buffer.from(JSON.stringify(reading)), reading.ts as number);
        if (!result.ok) throw new Error(`${device.id}: ${result.reason}: ${result.detail}`);
        expect('points' in result && result.points).toEqual([expected[i]]);
        count++;
      });
    }
    expect(count).toBeGreaterThan(75_000);
  });
});

describe('planted faults', () => {
  it('plants every kind in a month, inside the range asked', () => {
    expect(new Set(monthFaults.map((f) => f.kind))).toEqual(new Set(FAULT_KINDS));
    for (const fault of monthFaults) {
      expect(fault.to).toBeGreaterThanOrEqual(fault.from);
      expect(fault.from < MONTH_TO && (fault.to > MONTH_FROM || fault.from === fault.to)).toBe(true);
    }
    expect(CALM.faults(MONTH_FROM, MONTH_TO)).toEqual([]);
  });

  it('shows HVAC left on over the weekend in its meter', () => {
    for (const fault of faultsOf('hvac-left-on')) {
      const saturdayNoon = fault.from + 18 * HOUR;
      const hour = [saturdayNoon, saturdayNoon + HOUR] as const;
      expect(SIM.meterEnergy(fault.device, ...hour)).toBeGreaterThan(
        3 * CALM.meterEnergy(fault.device, ...hour),
      );
    }
  });

  it('shows the night base creeping up', () => {
    for (const fault of faultsOf('base-load-creep')) {
      const lastNight = [fault.to - 21 * HOUR, fault.to - 20 * HOUR] as const; // 03:00–04:00
      const firstNight = [fault.from + 3 * HOUR, fault.from + 4 * HOUR] as const;
      const extra = (range: readonly [number, number]) =>
        SIM.meterEnergy(fault.device, ...range) / CALM.meterEnergy(fault.device, ...range);
      expect(extra(lastNight)).toBeGreaterThan(1.8);
      expect(extra(firstNight)).toBeLessThan(1.1);
    }
  });

  it('shows a leak as a constant night flow', () => {
    for (const fault of faultsOf('water-leak')) {
      const flow = fault.detail.flowM3h as number;
      const night = local(2026, 1, 1) + Math.ceil((fault.from - local(2026, 1, 1)) / DAY) * DAY + 3 * HOUR;
      if (night + HOUR > fault.to) continue;
      const leaking = SIM.meterEnergy(fault.device, night, night + HOUR);
      const normal = CALM.meterEnergy(fault.device, night, night + HOUR);
      expect(leaking - normal).toBeCloseTo(flow, 1);
      expect(leaking).toBeGreaterThan(2 * normal);
    }
  });

  it('silences a meter for the planted hours', () => {
    for (const fault of faultsOf('meter-silent')) {
      const readings = month().get(fault.device) as MeterReading[];
      expect(readings.filter((r) => inWindow(r.ts as number, fault))).toEqual([]);
      expect(readings.some((r) => (r.ts as number) < fault.from)).toBe(true);
      expect(fault.to - fault.from).toBeGreaterThanOrEqual(2 * HOUR);
    }
  });

  it('sends a car out of hours, out of the area and over the speed limit', () => {
    for (const fault of faultsOf('off-hours-trip')) {
      const driving = fixes(SIM, fault.device, fault.from, fault.to).filter((f) => f.ignition && f.speed > 0);
      expect(driving.length).toBeGreaterThan(10);
      expect(driving.every((f) => !CALENDAR.isWorkingTime(f.ts as number))).toBe(true);
    }
    for (const fault of faultsOf('out-of-area-trip')) {
      const outside = fixes(SIM, fault.device, fault.from, fault.to).filter(
        (f) => !pointInPolygon([f.lon, f.lat], SERVICE_AREA),
      );
      expect(outside.length).toBeGreaterThan(10);
    }
    for (const fault of faultsOf('speeding')) {
      const fast = fixes(SIM, fault.device, fault.from, fault.to).filter((f) => f.speed > 80);
      expect(fast.length).toBeGreaterThan(5);
    }
  });

  it('leaves HVAC on in an empty room, sets cooling below 26 °C (or heating above 20 °C), packs a meeting', () => {
    for (const fault of faultsOf('hvac-empty-room')) {
      const window = states(SIM, fault.device, fault.from, fault.to);
      expect(window.every((s) => s.occupancy === 0 && s.hvac !== 'off' && s.lights === false)).toBe(true);
      expect(states(CALM, fault.device, fault.from, fault.to).every((s) => s.hvac === 'off')).toBe(true);
    }
    for (const fault of faultsOf('setpoint-violation')) {
      const breaking = states(SIM, fault.device, fault.from, fault.to).filter((s) =>
        s.hvac === 'cool'
          ? (s.temperature as number) < 26
          : s.hvac === 'heat' && (s.temperature as number) > 20,
      );
      expect(breaking.length).toBeGreaterThan(4 * 60);
    }
    for (const fault of faultsOf('co2-packed-meeting')) {
      const window = states(SIM, fault.device, fault.from, fault.to);
      const room = FACILITY.rooms.find((r) => r.id === fault.detail.room);
      expect(Math.max(...window.map((s) => s.occupancy as number))).toBeGreaterThan(room?.capacity as number);
      expect(window.filter((s) => (s.co2 as number) > 1000).length).toBeGreaterThan(60);
    }
  });

  it('plants nothing the room KPIs would find outside the planted windows', () => {
    const rooms = monthFaults.filter((f) => f.deviceKind === 'sensor');
    const found: string[] = [];
    for (const { id } of byKind('sensor')) {
      // A packed room takes a few minutes of purge to clear after the meeting.
      const windows = rooms
        .filter((f) => f.device === id)
        .map((f) => [f.from, f.to + (f.kind === 'co2-packed-meeting' ? 30 * 60_000 : 0)] as const);
      for (const state of month().get(id) as SensorState[]) {
        const ts = state.ts as number;
        if (windows.some(([from, to]) => ts >= from && ts < to)) continue;
        const t = state.temperature as number;
        if (
          (state.co2 as number) > 1000 ||
          (state.hvac === 'cool' && t < 26) ||
          (state.hvac === 'heat' && t > 20) ||
          (state.hvac !== undefined && state.hvac !== 'off' && state.occupancy === 0)
        ) {
          found.push(`${id} ${new Date(ts).toISOString()} ${JSON.stringify(state)}`);
        }
      }
    }
    expect(found).toEqual([]);
  });
});
