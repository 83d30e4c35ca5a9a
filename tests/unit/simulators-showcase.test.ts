/**
 * The showcase (`simulators/showcase.ts`): an episode planted at an instant puts a water leak, a
 * meeting room conditioned while empty and a car outside the service area under way at once, the
 * same for the same seed and instant; and a simulation given the earlier episodes too continues
 * what a previous run stored, with no register or odometer going back.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEMO_FACILITY_PATH } from '../../core/facility/demo.ts';
import { type LonLat, pointInPolygon } from '../../core/facility/geometry.ts';
import { loadFacility } from '../../core/facility/load.ts';
import type { Facility } from '../../core/facility/schema.ts';
import type { MeterReading, SensorState, VehicleGps } from '../../core/telemetry.ts';
import {
  nextShowcase,
  SHOWCASE_LEAK_MS,
  SHOWCASE_REPEAT_MS,
  SHOWCASE_ROOM_LEAD_MS,
  SHOWCASE_ROOM_MS,
} from '../../simulators/showcase.ts';
import { createSimulation, type PlantedFault, type Simulation } from '../../simulators/simulation.ts';

function demoFacility(): Facility {
  const result = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
  if (!result.ok) throw new Error('the demo facility does not load');
  return result.facility;
}

const FACILITY = demoFacility();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Epoch ms of a Chengdu (UTC+8) local time. */
const local = (y: number, m: number, d: number, h = 0, min = 0) => Date.UTC(y, m - 1, d, h - 8, min);
/** The seed `facility start` uses by default. */
const SEED = 20_261_128;
const SERVICE_AREA = (FACILITY.geofences.find((g) => g.id === 'service-area')?.polygon ?? []).map(
  ([lon, lat]) => [lon, lat] as LonLat,
);
const COMPOUND = (FACILITY.geofences.find((g) => g.id === 'compound')?.polygon ?? []).map(
  ([lon, lat]) => [lon, lat] as LonLat,
);
const outside = (fix: VehicleGps) => !pointInPolygon([fix.lon, fix.lat], SERVICE_AREA);

/** A Thursday night, 02:30 in Chengdu: a live run starts. */
const AT = local(2026, 11, 19, 2, 30);
const SIM = createSimulation(FACILITY, { seed: SEED, showcase: [AT] });
const PLAIN = createSimulation(FACILITY, { seed: SEED });

function showcaseOf(sim: Simulation, at: number): Record<PlantedFault['kind'], PlantedFault | undefined> {
  const planted = sim.faults(at, at + 1).filter((f) => f.showcase);
  return Object.fromEntries(planted.map((f) => [f.kind, f])) as Record<
    PlantedFault['kind'],
    PlantedFault | undefined
  >;
}
const EPISODE = showcaseOf(SIM, AT);
const LEAK = EPISODE['water-leak'] as PlantedFault;
const ROOM = EPISODE['hvac-empty-room'] as PlantedFault;
const CAR = EPISODE['out-of-area-trip'] as PlantedFault;

