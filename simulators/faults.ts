/**
 * Planted faults: the waste and failures an operator should find, put in the simulated data on
 * a schedule that is deterministic from the seed, so tests of KPIs and alerts can assert that
 * each one is found (and that nothing is found where none was planted).
 *
 * The schedule is drawn per site week (weeks start on Monday; week 0 starts at
 * {@link SIM_EPOCH_DATE}). Each kind recurs every `period` weeks at a seeded phase, on a device
 * and at a time drawn from that week's own stream:
 *
 * | kind | every | what |
 * |---|---|---|
 * | `hvac-left-on` | 2 weeks | a building's HVAC plant runs from Friday 18:00 to Monday 08:00 at 60 % of its working load (at least 25 %) |
 * | `base-load-creep` | 4 weeks | a lighting/power sub-meter's night load (20:00–07:00) creeps up over 14 days, to twice its night base at the end, then drops back |
 * | `water-leak` | 3 weeks | a water meter gains a constant 0.2–0.5 m³/h for 2–5 days, night and day |
 * | `meter-reset` | 2 weeks | a meter's register restarts from 0 at a minute of the week |
 * | `meter-silent` | 1 week | a meter sends nothing for 2–8 hours |
 * | `off-hours-trip` | 1 week | a car is dispatched at night (21:00–22:30) on a working day, or in the daytime on a weekend or holiday |
 * | `out-of-area-trip` | 2 weeks | a car's first trip of a working day goes outside the `service-area` geofence |
 * | `speeding` | 1 week | a car drives 85–98 km/h for 2–4 km of a trip across the city |
 * | `hvac-empty-room` | 1 week | a meeting room's HVAC stays on from 18:00 to 08:30 the next day, nobody there |
 * | `setpoint-violation` | 2 weeks | a meeting room is cooled to 23 °C 09:00–17:00 (heated to 24 °C when the plant's dead band's middle, 19 °C, is warmer than those hours' mean outdoor temperature) |
 * | `co2-packed-meeting` | 1 week | a meeting of 110 % of the seats, 14:00–16:30, with the fresh air at 60 %: CO2 well over 1000 ppm |
 *
 * A kind without a suitable device in the facility (no water meter, no meeting room with HVAC…)
 * is not planted.
 *
 * Besides the weekly schedule, a simulation may be given showcase episodes (`showcase.ts`): a
 * leak, an empty conditioned room and a car out of the service area, planted at once at the start
 * of a live run. They are faults like the others, flagged `showcase`.
 */
import type { HvacMode } from '../core/telemetry.ts';
import { Draw, keyOf } from './random.ts';
import {
  SHOWCASE_LEAK_EVENING_MS,
  SHOWCASE_LEAK_FLOW,
  SHOWCASE_LEAK_LEAD_HOURS,
  SHOWCASE_LEAK_MS,
  SHOWCASE_LEAK_NIGHT_OVER_MS,
  SHOWCASE_ROOM_LEAD_MS,
  SHOWCASE_ROOM_MS,
} from './showcase.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, type SiteClock } from './site-clock.ts';
import { COOLING_BALANCE_C, HEATING_BALANCE_C, type Weather } from './weather.ts';

