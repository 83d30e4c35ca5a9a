/**
 * A {@link TimeSeriesStore} that keeps the rollups (core/rollup/schema.ts) of every point written
 * through it: `write()` commits the points to the store it wraps, then folds the devices they
 * touch again from where the new points can change anything, and resolves once the rollup rows
 * are committed too — so whoever acknowledges a write (the ingest, a backfill) has both. `commit()`
 * is the same write in two steps (committed, then folded), for the ingest: its next batch need not
 * wait for the previous one's fold, and the batches that come during a fold are folded together.
 *
 * Folds run one at a time (a fold reads the rows and points another one may be writing); raw
 * writes do not wait for them. Each fold reads back from the store what it needs (the points
 * from its resume point on and the rollup state before it), so it is the same for live data,
 * late data, a gateway flushing old readings, a correction, or `rebuild()`; and it is idempotent:
 * folding the same points again writes the same rows.
 *
 * Rows carry a fingerprint of the rules they were folded under (a meter's register rules, the
 * vehicle and room thresholds, the service area, the device's interval, the fold version);
 * `start()` rebuilds the devices whose stored rows have another one, and folds again the last
 * readings of every device, so rows a crash left behind (points committed, rows not) are
 * completed before anything is served.
 */
import { createHash } from 'node:crypto';
import type { WorkCalendar } from '../facility/calendar.ts';
import type { LonLat } from '../facility/geometry.ts';
import { registerRules } from '../facility/meter-rules.ts';
import type { Facility, Meter, Room, Vehicle } from '../facility/schema.ts';
import { calendarOf } from '../kpi/common.ts';
import {
  DEFAULT_ROOM_RULES,
  hvacCode,
  type RoomColumns,
  type RoomRules,
  UNKNOWN_SENSOR_INTERVAL_S,
} from '../kpi/room.ts';
import {
  DEFAULT_VEHICLE_RULES,
  touchesOffHours,
  type VehicleFixColumns,
  type VehicleRules,
} from '../kpi/vehicle.ts';
import {
  classify,
  READING_STATUS,
  type RegisterRules,
  type RegisterState,
  settledAfter,
} from '../register.ts';
import {
  type ColumnQuery,
  type ColumnSeries,
  type LatestPoint,
  type LatestQuery,
  numberColumn,
  type Point,
  type Query,
  queryColumns,
  type Series,
  stringColumn,
  type TimeSeriesStore,
} from '../store.ts';
import { foldMeterFrom, type MeterCheckpoint, resumeDepth } from './meter.ts';
import { foldRoom, roomResume } from './room.ts';
import type {
  RollupLastQuery,
  RollupQuery,
  RollupRow,
  RollupSeries,
  RollupSumQuery,
  RollupSums,
  RollupWrite,
} from './schema.ts';
import { BUCKET_MS, bucketOf } from './schema.ts';
import { foldTrips, foldVehicleBuckets, type TripRecord, tripResume } from './vehicle.ts';

/** Bumped when a fold's output changes for the same input: every row is then rebuilt. */
export const FOLD_VERSION = 1;

/** A register reading the fold left out, to be listed as a rejection (`register-outlier`). */
export interface OutlierReading {
  readonly meter: string;
  readonly time: number;
  readonly total: number;
}

/** What changed, for caches and live feeds: a device's rows from `from` on. */
export interface RollupChange {
  readonly kind: 'meter' | 'vehicle' | 'room';
  readonly device: string;
  readonly from: number;
  /** The rows written: the device's rows of that kind in `[from, to)` are these now (core/live/state.ts reads them). */
  readonly rollup: RollupWrite['kind'];
  readonly rows: readonly RollupRow[];
  /** End of the replaced range; absent: the end of time. */
  readonly to?: number;
}

export interface RollingStoreOptions {
  readonly store: TimeSeriesStore;
  readonly facility: Facility;
  readonly vehicleRules?: VehicleRules;
  readonly roomRules?: RoomRules;
  /** Settled outliers, each once per process (rule 1 of core/register.ts). */
  readonly onOutliers?: (outliers: readonly OutlierReading[]) => void;
  /** After each fold's rows are committed. */
  readonly onChange?: (changes: readonly RollupChange[]) => void;
  /**
   * Whether `start()` rebuilds rows folded under other rules and folds every device's newest
   * readings again (default true; `facility rollups rebuild` turns it off, it rebuilds anyway).
   */
  readonly catchUp?: boolean;
  /**
   * No other process writes the store's points (DuckDB: the file is locked to one process). Then a
   * meter's fold for readings newer than any it folded resumes where the last fold left a settled
   * reading, inside its bucket, instead of reading the bucket again from its start: a meter sending
   * thousands of readings a second into one bucket (a gateway flushing its buffer) costs each fold
   * its new readings, not the bucket's. Default false (InfluxDB may have several writers).
   */
  readonly soleWriter?: boolean;
}

/** Progress of a rebuild. */
export interface RebuildProgress {
  readonly done: number;
  readonly total: number;
  readonly device: string;
}

const DAY_MS = 86_400_000;
/**
 * A fold holds writes while it reads its meters' raw points only when at most this many of them
 * fold from their bucket starts (see RollingStore#holdWrites).
 */
