/**
 * The vehicle model: official cars dispatched from the compound on missions (compound →
 * destination → compound), driving road-like paths at city speeds.
 *
 * A day's plan is drawn from its own stream (seed, vehicle, day): on a working day 0–3 missions
 * (1.5 on average; a minibus 0–2, 0.7), the first leaving 09:00–11:00, each back by 17:50, the next 15–90 min after
 * the last return. A mission is two legs with a dwell at the destination (parked, ignition off,
 * 20–120 min). A leg is: ignition on and idling 1–3 min, blocks of 300–900 m at 22–55 km/h
 * (12–22 km/h in the first and last 300 m), a 15–75 s stop at lights after about a third of the
 * blocks, idling 0.5–2 min at the end, ignition off. Paths leave and enter the compound by the
 * gate (edge midpoint of the `compound` geofence) nearest the destination and zigzag across the
 * city grid in 1–8 turns.
 *
 * GPS fixes: every `interval` seconds while the ignition is on, one fix when it goes off, and a
 * heartbeat every 5 minutes while parked; all on their grids (multiples of the period since
 * 1970), so backfill and live agree.
 *
 * `odometer` (km) and `fuel` accumulate from the first simulated day. `fuel` is the **cumulative
 * energy used**, like an odometer — litres for gasoline and diesel, kWh for an electric car — not
 * the tank level, so fuel per 100 km over any period is Δfuel / Δodometer × 100. Consumption is
 * the car's `ratedConsumption` × 0.92–1.04 per mission while moving (× 1.3 while speeding), plus
 * idling: 0.8 L/h gasoline, 1.2 L/h diesel, 1.0 kWh/h electric (climate control).
 *
 * A showcase trip (`showcase.ts`) is a mission to the destination outside the `service-area`
 * geofence farthest from the compound, leaving so that the car crosses out of the area two minutes
 * before the episode's instant; the car's other missions overlapping it (with 15 min either side)
 * are dropped.
 */
import { type LonLat, pointInPolygon } from '../core/facility/geometry.ts';
import type { Facility, Vehicle } from '../core/facility/schema.ts';
import type { VehicleGps } from '../core/telemetry.ts';
import type { FaultSchedule, ShowcaseTrip, VehicleFault } from './faults.ts';
import { bearingDeg, distanceM, LocalPlane, type Place } from './places.ts';
import { Draw, keyOf, signed } from './random.ts';
import { SHOWCASE_CAR_MARGIN_MS } from './showcase.ts';
import { HOUR_MS, type LocalDay, MINUTE_MS, type SiteClock } from './site-clock.ts';

/** Heartbeat period while parked, ms. */
export const PARKED_HEARTBEAT_MS = 300_000;
/** Missions must be back by this local time (minutes after midnight) on a working day. */
const LATEST_RETURN_MIN = 17 * 60 + 50;
/** Destinations closer than this to the compound are walked to, not driven to. */
const MIN_TRIP_M = 800;
/** Destinations for a speeding trip are at least this far, so the trip crosses the city. */
const MIN_SPEEDING_TRIP_M = 5000;
const PLAN_CACHE = 256;
/** A showcase trip keeps the car's other missions this far away, ms. */
const SHOWCASE_CLEARANCE_MS = 15 * MINUTE_MS;
/** Step of the search for where a showcase trip leaves the service area, ms. */
const SHOWCASE_PROBE_MS = 5000;
const IDLE_PER_HOUR: Readonly<Record<Vehicle['energy'], number>> = {
  gasoline: 0.8,
  diesel: 1.2,
  electric: 1.0,
};

interface Phase {
  readonly t0: number;
  readonly t1: number;
  /** Distance along the path at t0 and t1, m. */
  readonly d0: number;
  readonly d1: number;
  /** km/h; 0 while idling or stopped. */
  readonly speed: number;
  /** Energy used in the leg before t0. */
  readonly used0: number;
  /** Per metre while moving, per ms while idling. */
  readonly rate: number;
}

