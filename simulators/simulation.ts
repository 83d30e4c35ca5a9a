/**
 * A simulation of one facility: every meter, vehicle and room sensor in it, deterministic from a
 * seed. Pure: no I/O, no clock; time is always a parameter (epoch ms), so backfill and live
 * publishing are the same function asked about different ranges, and a value at time t is the
 * same whichever range it is generated in.
 *
 * ```ts
 * const sim = createSimulation(facility, { seed: 42 });
 * sim.readings('meter', 'b1-e-main', from, to);   // MeterReading[] on the meter's grid
 * sim.faults(from, to);                             // the planted faults in that range
 * sim.withShowcase(start);                          // the same, with the showcase faults under way at start
 * ```
 *
 * Each device draws from streams keyed by (seed, its id, …), so one device's readings do not
 * change when another is added. Physical links are kept on purpose: a parent meter measures its
 * sub-meters, and the HVAC meters and room temperatures share the site's weather.
 */
import type { Facility } from '../core/facility/schema.ts';
import type { DeviceKind, ReadingOfKind } from '../core/telemetry.ts';
import { type FaultCandidates, type FaultKind, FaultSchedule } from './faults.ts';
import { isHvacProfile, type MeterSizing, sizeMeters } from './meter-profiles.ts';
import { MeterModel } from './meters.ts';
import { type Place, placesFor } from './places.ts';
import { type Meeting, RoomModel } from './rooms.ts';
import { HOUR_MS, SiteClock } from './site-clock.ts';
import { type MissionInfo, VehicleModel } from './vehicles.ts';
import { Weather } from './weather.ts';

/** Options of {@link createSimulation}. */
export interface SimulationOptions {
  /** Any integer. The same facility and seed give the same readings, bit for bit. */
  readonly seed: number;
  /** Plant the scheduled faults (see `faults.ts`). Default true. */
  readonly faults?: boolean;
  /** Destinations for the cars. Default: real places in Chengdu for a site near Chengdu. */
  readonly places?: readonly Place[];
  /**
   * Instants (epoch ms) of showcase episodes: a water leak, a meeting room conditioned while
   * empty and a car outside the service area, under way at each instant (see `showcase.ts`).
   * Planted whatever `faults` says. Give every earlier episode too: they are history. Default none.
   */
  readonly showcase?: readonly number[];
}

/** A device the simulation drives. */
export interface SimulatedDevice {
  readonly kind: DeviceKind;
  readonly id: string;
  /** Seconds between readings (for a vehicle: while the ignition is on). */
  readonly interval: number;
  /** The plain demo secret, when the facility gives one (a `secretHash` cannot be logged in with). */
  readonly secret?: string;
}

/** A fault planted in the simulated data, as a test or an operator would look for it. */
export interface PlantedFault {
  readonly kind: FaultKind;
  readonly deviceKind: DeviceKind;
  /** Device id. */
  readonly device: string;
  /** Start, epoch ms. A `meter-reset` is an instant: `from === to`. */
  readonly from: number;
  /** End (exclusive), epoch ms. */
  readonly to: number;
  /** What happened, in a sentence. */
  readonly description: string;
  /** Parameters: building, flow (m³/h), destination, set point (°C)… */
  readonly detail: Readonly<Record<string, string | number>>;
  /** Planted by a showcase episode (`showcase.ts`), not the weekly schedule. */
  readonly showcase?: true;
}

/** A seeded simulation of a facility. See the module comment. */
export interface Simulation {
  readonly facility: Facility;
  readonly seed: number;
  /** First simulated instant: local midnight of 2024-01-01 at the site, epoch ms. */
  readonly epoch: number;
  /** Every device, meters then vehicles then sensors, in facility order. */
  devices(): readonly SimulatedDevice[];
  /**
   * Readings of one device with `ts` (epoch ms, on the device's grid) in `[from, to)`, ascending.
   * @throws RangeError for an unknown device or a range before {@link epoch}.
   */
  readings<K extends DeviceKind>(kind: K, id: string, from: number, to: number): ReadingOfKind[K][];
  /** Planted faults overlapping `[from, to)`, by start time. */
  faults(from: number, to: number): PlantedFault[];
  /** What meter `id` truly consumed in `[from, to)`, kWh or m³ (no reset, no gap). */
  meterEnergy(id: string, from: number, to: number): number;
  /** Nominal annual sizing of each meter (see `meter-profiles.ts`). */
  readonly sizing: ReadonlyMap<string, MeterSizing>;
  /** Missions of vehicle `id` departing in `[from, to)`. */
  missions(id: string, from: number, to: number): MissionInfo[];
  /** Meetings in the room of sensor `id` starting in `[from, to)`. */
  meetings(id: string, from: number, to: number): Meeting[];
  /** The `compound` polygon the vehicles park in (the facility's geofence, or a square). */
  readonly compound: ReadonlyArray<readonly [number, number]>;
  /** Simulated outdoor air temperature at the site at `t` (epoch ms), °C: what the plant and the rooms answer. */
  outdoorTemperature(t: number): number;
  /** Instants of the showcase episodes planted, ascending. */
  readonly showcase: readonly number[];
  /**
   * The same simulation with one more showcase episode at `at` (epoch ms); itself when it has one
   * there already.
   */
  withShowcase(at: number): Simulation;
}