const GATED_FROM_BUCKET_STARTS = 64;
/** Points a queued fold takes before a further write waits for it (see RollingStore.commit). */
export const MAX_FOLD_POINTS = 50_000;
/** How far back trips are looked for when resuming a trip fold (no trip lasts longer). */
const TRIP_LOOKBACK_MS = 7 * DAY_MS;
const VEHICLE_FIELDS = ['lat', 'lon', 'speed', 'ignition', 'odometer', 'fuel'] as const;
const ROOM_FIELDS = ['occupancy', 'temperature', 'co2', 'hvac', 'lights'] as const;

interface MeterDevice {
  readonly meter: Meter;
  readonly rules: RegisterRules;
  readonly fingerprint: string;
}
interface VehicleDevice {
  readonly vehicle: Vehicle;
  readonly fingerprint: string;
}
interface RoomDevice {
  readonly room: Room;
  /** Sensor id → hold, ms. */
  readonly holds: ReadonlyMap<string, number>;
  /** The hold of a sensor no longer in the facility file. */
  readonly unknownHold: number;
  readonly longestHold: number;
  readonly fingerprint: string;
}

export class RollingStore implements TimeSeriesStore {
  readonly #store: TimeSeriesStore;
  readonly #facility: Facility;
  readonly #vehicleRules: VehicleRules;
  readonly #roomRules: RoomRules;
  readonly #serviceArea: readonly LonLat[] | undefined;
  readonly #calendar: WorkCalendar;
  readonly #options: RollingStoreOptions;
  readonly #meters: ReadonlyMap<string, MeterDevice>;
  readonly #vehicles: ReadonlyMap<string, VehicleDevice>;
  readonly #rooms: ReadonlyMap<string, RoomDevice>;
  /** Sensor id → room id. */
  readonly #roomOfSensor: ReadonlyMap<string, string>;
  /** Per meter, the time up to which settled outliers were reported. */
  readonly #reportedUntil = new Map<string, number>();
  /** Per meter, where its next fold may resume, and the newest reading the last fold saw (soleWriter). */
  readonly #checkpoints = new Map<string, MeterCheckpoint & { readonly newest: number }>();
  #folds: Promise<unknown> = Promise.resolve();
  /** The fold queued and not yet started, which the points of the next writes join. */
  #nextFold: { points: Point[]; done: Promise<void> } | undefined;
  /** Writes under way, each settled once its points joined a fold (see #holdWrites). */
  readonly #writing = new Set<Promise<void>>();
  /** While a fold reads its meters' raw points, further writes wait for this (see #holdWrites). */
  #reading: Promise<void> | undefined;
  readonly #listeners = new Set<(changes: readonly RollupChange[]) => void>();
  readonly #pointListeners = new Set<(points: readonly Point[]) => void>();