interface Leg {
  /** Ignition on, epoch ms. */
  readonly start: number;
  /** Ignition off, epoch ms. */
  readonly end: number;
  readonly points: readonly LonLat[];
  /** Distance along the path at each point, m. */
  readonly along: Float64Array;
  /** Bearing of each segment, degrees. */
  readonly headings: Float64Array;
  readonly phases: readonly Phase[];
  /** m. */
  readonly distance: number;
  /** Energy used, L or kWh. */
  readonly used: number;
  readonly from: string;
  readonly to: string;
  readonly maxSpeed: number;
  readonly speeding?: readonly [number, number];
}

interface Mission {
  readonly destination: Place;
  readonly legs: readonly [Leg, Leg];
  readonly fault?: VehicleFault['kind'];
  /** A showcase trip. */
  readonly showcase?: true;
}

interface DayPlan {
  readonly day: LocalDay;
  readonly missions: readonly Mission[];
  /** km. */
  readonly distance: number;
  readonly used: number;
}

/** One leg of a mission, as {@link VehicleModel.missions} reports it. */
export interface LegInfo {
  /** Ignition on and off, epoch ms. */
  readonly start: number;
  readonly end: number;
  /** `compound` or a place id. */
  readonly from: string;
  readonly to: string;
  readonly distanceKm: number;
  /** L or kWh. */
  readonly used: number;
  /** Highest speed driven, km/h (before the ±1.5 km/h noise of fixes). */
  readonly maxSpeedKmh: number;
  /** The path, `[lon, lat]` WGS-84. */
  readonly path: readonly LonLat[];
  /** When the car drove over 80 km/h (the `speeding` fault), epoch ms. */
  readonly speeding?: readonly [number, number];
}

/** A mission (dispatch) of a car: out to a destination and back to the compound. */
export interface MissionInfo {
  readonly vehicle: string;
  /** Ignition on at the compound, epoch ms. */
  readonly depart: number;
  /** Ignition off back in the compound, epoch ms. */
  readonly return: number;
  readonly destination: Place;
  readonly legs: readonly LegInfo[];
  /** The planted fault this mission carries, if any. */
  readonly fault?: VehicleFault['kind'];
  /** Planted by a showcase episode, not the weekly schedule. */
  readonly showcase?: true;
}

interface VehicleState {
  readonly vehicle: Vehicle;
  readonly index: number;
  readonly home: LonLat;
  readonly initialOdometer: number;
  readonly initialUsed: number;
  readonly idlePerMs: number;
  readonly noiseKey: number;
  readonly intervalMs: number;
  /** Odometer (km) and energy used at the start of day d, from day 0: `[2d]`, `[2d + 1]`. */
  cumulative: Float64Array;
  knownDays: number;
}

/** A square of ±150 m around the site, when the facility has no `compound` geofence. */
function squareAround(lon: number, lat: number): LonLat[] {
  const plane = new LocalPlane([lon, lat]);
  return [
    plane.toLonLat(-150, -150),
    plane.toLonLat(150, -150),
    plane.toLonLat(150, 150),
    plane.toLonLat(-150, 150),
  ];
}

const ceilMinute = (ms: number) => Math.ceil(ms / MINUTE_MS) * MINUTE_MS;
const round = (value: number, digits: number) => {
  const k = 10 ** digits;
  return Math.round(value * k) / k;
};

/** Trips and GPS fixes of every vehicle of a facility. Pure in its outputs; caches internally. */
export class VehicleModel {
  readonly #clock: SiteClock;
  readonly #faults: FaultSchedule;
  readonly #seed: number;
  readonly #states: VehicleState[];
  readonly #byId: Map<string, VehicleState>;
  readonly #compound: readonly LonLat[];
  readonly #gates: readonly LonLat[];
  readonly #serviceArea: readonly LonLat[] | undefined;
  readonly #inside: readonly Place[];
  readonly #far: readonly Place[];
  readonly #outside: readonly Place[];
  /** The destination of showcase trips: outside the service area, farthest from the compound. */
  readonly #farthestOutside: Place | undefined;
  readonly #plans = new Map<string, DayPlan>();
  /** Showcase missions by vehicle index, in departure order. */
  readonly #showcase = new Map<number, readonly Mission[]>();