describe('a showcase episode', () => {
  it('plants a water leak, an empty conditioned room and a car out of the area, all under way at its instant', () => {
    expect(
      SIM.faults(AT, AT + 1)
        .filter((f) => f.showcase)
        .map((f) => f.kind)
        .sort(),
    ).toEqual(['hvac-empty-room', 'out-of-area-trip', 'water-leak']);
    for (const fault of [LEAK, ROOM, CAR]) {
      expect(fault.from).toBeLessThan(AT);
      expect(fault.to).toBeGreaterThan(AT);
    }
    // The leak began at 22:00 the evening before the night of AT (whose first 2 hours are over at
    // 02:30), so a night-flow check at AT sees a night of it; it runs 30 h from the whole hour
    // before the hour of AT (01:00), through the next night.
    expect(LEAK.deviceKind).toBe('meter');
    expect(FACILITY.meters.find((m) => m.id === LEAK.device)?.kind).toBe('water');
    expect(LEAK.from).toBe(local(2026, 11, 18, 22));
    expect(LEAK.to).toBe(local(2026, 11, 19, 1) + SHOWCASE_LEAK_MS);
    expect(LEAK.detail.flowM3h).toBeGreaterThanOrEqual(0.3);
    expect(LEAK.detail.flowM3h).toBeLessThanOrEqual(0.5);
    expect([ROOM.from, ROOM.to]).toEqual([AT - SHOWCASE_ROOM_LEAD_MS, AT + SHOWCASE_ROOM_MS]);
    // The planted faults of the weekly schedule are still all there.
    expect(SIM.faults(AT - 7 * 24 * HOUR, AT).filter((f) => !f.showcase)).toEqual(
      PLAIN.faults(AT - 7 * 24 * HOUR, AT),
    );
    expect(PLAIN.faults(AT, AT + 1).some((f) => f.showcase)).toBe(false);
  });

  it('shows all three in the first minute: a room with HVAC on and nobody there, a car driving out of the area', () => {
    const [room] = SIM.readings('sensor', ROOM.device, AT, AT + MINUTE) as SensorState[];
    expect(room).toMatchObject({ ts: AT, occupancy: 0, lights: false });
    expect(room?.hvac).not.toBe('off');
    const fixes = SIM.readings('vehicle', CAR.device, AT, AT + MINUTE) as VehicleGps[];
    expect(fixes.length).toBeGreaterThanOrEqual(6); // every 10 s while driving
    for (const fix of fixes) {
      expect(outside(fix), JSON.stringify(fix)).toBe(true);
      expect(fix.ignition).toBe(true);
    }
    expect(fixes.some((fix) => fix.speed > 0)).toBe(true);
    // The water meter's reading at AT (on its 5-minute grid) already holds leaked water.
    const [water] = SIM.readings('meter', LEAK.device, AT, AT + MINUTE) as MeterReading[];
    const [plain] = PLAIN.readings('meter', LEAK.device, AT, AT + MINUTE) as MeterReading[];
    expect(water?.ts).toBe(AT);
    expect((water?.total as number) - (plain?.total as number)).toBeGreaterThan(
      LEAK.detail.flowM3h as number,
    );
  });

  it('keeps the leak flowing all night: every 5-minute step at least the leak flow, several times the usual', () => {
    const flow = LEAK.detail.flowM3h as number;
    const steps = (sim: Simulation) => {
      const readings = sim.readings('meter', LEAK.device, AT, local(2026, 11, 19, 6)) as MeterReading[];
      return readings.slice(1).map((r, i) => (r.total - (readings[i] as MeterReading).total) * 12); // m³/h
    };
    const leaking = steps(SIM);
    const usual = steps(PLAIN);
    expect(leaking).toHaveLength(41); // 02:30–06:00
    for (const [i, rate] of leaking.entries()) {
      expect(rate).toBeGreaterThan(flow * 0.95);
      expect(rate).toBeGreaterThan(3 * (usual[i] as number));
    }
    // The next night too (30 h from 01:00 reaches 07:00 the day after).
    const next = local(2026, 11, 20, 3);
    expect(
      SIM.meterEnergy(LEAK.device, next, next + HOUR) - PLAIN.meterEnergy(LEAK.device, next, next + HOUR),
    ).toBeCloseTo(flow, 6);
  });

  it('keeps the room conditioned and empty for two hours, where it would have been off', () => {
    const window = SIM.readings('sensor', ROOM.device, ROOM.from, ROOM.to) as SensorState[];
    expect(window).toHaveLength(150);
    expect(window.every((s) => s.occupancy === 0 && s.hvac !== 'off' && s.lights === false)).toBe(true);
    const plain = PLAIN.readings('sensor', ROOM.device, ROOM.from, ROOM.to) as SensorState[];
    expect(plain.every((s) => s.hvac === 'off')).toBe(true);
    const after = SIM.readings(
      'sensor',
      ROOM.device,
      ROOM.to + 5 * MINUTE,
      ROOM.to + 10 * MINUTE,
    ) as SensorState[];
    expect(after.every((s) => s.hvac === 'off')).toBe(true);
  });

  it('sends the car from the compound out of the area for hours, and back', () => {
    const trip = SIM.readings('vehicle', CAR.device, CAR.from, CAR.to + MINUTE) as VehicleGps[];
    const first = trip[0] as VehicleGps;
    const last = trip.at(-1) as VehicleGps;
    expect(pointInPolygon([first.lon, first.lat], COMPOUND)).toBe(true);
    expect(pointInPolygon([last.lon, last.lat], COMPOUND)).toBe(true);
    expect(last.ignition).toBe(false);
    const out = trip.filter(outside);
    expect(((out.at(-1) as VehicleGps).ts as number) - ((out[0] as VehicleGps).ts as number)).toBeGreaterThan(
      3 * HOUR,
    );
    // It crossed out of the area a little before AT, not long before.
    expect(AT - ((out[0] as VehicleGps).ts as number)).toBeGreaterThan(MINUTE);
    expect(AT - ((out[0] as VehicleGps).ts as number)).toBeLessThan(5 * MINUTE);
    // Its odometer runs on from where it was, by the length of the trip.
    const before = PLAIN.readings('vehicle', CAR.device, CAR.from - 10 * MINUTE, CAR.from)[0] as VehicleGps;
    expect(first.odometer).toBeCloseTo(before.odometer as number, 3);
    expect((last.odometer as number) - (first.odometer as number)).toBeCloseTo(
      CAR.detail.distanceKm as number,
      0,
    );
  });

  it('calls off the meetings of the room in a daytime episode', () => {
    const at = local(2026, 11, 18, 10, 7); // a Wednesday morning
    const sim = createSimulation(FACILITY, { seed: SEED, showcase: [at] });
    const room = showcaseOf(sim, at)['hvac-empty-room'] as PlantedFault;
    const day = [local(2026, 11, 18), local(2026, 11, 19)] as const;
    const overlapping = (s: Simulation) =>
      s.meetings(room.device, ...day).filter((m) => m.start < room.to && m.end > room.from);
    expect(overlapping(sim)).toEqual([]);
    const window = sim.readings('sensor', room.device, room.from, room.to) as SensorState[];
    expect(window.every((s) => s.occupancy === 0 && s.hvac !== 'off')).toBe(true);
  });

  it('is the same for the same seed and instant, and another for another instant', () => {
    const again = createSimulation(FACILITY, { seed: SEED }).withShowcase(AT);
    expect(again.showcase).toEqual([AT]);
    expect(again.withShowcase(AT)).toBe(again);
    expect(again.faults(AT - HOUR, AT + HOUR)).toEqual(SIM.faults(AT - HOUR, AT + HOUR));
    for (const fault of [LEAK, ROOM, CAR]) {
      expect(again.readings(fault.deviceKind, fault.device, AT, AT + HOUR)).toEqual(
        SIM.readings(fault.deviceKind, fault.device, AT, AT + HOUR),
      );
    }
    const later = showcaseOf(
      createSimulation(FACILITY, { seed: SEED, showcase: [AT + 3 * HOUR] }),
      AT + 3 * HOUR,
    );
    expect(
      [later['water-leak'], later['hvac-empty-room'], later['out-of-area-trip']].map((f) => f?.from),
    ).not.toEqual([LEAK.from, ROOM.from, CAR.from]);
  });
});

