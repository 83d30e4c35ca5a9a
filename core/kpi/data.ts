/**
 * Where the KPI services get their numbers: {@link KpiData}, in two implementations that must
 * give the same answers.
 *
 * - {@link rollupData} (the default): sums of whole 15-minute buckets of the rollups, plus an exact
 *   computation of the partial buckets at off-grid edges from the raw points (core/rollup/query.ts).
 *   A year of a site costs tens of thousands of rollup rows instead of tens of millions of points.
 * - {@link rawData}: the reference — every raw point of each device, through the pure functions of
 *   core/register.ts, core/kpi/vehicle.ts and core/kpi/room.ts. What "the figures" mean; the
 *   property tests compare the two figure by figure, and `facility rollups verify` can.
 */
import { registerRules, unknownMeterRules } from '../facility/meter-rules.ts';
import type { Facility, Room } from '../facility/schema.ts';
import { adjustRegister, READING_STATUS, type RegisterRules } from '../register.ts';
import {
  type MeterIntervals,
  type MeterQuality,
  meterIntervals,
  meterQuality,
  qualityWindow,
  type RoomSpec,
  roomIntervals,
  tripsFrom,
  type VehicleField,
  type VehicleIntervals,
  vehicleIntervals,
} from '../rollup/query.ts';
import { fixColumns, mergeSensors } from '../rollup/rolling-store.ts';
import { foldTrips, type TripRecord } from '../rollup/vehicle.ts';
import { numberColumn, queryColumns, type TimeSeriesStore } from '../store.ts';
import {
  DEFAULT_ROOM_RULES,
  type RoomColumns,
  type RoomIntegrals,
  type RoomRules,
  roomIntegrals,
  UNKNOWN_SENSOR_INTERVAL_S,
} from './room.ts';
import type { KpiContext } from './types.ts';
import {
  DEFAULT_VEHICLE_RULES,
  type VehicleFixColumns,
  type VehicleRules,
  vehicleIntegrals,
} from './vehicle.ts';

/** Per meter (that has data), consumption and covered ms per interval between edges. */
export type MeterData = ReadonlyMap<string, MeterIntervals>;

/** The numbers behind every figure; `edges` are strictly ascending whole epoch ms, at least 2. */
export interface KpiData {
  meterIntervals(meters: readonly string[], edges: readonly number[]): Promise<MeterData>;
  /** Per meter with readings there, how its readings in the 15-minute buckets `[from, to)` touches were judged. */
  meterQuality(
    meters: readonly string[],
    from: number,
    to: number,
  ): Promise<ReadonlyMap<string, MeterQuality>>;
  /** Per room with a sensor: the integrals of each interval. */
  roomIntervals(
    rooms: readonly Room[],
    edges: readonly number[],
  ): Promise<ReadonlyMap<string, RoomIntegrals[]>>;
  /**
   * Per car: idle time, energy, speeding starts and fixes of each interval; with `fields`, those
   * at least (the others may be 0).
   */
  vehicleIntervals(
    vehicles: readonly string[],
    edges: readonly number[],
    fields?: readonly VehicleField[],
  ): Promise<ReadonlyMap<string, VehicleIntervals>>;
  /** Per car, its trips that start in [from, to), oldest first. */
  trips(vehicles: readonly string[], from: number, to: number): Promise<ReadonlyMap<string, TripRecord[]>>;
}

/** Reporting interval assumed for a meter the facility file does not list, seconds. */
const DEFAULT_INTERVAL_SECONDS = 60;
/** How far ahead of the clock a reading may be stamped (the ingest's allowance is 5 minutes). */
const HORIZON_MS = 86_400_000;
/** The whole time line, for reads of "every point". */
const ALL = { from: -8.64e15, to: 8.64e15 };

/** The rules of a meter id (defaults for one the facility no longer lists). */
export function meterRulesOf(facility: Facility, id: string): RegisterRules {
  const meter = facility.meters.find((m) => m.id === id);
  return meter ? registerRules(meter) : unknownMeterRules(DEFAULT_INTERVAL_SECONDS);
}

function roomSpec(facility: Facility, room: Room): RoomSpec {
  return {
    id: room.id,
    sensors: new Map(facility.sensors.filter((s) => s.room === room.id).map((s) => [s.id, s.interval])),
  };
}

/** A room's samples in [from, to), its sensors merged, each sample with its hold. */
async function readRoom(
  store: TimeSeriesStore,
  facility: Facility,
  room: RoomSpec,
  rules: RoomRules,
  from: number,
  to: number,
): Promise<RoomColumns> {
  return (await readRooms(store, facility, [room], rules, from, to)).get(room.id) ?? mergeSensors([], []);
}

