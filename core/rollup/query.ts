/**
 * Figures from rollups: the sums of whole buckets between edges (the store's `sumRollups`), and an
 * exact computation of the partial buckets at edges off the 15-minute grid from the raw points
 * around them, with the same pure functions the folds use — so the answer is the one the raw
 * points give (core/register.ts, core/kpi/vehicle.ts, core/kpi/room.ts), whatever the edges.
 *
 * Edges on the grid (every local midnight, hour and quarter hour of any site) need no raw point;
 * an off-grid edge (a period ending "now", a working day starting 08:10) costs a read of its
 * bucket's raw points.
 */
import {
  emptyIntegrals,
  type RoomColumns,
  type RoomIntegrals,
  type RoomRules,
  roomIntegrals,
} from '../kpi/room.ts';
import { type VehicleFixColumns, type VehicleRules, vehicleIntegrals } from '../kpi/vehicle.ts';
import {
  classify,
  READING_STATUS,
  type RegisterRules,
  type RegisterState,
  settledAfter,
} from '../register.ts';
import { numberColumn, queryColumns, type TimeSeriesStore } from '../store.ts';
import { meterPartial } from './meter.ts';
import { BUCKET_MS, bucketOf, onGrid, type RollupKind } from './schema.ts';
import type { TripRecord } from './vehicle.ts';

/** Consumption and covered milliseconds of a meter per interval between edges. */
export interface MeterIntervals {
  readonly consumption: number[];
  readonly coveredMs: number[];
}

/** How a meter's readings were judged in a window (core/register.ts's statuses). */
export interface MeterQuality {
  /** Left out of consumption: they broke the sequence while their neighbours agreed. */
  readonly outliers: number;
  /** The register started again from a lower value (meter replaced, or rolled over). */
  readonly resets: number;
  /** Kept rises implying more than the meter's `maxRate`: counted, but the figure is doubtful. */
  readonly rateExceeded: number;
}

/**
 * The window the quality of `[from, to)` is counted over: the 15-minute buckets it touches (the
 * rollups' grain; a flag, not a figure, so whole buckets are close enough).
 */
export function qualityWindow(from: number, to: number): [number, number] {
  return [bucketOf(from), bucketOf(Math.max(from, to - 1)) + BUCKET_MS];
}

/** Per meter with rollups in the window, how its readings in {@link qualityWindow} were judged. */
export async function meterQuality(
  store: TimeSeriesStore,
  site: string,
  meters: readonly string[],
  from: number,
  to: number,
): Promise<Map<string, MeterQuality>> {
  const out = new Map<string, MeterQuality>();
  if (meters.length === 0) return out;
  const fields = ['outliers', 'resets', 'rateExceeded'] as const;
  const edges = qualityWindow(from, to);
  const sums = await store.sumRollups({ kind: 'meter', site, devices: meters, edges, fields: [...fields] });
  for (const { device, sums: s } of sums) {
    const count = (field: (typeof fields)[number]) =>
      Math.round((s[field] as Float64Array | undefined)?.[0] ?? 0);
    out.set(device, {
      outliers: count('outliers'),
      resets: count('resets'),
      rateExceeded: count('rateExceeded'),
    });
  }
  return out;
}

/** A meter to read, with the rules its readings are judged by. */
export interface MeterSpec {
  readonly id: string;
  readonly rules: RegisterRules;
}

/** Edges must be whole, finite and strictly ascending; at least 2. */
export function checkEdges(edges: readonly number[]): void {
  if (edges.length < 2) throw new RangeError('at least 2 edges are needed');
  edges.forEach((edge, i) => {
    if (!Number.isSafeInteger(edge))
      throw new RangeError(`edges[${i}]: ${edge} is not whole epoch milliseconds`);
    if (i > 0 && !(edge > (edges[i - 1] as number)))
      throw new RangeError(`edges[${i}] is not after edges[${i - 1}]`);
  });
}

/** The grid points the edges need: each edge on the grid, and both bucket bounds of each one off it. */
function gridOf(edges: readonly number[]): number[] {
  const set = new Set<number>();
  for (const edge of edges) {
    const bucket = bucketOf(edge);
    set.add(bucket);
    if (bucket !== edge) set.add(bucket + BUCKET_MS);
  }
  return [...set].sort((a, b) => a - b);
}

/**
 * Per device, the cumulative sums of fields at each grid point (0 at the first), from the store's
 * sums of the intervals between them.
 */