/** The kinds of planted fault. */
export const FAULT_KINDS = [
  'hvac-left-on',
  'base-load-creep',
  'water-leak',
  'meter-reset',
  'meter-silent',
  'off-hours-trip',
  'out-of-area-trip',
  'speeding',
  'hvac-empty-room',
  'setpoint-violation',
  'co2-packed-meeting',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** How often each kind recurs, in weeks. */
export const FAULT_PERIOD_WEEKS: Readonly<Record<FaultKind, number>> = {
  'hvac-left-on': 2,
  'base-load-creep': 4,
  'water-leak': 3,
  'meter-reset': 2,
  'meter-silent': 1,
  'off-hours-trip': 1,
  'out-of-area-trip': 2,
  speeding: 1,
  'hvac-empty-room': 1,
  'setpoint-violation': 2,
  'co2-packed-meeting': 1,
};

/** A fault of a meter: its consumption or its reporting. */
export interface MeterFault {
  readonly kind: 'hvac-left-on' | 'base-load-creep' | 'water-leak' | 'meter-reset' | 'meter-silent';
  readonly meter: string;
  /** Start, epoch ms. For `meter-reset`, the instant of the reset. */
  readonly from: number;
  /** End (exclusive), epoch ms. For `meter-reset`, equal to `from`. */
  readonly to: number;
  /** `water-leak`: flow, m³/h. `base-load-creep`: extra night load at the end, × the night base. */
  readonly amount: number;
  /** Planted by a showcase episode, not the weekly schedule. */
  readonly showcase?: true;
}

/** A fault of a vehicle: a trip planted on one day. */
export interface VehicleFault {
  readonly kind: 'off-hours-trip' | 'out-of-area-trip' | 'speeding';
  readonly vehicle: string;
  /** Local day index of the trip. */
  readonly day: number;
}

/** A fault of a room, as its sensor sees it. */
export interface RoomFault {
  readonly kind: 'hvac-empty-room' | 'setpoint-violation' | 'co2-packed-meeting';
  readonly sensor: string;
  readonly from: number;
  readonly to: number;
  /** HVAC mode forced (`setpoint-violation`). */
  readonly mode?: HvacMode;
  /** Set point, °C (`setpoint-violation`). */
  readonly setpoint?: number;
  /** People in the packed meeting (`co2-packed-meeting`). */
  readonly attendance?: number;
  /** Planted by a showcase episode, not the weekly schedule. */
  readonly showcase?: true;
}

/** A car a showcase episode sends out of the service area (the vehicle model plans the trip). */
export interface ShowcaseTrip {
  readonly vehicle: string;
  /** The car must be outside the service area, driving, from a little before this, epoch ms. */
  readonly at: number;
}

/** The faults of one showcase episode. */
interface Episode {
  readonly at: number;
  readonly meters: readonly MeterFault[];
  readonly rooms: readonly RoomFault[];
  readonly trips: readonly ShowcaseTrip[];
}

/** The faults drawn for one week. */
export interface WeekFaults {
  readonly meters: readonly MeterFault[];
  readonly vehicles: readonly VehicleFault[];
  readonly rooms: readonly RoomFault[];
}

/** Devices each kind may be planted on (ids, in facility order). */
export interface FaultCandidates {
  /** Meters whose own consumption is an HVAC plant. */
  readonly hvacMeters: readonly string[];
  /** Electricity sub-meters of lighting, sockets or power without sub-meters of their own. */
  readonly creepMeters: readonly string[];
  readonly waterMeters: readonly string[];
  readonly meters: readonly string[];
  readonly vehicles: readonly string[];
  /** Sensors that report `hvac` and `temperature` in meeting rooms. */
  readonly hvacRooms: readonly string[];
  /** Sensors that report `co2` and `occupancy` in meeting rooms of at most 60 seats, with capacities. */
  readonly packableRooms: ReadonlyArray<{ readonly sensor: string; readonly capacity: number }>;
  /** Sensors that report `hvac` and `occupancy` in meeting rooms (the showcase's empty room). */
  readonly emptyRooms: readonly string[];
  /** Devices with a plain `secret`, which a live run can log in as (the showcase prefers them). */
  readonly runnable: ReadonlySet<string>;
}

const NO_FAULTS: WeekFaults = { meters: [], vehicles: [], rooms: [] };

/** The fault schedule of one simulation. */
export class FaultSchedule {
  readonly #clock: SiteClock;
  readonly #weather: Weather;
  readonly #seed: number;
  readonly #enabled: boolean;
  readonly #candidates: FaultCandidates;
  readonly #weeks = new Map<number, WeekFaults>();
  readonly #phase: Readonly<Record<FaultKind, number>>;
  /** Reset instants per meter, ascending, for weeks below {@link #resetsKnownTo}. */
  readonly #resets = new Map<string, number[]>();
  #resetsKnownTo = 0;
  /** Instants of the showcase episodes, ascending. */
  readonly #showcaseAt: readonly number[];
  #episodes: readonly Episode[] | undefined;

  /**
   * @param enabled plant the weekly schedule
   * @param showcase instants of showcase episodes (epoch ms), planted whether `enabled` or not
   */
  constructor(
    clock: SiteClock,
    weather: Weather,
    seed: number,
    enabled: boolean,
    candidates: FaultCandidates,
    showcase: readonly number[] = [],
  ) {
    this.#clock = clock;
    this.#weather = weather;
    this.#seed = seed;
    this.#enabled = enabled;
    this.#candidates = candidates;
    this.#showcaseAt = [...new Set(showcase)].sort((a, b) => a - b);
    this.#phase = Object.fromEntries(
      FAULT_KINDS.map((kind) => [kind, keyOf(seed, 'fault-phase', kind) % FAULT_PERIOD_WEEKS[kind]]),
    ) as Record<FaultKind, number>;
  }

  /** Whether a kind is planted in week `week`. */
  #active(kind: FaultKind, week: number): boolean {
    return this.#enabled && week >= 0 && week % FAULT_PERIOD_WEEKS[kind] === this.#phase[kind];
  }

  /** The faults of week `week` (week 0 starts on day 0). */
  week(week: number): WeekFaults {
    if (!this.#enabled || week < 0) return NO_FAULTS;
    let faults = this.#weeks.get(week);
    if (faults === undefined) {
      faults = this.#draw(week);
      this.#weeks.set(week, faults);
    }
    return faults;
  }

  /** Faults of the weeks that can overlap local days `firstDay`…`lastDay` (creeps last 2 weeks). */
  weeksAround(firstDay: number, lastDay: number): WeekFaults[] {
    const out: WeekFaults[] = [];
    for (let w = Math.floor(firstDay / 7) - 2; w <= Math.floor(lastDay / 7); w++) out.push(this.week(w));
    return out;
  }

  /** Meter faults overlapping `[from, to)` (a reset counts at its instant), showcase included. */
  meterFaults(from: number, to: number): MeterFault[] {
    const out = this.#scheduledMeterFaults(from, to);
    for (const episode of this.#showcase()) {
      for (const fault of episode.meters) if (fault.from < to && fault.to > from) out.push(fault);
    }
    return out;
  }

  /** Meter faults of the weekly schedule overlapping `[from, to)`. */
  #scheduledMeterFaults(from: number, to: number): MeterFault[] {
    const out: MeterFault[] = [];
    const first = this.#clock.dayIndexOf(from);
    const last = this.#clock.dayIndexOf(Math.max(from, to - 1));
    for (const week of this.weeksAround(first, last)) {
      for (const fault of week.meters) {
        const overlaps =
          fault.kind === 'meter-reset'
            ? fault.from >= from && fault.from < to
            : fault.from < to && fault.to > from;
        if (overlaps) out.push(fault);
      }
    }
    return out;
  }

  /** Room faults overlapping `[from, to)`, showcase included. */
  roomFaults(from: number, to: number): RoomFault[] {
    const out = this.#scheduledRoomFaults(from, to);
    for (const episode of this.#showcase()) {
      for (const fault of episode.rooms) if (fault.from < to && fault.to > from) out.push(fault);
    }
    return out;
  }

  /** Room faults of the weekly schedule overlapping `[from, to)`. */
  #scheduledRoomFaults(from: number, to: number): RoomFault[] {
    const out: RoomFault[] = [];
    const first = this.#clock.dayIndexOf(from);
    const last = this.#clock.dayIndexOf(Math.max(from, to - 1));
    for (const week of this.weeksAround(first, last)) {
      for (const fault of week.rooms) if (fault.from < to && fault.to > from) out.push(fault);
    }
    return out;
  }

  /** Cars sent out of the service area by the showcase episodes, by instant. */
  showcaseTrips(): ShowcaseTrip[] {
    return this.#showcase().flatMap((episode) => episode.trips);
  }

  /** The showcase episodes, drawn once, each knowing the earlier ones. */
  #showcase(): readonly Episode[] {
    if (this.#episodes === undefined) {
      const episodes: Episode[] = [];
      for (const at of this.#showcaseAt) episodes.push(this.#drawEpisode(at, episodes));
      this.#episodes = episodes;
    }
    return this.#episodes;
  }

  /** One showcase episode at `at` (see `showcase.ts`), from the seed and `at` alone. */
  #drawEpisode(at: number, earlier: readonly Episode[]): Episode {
    const clock = this.#clock;
    const c = this.#candidates;
    const draw = new Draw(keyOf(this.#seed, 'showcase', at));
    const prefer = (ids: readonly string[]) => {
      const runnable = ids.filter((id) => c.runnable.has(id));
      return runnable.length > 0 ? runnable : ids;
    };
    const meters: MeterFault[] = [];
    const rooms: RoomFault[] = [];
    const trips: ShowcaseTrip[] = [];
    const day = clock.day(clock.dayIndexOf(at));

    // The leak starts and ends on whole local hours, the meter model's anchors: it began the evening
    // before the last night that is 2 hours old at `at` (a night-flow check at the start sees a
    // night of it), and runs through the coming night.
    const hourOfAt = day.start + Math.floor((at - day.start) / HOUR_MS) * HOUR_MS;
    const leakTo = hourOfAt - SHOWCASE_LEAK_LEAD_HOURS * HOUR_MS + SHOWCASE_LEAK_MS;
    const night = clock.day(clock.dayIndexOf(at - SHOWCASE_LEAK_NIGHT_OVER_MS));
    const leakFrom = night.start - SHOWCASE_LEAK_EVENING_MS;
    const busyMeters = new Set([
      ...this.#scheduledMeterFaults(leakFrom - HOUR_MS, leakTo + HOUR_MS)
        .filter((f) => f.kind === 'water-leak' || f.kind === 'meter-silent' || f.kind === 'meter-reset')
        .map((f) => f.meter),
      ...earlier.flatMap((e) =>
        e.meters.filter((f) => f.from < leakTo && f.to > leakFrom).map((f) => f.meter),
      ),
    ]);
    const waterMeters = prefer(c.waterMeters.filter((id) => !busyMeters.has(id)));
    if (waterMeters.length > 0) {
      const [low, high] = SHOWCASE_LEAK_FLOW;
      meters.push({
        kind: 'water-leak',
        meter: draw.pick(waterMeters),
        from: leakFrom,
        to: leakTo,
        amount: Math.round(draw.between(low, high) * 100) / 100,
        showcase: true,
      });
    }

    const roomFrom = at - SHOWCASE_ROOM_LEAD_MS;
    const roomTo = at + SHOWCASE_ROOM_MS;
    const busyRooms = new Set([
      ...this.#scheduledRoomFaults(roomFrom - HOUR_MS, roomTo + HOUR_MS).map((f) => f.sensor),
      ...earlier.flatMap((e) =>
        e.rooms.filter((f) => f.from < roomTo && f.to > roomFrom).map((f) => f.sensor),
      ),
    ]);
    const emptyRooms = prefer(c.emptyRooms.filter((id) => !busyRooms.has(id)));
    if (emptyRooms.length > 0) {
      rooms.push({
        kind: 'hvac-empty-room',
        sensor: draw.pick(emptyRooms),
        from: roomFrom,
        to: roomTo,
        showcase: true,
      });
    }

    // A car with no planted trip around that day, nor one of an earlier episode within a day.
    const busyCars = new Set([
      ...[day.index - 1, day.index, day.index + 1].flatMap((d) =>
        this.vehicleFaults(d).map((f) => f.vehicle),
      ),
      ...earlier.flatMap((e) => e.trips.filter((t) => Math.abs(t.at - at) < DAY_MS).map((t) => t.vehicle)),
    ]);
    const vehicles = prefer(c.vehicles.filter((id) => !busyCars.has(id)));
    if (vehicles.length > 0) trips.push({ vehicle: draw.pick(vehicles), at });
    return { at, meters, rooms, trips };
  }

  /** Vehicle faults planted on local day `day`. */
  vehicleFaults(day: number): VehicleFault[] {
    return this.week(Math.floor(day / 7)).vehicles.filter((fault) => fault.day === day);
  }

  /** Reset instants of a meter at or before `t`, ascending. */
  resetsUpTo(meter: string, t: number): number[] {
    const lastWeek = Math.floor(this.#clock.dayIndexOf(t) / 7);
    while (this.#resetsKnownTo <= lastWeek) {
      for (const fault of this.week(this.#resetsKnownTo).meters) {
        if (fault.kind !== 'meter-reset') continue;
        const list = this.#resets.get(fault.meter) ?? [];
        list.push(fault.from);
        this.#resets.set(fault.meter, list);
      }
      this.#resetsKnownTo++;
    }
    return (this.#resets.get(meter) ?? []).filter((at) => at <= t);
  }

  #draw(week: number): WeekFaults {
    const clock = this.#clock;
    const c = this.#candidates;
    const draw = new Draw(keyOf(this.#seed, 'faults', week));
    const firstDay = week * 7;
    const weekStart = clock.day(firstDay).start;
    const weekEnd = clock.day(firstDay + 7).start;
    const worked = [0, 1, 2, 3, 4, 5, 6].map((i) => firstDay + i).filter((d) => clock.day(d).worked);
    const meters: MeterFault[] = [];
    const vehicles: VehicleFault[] = [];
    const rooms: RoomFault[] = [];

    if (this.#active('hvac-left-on', week) && c.hvacMeters.length > 0) {
      meters.push({
        kind: 'hvac-left-on',
        meter: draw.pick(c.hvacMeters),
        from: clock.day(firstDay + 4).start + 18 * HOUR_MS,
        to: clock.day(firstDay + 7).start + 8 * HOUR_MS,
        amount: 0,
      });
    }
    if (this.#active('base-load-creep', week) && c.creepMeters.length > 0) {
      const meter = draw.pick(c.creepMeters);
      const startDay = firstDay + draw.int(0, 6);
      meters.push({
        kind: 'base-load-creep',
        meter,
        from: clock.day(startDay).start,
        to: clock.day(startDay + 14).start,
        amount: 1,
      });
    }
    if (this.#active('water-leak', week) && c.waterMeters.length > 0) {
      const meter = draw.pick(c.waterMeters);
      const from = clock.day(firstDay + draw.int(0, 6)).start + draw.int(0, 23) * HOUR_MS;
      meters.push({
        kind: 'water-leak',
        meter,
        from,
        to: from + draw.int(48, 120) * HOUR_MS,
        amount: Math.round(draw.between(0.2, 0.5) * 100) / 100,
      });
    }
    let resetMeter: string | undefined;
    if (this.#active('meter-reset', week) && c.meters.length > 0) {
      resetMeter = draw.pick(c.meters);
      const at = weekStart + draw.int(0, (weekEnd - weekStart) / MINUTE_MS - 1) * MINUTE_MS;
      meters.push({ kind: 'meter-reset', meter: resetMeter, from: at, to: at, amount: 0 });
    }
    if (this.#active('meter-silent', week) && c.meters.length > 0) {
      const others = c.meters.filter((id) => id !== resetMeter);
      const meter = draw.pick(others.length > 0 ? others : c.meters);
      const from = weekStart + draw.int(0, (weekEnd - weekStart) / MINUTE_MS - 1) * MINUTE_MS;
      meters.push({
        kind: 'meter-silent',
        meter,
        from,
        to: from + draw.int(120, 480) * MINUTE_MS,
        amount: 0,
      });
    }

    // One vehicle per fault kind and week, so a day's plan carries at most one planted fault.
    const freeVehicles = [...c.vehicles];
    const takeVehicle = () => {
      const vehicle = draw.pick(freeVehicles);
      freeVehicles.splice(freeVehicles.indexOf(vehicle), 1);
      return vehicle;
    };
    if (this.#active('off-hours-trip', week) && freeVehicles.length > 0) {
      vehicles.push({ kind: 'off-hours-trip', vehicle: takeVehicle(), day: firstDay + draw.int(0, 6) });
    }
    if (this.#active('out-of-area-trip', week) && freeVehicles.length > 0 && worked.length > 0) {
      vehicles.push({ kind: 'out-of-area-trip', vehicle: takeVehicle(), day: draw.pick(worked) });
    }
    if (this.#active('speeding', week) && freeVehicles.length > 0 && worked.length > 0) {
      vehicles.push({ kind: 'speeding', vehicle: takeVehicle(), day: draw.pick(worked) });
    }

    const usedRooms = new Set<string>();
    const freeOf = (ids: readonly string[]) => ids.filter((id) => !usedRooms.has(id));
    if (this.#active('hvac-empty-room', week) && c.hvacRooms.length > 0 && worked.length > 0) {
      const sensor = draw.pick(c.hvacRooms);
      usedRooms.add(sensor);
      const day = clock.day(draw.pick(worked));
      rooms.push({
        kind: 'hvac-empty-room',
        sensor,
        from: day.start + 18 * HOUR_MS,
        to: clock.day(day.index + 1).start + 8.5 * HOUR_MS,
      });
    }
    if (this.#active('setpoint-violation', week) && freeOf(c.hvacRooms).length > 0 && worked.length > 0) {
      const sensor = draw.pick(freeOf(c.hvacRooms));
      usedRooms.add(sensor);
      const day = clock.day(draw.pick(worked));
      // Someone cools a warm room, or heats a cold one, past the rule: the mode the plant is
      // nearer to over those hours (a room is not cooled on a cold day).
      let outdoor = 0;
      for (let hour = 9; hour < 17; hour++) outdoor += this.#weather.temperature(day, hour + 0.5) / 8;
      const heating = outdoor < (HEATING_BALANCE_C + COOLING_BALANCE_C) / 2;
      rooms.push({
        kind: 'setpoint-violation',
        sensor,
        from: day.start + 9 * HOUR_MS,
        to: day.start + 17 * HOUR_MS,
        mode: heating ? 'heat' : 'cool',
        setpoint: heating ? 24 : 23,
      });
    }
    const packable = c.packableRooms.filter((room) => !usedRooms.has(room.sensor));
    if (this.#active('co2-packed-meeting', week) && packable.length > 0 && worked.length > 0) {
      const room = draw.pick(packable);
      const day = clock.day(draw.pick(worked));
      rooms.push({
        kind: 'co2-packed-meeting',
        sensor: room.sensor,
        from: day.start + 14 * HOUR_MS,
        to: day.start + 16.5 * HOUR_MS,
        attendance: Math.ceil(room.capacity * 1.1),
      });
    }
    return { meters, vehicles, rooms };
  }
}