describe('showcase episodes over restarts', () => {
  it('adds an episode at a start unless the latest is still under way, and keeps every earlier one', () => {
    const a = local(2026, 11, 19, 9);
    expect(nextShowcase([], a, true)).toEqual([a]);
    expect(nextShowcase([], a, false)).toEqual([]);
    expect(nextShowcase([a], a + HOUR, true)).toEqual([a]);
    expect(nextShowcase([a], a + SHOWCASE_REPEAT_MS, true)).toEqual([a, a + SHOWCASE_REPEAT_MS]);
    expect(nextShowcase([a], a + 5 * HOUR, false)).toEqual([a]);
    expect(nextShowcase([a + HOUR, a, a], a + 9 * HOUR, true)).toEqual([a, a + HOUR, a + 9 * HOUR]);
  });

  it('continues what an earlier run stored: the same readings before the new episode, no register going back', () => {
    const a = AT;
    const b = local(2026, 11, 20, 15, 0); // a restart 36.5 h later
    const first = SIM; // episodes [a]
    const second = createSimulation(FACILITY, { seed: SEED, showcase: [a, b] });
    // Up to a few hours before the new episode, every device reads exactly as in the first run, but
    // the new leak's meter: it has leaked since the evening before (facility start writes that
    // meter's history again from there).
    const newLeak = showcaseOf(second, b)['water-leak'];
    expect(newLeak?.from).toBe(local(2026, 11, 19, 22));
    for (const device of first.devices()) {
      if (device.id === newLeak?.device) continue;
      expect(second.readings(device.kind, device.id, b - 6 * HOUR, b - 3 * HOUR), device.id).toEqual(
        first.readings(device.kind, device.id, b - 6 * HOUR, b - 3 * HOUR),
      );
    }
    // Wherever the first run stopped and the second took over, registers and odometers go on.
    const fresh = showcaseOf(second, b);
    const cumulative = (sim: Simulation, fault: PlantedFault) =>
      new Map(
        (
          sim.readings(fault.deviceKind, fault.device, b - 3 * HOUR, b + 6 * HOUR) as Array<
            MeterReading | VehicleGps
          >
        ).map((r) => [r.ts as number, 'total' in r ? r.total : (r.odometer as number)]),
      );
    let compared = 0;
    for (const fault of [fresh['water-leak'], fresh['out-of-area-trip'], LEAK, CAR]) {
      if (!fault) throw new Error('the second start planted no leak or no car');
      const later = cumulative(second, fault);
      for (const [ts, value] of cumulative(first, fault)) {
        const next = later.get(ts);
        if (next === undefined) continue;
        compared++;
        expect(next, `${fault.device} at ${new Date(ts).toISOString()}`).toBeGreaterThanOrEqual(value);
      }
    }
    expect(compared).toBeGreaterThan(300);
    // Why the earlier episodes are kept: a run that forgot the first would read its leaking meter
    // lower than what the first run stored.
    const forgetful = createSimulation(FACILITY, { seed: SEED, showcase: [b] });
    const t = b - 3 * HOUR;
    const stored = first.readings('meter', LEAK.device, t, t + 5 * MINUTE)[0] as MeterReading;
    const forgot = forgetful.readings('meter', LEAK.device, t, t + 5 * MINUTE)[0] as MeterReading;
    expect(forgot.total).toBeLessThan(stored.total - 5);
  });
});
