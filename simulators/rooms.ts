/**
 * The room model: occupancy from bookings, office hours and meal times; temperature, humidity
 * and CO2 from simple first-order models driven by occupancy, the HVAC plant and the weather.
 *
 * Occupancy
 * - Meeting rooms follow a seeded booking schedule: on working days, from 09:00 every half hour
 *   a meeting may start (30 % chance in small rooms, 22 % from 40 seats, 10 % in a hall of 150
 *   or more), lasting 30–180 min and ending by 18:00, attended by 35–80 % of the seats; people
 *   trickle in over 5 min and out over the last 3. A day off has a 6 % chance of one meeting.
 * - Office zones follow a presence curve (arrivals 08:30–09:15, lunch 12:00–13:30, departures
 *   17:30–18:30, a few until 20:00) × the day's attendance (85–97 %); 3 % on duty on days off.
 * - The canteen fills at breakfast (07:45–08:45), lunch (11:30–13:15, up to 85 % of the seats)
 *   and dinner (17:45–19:00).
 *
 * Physics, per minute (exact exponential steps, so any step is stable)
 * - CO2: each person exhales 0.3 L/min; fresh air 30 m³/h per seat while the plant runs
 *   (GB 50736's figure for offices) and for 30 min after a meeting (a purge; the fan coil is off
 *   then, `hvac` reports `off`), 0.3 air changes an hour of infiltration otherwise; outdoor
 *   air 420 ppm. A meeting at 80 % of the seats settles near 900 ppm; at 110 % with the fresh air
 *   at 60 % (the planted fault), above 1,500.
 * - Temperature relaxes to outdoor + 4 °C (internal gains) with a 5 h time constant (2.5 h with
 *   fresh air); each person adds 100 W against 60 kJ/K per m² of room; while cooling or heating
 *   the plant pulls to its set point with a 10 min time constant. Set points follow the national
 *   rule with a margin: cooling 26.5 °C, heating 19.5 °C (`weather.ts`).
 * - Humidity: absolute humidity relaxes to outdoor air's, people add 50 g/h, a cooling coil
 *   dries toward 55 % at the set point.
 *
 * The building plant says what a room can do, minute by minute from the outdoor temperature
 * (`weather.ts`, the same balance points as the HVAC meters): cool above 22.5 °C outdoors, heat
 * below 15.5 °C, fans only in between — so a room is never cooled on a cold day nor heated on a
 * warm one, and rooms and HVAC meters change over together, with no step at a month boundary. A
 * room cools only while it would otherwise settle above the set point (+0.5 °C to start), heats
 * only while it would settle below it (−0.5 °C), and reports `cool` only while above 26.2 °C
 * (`heat` below 19.8 °C), `fan` otherwise; so without a planted fault no reading shows cooling
 * below 26 °C or heating above 20 °C.
 *
 * Each day is simulated from a nominal state at the start of the day before (24 h of warm-up),
 * so a reading does not depend on where generation started; what the nominal start leaves at
 * midnight (well under 0.1 °C and 1 ppm) is below the reported precision.
 */
import type { Facility, Room, Sensor } from '../core/facility/schema.ts';
import type { HvacMode, SensorState } from '../core/telemetry.ts';
import type { FaultSchedule, RoomFault } from './faults.ts';
import { Draw, keyOf, signed, unit } from './random.ts';
import { type LocalDay, MINUTE_MS, type SiteClock } from './site-clock.ts';
import {
  COOL_SETPOINT_C,
  HEAT_SETPOINT_C,
  INTERNAL_GAIN_C,
  plantMode,
  saturationVapour,
  type Weather,
} from './weather.ts';

const OUTDOOR_CO2 = 420;
/** ppm·m³ per minute per person: 0.3 L/min exhaled. */
const CO2_PER_PERSON = 300;
/** Fresh air per seat while the plant runs, m³/h. */
const FRESH_AIR_PER_SEAT = 30;
const INFILTRATION_ACH = 0.3;
const COOL_SET = COOL_SETPOINT_C;
const HEAT_SET = HEAT_SETPOINT_C;
const TAU_CLOSED_MIN = 300;
const TAU_VENTILATED_MIN = 150;
const TAU_PLANT_MIN = 10;
const TAU_COIL_MIN = 20;
/** K per minute per person per m²: 100 W × 60 s / 60 kJ/K. */
const HEAT_PER_PERSON = 0.1;
/** g per minute per person: 50 g/h. */
const MOISTURE_PER_PERSON = 50 / 60;
/** Minutes the fresh air runs on after a meeting to clear the room's CO2 (fan coil off). */
const PURGE_MIN = 30;
const TRACE_CACHE = 64;