  constructor(
    facility: Facility,
    clock: SiteClock,
    faults: FaultSchedule,
    seed: number,
    places: readonly Place[],
  ) {
    this.#clock = clock;
    this.#faults = faults;
    this.#seed = seed;
    const { lon, lat } = facility.site.location;
    this.#compound =
      facility.geofences.find((g) => g.id === 'compound')?.polygon.map(([x, y]) => [x, y] as LonLat) ??
      squareAround(lon, lat);
    this.#serviceArea = facility.geofences
      .find((g) => g.id === 'service-area')
      ?.polygon.map(([x, y]) => [x, y] as LonLat);
    this.#gates = this.#compound.map((a, i) => {
      const b = this.#compound[(i + 1) % this.#compound.length] as LonLat;
      return [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2] as LonLat;
    });
    const centre: LonLat = [lon, lat];
    const inArea = (p: Place) =>
      this.#serviceArea === undefined || pointInPolygon([p.lon, p.lat], this.#serviceArea);
    this.#inside = places.filter((p) => inArea(p) && distanceM(centre, [p.lon, p.lat]) >= MIN_TRIP_M);
    this.#far = this.#inside.filter((p) => distanceM(centre, [p.lon, p.lat]) >= MIN_SPEEDING_TRIP_M);
    this.#outside = places.filter((p) => !inArea(p));
    this.#farthestOutside = this.#outside.reduce<Place | undefined>(
      (best, p) =>
        best === undefined || distanceM(centre, [p.lon, p.lat]) > distanceM(centre, [best.lon, best.lat])
          ? p
          : best,
      undefined,
    );
    this.#states = facility.vehicles.map((vehicle, index) => {
      const draw = new Draw(keyOf(seed, 'vehicle', vehicle.id));
      const initialOdometer = Math.round(draw.between(8000, 90_000));
      return {
        vehicle,
        index,
        home: this.#parkingSpot(draw),
        initialOdometer,
        initialUsed: round((initialOdometer * vehicle.ratedConsumption * 1.03) / 100, 3),
        idlePerMs: IDLE_PER_HOUR[vehicle.energy] / HOUR_MS,
        noiseKey: keyOf(seed, 'gps-noise', vehicle.id),
        intervalMs: vehicle.interval * 1000,
        cumulative: new Float64Array(0),
        knownDays: 0,
      };
    });
    this.#byId = new Map(this.#states.map((s) => [s.vehicle.id, s]));
  }

  /** The `compound` polygon the model uses. */
  get compound(): readonly LonLat[] {
    return this.#compound;
  }

  /** A parking spot inside the compound, away from its edges. */
  #parkingSpot(draw: Draw): LonLat {
    const lons = this.#compound.map((p) => p[0]);
    const lats = this.#compound.map((p) => p[1]);
    const [w, e, s, n] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
    for (let i = 0; i < 100; i++) {
      const p: LonLat = [w + (e - w) * draw.between(0.15, 0.85), s + (n - s) * draw.between(0.15, 0.85)];
      if (pointInPolygon(p, this.#compound)) return [round(p[0], 6), round(p[1], 6)];
    }
    const c = this.#compound[0] as LonLat;
    return [c[0], c[1]];
  }

  #state(id: string): VehicleState {
    const state = this.#byId.get(id);
    if (!state) throw new RangeError(`no vehicle "${id}" in the facility`);
    return state;
  }

  /** A zigzag of 1–8 turns from a to b, inside the service area when both ends are. */
  #roadPath(draw: Draw, a: LonLat, b: LonLat): LonLat[] {
    const area = this.#serviceArea;
    const check = area !== undefined && pointInPolygon(a, area) && pointInPolygon(b, area);
    for (let attempt = 0; attempt < 5; attempt++) {
      const path = zigzag(draw, a, b);
      if (!check || path.every((p) => pointInPolygon(p, area))) return path;
    }
    return [a, b];
  }

  #nearestGate(to: LonLat): LonLat {
    let best = this.#gates[0] as LonLat;
    for (const gate of this.#gates) if (distanceM(gate, to) < distanceM(best, to)) best = gate;
    return best;
  }

  #leg(
    draw: Draw,
    start: number,
    points: readonly LonLat[],
    ends: { from: string; to: string },
    perMetre: number,
    idlePerMs: number,
    speeding: boolean,
  ): Leg {
    const along = new Float64Array(points.length);
    const headings = new Float64Array(Math.max(1, points.length - 1));
    for (let i = 1; i < points.length; i++) {
      const a = points[i - 1] as LonLat;
      const b = points[i] as LonLat;
      along[i] = (along[i - 1] as number) + distanceM(a, b);
      headings[i - 1] = bearingDeg(a, b);
    }
    const length = along[points.length - 1] as number;
    const phases: Phase[] = [];
    let t = start;
    let d = 0;
    let used = 0;
    let maxSpeed = 0;
    let window: [number, number] | undefined;
    const idle = (ms: number) => {
      phases.push({ t0: t, t1: t + ms, d0: d, d1: d, speed: 0, used0: used, rate: idlePerMs });
      used += ms * idlePerMs;
      t += ms;
    };
    idle(draw.int(60, 180) * 1000);
    const fastFrom = speeding ? length * 0.3 : Number.POSITIVE_INFINITY;
    const fastTo = speeding
      ? fastFrom + Math.min(length * 0.4, draw.between(2000, 4000))
      : Number.POSITIVE_INFINITY;
    while (length - d > 0.5) {
      if (d < fastFrom && fastFrom - d < 1) d = fastFrom;
      const fast = d >= fastFrom && d < fastTo;
      let len: number;
      let speed: number;
      let rate = perMetre;
      if (fast) {
        len = fastTo - d;
        speed = draw.between(85, 98);
        rate *= 1.3;
      } else {
        len = Math.min(
          draw.between(300, 900),
          length - d,
          d < fastFrom ? fastFrom - d : Number.POSITIVE_INFINITY,
        );
        speed = d < 300 || length - d < 300 ? draw.between(12, 22) : draw.between(22, 55);
      }
      const ms = (len / (speed / 3.6)) * 1000;
      phases.push({ t0: t, t1: t + ms, d0: d, d1: d + len, speed, used0: used, rate });
      if (fast) window = [t, t + ms];
      maxSpeed = Math.max(maxSpeed, speed);
      used += len * rate;
      t += ms;
      d += len;
      if (length - d > 0.5 && !(d >= fastFrom && d < fastTo) && draw.chance(0.35))
        idle(draw.int(15, 75) * 1000);
    }
    idle(draw.int(30, 120) * 1000);
    return {
      start,
      end: t,
      points,
      along,
      headings,
      phases,
      distance: length,
      used,
      ...ends,
      maxSpeed,
      ...(window ? { speeding: window } : {}),
    };
  }

  #mission(
    state: VehicleState,
    draw: Draw,
    depart: number,
    destination: Place,
    fault: VehicleFault['kind'] | undefined,
  ): Mission {
    const plane = new LocalPlane([destination.lon, destination.lat]);
    const spot = plane.toLonLat(draw.between(-40, 40), draw.between(-40, 40));
    const gate = this.#nearestGate(spot);
    const perMetre = (state.vehicle.ratedConsumption / 100_000) * draw.between(0.92, 1.04);
    const speeding = fault === 'speeding';
    const out = this.#leg(
      draw,
      depart,
      [state.home, gate, ...this.#roadPath(draw, gate, spot).slice(1)],
      { from: 'compound', to: destination.id },
      perMetre,
      state.idlePerMs,
      speeding,
    );
    const dwell = (fault === 'out-of-area-trip' ? draw.int(30, 90) : draw.int(20, 120)) * MINUTE_MS;
    const back = this.#leg(
      draw,
      ceilMinute(out.end + dwell),
      [...this.#roadPath(draw, spot, gate), state.home],
      { from: destination.id, to: 'compound' },
      perMetre,
      state.idlePerMs,
      false,
    );
    return { destination, legs: [out, back], ...(fault ? { fault } : {}) };
  }

  /** The plan of vehicle `state` on local day `index`. */
  #plan(state: VehicleState, index: number): DayPlan {
    const cacheKey = `${state.index}:${index}`;
    const cached = this.#plans.get(cacheKey);
    if (cached) return cached;
    const day = this.#clock.day(index);
    const draw = new Draw(keyOf(this.#seed, 'vehicle-day', state.vehicle.id, index));
    const faults = this.#faults.vehicleFaults(index).filter((f) => f.vehicle === state.vehicle.id);
    const has = (kind: VehicleFault['kind']) => faults.some((f) => f.kind === kind);
    const missions: Mission[] = [];
    if (day.worked) {
      const minibus = state.vehicle.type === 'minibus' || state.vehicle.type === 'bus';
      let count = draw.weighted<number>(
        minibus
          ? [
              [0, 0.45],
              [1, 0.4],
              [2, 0.15],
            ]
          : [
              [0, 0.15],
              [1, 0.35],
              [2, 0.35],
              [3, 0.15],
            ],
      );
      const outOfArea = has('out-of-area-trip') && this.#outside.length > 0;
      const speeding = has('speeding') && this.#far.length > 0;
      if (outOfArea || speeding) count = Math.max(1, count);
      let depart = day.start + 9 * HOUR_MS + draw.int(0, outOfArea ? 45 : 120) * MINUTE_MS;
      for (let i = 0; i < count && this.#inside.length > 0; i++) {
        const fault =
          i === 0 ? (outOfArea ? 'out-of-area-trip' : speeding ? 'speeding' : undefined) : undefined;
        const destination = draw.pick(
          fault === 'out-of-area-trip' ? this.#outside : fault === 'speeding' ? this.#far : this.#inside,
        );
        const mission = this.#mission(state, draw, depart, destination, fault);
        if (fault === undefined && mission.legs[1].end > day.start + LATEST_RETURN_MIN * MINUTE_MS) break;
        missions.push(mission);
        depart = ceilMinute(mission.legs[1].end + draw.int(15, 90) * MINUTE_MS);
      }
    }
    if (has('off-hours-trip') && this.#inside.length > 0) {
      const depart = day.worked
        ? day.start + 21 * HOUR_MS + draw.int(0, 90) * MINUTE_MS
        : day.start + 10 * HOUR_MS + draw.int(0, 300) * MINUTE_MS;
      missions.push(this.#mission(state, draw, depart, draw.pick(this.#inside), 'off-hours-trip'));
    }
    const showcase = this.#showcaseMissions(state);
    if (showcase.length > 0) {
      // The showcase trip replaces whatever else the car would have done meanwhile.
      const clear = (m: Mission) =>
        showcase.every(
          (s) =>
            m.legs[1].end + SHOWCASE_CLEARANCE_MS <= s.legs[0].start ||
            m.legs[0].start >= s.legs[1].end + SHOWCASE_CLEARANCE_MS,
        );
      const kept = missions.filter(clear);
      missions.length = 0;
      missions.push(...kept);
      for (const mission of showcase) {
        if (mission.legs[0].start >= day.start && mission.legs[0].start < day.end) missions.push(mission);
      }
      missions.sort((a, b) => a.legs[0].start - b.legs[0].start);
    }
    let distance = 0;
    let used = 0;
    for (const mission of missions) {
      for (const leg of mission.legs) {
        distance += leg.distance / 1000;
        used += leg.used;
      }
    }
    const plan = { day, missions, distance, used };
    if (this.#plans.size >= PLAN_CACHE) this.#plans.delete(this.#plans.keys().next().value as string);
    this.#plans.set(cacheKey, plan);
    return plan;
  }

  /**
   * The showcase trips of a car (see the module comment): none without a `service-area` geofence
   * or a destination outside it.
   */
  #showcaseMissions(state: VehicleState): readonly Mission[] {
    const cached = this.#showcase.get(state.index);
    if (cached) return cached;
    const area = this.#serviceArea;
    const destination = this.#farthestOutside;
    const trips = this.#faults.showcaseTrips().filter((trip) => trip.vehicle === state.vehicle.id);
    const missions =
      area === undefined || destination === undefined
        ? []
        : trips.map((trip) => this.#showcaseMission(state, trip, area, destination));
    this.#showcase.set(state.index, missions);
    return missions;
  }

  #showcaseMission(
    state: VehicleState,
    trip: ShowcaseTrip,
    area: readonly LonLat[],
    destination: Place,
  ): Mission {
    const key = keyOf(this.#seed, 'showcase-trip', state.vehicle.id, trip.at);
    // Plan the trip from time 0 to find when it leaves the area for good, then again from the
    // departure that puts that a little before `at` (the same draws, so the same trip, shifted by
    // whole minutes).
    const probe = this.#mission(state, new Draw(key), 0, destination, 'out-of-area-trip').legs[0];
    let lastInside = probe.start;
    for (let t = probe.start; t <= probe.end; t += SHOWCASE_PROBE_MS) {
      const fix = this.#fix(state, probe, t, 0, 0);
      if (pointInPolygon([fix.lon, fix.lat], area)) lastInside = t;
    }
    const leaves = lastInside + SHOWCASE_PROBE_MS - probe.start;
    const depart = Math.floor((trip.at - SHOWCASE_CAR_MARGIN_MS - leaves) / MINUTE_MS) * MINUTE_MS;
    const mission = this.#mission(state, new Draw(key), depart, destination, 'out-of-area-trip');
    return { ...mission, showcase: true };
  }

  /** Odometer (km) and energy used at the start of local day `index`. */
  #before(state: VehicleState, index: number): [number, number] {
    if (state.cumulative.length < 2 * (index + 1)) {
      const grown = new Float64Array(Math.max(2 * (index + 1), state.cumulative.length * 2));
      grown.set(state.cumulative);
      grown[0] = state.initialOdometer;
      grown[1] = state.initialUsed;
      state.cumulative = grown;
    }
    for (let d = state.knownDays; d < index; d++) {
      const plan = this.#plan(state, d);
      state.cumulative[2 * (d + 1)] = (state.cumulative[2 * d] as number) + plan.distance;
      state.cumulative[2 * (d + 1) + 1] = (state.cumulative[2 * d + 1] as number) + plan.used;
    }
    state.knownDays = Math.max(state.knownDays, index);
    return [state.cumulative[2 * index] as number, state.cumulative[2 * index + 1] as number];
  }

  /** Missions of vehicle `id` departing in `[from, to)`, ascending. */
  missions(id: string, from: number, to: number): MissionInfo[] {
    const state = this.#state(id);
    this.#clock.assertSimulated(from, `missions of ${id}`);
    const out: MissionInfo[] = [];
    const last = this.#clock.dayIndexOf(Math.max(from, to - 1));
    for (let d = this.#clock.dayIndexOf(from); d <= last; d++) {
      for (const mission of this.#plan(state, d).missions) {
        const [out1, back] = mission.legs;
        if (out1.start < from || out1.start >= to) continue;
        out.push({
          vehicle: id,
          depart: out1.start,
          return: back.end,
          destination: mission.destination,
          legs: mission.legs.map((leg) => ({
            start: leg.start,
            end: leg.end,
            from: leg.from,
            to: leg.to,
            distanceKm: leg.distance / 1000,
            used: leg.used,
            maxSpeedKmh: leg.maxSpeed,
            path: leg.points,
            ...(leg.speeding ? { speeding: leg.speeding } : {}),
          })),
          ...(mission.fault ? { fault: mission.fault } : {}),
          ...(mission.showcase ? { showcase: true as const } : {}),
        });
      }
    }
    return out;
  }

  /**
   * GPS fixes of vehicle `id` with `ts` in `[from, to)`, ascending (see the module comment for
   * the cadence). `ts` is epoch ms.
   */
  readings(id: string, from: number, to: number): VehicleGps[] {
    const state = this.#state(id);
    this.#clock.assertSimulated(from, `readings of ${id}`);
    if (to <= from) return [];
    const step = state.intervalMs;
    const firstDay = Math.max(0, this.#clock.dayIndexOf(from) - 1);
    const lastDay = this.#clock.dayIndexOf(to - 1);
    const [odometer0, used0] = this.#before(state, firstDay);
    const legs: Array<{ leg: Leg; odometer: number; used: number; after: LonLat }> = [];
    let odometer = odometer0;
    let used = used0;
    for (let d = firstDay; d <= lastDay; d++) {
      for (const mission of this.#plan(state, d).missions) {
        for (const leg of mission.legs) {
          legs.push({ leg, odometer, used, after: leg.points[leg.points.length - 1] as LonLat });
          odometer += leg.distance / 1000;
          used += leg.used;
        }
      }
    }

    const times = new Set<number>();
    for (
      let t = Math.ceil(from / PARKED_HEARTBEAT_MS) * PARKED_HEARTBEAT_MS;
      t < to;
      t += PARKED_HEARTBEAT_MS
    ) {
      times.add(t);
    }
    for (const { leg } of legs) {
      if (leg.end <= from || leg.start >= to) {
        const off = Math.ceil(leg.end / step) * step;
        if (off >= from && off < to) times.add(off);
        continue;
      }
      const end = Math.min(leg.end, to);
      for (let t = Math.ceil(Math.max(leg.start, from) / step) * step; t < end; t += step) times.add(t);
      const off = Math.ceil(leg.end / step) * step;
      if (off >= from && off < to) times.add(off);
    }
    const sorted = [...times].sort((a, b) => a - b);

    const out: VehicleGps[] = [];
    let next = 0;
    let position: LonLat = state.home;
    let parkedOdometer = odometer0;
    let parkedUsed = used0;
    for (const t of sorted) {
      while (next < legs.length && (legs[next]?.leg.end as number) <= t) {
        const done = legs[next] as (typeof legs)[number];
        position = done.after;
        parkedOdometer = done.odometer + done.leg.distance / 1000;
        parkedUsed = done.used + done.leg.used;
        next++;
      }
      const current = legs[next];
      if (current && current.leg.start <= t) {
        out.push(this.#fix(state, current.leg, t, current.odometer, current.used));
      } else {
        out.push({
          ts: t,
          lat: round(position[1], 6),
          lon: round(position[0], 6),
          speed: 0,
          ignition: false,
          odometer: round(parkedOdometer, 3),
          fuel: round(parkedUsed, 3),
        });
      }
    }
    return out;
  }

  /** A fix at `t` during `leg` (ignition on). */
  #fix(state: VehicleState, leg: Leg, t: number, odometer: number, used: number): VehicleGps {
    const phase = leg.phases.find((p) => t < p.t1) ?? (leg.phases[leg.phases.length - 1] as Phase);
    const moving = phase.speed > 0;
    const fraction =
      phase.t1 > phase.t0 ? Math.min(1, Math.max(0, (t - phase.t0) / (phase.t1 - phase.t0))) : 0;
    const d = phase.d0 + (phase.d1 - phase.d0) * fraction;
    const spent = moving
      ? phase.used0 + (d - phase.d0) * phase.rate
      : phase.used0 + (t - phase.t0) * phase.rate;
    let segment = 0;
    while (segment < leg.points.length - 2 && (leg.along[segment + 1] as number) < d) segment++;
    const a = leg.points[segment] as LonLat;
    const b = (leg.points[segment + 1] ?? a) as LonLat;
    const span = (leg.along[segment + 1] ?? 0) - (leg.along[segment] as number);
    const k = span > 0 ? Math.min(1, Math.max(0, (d - (leg.along[segment] as number)) / span)) : 0;
    const speed = moving ? Math.max(1, phase.speed + 1.5 * signed(state.noiseKey, Math.floor(t / 1000))) : 0;
    return {
      ts: t,
      lat: round(a[1] + (b[1] - a[1]) * k, 6),
      lon: round(a[0] + (b[0] - a[0]) * k, 6),
      speed: round(speed, 1),
      ignition: true,
      heading: Math.round(leg.headings[segment] as number) % 360,
      odometer: round(odometer + d / 1000, 3),
      fuel: round(used + spent, 3),
    };
  }

  /** Missions carrying a planted fault (showcase trips included) departing on local days `first`…`last`. */
  faultMissions(first: number, last: number): MissionInfo[] {
    const out: MissionInfo[] = [];
    for (let d = Math.max(0, first); d <= last; d++) {
      const day = this.#clock.day(d);
      for (const fault of this.#faults.vehicleFaults(d)) {
        for (const mission of this.missions(fault.vehicle, day.start, day.end)) {
          if (mission.fault === fault.kind && !mission.showcase) out.push(mission);
        }
      }
    }
    if (first > last) return out;
    const from = this.#clock.day(Math.max(0, first)).start;
    const to = this.#clock.day(last).end;
    for (const vehicle of new Set(this.#faults.showcaseTrips().map((trip) => trip.vehicle))) {
      if (!this.#byId.has(vehicle)) continue;
      for (const mission of this.missions(vehicle, from, to)) if (mission.showcase) out.push(mission);
    }
    return out;
  }
}

/** A road-like path from a to b: alternating east–west and north–south runs, slightly bent. */
function zigzag(draw: Draw, a: LonLat, b: LonLat): LonLat[] {
  const plane = new LocalPlane(a);
  const [bx, by] = plane.toXY(b);
  const turns = Math.min(8, Math.max(1, Math.round(Math.hypot(bx, by) / 1500)));
  const weights = () => {
    const w = Array.from({ length: turns }, () => draw.between(0.3, 1));
    const sum = w.reduce((s, v) => s + v, 0);
    return w.map((v) => v / sum);
  };
  const wx = weights();
  const wy = weights();
  const eastFirst = draw.chance(0.5);
  const points: Array<[number, number]> = [[0, 0]];
  let x = 0;
  let y = 0;
  for (let i = 0; i < turns; i++) {
    const bend = draw.between(-40, 40);
    if (eastFirst) {
      x += bx * (wx[i] as number);
      points.push([x, y + bend]);
      y += by * (wy[i] as number);
      points.push([x + bend / 2, y]);
    } else {
      y += by * (wy[i] as number);
      points.push([x + bend, y]);
      x += bx * (wx[i] as number);
      points.push([x, y + bend / 2]);
    }
  }
  points[points.length - 1] = [bx, by];
  // Runs shorter than a metre (a destination due north or east) are dropped.
  const kept: Array<[number, number]> = [[0, 0]];
  for (const point of points.slice(1)) {
    const last = kept[kept.length - 1] as [number, number];
    if (Math.hypot(point[0] - last[0], point[1] - last[1]) > 1) kept.push(point);
  }
  const out: LonLat[] = kept.map(([px, py]) => plane.toLonLat(px, py));
  out[0] = a;
  if (out.length === 1) out.push(b);
  else out[out.length - 1] = b;
  return out;
}
