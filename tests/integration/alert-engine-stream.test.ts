/**
 * The alert rules judged on the stream, each driven by a fault the simulators plant on their weekly
 * schedule (seed 20261128, `simulators/faults.ts`), on a real DuckDB file through the rolling store,
 * the live feed and the engine, with the data's clock (tests/setup/alert-scenario.ts): the alert
 * fires once inside the fault, is acknowledged, survives a restart of the platform without firing
 * again, and resolves by itself once the fault is over.
 *
 * The windows below are worked out from the faults and the rules: a rule whose condition must hold
 * N minutes fires N minutes after the fault shows in the data (plus a step of the test), and an
 * alert resolves `clearMinutes` after the condition clears. Times are Chengdu time (UTC+8).
 */
import { describe, it } from 'vitest';
import { type AlertRule, RULE_DEFAULTS } from '../../core/alerts/rules.ts';
import { type LonLat, pointInPolygon } from '../../core/facility/geometry.ts';
import type { VehicleGps } from '../../core/telemetry.ts';
import { createSimulation, type PlantedFault } from '../../simulators/simulation.ts';
import { runScenario } from '../setup/alert-scenario.ts';
import { demoFacility } from '../setup/wait.ts';

const FACILITY = demoFacility();
const SIM = createSimulation(FACILITY, { seed: 20_261_128 });
const MIN = 60_000;
const HOUR = 60 * MIN;
/** Epoch ms of a Chengdu local time. */
const local = (m: number, d: number, h: number, min = 0) => Date.UTC(2026, m - 1, d, h - 8, min);

/** The planted fault of a kind on a device that starts at a local time. */
function fault(kind: PlantedFault['kind'], device: string, from: number): PlantedFault {
  const found = SIM.faults(from - HOUR, from + HOUR).find(
    (f) => f.kind === kind && f.device === device && f.from === from,
  );
  if (!found) throw new Error(`no ${kind} of ${device} at ${new Date(from).toISOString()}`);
  return found;
}

function rule<T extends AlertRule['type']>(type: T, overrides: Partial<AlertRule> = {}): AlertRule {
  return { id: type, type, ...RULE_DEFAULTS[type], ...overrides } as AlertRule;
}