const MODES: readonly HvacMode[] = ['off', 'cool', 'heat', 'fan'];
const OFF = 0;
const COOL = 1;
const HEAT = 2;
const FAN = 3;

/** A meeting in a room. */
export interface Meeting {
  /** Start and end (exclusive), epoch ms. */
  readonly start: number;
  readonly end: number;
  /** People expected. */
  readonly attendance: number;
  /** The planted `co2-packed-meeting` (fresh air at 60 %). */
  readonly packed: boolean;
}

interface SensorModelState {
  readonly sensor: Sensor;
  readonly room: Room;
  readonly index: number;
  /** m³. */
  readonly volume: number;
  /** m³/h while the plant runs. */
  readonly freshAir: number;
  readonly measures: ReadonlySet<string>;
  readonly intervalMs: number;
  readonly occupancyKey: number;
  readonly noiseKey: number;
  readonly attendanceKey: number;
}

/** A simulated day of one room, per minute. */
interface Trace {
  readonly day: LocalDay;
  readonly occupancy: Int16Array;
  readonly temperature: Float32Array;
  readonly humidity: Float32Array;
  readonly co2: Float32Array;
  readonly hvac: Uint8Array;
  readonly lights: Uint8Array;
}

/** What drives a room over one day, per minute. */
interface Drive {
  readonly occupancy: Int16Array;
  /** 1 while the plant (fresh air, fan coil) runs. */
  readonly on: Uint8Array;
  /** A forced mode (setpoint fault), or 0. */
  readonly forced: Uint8Array;
  readonly setpoint: Float32Array;
  /** Fresh-air factor (1, or 0.6 in the packed meeting). */
  readonly vent: Float32Array;
  /** 1 while the fresh air runs on after a meeting, the fan coil off. */
  readonly purge: Uint8Array;
}

/** Piecewise-linear curve through (minute of day, value) points. */
function curve(points: ReadonlyArray<readonly [number, number]>, minute: number): number {
  let prev = points[0] as readonly [number, number];
  if (minute <= prev[0]) return prev[1];
  for (const point of points) {
    if (minute <= point[0]) {
      const span = point[0] - prev[0];
      return span > 0 ? prev[1] + ((point[1] - prev[1]) * (minute - prev[0])) / span : point[1];
    }
    prev = point;
  }
  return prev[1];
}

const h = (hours: number, minutes = 0) => hours * 60 + minutes;

const OFFICE_WORK: ReadonlyArray<readonly [number, number]> = [
  [h(7, 30), 0],
  [h(8, 30), 0.35],
  [h(9), 0.8],
  [h(9, 30), 0.9],
  [h(11, 45), 0.88],
  [h(12), 0.45],
  [h(13), 0.5],
  [h(13, 30), 0.87],
  [h(17, 30), 0.84],
  [h(18), 0.35],
  [h(18, 30), 0.15],
  [h(20), 0.05],
  [h(21), 0.01],
  [h(21, 30), 0],
];
const OFFICE_OFF: ReadonlyArray<readonly [number, number]> = [
  [h(9), 0],
  [h(9, 30), 0.03],
  [h(16, 30), 0.03],
  [h(17), 0],
];
const CANTEEN_WORK: ReadonlyArray<readonly [number, number]> = [
  [h(7, 15), 0],
  [h(7, 45), 0.2],
  [h(8, 30), 0.22],
  [h(8, 50), 0],
  [h(11, 20), 0],
  [h(11, 45), 0.55],
  [h(12, 15), 0.85],
  [h(12, 45), 0.5],
  [h(13, 15), 0.05],
  [h(13, 30), 0],
  [h(17, 20), 0],
  [h(17, 50), 0.25],
  [h(18, 30), 0.2],
  [h(19), 0],
];
const CANTEEN_OFF: ReadonlyArray<readonly [number, number]> = [
  [h(11, 30), 0],
  [h(12), 0.06],
  [h(12, 45), 0.05],
  [h(13), 0],
];

/** Occupancy, HVAC state and indoor climate of every sensor's room. Pure in its outputs. */
export class RoomModel {
  readonly #clock: SiteClock;
  readonly #weather: Weather;
  readonly #faults: FaultSchedule;
  readonly #seed: number;
  readonly #states: SensorModelState[];
  readonly #byId: Map<string, SensorModelState>;
  readonly #traces = new Map<string, Trace>();