/** Rooms' samples in [from, to), in one read: per room with samples, its sensors merged. */
async function readRooms(
  store: TimeSeriesStore,
  facility: Facility,
  rooms: readonly RoomSpec[],
  rules: RoomRules,
  from: number,
  to: number,
): Promise<Map<string, RoomColumns>> {
  const out = new Map<string, RoomColumns>();
  if (rooms.length === 0) return out;
  const series = await queryColumns(store, {
    measurement: 'sensor',
    fields: ['occupancy', 'temperature', 'co2', 'hvac', 'lights'],
    where: { site: facility.site.id, room: rooms.map((r) => r.id) },
    groupBy: ['room', 'sensor'],
    from,
    to,
  });
  for (const room of rooms) {
    const own = series.filter((s) => s.tags.room === room.id);
    if (own.length === 0) continue;
    out.set(
      room.id,
      mergeSensors(
        own,
        own.map(
          (s) =>
            rules.holdIntervals * (room.sensors.get(s.tags.sensor ?? '') ?? UNKNOWN_SENSOR_INTERVAL_S) * 1000,
        ),
      ),
    );
  }
  return out;
}

/** The longest hold of a room's samples, a sensor no longer listed included. */
function holdOf(room: RoomSpec, rules: RoomRules): number {
  return rules.holdIntervals * Math.max(UNKNOWN_SENSOR_INTERVAL_S, ...room.sensors.values()) * 1000;
}

/**
 * Cars' fixes in [from, to), in three reads whatever the number of cars: per car with fixes there,
 * with the counter's last fuel value before them as a fix of its own when none read carries it.
 */
async function readFixes(
  store: TimeSeriesStore,
  facility: Facility,
  vehicles: readonly string[],
  from: number,
  to: number,
): Promise<Map<string, VehicleFixColumns>> {
  const out = new Map<string, VehicleFixColumns>();
  if (vehicles.length === 0) return out;
  const where = { site: facility.site.id, vehicle: [...vehicles] };
  const series = await queryColumns(store, {
    measurement: 'vehicle',
    fields: ['lat', 'lon', 'speed', 'ignition', 'odometer', 'fuel'],
    where,
    groupBy: ['vehicle'],
    from,
    to,
  });
  const fuelBefore = new Map(
    (await store.latest({ measurement: 'vehicle', fields: ['fuel'], where, before: from })).flatMap((p) => {
      const fuel = p.values.fuel;
      return typeof fuel === 'number' ? [[p.tags.vehicle ?? '', { time: p.time, fuel }] as const] : [];
    }),
  );
  for (const vehicle of vehicles) {
    const fixes = fixColumns(series.filter((s) => s.tags.vehicle === vehicle));
    if (fixes.time.length === 0) continue;
    const before = fuelBefore.get(vehicle);
    // The counter loses nothing in a gap: its last value before counts the first increment.
    const needsFuel = Number.isNaN(fixes.fuel[0] as number);
    out.set(
      vehicle,
      needsFuel && before !== undefined ? prependFuel(fixes, before.time, before.fuel) : fixes,
    );
  }
  return out;
}

function prependFuel(fixes: VehicleFixColumns, time: number, fuel: number): VehicleFixColumns {
  const prepend = (column: Float64Array, value: number) => {
    const out = new Float64Array(column.length + 1);
    out[0] = value;
    out.set(column, 1);
    return out;
  };
  return {
    time: prepend(fixes.time, time),
    lat: prepend(fixes.lat, Number.NaN),
    lon: prepend(fixes.lon, Number.NaN),
    speed: prepend(fixes.speed, 0),
    ignition: prepend(fixes.ignition, 0),
    odometer: prepend(fixes.odometer, Number.NaN),
    fuel: prepend(fixes.fuel, fuel),
  };
}

export interface DataRules {
  readonly vehicle?: VehicleRules;
  readonly room?: RoomRules;
}

/** The numbers from rollups (see the module comment). */
export function rollupData(ctx: KpiContext, rules: DataRules = {}): KpiData {
  const { facility, store } = ctx;
  const site = facility.site.id;
  const vehicleRules = rules.vehicle ?? DEFAULT_VEHICLE_RULES;
  const roomRules = rules.room ?? DEFAULT_ROOM_RULES;
  const horizon = () => (ctx.now ?? Date.now)() + HORIZON_MS;
  return {
    meterQuality: (meters, from, to) => meterQuality(store, site, meters, from, to),
    meterIntervals: (meters, edges) =>
      meterIntervals(
        store,
        site,
        meters.map((id) => ({ id, rules: meterRulesOf(facility, id) })),
        edges,
        horizon(),
      ),
    roomIntervals: (rooms, edges) => {
      const specs = rooms.map((room) => roomSpec(facility, room)).filter((r) => r.sensors.size > 0);
      return roomIntervals(
        store,
        site,
        specs,
        edges,
        roomRules,
        (specs, from, to) => readRooms(store, facility, specs, roomRules, from, to),
        (room) => holdOf(room, roomRules),
      );
    },
    vehicleIntervals: (vehicles, edges, fields) =>
      vehicleIntervals(
        store,
        site,
        vehicles,
        edges,
        vehicleRules,
        (ids, from, to) => readFixes(store, facility, ids, from, to),
        fields,
      ),
    trips: (vehicles, from, to) => tripsFrom(store, site, vehicles, from, to),
  };
}