async function cumulative(
  store: TimeSeriesStore,
  kind: RollupKind,
  site: string,
  devices: readonly string[],
  grid: readonly number[],
  fields: readonly string[],
): Promise<Map<string, Record<string, Float64Array>>> {
  const out = new Map<string, Record<string, Float64Array>>();
  if (grid.length < 2 || devices.length === 0) return out;
  for (const { device, sums } of await store.sumRollups({ kind, site, devices, edges: grid, fields })) {
    const cum: Record<string, Float64Array> = {};
    for (const field of fields) {
      const s = sums[field] as Float64Array;
      const c = new Float64Array(grid.length);
      for (let i = 1; i < grid.length; i++) c[i] = (c[i - 1] as number) + (s[i - 1] as number);
      cum[field] = c;
    }
    out.set(device, cum);
  }
  return out;
}

/** Index of `value` in the sorted `grid` (it is there). */
function indexIn(grid: readonly number[], value: number): number {
  let lo = 0;
  let hi = grid.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((grid[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Exact consumption and covered time of meters between any edges: per meter, element `i` of each
 * list is what core/register.ts's `adjustRegister(all readings, rules)` answers for
 * `[edges[i], edges[i + 1])`, up to float rounding.
 *
 * @param horizon - the latest instant a reading may carry (the clock plus the ingest's allowance
 *   for device clocks ahead): reading past an off-grid edge stops there.
 */
export async function meterIntervals(
  store: TimeSeriesStore,
  site: string,
  meters: readonly MeterSpec[],
  edges: readonly number[],
  horizon: number,
): Promise<Map<string, MeterIntervals>> {
  checkEdges(edges);
  const grid = gridOf(edges);
  const ids = meters.map((m) => m.id);
  const cum = await cumulative(store, 'meter', site, ids, grid, ['consumption', 'coveredMs']);
  // Partial buckets: per off-grid edge, per meter, R(edge) − R(bucket start) and covered time.
  const partial = new Map<number, Map<string, { consumption: number; coveredMs: number }>>();
  const offGrid = [...new Set(edges.filter((edge) => !onGrid(edge)))];
  if (offGrid.length > 0) {
    // Reading past an edge stops at each meter's newest reading: nothing can follow it.
    const newest = new Map<string, number>();
    for (const point of await store.latest({
      measurement: 'meter',
      fields: ['total'],
      where: { site, meter: ids },
    })) {
      const id = point.tags.meter ?? '';
      newest.set(id, Math.max(newest.get(id) ?? Number.NEGATIVE_INFINITY, point.time));
    }
    const read = meters.filter((m) => newest.has(m.id));
    for (const edge of offGrid) {
      partial.set(edge, await meterPartials(store, site, read, edge, horizon, newest));
    }
  }
  // Each edge's place on the grid and its partial bucket, found once for every meter.
  const bases = edges.map((edge) => indexIn(grid, bucketOf(edge)));
  const partials = edges.map((edge) => partial.get(edge));
  const out = new Map<string, MeterIntervals>();
  const n = edges.length - 1;
  for (const meter of meters) {
    const c = cum.get(meter.id);
    const cumConsumption = c?.consumption;
    const cumCovered = c?.coveredMs;
    // R and the covered time at edge i: whole buckets up to its bucket, plus the partial bucket.
    let r = 0;
    let v = 0;
    const at = (i: number) => {
      const base = bases[i] as number;
      r = (cumConsumption?.[base] as number | undefined) ?? 0;
      v = (cumCovered?.[base] as number | undefined) ?? 0;
      const p = partials[i]?.get(meter.id);
      if (p) {
        r += p.consumption;
        v += p.coveredMs;
      }
    };
    const consumption = new Array<number>(n);
    const coveredMs = new Array<number>(n);
    at(0);
    let r0 = r;
    let c0 = v;
    let any = c !== undefined;
    for (let i = 1; i <= n; i++) {
      at(i);
      consumption[i - 1] = Math.max(0, r - r0);
      coveredMs[i - 1] = Math.max(0, v - c0);
      if (r !== 0 || v !== 0) any = true;
      r0 = r;
      c0 = v;
    }
    if (any) out.set(meter.id, { consumption, coveredMs });
  }
  return out;
}

/** R(edge) − R(bucket start) and the covered time between, per meter, from raw readings. */
async function meterPartials(
  store: TimeSeriesStore,
  site: string,
  meters: readonly MeterSpec[],
  edge: number,
  horizon: number,
  newest: ReadonlyMap<string, number>,
): Promise<Map<string, { consumption: number; coveredMs: number }>> {
  const out = new Map<string, { consumption: number; coveredMs: number }>();
  if (meters.length === 0) return out;
  const bucket = bucketOf(edge);
  const states = new Map<string, RegisterState>();
  for (const series of await store.lastRollups({
    kind: 'meter',
    site,
    devices: meters.map((m) => m.id),
    before: bucket,
    fields: ['state'],
  })) {
    states.set(series.device, parseState((series.values.state as readonly (string | null)[])[0] ?? null));
  }
  let todo = [...meters];
  // Read past the bucket until the kept reading after the edge is settled (or no reading can follow).
  let span =
    BUCKET_MS +
    Math.max(...meters.map((m) => 3 * (settledAfter(m.rules) + 2) * m.rules.intervalSeconds * 1000));
  while (todo.length > 0) {
    const to = Math.min(bucket + span, horizon + 1);
    const series = await queryColumns(store, {
      measurement: 'meter',
      fields: ['total'],
      where: { site, meter: todo.map((m) => m.id) },
      groupBy: ['meter'],
      from: bucket,
      to: Math.max(to, bucket + 1),
    });
    const byMeter = new Map(series.map((s) => [s.tags.meter ?? '', s]));
    const next: MeterSpec[] = [];
    for (const meter of todo) {
      const s = byMeter.get(meter.id);
      const readings = s
        ? { time: s.time, total: numberColumn(s, 'total') }
        : { time: new Float64Array(), total: new Float64Array() };
      const input = { rules: meter.rules, readings, from: bucket, state: states.get(meter.id) ?? [] };
      const more = to <= horizon && to <= (newest.get(meter.id) ?? Number.NEGATIVE_INFINITY);
      if (more && !settledPast(input, edge)) {
        next.push(meter);
        continue;
      }
      out.set(meter.id, meterPartial(input, edge));
    }
    todo = next;
    span *= 4;
  }
  return out;
}

/**
 * Whether the readings settle R(edge): they hold a kept reading after `edge` with enough readings
 * after it to be settled — or no kept reading comes before `edge` at all, so R is flat up to it
 * (nothing later can change that).
 */
function settledPast(input: Parameters<typeof meterPartial>[0], edge: number): boolean {
  const { readings, rules, state } = input;
  const judged = classify(readings, rules, 0, state);
  const n = readings.time.length;
  let keptBefore = state.length > 0;
  for (let i = 0; i < n; i++) {
    const s = judged.status[i];
    const kept = s === READING_STATUS.ok || s === READING_STATUS.reset;
    if ((readings.time[i] as number) < edge) {
      keptBefore ||= kept;
      continue;
    }
    if (!keptBefore) return true;
    if (kept) return n - 1 - i >= settledAfter(rules);
  }
  return !keptBefore;
}

function parseState(text: string | null): RegisterState {
  if (!text) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) ? (parsed as RegisterState) : [];
  } catch {
    return [];
  }
}

// ------------------------------------------------------------------------------------------ rooms

/** A room to read: its sensors and their intervals (seconds), for the hold of each sample. */
export interface RoomSpec {
  readonly id: string;
  readonly sensors: ReadonlyMap<string, number>;
}

/** Reads rooms' samples in [from, to) as columns (each room's sensors merged), for partial buckets. */
export type RoomReader = (
  rooms: readonly RoomSpec[],
  from: number,
  to: number,
) => Promise<ReadonlyMap<string, RoomColumns>>;

const ROOM_FIELDS = [
  'occupiedMs',
  'personMs',
  'conditionedEmptyMs',
  'setpointViolationMs',
  'co2OverMs',
  'occupiedTempMs',
  'comfortCoolMs',
  'comfortHeatMs',
  'occupancyKnownMs',
] as const satisfies readonly (keyof RoomIntegrals)[];

/**
 * The integrals of rooms per interval between edges: whole buckets from the rollups, partial ones
 * from the raw samples (read through `read`, one hold before the bucket on).
 */
export async function roomIntervals(
  store: TimeSeriesStore,
  site: string,
  rooms: readonly RoomSpec[],
  edges: readonly number[],
  rules: RoomRules,
  read: RoomReader,
  holdMs: (room: RoomSpec) => number,
): Promise<Map<string, RoomIntegrals[]>> {
  checkEdges(edges);
  const grid = gridOf(edges);
  const cum = await cumulative(
    store,
    'room',
    site,
    rooms.map((r) => r.id),
    grid,
    ROOM_FIELDS,
  );
  // Partial buckets: one read of every room per off-grid edge, from one longest hold before its bucket.
  const partials = new Map<number, ReadonlyMap<string, RoomIntegrals>>();
  const longest = Math.max(0, ...rooms.map(holdMs));
  for (const edge of new Set(edges.filter((e) => !onGrid(e)))) {
    const bucket = bucketOf(edge);
    const columns = await read(rooms, bucket - longest, edge);
    partials.set(edge, new Map([...columns].map(([id, c]) => [id, roomIntegrals(c, bucket, edge, rules)])));
  }
  const out = new Map<string, RoomIntegrals[]>();
  for (const room of rooms) {
    const c = cum.get(room.id);
    const at = (edge: number): RoomIntegrals => {
      const base = indexIn(grid, bucketOf(edge));
      const x = emptyIntegrals();
      for (const field of ROOM_FIELDS) x[field] = (c?.[field]?.[base] as number | undefined) ?? 0;
      const p = partials.get(edge)?.get(room.id);
      if (p) for (const field of ROOM_FIELDS) x[field] += p[field];
      return x;
    };
    const list: RoomIntegrals[] = [];
    let previous = at(edges[0] as number);
    for (let i = 1; i < edges.length; i++) {
      const current = at(edges[i] as number);
      const x = emptyIntegrals();
      for (const field of ROOM_FIELDS) x[field] = Math.max(0, current[field] - previous[field]);
      list.push(x);
      previous = current;
    }
    out.set(room.id, list);
  }
  return out;
}

// --------------------------------------------------------------------------------------- vehicles

/** What a car did per interval apart from trips (see core/kpi/vehicle.ts `vehicleIntegrals`). */
export interface VehicleIntervals {
  readonly idleMs: number[];
  /** null where no fix of the interval carries fuel. */
  readonly energy: (number | null)[];
  /** Fixes of the interval that carry the fuel counter. */
  readonly fuelFixes: number[];
  readonly speedingStarts: number[];
  readonly fixes: number[];
}

/**
 * Reads cars' fixes in [from, to) for partial buckets, each car's with the last fuel value before
 * `from` (as a fix of its own when no fix read carries it) — `from` one gap (`rules.gapMs`) before
 * the bucket, since a fix further back neither idles into it nor continues a speeding run.
 */
export type FixReader = (
  vehicles: readonly string[],
  from: number,
  to: number,
) => Promise<ReadonlyMap<string, VehicleFixColumns>>;

export const VEHICLE_FIELDS = ['idleMs', 'energy', 'fuelFixes', 'speedingStarts', 'fixes'] as const;
export type VehicleField = (typeof VEHICLE_FIELDS)[number];

/**
 * Idle time, energy, speeding starts and fixes of cars per interval between edges: whole buckets
 * from the rollups, partial ones from the raw fixes (read through `read`, which must include the
 * fix before the bucket and the last fuel value before it). Only `fields` are read from the
 * rollups (the energy figures need two of the five); the others are left 0. `energy` needs
 * `fuelFixes` (an interval without a fix carrying the counter has no energy known).
 */
export async function vehicleIntervals(
  store: TimeSeriesStore,
  site: string,
  vehicles: readonly string[],
  edges: readonly number[],
  rules: VehicleRules,
  read: FixReader,
  fields: readonly VehicleField[] = VEHICLE_FIELDS,
): Promise<Map<string, VehicleIntervals>> {
  checkEdges(edges);
  const grid = gridOf(edges);
  const cum = await cumulative(store, 'vehicle', site, vehicles, grid, fields);
  // Partial buckets: one read of every car per off-grid edge.
  const partialsByEdge = new Map<number, Map<string, Record<(typeof VEHICLE_FIELDS)[number], number>>>();
  for (const edge of new Set(edges.filter((e) => !onGrid(e)))) {
    const bucket = bucketOf(edge);
    const byVehicle = new Map<string, Record<(typeof VEHICLE_FIELDS)[number], number>>();
    for (const [vehicle, fixes] of await read(vehicles, bucket - rules.gapMs, edge)) {
      const x = vehicleIntegrals(fixes, bucket, edge, rules);
      let fuelFixes = 0;
      for (let k = 0; k < fixes.time.length; k++) {
        const t = fixes.time[k] as number;
        if (t >= bucket && t < edge && !Number.isNaN(fixes.fuel[k] as number)) fuelFixes++;
      }
      byVehicle.set(vehicle, {
        idleMs: x.idleMs,
        energy: x.energy ?? 0,
        fuelFixes,
        speedingStarts: x.speeding.length,
        fixes: x.fixes,
      });
    }
    partialsByEdge.set(edge, byVehicle);
  }
  // Each edge's place on the grid, found once for every car.
  const bases = edges.map((edge) => indexIn(grid, bucketOf(edge)));
  const partials = edges.map((edge) => partialsByEdge.get(edge));
  const out = new Map<string, VehicleIntervals>();
  const zero = new Float64Array(grid.length);
  const anyPartial = partialsByEdge.size > 0;
  const zeros = new Float64Array(edges.length);
  for (const vehicle of vehicles) {
    const c = cum.get(vehicle);
    const partial = anyPartial ? partials.map((byVehicle) => byVehicle?.get(vehicle)) : undefined;
    // Value of each cumulative field at every edge: whole buckets up to the edge's bucket, plus
    // the partial bucket up to the edge (0 for a field not read, without partial buckets).
    const [idle, energy, fuel, speeding, fixes] = VEHICLE_FIELDS.map((field) => {
      const column = c?.[field];
      if (!column && !partial) return zeros;
      const from = column ?? zero;
      const values = new Float64Array(edges.length);
      for (let i = 0; i < edges.length; i++) {
        values[i] = (from[bases[i] as number] as number) + (partial?.[i]?.[field] ?? 0);
      }
      return values;
    }) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    const n = edges.length - 1;
    const result = {
      idleMs: new Array<number>(n),
      energy: new Array<number | null>(n),
      fuelFixes: new Array<number>(n),
      speedingStarts: new Array<number>(n),
      fixes: new Array<number>(n),
    };
    for (let i = 0; i < n; i++) {
      const fuelFixes = (fuel[i + 1] as number) - (fuel[i] as number);
      const used = (energy[i + 1] as number) - (energy[i] as number);
      result.idleMs[i] = Math.max(0, (idle[i + 1] as number) - (idle[i] as number));
      result.energy[i] = fuelFixes > 0.5 ? Math.max(0, used) : null;
      result.fuelFixes[i] = Math.round(fuelFixes);
      result.speedingStarts[i] = Math.round((speeding[i + 1] as number) - (speeding[i] as number));
      result.fixes[i] = Math.round((fixes[i + 1] as number) - (fixes[i] as number));
    }
    out.set(vehicle, result);
  }
  return out;
}

/** Trips kept in the rollups: those of the cars that start in [from, to). */
export async function tripsFrom(
  store: TimeSeriesStore,
  site: string,
  vehicles: readonly string[],
  from: number,
  to: number,
): Promise<Map<string, TripRecord[]>> {
  const fields = [
    'end',
    'anchor',
    'closedAt',
    'distanceKm',
    'odometer',
    'maxSpeedKmh',
    'fromLat',
    'fromLon',
    'toLat',
    'toLon',
    'leftServiceArea',
  ];
  const out = new Map<string, TripRecord[]>();
  for (const series of await store.readRollups({ kind: 'trip', site, devices: vehicles, from, to, fields })) {
    const v = (f: string) => series.values[f] as Float64Array;
    out.set(
      series.device,
      Array.from(series.time, (start, k) => ({
        start,
        end: v('end')[k] as number,
        anchor: v('anchor')[k] as number,
        closedAt: Number.isNaN(v('closedAt')[k] as number) ? null : (v('closedAt')[k] as number),
        distanceKm: v('distanceKm')[k] as number,
        odometer: v('odometer')[k] === 1,
        maxSpeedKmh: v('maxSpeedKmh')[k] as number,
        from: { lat: v('fromLat')[k] as number, lon: v('fromLon')[k] as number },
        to: { lat: v('toLat')[k] as number, lon: v('toLon')[k] as number },
        leftServiceArea: v('leftServiceArea')[k] === 1,
      })),
    );
  }
  return out;
}