  constructor(options: RollingStoreOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#facility = options.facility;
    this.#vehicleRules = options.vehicleRules ?? DEFAULT_VEHICLE_RULES;
    this.#roomRules = options.roomRules ?? DEFAULT_ROOM_RULES;
    const area = options.facility.geofences.find((g) => g.id === 'service-area');
    this.#serviceArea = area?.polygon.map(([lon, lat]) => [lon, lat] as LonLat);
    const fingerprint = (parts: unknown) =>
      createHash('sha256')
        .update(JSON.stringify({ v: FOLD_VERSION, parts }))
        .digest('base64url')
        .slice(0, 16);
    // The offHours fields of meter and trip rows follow the calendar (core/rollup/schema.ts).
    const calendar = { timezone: options.facility.site.timezone, ...options.facility.calendar };
    this.#calendar = calendarOf(options.facility);
    this.#meters = new Map(
      options.facility.meters.map((meter) => {
        const rules = registerRules(meter);
        return [meter.id, { meter, rules, fingerprint: fingerprint({ rules, calendar }) }];
      }),
    );
    this.#vehicles = new Map(
      options.facility.vehicles.map((vehicle) => [
        vehicle.id,
        // Trip rows carry offHours, which follows the calendar.
        {
          vehicle,
          fingerprint: fingerprint({ rules: this.#vehicleRules, area: this.#serviceArea ?? null, calendar }),
        },
      ]),
    );
    const rooms = new Map<string, RoomDevice>();
    const roomOfSensor = new Map<string, string>();
    for (const room of options.facility.rooms) {
      const sensors = options.facility.sensors.filter((s) => s.room === room.id);
      if (sensors.length === 0) continue;
      const holds = new Map(sensors.map((s) => [s.id, this.#roomRules.holdIntervals * s.interval * 1000]));
      for (const s of sensors) roomOfSensor.set(s.id, room.id);
      // Samples of a sensor no longer listed are still stored: they hold as UNKNOWN_SENSOR_INTERVAL_S says.
      const unknownHold = this.#roomRules.holdIntervals * UNKNOWN_SENSOR_INTERVAL_S * 1000;
      rooms.set(room.id, {
        room,
        holds,
        unknownHold,
        longestHold: Math.max(unknownHold, ...holds.values()),
        fingerprint: fingerprint({ rules: this.#roomRules, holds: [...holds.entries()].sort() }),
      });
    }
    this.#rooms = rooms;
    this.#roomOfSensor = roomOfSensor;
  }

  get name(): string {
    return this.#store.name;
  }

  /** The wrapped store. */
  get inner(): TimeSeriesStore {
    return this.#store;
  }

  /** Starts the wrapped store, rebuilds rows folded under other rules and completes the newest ones. */
  async start(): Promise<void> {
    await this.#store.start();
    if (this.#options.catchUp !== false) await this.#serial(() => this.#catchUp());
  }

  async stop(): Promise<void> {
    await this.#folds.catch(() => undefined);
    await this.#store.stop();
  }

  async write(points: readonly Point[]): Promise<void> {
    const { folded } = await this.commit(points);
    await folded;
  }

  /**
   * What `write()` does, in two steps: resolves once the points are committed and the point
   * listeners told, with `folded`, which resolves once their rollup rows are committed too. The
   * in-process ingest writes its next batch meanwhile (its readings reach the live feed without
   * waiting for a fold) and acknowledges a batch once `folded`. The points of the writes made while
   * a fold runs are folded together in the next one: one fold, not one per batch, however many
   * batches came. A write waits for that fold first when it holds {@link MAX_FOLD_POINTS} already,
   * and, with `soleWriter`, while a fold reads its meters' raw points (see #holdWrites).
   */
  async commit(points: readonly Point[]): Promise<{ folded: Promise<void> }> {
    const waiting = this.#nextFold;
    if (waiting && waiting.points.length >= MAX_FOLD_POINTS) await waiting.done.catch(() => undefined);
    while (this.#reading) await this.#reading;
    const committed = this.#store.write(points).then(() => {
      if (points.length === 0) return { folded: Promise.resolve() };
      for (const listener of this.#pointListeners) {
        try {
          listener(points);
        } catch {
          // A listener's failure is its own: the points are committed.
        }
      }
      return { folded: this.#foldSoon(points) };
    });
    const joined = committed.then(
      () => undefined,
      () => undefined,
    );
    this.#writing.add(joined);
    void joined.then(() => this.#writing.delete(joined));
    return committed;
  }

  /**
   * Closes the gate to new writes until the returned function is called, once the writes under
   * way have joined the fold waiting to run. A fold that resumes meters from their checkpoints
   * reads their raw points under it: a point it reads then belongs to its own fold, not to the
   * next, which would find it older than the checkpoint and fold that meter from its bucket start
   * (right, but reading the whole bucket again). Only with `soleWriter`, where checkpoints are kept.
   * The gate stays closed from the fold's start to the end of that read, and writes (and the live
   * feed, told once a write commits) wait meanwhile: 10 ms (p50; 22 ms p95) for a fold of 1,000
   * meters resuming from checkpoints, but seconds for one folding many meters from their bucket
   * starts (the first folds after a start, one lookup per meter), so a fold closes it only when at
   * most GATED_FROM_BUCKET_STARTS of its meters fold from their bucket starts. A fold of more lets
   * writes through, and the meters whose new readings it reads early fold from their bucket
   * starts once more.
   */
  async #holdWrites(): Promise<() => void> {
    if (!this.#options.soleWriter) return () => undefined;
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.#reading = gate;
    await Promise.all(this.#writing);
    return () => {
      if (this.#reading === gate) this.#reading = undefined;
      open();
    };
  }

  /** How many meters of these points fold from their bucket starts (no checkpoint to resume from). */
  #fromBucketStarts(points: readonly Point[]): number {
    if (!this.#options.soleWriter) return 0;
    let count = 0;
    for (const [id, time] of this.#earliest(points).meters) if (!this.#resumable(id, time)) count++;
    return count;
  }

  /**
   * The checkpoint a meter's fold for new readings from `time` on may resume from (soleWriter):
   * its last fold's, when every new reading is newer than the newest that fold saw.
   */
  #resumable(id: string, time: number): MeterCheckpoint | undefined {
    const checkpoint = this.#checkpoints.get(id);
    return this.#options.soleWriter && checkpoint && time > checkpoint.newest ? checkpoint : undefined;
  }

  /** Adds points to the fold waiting to run, or queues one. */
  #foldSoon(points: readonly Point[]): Promise<void> {
    const waiting = this.#nextFold;
    if (waiting) {
      for (const point of points) waiting.points.push(point);
      return waiting.done;
    }
    const next: { points: Point[]; done: Promise<void> } = { points: [...points], done: Promise.resolve() };
    this.#nextFold = next;
    next.done = this.#serial(async () => {
      const release =
        this.#fromBucketStarts(next.points) <= GATED_FROM_BUCKET_STARTS
          ? await this.#holdWrites()
          : () => undefined;
      if (this.#nextFold === next) this.#nextFold = undefined;
      try {
        await this.#fold(next.points, release);
      } finally {
        release();
      }
    });
    return next.done;
  }

  /**
   * Calls `listener` with each batch of points once the wrapped store committed it, before its
   * rollups are folded (the live feed: power, positions, room states); returns the function that
   * stops it. Listeners must not throw or block.
   */
  subscribePoints(listener: (points: readonly Point[]) => void): () => void {
    this.#pointListeners.add(listener);
    return () => this.#pointListeners.delete(listener);
  }

  query(query: Query): Promise<Series[]> {
    return this.#store.query(query);
  }

  queryColumns(query: ColumnQuery): Promise<ColumnSeries[]> {
    return queryColumns(this.#store, query);
  }

  latest(query: LatestQuery): Promise<LatestPoint[]> {
    return this.#store.latest(query);
  }

  writeRollups(writes: readonly RollupWrite[]): Promise<void> {
    return this.#store.writeRollups(writes);
  }

  readRollups(query: RollupQuery): Promise<RollupSeries[]> {
    return this.#store.readRollups(query);
  }

  sumRollups(query: RollupSumQuery): Promise<RollupSums[]> {
    return this.#store.sumRollups(query);
  }

  lastRollups(query: RollupLastQuery): Promise<RollupSeries[]> {
    return this.#store.lastRollups(query);
  }

  /**
   * Calls `listener` after each fold's rows are committed with what changed (besides the
   * `onChange` option); returns the function that stops it.
   */
  subscribe(listener: (changes: readonly RollupChange[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once the folds queued so far are done (for tests). */
  async settled(): Promise<void> {
    await this.#folds.catch(() => undefined);
  }

  /**
   * Folds every device again from the raw points: its rows from `from` on (from its first point
   * without it; the fold resumes a little before, where the rows' state says), up to `to` (to its
   * newest point without it). Points after `to` are still read where the rows before it depend on
   * them (a step or a trip across `to`).
   */
  async rebuild(
    options: { from?: number; to?: number; onProgress?: (progress: RebuildProgress) => void } = {},
  ): Promise<void> {
    await this.#serial(async () => {
      const devices = [
        ...[...this.#meters.keys()].map((id) => ['meter', id] as const),
        ...[...this.#vehicles.keys()].map((id) => ['vehicle', id] as const),
        ...[...this.#rooms.keys()].map((id) => ['room', id] as const),
      ];
      let done = 0;
      for (const [kind, id] of devices) {
        const from = options.from ?? Number.NEGATIVE_INFINITY;
        const until = options.to ?? Number.POSITIVE_INFINITY;
        if (kind === 'meter') await this.#foldMeters(new Map([[id, from]]), true, until);
        else if (kind === 'vehicle') await this.#foldVehicles(new Map([[id, from]]), until);
        else await this.#foldRooms(new Map([[id, from]]), until);
        options.onProgress?.({ done: ++done, total: devices.length, device: id });
      }
    });
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#folds.then(task, task);
    this.#folds = run.catch(() => undefined);
    return run;
  }

  /** Earliest new time per device of each kind, then one fold per kind. */
  async #fold(points: readonly Point[], readDone: () => void = () => undefined): Promise<void> {
    const { meters, vehicles, rooms } = this.#earliest(points);
    await this.#foldMeters(meters, false, Number.POSITIVE_INFINITY, readDone);
    readDone();
    await this.#foldVehicles(vehicles);
    await this.#foldRooms(rooms);
  }

  /** The earliest time of these points per meter, car and room of the facility. */
  #earliest(points: readonly Point[]): Record<'meters' | 'vehicles' | 'rooms', Map<string, number>> {
    const site = this.#facility.site.id;
    const meters = new Map<string, number>();
    const vehicles = new Map<string, number>();
    const rooms = new Map<string, number>();
    const earliest = (map: Map<string, number>, id: string, time: number) => {
      const known = map.get(id);
      if (known === undefined || time < known) map.set(id, time);
    };
    for (const point of points) {
      if (point.tags.site !== site) continue;
      if (point.measurement === 'meter') {
        const id = point.tags.meter ?? '';
        if (this.#meters.has(id) && typeof point.fields.total === 'number') earliest(meters, id, point.time);
      } else if (point.measurement === 'vehicle') {
        const id = point.tags.vehicle ?? '';
        if (this.#vehicles.has(id)) earliest(vehicles, id, point.time);
      } else {
        const room = this.#roomOfSensor.get(point.tags.sensor ?? '');
        if (room !== undefined) earliest(rooms, room, point.time);
      }
    }
    return { meters, vehicles, rooms };
  }

  // ------------------------------------------------------------------------------------ meters

  /**
   * Folds meters again for new readings from the given times on (`-Infinity`: from the first).
   * The fold starts at the bucket of the `resumeDepth`-th reading before that time, with the
   * register state of the last row before that bucket (core/rollup/meter.ts).
   */
  async #foldMeters(
    earliest: ReadonlyMap<string, number>,
    rebuild: boolean,
    until = Number.POSITIVE_INFINITY,
    /** Called once the raw points are read (see #holdWrites). */
    readDone: () => void = () => undefined,
  ): Promise<void> {
    if (earliest.size === 0) return;
    const site = this.#facility.site.id;
    // Resumable inside a bucket: readings all newer than what the last fold saw (see soleWriter).
    const resumed = new Map<string, MeterCheckpoint>();
    const standard = new Map<string, number>();
    for (const [id, time] of earliest) {
      const checkpoint =
        !rebuild && until === Number.POSITIVE_INFINITY ? this.#resumable(id, time) : undefined;
      this.#checkpoints.delete(id);
      if (checkpoint) resumed.set(id, checkpoint);
      else standard.set(id, time);
    }
    const starts = standard.size > 0 ? await this.#meterStarts(standard) : new Map<string, number>();
    for (const [id, checkpoint] of resumed) starts.set(id, checkpoint.from);
    const from = Math.min(...starts.values());
    const ids = [...starts.keys()];
    const stateRows = new Map<string, RollupSeries>();
    for (const [id, start] of starts) {
      if (!Number.isFinite(start) || resumed.has(id)) continue;
      const [last] = await this.#store.lastRollups({
        kind: 'meter',
        site,
        devices: [id],
        before: start,
        fields: ['state'],
      });
      if (last) stateRows.set(id, last);
    }
    // Each meter's points from its own start: meters fold from checkpoints far apart when some
    // publish faster than others, and a read from the earliest would grow with the bucket.
    const startOf: Record<string, number> = {};
    for (const [id, start] of starts) if (Number.isFinite(start)) startOf[id] = start;
    const series = await queryColumns(this.#store, {
      measurement: 'meter',
      fields: ['total'],
      where: { site, meter: ids },
      groupBy: ['meter'],
      from: Number.isFinite(from) ? from : -8.64e15,
      to: 8.64e15,
      startOf,
    });
    readDone();
    const byMeter = new Map(series.map((s) => [s.tags.meter ?? '', s]));
    const writes: RollupWrite[] = [];
    const outliers: OutlierReading[] = [];
    for (const [id, start] of starts) {
      const device = this.#meters.get(id) as MeterDevice;
      const s = byMeter.get(id);
      // Read from the meter's own start (startOf above).
      const readings = {
        time: s?.time ?? new Float64Array(),
        total: s ? numberColumn(s, 'total') : new Float64Array(),
      };
      const bucket = Number.isFinite(start)
        ? start
        : readings.time.length > 0
          ? bucketOf(readings.time[0] as number)
          : 0;
      const checkpoint = resumed.get(id);
      const stateText =
        (stateRows.get(id)?.values.state as readonly (string | null)[] | undefined)?.[0] ?? null;
      const state: RegisterState =
        checkpoint?.state ?? (stateText ? (JSON.parse(stateText) as RegisterState) : []);
      const folded = foldMeterFrom({
        rules: device.rules,
        readings,
        from: bucket,
        state,
        ...(checkpoint ? { carry: checkpoint.carry } : {}),
      });
      const rows = folded.rows;
      if (this.#options.soleWriter && until === Number.POSITIVE_INFINITY && folded.checkpoint) {
        this.#checkpoints.set(id, { ...folded.checkpoint, newest: readings.time.at(-1) as number });
      }
      writes.push({
        kind: 'meter',
        site,
        device: id,
        tags: {
          building: device.meter.building,
          department: device.meter.department ?? '',
          kind: device.meter.kind,
          system: device.meter.system,
        },
        from: bucketOf(bucket),
        rows: rows.map(
          (r): RollupRow => ({
            time: r.time,
            values: {
              consumption: r.consumption,
              offHours: this.#calendar.isWorkingTime(r.time) ? 0 : r.consumption,
              coveredMs: r.coveredMs,
              readings: r.readings,
              kept: r.kept,
              outliers: r.outliers,
              resets: r.resets,
              rateExceeded: r.rateExceeded,
              pending: r.pending,
              state: JSON.stringify(r.state),
              rules: device.fingerprint,
            },
          }),
        ),
      });
      outliers.push(...this.#settledOutliers(id, device.rules, readings, state, rebuild, earliest.get(id)));
    }
    await this.#write(writes, until);
    if (outliers.length > 0) this.#options.onOutliers?.(outliers);
  }

  /**
   * Per meter, the bucket its fold starts at: the bucket of the `resumeDepth`-th reading before its
   * earliest new time, or `-Infinity` (from the first reading) when there are fewer.
   */
  async #meterStarts(earliest: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const site = this.#facility.site.id;
    const starts = new Map<string, number>();
    let todo = [...earliest.entries()].filter(([, t]) => {
      return Number.isFinite(t);
    });
    for (const [id, t] of earliest) if (!Number.isFinite(t)) starts.set(id, Number.NEGATIVE_INFINITY);
    let span = 3_600_000;
    while (todo.length > 0) {
      const depthOf = (id: string) => resumeDepth((this.#meters.get(id) as MeterDevice).rules);
      const longest = Math.max(
        ...todo.map(
          ([id]) => 3 * depthOf(id) * (this.#meters.get(id) as MeterDevice).rules.intervalSeconds * 1000,
        ),
      );
      const window = Math.max(span, longest);
      const low = Math.min(...todo.map(([, t]) => t)) - window;
      const high = Math.max(...todo.map(([, t]) => t));
      const series = await queryColumns(this.#store, {
        measurement: 'meter',
        fields: ['total'],
        where: { site, meter: todo.map(([id]) => id) },
        groupBy: ['meter'],
        from: low,
        to: high,
      });
      const byMeter = new Map(series.map((s) => [s.tags.meter ?? '', s.time]));
      const next: Array<[string, number]> = [];
      for (const [id, t] of todo) {
        const times = byMeter.get(id) ?? new Float64Array();
        let before = 0;
        while (before < times.length && (times[before] as number) < t) before++;
        const depth = depthOf(id);
        if (before >= depth) starts.set(id, bucketOf(times[before - depth] as number));
        else if (window > 40 * 366 * DAY_MS) starts.set(id, Number.NEGATIVE_INFINITY);
        else next.push([id, t]);
      }
      todo = next;
      span = window * 8;
    }
    return starts;
  }

  /** Outliers of this fold that are settled and were not reported yet. */
  #settledOutliers(
    id: string,
    rules: RegisterRules,
    readings: { time: Float64Array; total: Float64Array },
    state: RegisterState,
    rebuild: boolean,
    /** The earliest reading this write brought (not finite: a catch-up or rebuild, nothing new). */
    earliestNew: number | undefined,
  ): OutlierReading[] {
    const n = readings.time.length;
    const settled = n - 1 - settledAfter(rules);
    const until = settled >= 0 ? (readings.time[settled] as number) : Number.NEGATIVE_INFINITY;
    // The first fold of a meter in this process: the readings before this write's were reported
    // (or not) by the process that stored them; this write's own are reported here.
    const known = this.#reportedUntil.get(id);
    const reported =
      known ?? (earliestNew !== undefined && Number.isFinite(earliestNew) ? earliestNew - 1 : undefined);
    this.#reportedUntil.set(id, Math.max(reported ?? Number.NEGATIVE_INFINITY, until));
    if (reported === undefined || rebuild || !this.#options.onOutliers) return [];
    const judged = classify(readings, rules, 0, state);
    const out: OutlierReading[] = [];
    for (let i = 0; i <= settled; i++) {
      const time = readings.time[i] as number;
      if (time <= reported || judged.status[i] !== READING_STATUS.outlier) continue;
      out.push({ meter: id, time, total: readings.total[i] as number });
    }
    return out;
  }

  // ---------------------------------------------------------------------------------- vehicles

  /**
   * Folds cars again for new fixes from the given times on (`-Infinity`: from the first). Trips
   * resume at the anchor of the trip open at that time, or at the last fix before it (idle);
   * bucket rows from the bucket of that last fix, with the fix before the bucket as context.
   */
  async #foldVehicles(
    earliest: ReadonlyMap<string, number>,
    until = Number.POSITIVE_INFINITY,
  ): Promise<void> {
    if (earliest.size === 0) return;
    const site = this.#facility.site.id;
    const rules = this.#vehicleRules;
    const writes: RollupWrite[] = [];
    for (const [id, t] of earliest) {
      const device = this.#vehicles.get(id) as VehicleDevice;
      const tags = { department: device.vehicle.department };
      let tripFrom = Number.NEGATIVE_INFINITY;
      let bucketFrom = Number.NEGATIVE_INFINITY;
      let readFrom = Number.NEGATIVE_INFINITY;
      if (Number.isFinite(t)) {
        const previous = await this.#fixBefore(id, t);
        const open = tripResume(await this.#tripsBefore(id, t), t);
        tripFrom = open < t ? open : (previous ?? t);
        bucketFrom = bucketOf(previous ?? t);
        const context = await this.#fixBefore(id, bucketFrom);
        readFrom = Math.min(tripFrom, context ?? bucketFrom);
      }
      const fixes = await this.#fixes(id, readFrom);
      if (fixes.time.length === 0) continue;
      if (!Number.isFinite(bucketFrom)) bucketFrom = bucketOf(fixes.time[0] as number);
      if (!Number.isFinite(tripFrom)) tripFrom = fixes.time[0] as number;
      // Energy looks back to the last fuel reading, however old.
      const buckets = foldVehicleBuckets(await this.#withFuelBefore(id, fixes), bucketFrom, rules);
      writes.push({
        kind: 'vehicle',
        site,
        device: id,
        tags,
        from: bucketFrom,
        rows: buckets.map((b) => ({
          time: b.time,
          values: {
            idleMs: b.idleMs,
            energy: b.energy,
            fuelFixes: b.fuelFixes,
            speedingStarts: b.speedingStarts,
            fixes: b.fixes,
            rules: device.fingerprint,
          },
        })),
      });
      const trips = foldTrips(sliceFrom(fixes, tripFrom), rules, this.#serviceArea);
      writes.push({
        kind: 'trip',
        site,
        device: id,
        tags,
        from: tripFrom,
        rows: trips.map((trip) => ({
          time: trip.start,
          values: tripValues(trip, touchesOffHours(this.#calendar, trip.start, trip.end), device.fingerprint),
        })),
      });
    }
    await this.#write(writes, until);
  }

  async #tripsBefore(id: string, t: number): Promise<TripRecord[]> {
    const [series] = await this.#store.readRollups({
      kind: 'trip',
      site: this.#facility.site.id,
      devices: [id],
      from: t - TRIP_LOOKBACK_MS,
      to: t,
      fields: ['anchor', 'closedAt'],
    });
    if (!series) return [];
    const anchor = series.values.anchor as Float64Array;
    const closedAt = series.values.closedAt as Float64Array;
    return Array.from(series.time, (start, k) => ({
      start,
      anchor: anchor[k] as number,
      closedAt: Number.isNaN(closedAt[k] as number) ? null : (closedAt[k] as number),
    })) as TripRecord[];
  }

  /** Time of the last fix before `t`, if any. */
  async #fixBefore(id: string, t: number): Promise<number | undefined> {
    const [point] = await this.#store.latest({
      measurement: 'vehicle',
      fields: ['speed'],
      where: { site: this.#facility.site.id, vehicle: id },
      before: t,
    });
    return point?.time;
  }

  async #fixes(id: string, from: number): Promise<VehicleFixColumns> {
    const series = await queryColumns(this.#store, {
      measurement: 'vehicle',
      fields: VEHICLE_FIELDS,
      where: { site: this.#facility.site.id, vehicle: id },
      from: Number.isFinite(from) ? from : -8.64e15,
      to: 8.64e15,
    });
    return fixColumns(series);
  }

  /** `fixes` with the last fuel reading before them prepended as a fix of its own, when the first has none. */
  async #withFuelBefore(id: string, fixes: VehicleFixColumns): Promise<VehicleFixColumns> {
    if (fixes.time.length === 0 || !Number.isNaN(fixes.fuel[0] as number)) return fixes;
    const [point] = await this.#store.latest({
      measurement: 'vehicle',
      fields: ['fuel'],
      where: { site: this.#facility.site.id, vehicle: id },
      before: fixes.time[0] as number,
    });
    // `latest` answers the newest point of the series: it carries fuel only if the tracker sends it on every fix.
    const fuel = point?.values.fuel;
    if (point === undefined || typeof fuel !== 'number') return fixes;
    const prepend = (column: Float64Array, value: number) => {
      const out = new Float64Array(column.length + 1);
      out[0] = value;
      out.set(column, 1);
      return out;
    };
    return {
      time: prepend(fixes.time, point.time),
      lat: prepend(fixes.lat, Number.NaN),
      lon: prepend(fixes.lon, Number.NaN),
      speed: prepend(fixes.speed, 0),
      ignition: prepend(fixes.ignition, 0),
      odometer: prepend(fixes.odometer, Number.NaN),
      fuel: prepend(fixes.fuel, fuel),
    };
  }

  // ------------------------------------------------------------------------------------- rooms

  async #foldRooms(earliest: ReadonlyMap<string, number>, until = Number.POSITIVE_INFINITY): Promise<void> {
    if (earliest.size === 0) return;
    const site = this.#facility.site.id;
    const writes: RollupWrite[] = [];
    for (const [id, t] of earliest) {
      const device = this.#rooms.get(id) as RoomDevice;
      const from = Number.isFinite(t) ? roomResume(t) : Number.NEGATIVE_INFINITY;
      const columns = await this.#roomSamples(
        device,
        Number.isFinite(from) ? from - device.longestHold : from,
      );
      if (columns.time.length === 0) continue;
      const bucket = Number.isFinite(from) ? from : bucketOf(columns.time[0] as number);
      const rows = foldRoom(columns, bucket, this.#roomRules);
      writes.push({
        kind: 'room',
        site,
        device: id,
        tags: { building: device.room.building },
        from: bucket,
        rows: rows.map((r) => ({
          time: r.time,
          values: {
            occupiedMs: r.occupiedMs,
            personMs: r.personMs,
            conditionedEmptyMs: r.conditionedEmptyMs,
            setpointViolationMs: r.setpointViolationMs,
            co2OverMs: r.co2OverMs,
            occupiedTempMs: r.occupiedTempMs,
            comfortCoolMs: r.comfortCoolMs,
            comfortHeatMs: r.comfortHeatMs,
            occupancyKnownMs: r.occupancyKnownMs,
            samples: r.samples,
            rules: device.fingerprint,
          },
        })),
      });
    }
    await this.#write(writes, until);
  }

  async #roomSamples(device: RoomDevice, from: number): Promise<RoomColumns> {
    const series = await queryColumns(this.#store, {
      measurement: 'sensor',
      fields: ROOM_FIELDS,
      where: { site: this.#facility.site.id, room: device.room.id },
      groupBy: ['sensor'],
      from: Number.isFinite(from) ? from : -8.64e15,
      to: 8.64e15,
    });
    return mergeSensors(
      series,
      series.map((s) => device.holds.get(s.tags.sensor ?? '') ?? device.unknownHold),
    );
  }

  // ------------------------------------------------------------------------------------ start

  /** Rebuilds devices folded under other rules (or never), then folds every device's newest readings again. */
  async #catchUp(): Promise<void> {
    const site = this.#facility.site.id;
    const kinds = [
      ['meter', this.#meters] as const,
      ['vehicle', this.#vehicles] as const,
      ['room', this.#rooms] as const,
    ];
    for (const [kind, devices] of kinds) {
      const ids = [...devices.keys()];
      if (ids.length === 0) continue;
      const rows = await this.#store.lastRollups({
        kind,
        site,
        devices: ids,
        before: 8.64e15,
        fields: ['rules'],
      });
      const stored = new Map(
        rows.map((r) => [r.device, (r.values.rules as readonly (string | null)[])[0] ?? '']),
      );
      const measurement = kind === 'meter' ? 'meter' : kind === 'vehicle' ? 'vehicle' : 'sensor';
      const latest = await this.#store.latest({
        measurement,
        fields: [measurement === 'meter' ? 'total' : measurement === 'vehicle' ? 'speed' : 'occupancy'],
        where: { site },
      });
      const newest = new Map<string, number>();
      for (const point of latest) {
        const id =
          kind === 'room'
            ? this.#roomOfSensor.get(point.tags.sensor ?? '')
            : point.tags[kind === 'meter' ? 'meter' : 'vehicle'];
        if (id === undefined || !devices.has(id)) continue;
        newest.set(id, Math.max(newest.get(id) ?? Number.NEGATIVE_INFINITY, point.time));
      }
      const fold = new Map<string, number>();
      for (const [id, time] of newest) {
        const fingerprint = (devices.get(id) as { fingerprint: string }).fingerprint;
        // Rows under other rules, or none: fold from the first reading; else the newest reading again.
        fold.set(id, stored.get(id) === fingerprint ? time : Number.NEGATIVE_INFINITY);
      }
      if (kind === 'meter') await this.#foldMeters(fold, false);
      else if (kind === 'vehicle') await this.#foldVehicles(fold);
      else await this.#foldRooms(fold);
    }
  }

  /** Writes the folds' rows, only those before `until` when it is given (a bounded rebuild). */
  async #write(writes: readonly RollupWrite[], until: number): Promise<void> {
    const bounded = Number.isFinite(until)
      ? writes
          .filter((w) => w.from < until)
          .map((w) => ({ ...w, to: until, rows: w.rows.filter((r) => r.time < until) }))
      : writes;
    await this.#store.writeRollups(bounded);
    this.#changed(bounded);
  }

  #changed(writes: readonly RollupWrite[]): void {
    const onChange = this.#options.onChange;
    if ((!onChange && this.#listeners.size === 0) || writes.length === 0) return;
    const changes = writes.map(
      (w): RollupChange => ({
        kind: w.kind === 'trip' ? 'vehicle' : w.kind,
        device: w.device,
        from: w.from,
        rollup: w.kind,
        rows: w.rows,
        ...(w.to === undefined ? {} : { to: w.to }),
      }),
    );
    onChange?.(changes);
    for (const listener of this.#listeners) {
      try {
        listener(changes);
      } catch {
        // A listener's failure is its own: the fold is committed.
      }
    }
  }
}

function tripValues(trip: TripRecord, offHours: boolean, rules: string): Record<string, number | string> {
  return {
    end: trip.end,
    anchor: trip.anchor,
    ...(trip.closedAt === null ? {} : { closedAt: trip.closedAt }),
    distanceKm: trip.distanceKm,
    odometer: trip.odometer ? 1 : 0,
    maxSpeedKmh: trip.maxSpeedKmh,
    fromLat: trip.from.lat,
    fromLon: trip.from.lon,
    toLat: trip.to.lat,
    toLon: trip.to.lon,
    leftServiceArea: trip.leftServiceArea ? 1 : 0,
    offHours: offHours ? 1 : 0,
    rules,
  };
}

function sliceFrom(fixes: VehicleFixColumns, from: number): VehicleFixColumns {
  let k = 0;
  while (k < fixes.time.length && (fixes.time[k] as number) < from) k++;
  return {
    time: fixes.time.subarray(k),
    lat: fixes.lat.subarray(k),
    lon: fixes.lon.subarray(k),
    speed: fixes.speed.subarray(k),
    ignition: fixes.ignition.subarray(k),
    odometer: fixes.odometer.subarray(k),
    fuel: fixes.fuel.subarray(k),
  };
}

/**
 * A car's points as fix columns: a point without the contract's required fields (lat, lon, speed,
 * ignition) is no fix and is left out; several series (a car that changed department) are merged
 * by time.
 */
export function fixColumns(series: readonly ColumnSeries[]): VehicleFixColumns {
  const parts = series.map((columns) => {
    const values = VEHICLE_FIELDS.map((field) => numberColumn(columns, field));
    const [lat, lon, speed, ignition] = values as [Float64Array, Float64Array, Float64Array, Float64Array];
    const keep: number[] = [];
    for (let k = 0; k < columns.time.length; k++) {
      const required =
        (lat[k] as number) + (lon[k] as number) + (speed[k] as number) + (ignition[k] as number);
      if (!Number.isNaN(required)) keep.push(k);
    }
    return { columns: [columns.time, ...values], keep };
  });
  const n = parts.reduce((sum, part) => sum + part.keep.length, 0);
  const out = Array.from({ length: 1 + VEHICLE_FIELDS.length }, () => new Float64Array(n));
  let at = 0;
  for (const { columns, keep } of parts) {
    out.forEach((column, c) => {
      const source = columns[c] as Float64Array;
      for (let i = 0; i < keep.length; i++) column[at + i] = source[keep[i] as number] as number;
    });
    at += keep.length;
  }
  if (parts.length > 1) {
    const time = out[0] as Float64Array;
    const order = Array.from(time.keys()).sort((a, b) => (time[a] as number) - (time[b] as number));
    for (const [c, column] of out.entries()) out[c] = Float64Array.from(order, (k) => column[k] as number);
  }
  const [time, lat, lon, speed, ignition, odometer, fuel] = out as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  return { time, lat, lon, speed, ignition, odometer, fuel };
}

/**
 * A room's sensor series in one time order (samples at the same instant keep the order of the
 * sensors), each sample with its sensor's hold.
 */
export function mergeSensors(series: readonly ColumnSeries[], holds: readonly number[]): RoomColumns {
  const n = series.reduce((sum, s) => sum + s.time.length, 0);
  const out = {
    time: new Float64Array(n),
    holdMs: new Float64Array(n),
    occupancy: new Float64Array(n),
    temperature: new Float64Array(n),
    co2: new Float64Array(n),
    hvac: new Float64Array(n),
    lights: new Float64Array(n),
  };
  const inputs = series.map((s, i) => ({
    time: s.time,
    holdMs: holds[i] as number,
    occupancy: numberColumn(s, 'occupancy'),
    temperature: numberColumn(s, 'temperature'),
    co2: numberColumn(s, 'co2'),
    hvac: stringColumn(s, 'hvac'),
    lights: numberColumn(s, 'lights'),
  }));
  const at = new Array<number>(inputs.length).fill(0);
  for (let k = 0; k < n; k++) {
    let pick = -1;
    let earliest = Number.POSITIVE_INFINITY;
    inputs.forEach((input, i) => {
      const time = input.time[at[i] as number];
      if (time !== undefined && (pick < 0 || time < earliest)) {
        pick = i;
        earliest = time;
      }
    });
    const input = inputs[pick] as (typeof inputs)[number];
    const j = at[pick] as number;
    at[pick] = j + 1;
    out.time[k] = earliest;
    out.holdMs[k] = input.holdMs;
    out.occupancy[k] = input.occupancy[j] as number;
    out.temperature[k] = input.temperature[j] as number;
    out.co2[k] = input.co2[j] as number;
    out.hvac[k] = hvacCode(input.hvac[j] ?? null);
    out.lights[k] = input.lights[j] as number;
  }
  return out;
}

/** Re-exported for the services' raw reads. */
export { BUCKET_MS };