describe('alert rules on the stream, each against its planted fault', () => {
  it('room-empty-conditioned: a meeting room’s HVAC left on overnight with nobody there', async () => {
    // s-b2-m0201, 18:00 → 08:30 the next day.
    const f = fault('hvac-empty-room', 's-b2-m0201', local(11, 4, 18));
    await runScenario({
      facility: FACILITY,
      simulation: SIM,
      rule: rule('room-empty-conditioned'),
      devices: ['s-b2-m0201'],
      historyFrom: f.from - 3 * HOUR,
      start: f.from - HOUR,
      end: f.to + 3 * HOUR,
      stepMs: 5 * MIN,
      coastMs: HOUR,
      subject: { kind: 'room', id: 'b2-m0201' },
      // The fan coil runs from 18:00 with nobody there: 15 minutes later. It stops at 08:30; the
      // step that commits that sample ends at 08:35, and 5 clear minutes later it resolves.
      fired: [f.from + 15 * MIN, f.from + 15 * MIN],
      resolved: [f.to + 10 * MIN, f.to + 10 * MIN],
    });
  });

  it('room-setpoint: a meeting room heated to 24 °C all day', async () => {
    const f = fault('setpoint-violation', 's-b1-m0301', local(11, 9, 9));
    await runScenario({
      facility: FACILITY,
      simulation: SIM,
      rule: rule('room-setpoint'),
      devices: ['s-b1-m0301'],
      historyFrom: f.from - 3 * HOUR,
      start: f.from - HOUR,
      end: f.to + 3 * HOUR,
      stepMs: 5 * MIN,
      coastMs: 30 * MIN,
      subject: { kind: 'room', id: 'b1-m0301' },
      // Heated from 14.6 °C at 09:00, the room passes 20 °C at 09:10 (20.7 °C): 30 minutes later,
      // 09:40. Heating stops at 17:00 (committed with the step to 17:05): 10 clear minutes, 17:15.
      fired: [local(11, 9, 9, 40), local(11, 9, 9, 40)],
      resolved: [f.to + 15 * MIN, f.to + 15 * MIN],
    });
  });

  it('room-co2: a packed meeting with the fresh air at 60 %', async () => {
    const f = fault('co2-packed-meeting', 's-b3-m302', local(11, 4, 14));
    await runScenario({
      facility: FACILITY,
      simulation: SIM,
      rule: rule('room-co2'),
      devices: ['s-b3-m302'],
      historyFrom: f.from - 3 * HOUR,
      start: f.from - HOUR,
      end: f.to + 3 * HOUR,
      stepMs: 5 * MIN,
      subject: { kind: 'room', id: 'b3-m302' },
      // 865 ppm at 14:15, 1045 at 14:25: over 1000 ppm from between them, 10 minutes on: the step
      // ending 14:35. The room empties at 16:30; CO2 falls under 950 ppm (the hysteresis) by 16:45
      // (843 ppm) and stays: 5 clear minutes, the step ending 16:50.
      fired: [local(11, 4, 14, 30), local(11, 4, 14, 35)],
      resolved: [local(11, 4, 16, 45), local(11, 4, 16, 50)],
    });
  });

  it('vehicle-off-hours: a car sent out on a Saturday afternoon', async () => {
    const f = fault('off-hours-trip', 'v05', local(11, 7, 14, 9));
    await runScenario({
      facility: FACILITY,
      simulation: SIM,
      rule: rule('vehicle-off-hours'),
      devices: ['v05'],
      historyFrom: f.from - 3 * HOUR,
      start: f.from - HOUR,
      end: f.to + 2 * HOUR,
      stepMs: MIN,
      coastMs: 10 * MIN,
      subject: { kind: 'vehicle', id: 'v05' },
      // Out at 14:09 (a Saturday): 3 minutes on the road. Parked in the compound at 15:51: 10
      // minutes later. The stop at the destination in between keeps it open.
      fired: [f.from + 3 * MIN, f.from + 4 * MIN],
      resolved: [f.to + 10 * MIN, f.to + 11 * MIN],
    });
  });

  it('vehicle-geofence: a car driven out of the service area to Xindu', async () => {
    const f = fault('out-of-area-trip', 'v07', local(11, 11, 9, 21));
    // Where the trip leaves the area and comes back, from its fixes.
    const area = (FACILITY.geofences.find((g) => g.id === 'service-area')?.polygon ?? []).map(
      ([lon, lat]) => [lon, lat] as LonLat,
    );
    const fixes = SIM.readings('vehicle', 'v07', f.from, f.to) as VehicleGps[];
    const outside = fixes.filter((x) => !pointInPolygon([x.lon, x.lat], area));
    const out = (outside[0] as VehicleGps).ts as number;
    const back = fixes.find((x) => (x.ts as number) > ((outside.at(-1) as VehicleGps).ts as number))
      ?.ts as number;
    await runScenario({
      facility: FACILITY,
      simulation: SIM,
      rule: rule('vehicle-geofence'),
      devices: ['v07'],
      historyFrom: f.from - 3 * HOUR,
      start: f.from - HOUR,
      end: f.to + 2 * HOUR,
      stepMs: MIN,
      coastMs: 10 * MIN,
      subject: { kind: 'vehicle', id: 'v07' },
      // The first fix outside (with the next 1-minute step); 2 minutes after the first fix back inside.
      fired: [out, out + MIN],
      resolved: [back + 2 * MIN, back + 3 * MIN],
    });
  });

  it('vehicle-speeding: a car above 80 km/h on the way to the airport', async () => {
    const found = SIM.faults(local(11, 5, 10), local(11, 5, 11)).find((x) => x.kind === 'speeding');
    const f = fault('speeding', 'v22', found?.from ?? 0);
    await runScenario({
      facility: FACILITY,
      simulation: SIM,
      rule: rule('vehicle-speeding'),
      devices: ['v22'],
      historyFrom: f.from - 2 * HOUR,
      start: f.from - 30 * MIN,
      end: f.to + 30 * MIN,
      stepMs: 20_000,
      subject: { kind: 'vehicle', id: 'v22' },
      // Above 80 km/h from the fault's start for 30 s (the next 20-second step); back under 75 km/h
      // at its end, and 1 minute later resolved.
      fired: [f.from + 30_000, f.from + 50_000],
      resolved: [f.to + MIN, f.to + MIN + 40_000],
    });
  });

  it('device-offline: a gas meter that sends nothing for 2.7 hours', async () => {
    // b4-g-boiler reports every 300 s: offline after 3 × 5 minutes of silence.
    const f = fault('meter-silent', 'b4-g-boiler', local(11, 7, 10, 7));
    await runScenario({
      facility: FACILITY,
      simulation: SIM,
      rule: rule('device-offline'),
      devices: ['b4-g-boiler'],
      historyFrom: f.from - 3 * HOUR,
      start: f.from - HOUR,
      end: f.to + HOUR,
      stepMs: 5 * MIN,
      coastMs: 30 * MIN,
      subject: { kind: 'meter', id: 'b4-g-boiler' },
      // Its last reading before the silence is at 10:05 (its 5-minute grid): silent over 15 minutes
      // from 10:20, seen at the step ending 10:22. Its next reading, 12:50, comes with that step.
      fired: [local(11, 7, 10, 20), local(11, 7, 10, 25)],
      resolved: [f.to, f.to + 5 * MIN],
    });
  });

  it('water-leak: flow that never stops at night', async () => {
    // b1-w-main leaks 0.28 m³/h from 03:00 on 15 November (a Sunday) to 18:00 on the 19th. The night
    // of the 15th is judged at 02:00 with its first two hours, before the leak; the night of the
    // 16th leaks throughout: it fires at 02:00 on the 16th; the night of the 20th is dry again: it
    // resolves at 02:00 on the 20th.
    // (the fault: water-leak of b1-w-main from local(11, 15, 3))
    await runScenario({
      facility: FACILITY,
      simulation: SIM,
      rule: rule('water-leak'),
      devices: ['b1-w-main'],
      historyFrom: local(11, 7, 0),
      start: local(11, 15, 23),
      end: local(11, 20, 4),
      stepMs: 15 * MIN,
      coastMs: HOUR,
      subject: { kind: 'meter', id: 'b1-w-main' },
      fired: [local(11, 16, 2), local(11, 16, 2, 15)],
      resolved: [local(11, 20, 2), local(11, 20, 2, 15)],
    });
  }, 120_000);
});