/** The reference numbers from every raw point (see the module comment). */
export function rawData(ctx: KpiContext, rules: DataRules = {}): KpiData {
  const { facility, store } = ctx;
  const site = facility.site.id;
  const vehicleRules = rules.vehicle ?? DEFAULT_VEHICLE_RULES;
  const roomRules = rules.room ?? DEFAULT_ROOM_RULES;
  const area = facility.geofences.find((g) => g.id === 'service-area');
  const serviceArea = area?.polygon.map(([lon, lat]) => [lon, lat] as const);
  const allFixes = async (vehicle: string) =>
    fixColumns(
      await queryColumns(store, {
        measurement: 'vehicle',
        fields: ['lat', 'lon', 'speed', 'ignition', 'odometer', 'fuel'],
        where: { site, vehicle },
        ...ALL,
      }),
    );
  return {
    async meterQuality(meters, from, to) {
      const out = new Map<string, MeterQuality>();
      const [a, b] = qualityWindow(from, to);
      const series = await queryColumns(store, {
        measurement: 'meter',
        fields: ['total'],
        where: { site, meter: [...meters] },
        groupBy: ['meter'],
        ...ALL,
      });
      for (const s of series) {
        const id = s.tags.meter ?? '';
        const register = adjustRegister(
          { time: s.time, total: numberColumn(s, 'total') },
          meterRulesOf(facility, id),
        );
        const counts = { outliers: 0, resets: 0, rateExceeded: 0 };
        let any = false;
        for (let k = 0; k < s.time.length; k++) {
          const t = s.time[k] as number;
          if (t < a || t >= b) continue;
          any = true;
          if (register.status[k] === READING_STATUS.outlier) counts.outliers++;
          else if (register.status[k] === READING_STATUS.reset) counts.resets++;
          if (register.rateExceeded[k] === 1) counts.rateExceeded++;
        }
        if (any) out.set(id, counts);
      }
      return out;
    },
    async meterIntervals(meters, edges) {
      const out = new Map<string, MeterIntervals>();
      const series = await queryColumns(store, {
        measurement: 'meter',
        fields: ['total'],
        where: { site, meter: [...meters] },
        groupBy: ['meter'],
        ...ALL,
      });
      for (const s of series) {
        const id = s.tags.meter ?? '';
        const register = adjustRegister(
          { time: s.time, total: numberColumn(s, 'total') },
          meterRulesOf(facility, id),
        );
        const consumption: number[] = [];
        const coveredMs: number[] = [];
        for (let i = 0; i + 1 < edges.length; i++) {
          consumption.push(register.consumption(edges[i] as number, edges[i + 1] as number));
          coveredMs.push(register.coveredMs(edges[i] as number, edges[i + 1] as number));
        }
        out.set(id, { consumption, coveredMs });
      }
      return out;
    },
    async roomIntervals(rooms, edges) {
      const out = new Map<string, RoomIntegrals[]>();
      for (const room of rooms) {
        const spec = roomSpec(facility, room);
        if (spec.sensors.size === 0) continue;
        const columns = await readRoom(store, facility, spec, roomRules, ALL.from, ALL.to);
        const list: RoomIntegrals[] = [];
        for (let i = 0; i + 1 < edges.length; i++) {
          list.push(roomIntegrals(columns, edges[i] as number, edges[i + 1] as number, roomRules));
        }
        out.set(room.id, list);
      }
      return out;
    },
    async vehicleIntervals(vehicles, edges) {
      const out = new Map<string, VehicleIntervals>();
      for (const vehicle of vehicles) {
        const fixes = await allFixes(vehicle);
        const result: VehicleIntervals = {
          idleMs: [],
          energy: [],
          fuelFixes: [],
          speedingStarts: [],
          fixes: [],
        };
        for (let i = 0; i + 1 < edges.length; i++) {
          const a = edges[i] as number;
          const b = edges[i + 1] as number;
          const x = vehicleIntegrals(fixes, a, b, vehicleRules);
          let fuelFixes = 0;
          for (let k = 0; k < fixes.time.length; k++) {
            const t = fixes.time[k] as number;
            if (t >= a && t < b && !Number.isNaN(fixes.fuel[k] as number)) fuelFixes++;
          }
          result.idleMs.push(x.idleMs);
          result.energy.push(x.energy);
          result.fuelFixes.push(fuelFixes);
          result.speedingStarts.push(x.speeding.length);
          result.fixes.push(x.fixes);
        }
        out.set(vehicle, result);
      }
      return out;
    },
    async trips(vehicles, from, to) {
      const out = new Map<string, TripRecord[]>();
      for (const vehicle of vehicles) {
        const trips = foldTrips(await allFixes(vehicle), vehicleRules, serviceArea);
        out.set(
          vehicle,
          trips.filter((t) => t.start >= from && t.start < to),
        );
      }
      return out;
    },
  };
}

/** The data source of a context: its own, or rollups. */
export function dataOf(ctx: KpiContext): KpiData {
  return ctx.data ?? rollupData(ctx);
}