/** Builds the simulation of a validated facility. Pure and quick (models are computed lazily). */
export function createSimulation(facility: Facility, options: SimulationOptions): Simulation {
  if (!Number.isInteger(options.seed)) throw new RangeError(`seed must be an integer, got ${options.seed}`);
  const showcase = [...new Set(options.showcase ?? [])].sort((a, b) => a - b);
  if (!showcase.every(Number.isFinite)) throw new RangeError('showcase instants must be finite epoch ms');
  const seed = options.seed;
  const clock = new SiteClock(facility);
  const weather = new Weather(seed);
  const sizing = sizeMeters(facility);
  const rooms = new Map(facility.rooms.map((room) => [room.id, room]));
  const parents = new Set(facility.meters.flatMap((m) => (m.parent ? [m.parent] : [])));
  const candidates: FaultCandidates = {
    hvacMeters: facility.meters
      .filter((m) => sizing.get(m.id)?.components.some((c) => isHvacProfile(c.profile)))
      .map((m) => m.id),
    creepMeters: facility.meters
      .filter(
        (m) =>
          m.kind === 'electricity' &&
          !parents.has(m.id) &&
          (m.system === 'lighting-sockets' || m.system === 'power' || m.system === 'department'),
      )
      .map((m) => m.id),
    waterMeters: facility.meters.filter((m) => m.kind === 'water').map((m) => m.id),
    meters: facility.meters.map((m) => m.id),
    vehicles: facility.vehicles.map((v) => v.id),
    hvacRooms: facility.sensors
      .filter(
        (s) =>
          rooms.get(s.room)?.type === 'meeting' &&
          s.measures.includes('hvac') &&
          s.measures.includes('temperature'),
      )
      .map((s) => s.id),
    packableRooms: facility.sensors.flatMap((s) => {
      const room = rooms.get(s.room);
      return room?.type === 'meeting' &&
        room.capacity <= 60 &&
        s.measures.includes('co2') &&
        s.measures.includes('occupancy')
        ? [{ sensor: s.id, capacity: room.capacity }]
        : [];
    }),
    emptyRooms: facility.sensors
      .filter(
        (s) =>
          rooms.get(s.room)?.type === 'meeting' &&
          s.measures.includes('hvac') &&
          s.measures.includes('occupancy'),
      )
      .map((s) => s.id),
    runnable: new Set(
      [...facility.meters, ...facility.vehicles, ...facility.sensors]
        .filter((d) => d.secret !== undefined)
        .map((d) => d.id),
    ),
  };
  for (const at of showcase) clock.assertSimulated(at, 'showcase');
  const schedule = new FaultSchedule(clock, weather, seed, options.faults ?? true, candidates, showcase);
  const meters = new MeterModel(facility, clock, weather, schedule, sizing, seed);
  const { lon, lat } = facility.site.location;
  const vehicles = new VehicleModel(
    facility,
    clock,
    schedule,
    seed,
    options.places ?? placesFor([lon, lat], seed),
  );
  const roomModel = new RoomModel(facility, clock, weather, schedule, seed);
  const meterById = new Map(facility.meters.map((m) => [m.id, m]));

  const devices: SimulatedDevice[] = [
    ...facility.meters.map((m) => device('meter', m)),
    ...facility.vehicles.map((v) => device('vehicle', v)),
    ...facility.sensors.map((s) => device('sensor', s)),
  ];

  function faults(from: number, to: number): PlantedFault[] {
    const out: PlantedFault[] = [];
    for (const fault of schedule.meterFaults(from, to)) {
      const meter = meterById.get(fault.meter);
      const base = {
        deviceKind: 'meter' as const,
        device: fault.meter,
        from: fault.from,
        to: fault.to,
        ...(fault.showcase ? { showcase: true as const } : {}),
      };
      switch (fault.kind) {
        case 'hvac-left-on':
          out.push({
            ...base,
            kind: fault.kind,
            description: `HVAC of building ${meter?.building} (meter ${fault.meter}) left running over the weekend`,
            detail: { building: meter?.building ?? '' },
          });
          break;
        case 'base-load-creep':
          out.push({
            ...base,
            kind: fault.kind,
            description: `night load (20:00–07:00) of meter ${fault.meter} creeps up to twice its base over 14 days`,
            detail: { building: meter?.building ?? '', factorAtEnd: 1 + fault.amount },
          });
          break;
        case 'water-leak':
          out.push({
            ...base,
            kind: fault.kind,
            description: `water leak of ${fault.amount} m³/h behind meter ${fault.meter}`,
            detail: { building: meter?.building ?? '', flowM3h: fault.amount },
          });
          break;
        case 'meter-reset':
          out.push({
            ...base,
            kind: fault.kind,
            description: `register of meter ${fault.meter} restarts from 0`,
            detail: {},
          });
          break;
        case 'meter-silent':
          out.push({
            ...base,
            kind: fault.kind,
            description: `meter ${fault.meter} sends nothing for ${hours(fault.to - fault.from)} h`,
            detail: { hours: hours(fault.to - fault.from) },
          });
          break;
      }
    }
    const first = clock.dayIndexOf(from) - 1;
    const last = clock.dayIndexOf(Math.max(from, to - 1));
    for (const mission of vehicles.faultMissions(first, last)) {
      const fault = mission.fault as FaultKind;
      const speeding = mission.legs.find((leg) => leg.speeding)?.speeding;
      const [start, end] = fault === 'speeding' && speeding ? speeding : [mission.depart, mission.return];
      if (start >= to || end <= from) continue;
      const destination = mission.destination;
      const description =
        fault === 'speeding'
          ? `vehicle ${mission.vehicle} drives over 80 km/h on the way to ${destination.name.en}`
          : fault === 'out-of-area-trip'
            ? `vehicle ${mission.vehicle} goes outside the service area, to ${destination.name.en}`
            : `vehicle ${mission.vehicle} dispatched out of working hours, to ${destination.name.en}`;
      out.push({
        kind: fault,
        deviceKind: 'vehicle',
        device: mission.vehicle,
        from: start,
        to: end,
        ...(mission.showcase ? { showcase: true as const } : {}),
        description,
        detail: {
          destination: destination.id,
          distanceKm: Math.round(mission.legs.reduce((s, l) => s + l.distanceKm, 0) * 10) / 10,
          maxSpeedKmh: Math.round(Math.max(...mission.legs.map((l) => l.maxSpeedKmh))),
        },
      });
    }
    for (const fault of schedule.roomFaults(from, to)) {
      const base = {
        deviceKind: 'sensor' as const,
        device: fault.sensor,
        from: fault.from,
        to: fault.to,
        ...(fault.showcase ? { showcase: true as const } : {}),
      };
      const room = facility.sensors.find((s) => s.id === fault.sensor)?.room ?? '';
      switch (fault.kind) {
        case 'hvac-empty-room':
          out.push({
            ...base,
            kind: fault.kind,
            description: fault.showcase
              ? `HVAC of room ${room} on with nobody there (its meetings were called off)`
              : `HVAC of room ${room} left on overnight with nobody there`,
            detail: { room },
          });
          break;
        case 'setpoint-violation':
          out.push({
            ...base,
            kind: fault.kind,
            description: `room ${room} ${fault.mode === 'heat' ? 'heated' : 'cooled'} to ${fault.setpoint} °C`,
            detail: { room, mode: fault.mode ?? 'cool', setpoint: fault.setpoint ?? 0 },
          });
          break;
        case 'co2-packed-meeting':
          out.push({
            ...base,
            kind: fault.kind,
            description: `${fault.attendance} people packed into room ${room} with the fresh air at 60 %`,
            detail: { room, attendance: fault.attendance ?? 0 },
          });
          break;
      }
    }
    return out.sort(
      (a, b) => a.from - b.from || a.kind.localeCompare(b.kind) || a.device.localeCompare(b.device),
    );
  }

  const simulation: Simulation = {
    facility,
    seed,
    epoch: clock.epoch,
    sizing,
    compound: vehicles.compound,
    devices: () => devices,
    readings<K extends DeviceKind>(kind: K, id: string, from: number, to: number): ReadingOfKind[K][] {
      switch (kind) {
        case 'meter':
          return meters.readings(id, from, to) as ReadingOfKind[K][];
        case 'vehicle':
          return vehicles.readings(id, from, to) as ReadingOfKind[K][];
        case 'sensor':
          return roomModel.readings(id, from, to) as ReadingOfKind[K][];
        default:
          throw new RangeError(`unknown device kind "${kind}"`);
      }
    },
    faults,
    meterEnergy: (id, from, to) => meters.energy(id, from, to),
    missions: (id, from, to) => vehicles.missions(id, from, to),
    meetings: (id, from, to) => roomModel.meetings(id, from, to),
    outdoorTemperature(t) {
      clock.assertSimulated(t, 'outdoor temperature');
      const day = clock.day(clock.dayIndexOf(t));
      return weather.temperature(day, (t - day.start) / HOUR_MS);
    },
    showcase,
    withShowcase(at) {
      return showcase.includes(at)
        ? simulation
        : createSimulation(facility, { ...options, showcase: [...showcase, at] });
    },
  };
  return simulation;
}

/** Hours of a duration, 2 decimals. */
function hours(ms: number): number {
  return Math.round(ms / 36_000) / 100;
}

function device(
  kind: DeviceKind,
  entry: { readonly id: string; readonly interval: number; readonly secret?: string },
): SimulatedDevice {
  return entry.secret === undefined
    ? { kind, id: entry.id, interval: entry.interval }
    : { kind, id: entry.id, interval: entry.interval, secret: entry.secret };
}