  constructor(facility: Facility, clock: SiteClock, weather: Weather, faults: FaultSchedule, seed: number) {
    this.#clock = clock;
    this.#weather = weather;
    this.#faults = faults;
    this.#seed = seed;
    const rooms = new Map(facility.rooms.map((room) => [room.id, room]));
    this.#states = facility.sensors.flatMap((sensor, index) => {
      const room = rooms.get(sensor.room);
      if (!room) return [];
      const height = room.type === 'meeting' && room.capacity >= 150 ? 6 : room.type === 'canteen' ? 4 : 3;
      return [
        {
          sensor,
          room,
          index,
          volume: room.area * height,
          freshAir: FRESH_AIR_PER_SEAT * room.capacity,
          measures: new Set(sensor.measures),
          intervalMs: sensor.interval * 1000,
          occupancyKey: keyOf(seed, 'occupancy', sensor.id),
          noiseKey: keyOf(seed, 'sensor-noise', sensor.id),
          attendanceKey: keyOf(seed, 'attendance', sensor.id),
        },
      ];
    });
    this.#byId = new Map(this.#states.map((s) => [s.sensor.id, s]));
  }

  #state(id: string): SensorModelState {
    const state = this.#byId.get(id);
    if (!state) throw new RangeError(`no sensor "${id}" in the facility (or its room is missing)`);
    return state;
  }

  #roomFaults(state: SensorModelState, day: LocalDay): RoomFault[] {
    return this.#faults.roomFaults(day.start, day.end).filter((f) => f.sensor === state.sensor.id);
  }

  /** Meetings of a meeting room on one local day, planted fault included. */
  #meetings(state: SensorModelState, day: LocalDay): Meeting[] {
    const { room } = state;
    if (room.type !== 'meeting') return [];
    const draw = new Draw(keyOf(this.#seed, 'bookings', state.sensor.id, day.index));
    const hall = room.capacity >= 150;
    let meetings: Meeting[] = [];
    const book = (startMin: number, minutes: number, share: number) => {
      meetings.push({
        start: day.start + startMin * MINUTE_MS,
        end: day.start + (startMin + minutes) * MINUTE_MS,
        attendance: Math.max(2, Math.round(room.capacity * share)),
        packed: false,
      });
    };
    if (day.worked) {
      const chance = hall ? 0.1 : room.capacity >= 40 ? 0.22 : 0.3;
      let t = h(9);
      while (t <= h(17)) {
        if (!draw.chance(chance)) {
          t += 30;
          continue;
        }
        const wanted = hall ? draw.pick([90, 120, 150, 180]) : draw.pick([30, 60, 60, 90, 90, 120, 150, 180]);
        const minutes = Math.min(wanted, h(18) - t);
        book(t, minutes, draw.between(hall ? 0.4 : 0.35, 0.8));
        t += minutes + draw.pick([0, 30, 30, 60]);
      }
    } else if (!hall && draw.chance(0.06)) {
      book(h(10), 120, draw.between(0.3, 0.5));
    }
    for (const fault of this.#roomFaults(state, day)) {
      // A room conditioned while empty: the meetings booked in it then were called off.
      if (fault.kind === 'hvac-empty-room') {
        meetings = meetings.filter((m) => m.end <= fault.from || m.start >= fault.to);
      }
      if (fault.kind !== 'co2-packed-meeting') continue;
      meetings = meetings.filter((m) => m.end <= fault.from || m.start >= fault.to);
      meetings.push({
        start: fault.from,
        end: fault.to,
        attendance: fault.attendance ?? room.capacity,
        packed: true,
      });
    }
    return meetings.sort((a, b) => a.start - b.start);
  }

  /** What drives the room on one day. */
  #drive(state: SensorModelState, day: LocalDay): Drive {
    const n = day.hours * 60;
    const occupancy = new Int16Array(n);
    const on = new Uint8Array(n);
    const forced = new Uint8Array(n);
    const setpoint = new Float32Array(n);
    const vent = new Float32Array(n).fill(1);
    const purge = new Uint8Array(n);
    const { room } = state;
    const base = day.index * 1500;
    if (room.type === 'meeting') {
      for (const meeting of this.#meetings(state, day)) {
        const first = Math.max(0, Math.round((meeting.start - day.start) / MINUTE_MS));
        const last = Math.min(n, Math.round((meeting.end - day.start) / MINUTE_MS));
        const length = last - first;
        for (let i = first; i < last; i++) {
          const j = i - first;
          const share = j < 5 ? 0.5 + 0.1 * j : j >= length - 3 ? 0.6 - 0.2 * (j - (length - 3)) : 1;
          const away = meeting.attendance >= 4 && unit(state.occupancyKey, base + i) < 0.2 ? 1 : 0;
          occupancy[i] = Math.max(1, Math.round(meeting.attendance * share) - away);
          on[i] = 1;
          if (meeting.packed) vent[i] = 0.6;
        }
        for (let i = last; i < Math.min(n, last + PURGE_MIN); i++) purge[i] = 1;
      }
    } else {
      const canteen = room.type === 'canteen';
      const points = canteen
        ? day.worked
          ? CANTEEN_WORK
          : CANTEEN_OFF
        : day.worked
          ? OFFICE_WORK
          : OFFICE_OFF;
      const attendance = 0.85 + 0.12 * unit(state.attendanceKey, day.index);
      const [onFrom, onTo] = canteen
        ? day.worked
          ? [h(7), h(19)]
          : [h(11), h(13, 30)]
        : day.worked
          ? [h(8, 30), h(18)]
          : [0, 0];
      for (let i = 0; i < n; i++) {
        const share = curve(points, i) * attendance * (1 + 0.03 * signed(state.occupancyKey, base + i));
        occupancy[i] = Math.max(0, Math.round(room.capacity * share));
        if (i >= onFrom && i < onTo) on[i] = 1;
      }
    }
    for (const fault of this.#roomFaults(state, day)) {
      const first = Math.max(0, Math.ceil((fault.from - day.start) / MINUTE_MS));
      const last = Math.min(n, Math.ceil((fault.to - day.start) / MINUTE_MS));
      for (let i = first; i < last; i++) {
        if (fault.kind === 'hvac-empty-room') on[i] = 1;
        if (fault.kind === 'setpoint-violation') {
          on[i] = 1;
          forced[i] = fault.mode === 'heat' ? HEAT : COOL;
          setpoint[i] = fault.setpoint ?? COOL_SET;
        }
      }
    }
    return { occupancy, on, forced, setpoint, vent, purge };
  }

  /** Simulated day `index` of a room (with a day of warm-up before it). */
  #trace(state: SensorModelState, index: number): Trace {
    const key = `${state.index}:${index}`;
    const cached = this.#traces.get(key);
    if (cached) return cached;
    const before = this.#clock.day(index - 1);
    const mean = this.#weather.dayMean(before);
    const climate = {
      temperature: mean + INTERNAL_GAIN_C,
      vapour: 0.8 * saturationVapour(mean),
      co2: OUTDOOR_CO2 + 10,
      cooling: false,
      heating: false,
    };
    this.#run(state, before, climate, undefined);
    const day = this.#clock.day(index);
    const n = day.hours * 60;
    const trace: Trace = {
      day,
      occupancy: new Int16Array(n),
      temperature: new Float32Array(n),
      humidity: new Float32Array(n),
      co2: new Float32Array(n),
      hvac: new Uint8Array(n),
      lights: new Uint8Array(n),
    };
    this.#run(state, day, climate, trace);
    if (this.#traces.size >= TRACE_CACHE) this.#traces.delete(this.#traces.keys().next().value as string);
    this.#traces.set(key, trace);
    return trace;
  }

  /** Steps a room through one day from `climate` (updated in place), recording into `trace`. */
  #run(
    state: SensorModelState,
    day: LocalDay,
    climate: { temperature: number; vapour: number; co2: number; cooling: boolean; heating: boolean },
    trace: Trace | undefined,
  ): void {
    const drive = this.#drive(state, day);
    const { volume, room } = state;
    const n = day.hours * 60;
    const base = day.index * 1500;
    for (let i = 0; i < n; i++) {
      const people = drive.occupancy[i] as number;
      const on = drive.on[i] === 1;
      const hour = i / 60;
      const outdoor = this.#weather.temperature(day, hour);
      const outdoorVapour = (this.#weather.humidity(hour) / 100) * saturationVapour(outdoor);
      const fresh = on || drive.purge[i] === 1;
      const achPerMin = fresh
        ? (state.freshAir * (on ? (drive.vent[i] as number) : 1)) / volume / 60
        : INFILTRATION_ACH / 60;
      const gain = (HEAT_PER_PERSON * people) / room.area;
      const tau = fresh ? TAU_VENTILATED_MIN : TAU_CLOSED_MIN;
      const free = outdoor + INTERNAL_GAIN_C + gain * tau;
      const plant = plantMode(outdoor);

      let mode = on ? FAN : OFF;
      let set = 0;
      let active = false;
      const forced = drive.forced[i] as number;
      if (forced !== 0) {
        mode = forced;
        set = drive.setpoint[i] as number;
        active = forced === COOL ? climate.temperature > set : climate.temperature < set;
      } else if (on && plant === 'cool') {
        climate.cooling = free > COOL_SET + (climate.cooling ? 0 : 0.5);
        if (climate.cooling) {
          set = COOL_SET;
          active = climate.temperature > set;
          if (climate.temperature > COOL_SET - 0.3) mode = COOL;
        }
      } else if (on && plant === 'heat') {
        climate.heating = free < HEAT_SET - (climate.heating ? 0 : 0.5);
        if (climate.heating) {
          set = HEAT_SET;
          active = climate.temperature < set;
          if (climate.temperature < HEAT_SET + 0.3) mode = HEAT;
        }
      } else {
        climate.cooling = false;
        climate.heating = false;
      }

      // Temperature: dT/dt = (outdoor + gains − T)/τ + people + plant.
      let a = 1 / tau;
      let b = (outdoor + INTERNAL_GAIN_C) / tau + gain;
      if (active) {
        a += 1 / TAU_PLANT_MIN;
        b += set / TAU_PLANT_MIN;
      }
      const temperatureEq = b / a;
      climate.temperature = temperatureEq + (climate.temperature - temperatureEq) * Math.exp(-a);

      // CO2: dC/dt = exhaled/V − ach × (C − outdoor).
      const co2Eq = OUTDOOR_CO2 + (CO2_PER_PERSON * people) / volume / achPerMin;
      climate.co2 = co2Eq + (climate.co2 - co2Eq) * Math.exp(-achPerMin);

      // Water vapour, g/m³.
      const drying = active && mode === COOL;
      let av = achPerMin;
      let bv = achPerMin * outdoorVapour + (MOISTURE_PER_PERSON * people) / volume;
      if (drying) {
        av += 1 / TAU_COIL_MIN;
        bv += (0.55 * saturationVapour(set)) / TAU_COIL_MIN;
      }
      const vapourEq = bv / av;
      climate.vapour = vapourEq + (climate.vapour - vapourEq) * Math.exp(-av);

      if (trace) {
        const noise = base + i;
        trace.occupancy[i] = people;
        trace.temperature[i] = climate.temperature + 0.1 * signed(state.noiseKey, noise);
        const relative = (100 * climate.vapour) / saturationVapour(climate.temperature);
        trace.humidity[i] = Math.min(
          98,
          Math.max(10, relative + 0.8 * signed(state.noiseKey ^ 0x5bd1e995, noise)),
        );
        trace.co2[i] = Math.max(380, climate.co2 + 8 * signed(state.noiseKey ^ 0x27d4eb2d, noise));
        trace.hvac[i] = mode;
        trace.lights[i] = people > 0 ? 1 : 0;
      }
    }
  }

  /** Meetings booked in room of sensor `id` that start in `[from, to)`, planted fault included. */
  meetings(id: string, from: number, to: number): Meeting[] {
    const state = this.#state(id);
    const out: Meeting[] = [];
    const last = this.#clock.dayIndexOf(Math.max(from, to - 1));
    for (let d = this.#clock.dayIndexOf(from); d <= last; d++) {
      for (const meeting of this.#meetings(state, this.#clock.day(d))) {
        if (meeting.start >= from && meeting.start < to) out.push(meeting);
      }
    }
    return out;
  }

  /**
   * State reports of sensor `id` with `ts` in `[from, to)`, on its interval grid, ascending; only
   * the fields the sensor `measures`. `ts` is epoch ms; temperature and humidity 1 decimal, CO2
   * whole ppm.
   */
  readings(id: string, from: number, to: number): SensorState[] {
    const state = this.#state(id);
    this.#clock.assertSimulated(from, `readings of ${id}`);
    const out: SensorState[] = [];
    const step = state.intervalMs;
    const m = state.measures;
    let t = Math.ceil(from / step) * step;
    if (t >= to) return out;
    let index = this.#clock.dayIndexOf(t);
    let trace = this.#trace(state, index);
    for (; t < to; t += step) {
      while (t >= trace.day.end) trace = this.#trace(state, ++index);
      const i = Math.min(trace.occupancy.length - 1, Math.floor((t - trace.day.start) / MINUTE_MS));
      const reading: { -readonly [K in keyof SensorState]: SensorState[K] } = { ts: t };
      if (m.has('occupancy')) reading.occupancy = trace.occupancy[i] as number;
      if (m.has('temperature')) reading.temperature = Math.round((trace.temperature[i] as number) * 10) / 10;
      if (m.has('humidity')) reading.humidity = Math.round((trace.humidity[i] as number) * 10) / 10;
      if (m.has('co2')) reading.co2 = Math.round(trace.co2[i] as number);
      if (m.has('hvac')) reading.hvac = MODES[trace.hvac[i] as number] as HvacMode;
      if (m.has('lights')) reading.lights = trace.lights[i] === 1;
      out.push(reading);
    }
    return out;
  }
}
