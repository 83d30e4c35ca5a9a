/**
 * Rollups: what the store keeps besides the raw points so that any figure over any period is a
 * sum of whole buckets plus an exact computation of the partial buckets at its edges
 * (docs/architecture.md, "Rollups"). Folded from the raw points as batches commit, by the pure
 * functions next to this module, the same code for the live path and for a rebuild.
 *
 * **Buckets** are 15 minutes, aligned to the Unix epoch. Every UTC offset in use is a multiple of
 * 15 minutes, so every local midnight, hour and quarter hour of any site — the edges of days,
 * working hours, time-of-use periods and series windows — falls on a bucket boundary, whatever the
 * time zone and daylight-saving rule. The API decides when a figure is asked for whether a bucket
 * is working time, which tariff period or month it is in. What the folds do depend on (a meter's
 * register rules, the vehicle and room thresholds, the service-area polygon, a device's interval,
 * and for the meters' `offHours` field kept for Grafana the site calendar) is fingerprinted in each
 * row, and rows folded under other rules are rebuilt at start.
 *
 * Four kinds, each a table (DuckDB) or measurement (InfluxDB, so Grafana can read them too) of
 * rows keyed by (site, device, time):
 *
 * - `meter` per meter and bucket: consumption and covered time (the bucket's share of
 *   R(end) − R(start) of core/register.ts), reading counts by status, and the register state at
 *   the bucket's end (where a later fold resumes);
 * - `vehicle` per car and bucket: idle time, energy used, speeding starts, fixes;
 * - `trip` per car and trip, keyed by its start: the trips of core/kpi/vehicle.ts with what a
 *   period report needs of them;
 * - `room` per room and bucket: occupied, conditioned-while-empty, set-point violation, CO2-over,
 *   comfort and reported times, and the person-time integral.
 */
import type { FieldType } from '../store.ts';

/** Bucket length, ms: 15 minutes. */
export const BUCKET_MS = 900_000;

/** Start of the bucket holding `time` (floor, also before 1970). */
export function bucketOf(time: number): number {
  return time - (((time % BUCKET_MS) + BUCKET_MS) % BUCKET_MS);
}

/** Whether `time` is a bucket boundary. */
export function onGrid(time: number): boolean {
  return bucketOf(time) === time;
}

export type RollupKind = 'meter' | 'vehicle' | 'trip' | 'room';

export interface RollupSchema {
  /** The tag naming the device (with `site`, the series). */
  readonly key: string;
  /** Tags besides `site` and the key, for Grafana's filters (InfluxDB only; DuckDB joins the facility). */
  readonly tags: readonly string[];
  readonly fields: Readonly<Record<string, FieldType>>;
}

export const ROLLUPS: Readonly<Record<RollupKind, RollupSchema>> = {
  meter: {
    key: 'meter',
    tags: ['building', 'department', 'kind', 'system'],
    fields: {
      /** Meter unit (kWh, m³) used in the bucket. */
      consumption: 'float',
      /**
       * The consumption again when the bucket starts outside working time of the site calendar,
       * else 0: the off-hours share for readers of the rows that have no calendar (Grafana). The
       * API does not read it (it cuts its own edges), and it is why a meter's fingerprint holds
       * the calendar.
       */
      offHours: 'float',
      /** Milliseconds of the bucket between kept readings close enough to count as covered. */
      coveredMs: 'float',
      readings: 'float',
      kept: 'float',
      outliers: 'float',
      resets: 'float',
      rateExceeded: 'float',
      pending: 'float',
      /** JSON of core/register.ts's RegisterState after the bucket. */
      state: 'string',
      /** Fingerprint of the rules the row was folded under. */
      rules: 'string',
    },
  },
  vehicle: {
    key: 'vehicle',
    tags: ['department'],
    fields: {
      idleMs: 'float',
      /** Litres or kWh used (fuel counter increments at fixes in the bucket). */
      energy: 'float',
      /** Fixes carrying the fuel counter (energy is unknown in a period without any). */
      fuelFixes: 'float',
      speedingStarts: 'float',
      fixes: 'float',
      rules: 'string',
    },
  },
  trip: {
    key: 'vehicle',
    tags: ['department'],
    fields: {
      /** The trip's end, epoch ms (its start is the row's time). */
      end: 'float',
      /** The fix the trip is measured from (its standing place), epoch ms. */
      anchor: 'float',
      /** The fix at which the trip was closed, epoch ms; NaN (absent) while it is still open. */
      closedAt: 'float',
      distanceKm: 'float',
      /** 1 odometer, 0 GPS legs. */
      odometer: 'float',
      maxSpeedKmh: 'float',
      fromLat: 'float',
      fromLon: 'float',
      toLat: 'float',
      toLon: 'float',
      /** 1 when a fix of the trip lies outside the service area. */
      leftServiceArea: 'float',
      /**
       * 1 when the trip touches time outside working hours of the site calendar (nights, weekends,
       * holidays; make-up workdays are working days), as `offHoursTrips` counts it.
       */
      offHours: 'float',
      rules: 'string',
    },
  },
  room: {
    key: 'room',
    tags: ['building'],
    fields: {
      occupiedMs: 'float',
      /** Person-milliseconds while occupied (Σ occupancy × time). */
      personMs: 'float',
      conditionedEmptyMs: 'float',
      setpointViolationMs: 'float',
      co2OverMs: 'float',
      /** Occupied time with a known temperature. */
      occupiedTempMs: 'float',
      /** …of which inside the cooling-season band, and inside the heating-season band. */
      comfortCoolMs: 'float',
      comfortHeatMs: 'float',
      occupancyKnownMs: 'float',
      samples: 'float',
      rules: 'string',
    },
  },
};

export type RollupValue = number | string;

/** One rollup row. */
export interface RollupRow {
  /** Epoch ms: the bucket start (trips: the trip's start). */
  readonly time: number;
  /** Field values; a float field left out (or NaN) is stored as absent. */
  readonly values: Readonly<Record<string, RollupValue>>;
}

/**
 * Replace a device's rows in `[from, to)` (to the end without `to`) by `rows` (all in that range,
 * ascending): rows of that device in the range that `rows` does not hold are removed.
 */
export interface RollupWrite {
  readonly kind: RollupKind;
  readonly site: string;
  readonly device: string;
  /** The device's other tags (ROLLUPS[kind].tags), for stores that keep them. */
  readonly tags?: Readonly<Record<string, string>>;
  readonly from: number;
  /** Exclusive end of the replaced range; default: the end of time. */
  readonly to?: number;
  readonly rows: readonly RollupRow[];
}

/** Rows of some devices in a time range. */
export interface RollupQuery {
  readonly kind: RollupKind;
  readonly site: string;
  /** Only these devices; all when absent. */
  readonly devices?: readonly string[];
  /** Inclusive, epoch ms. */
  readonly from: number;
  /** Exclusive, epoch ms. */
  readonly to: number;
  readonly fields: readonly string[];
}

/** A device's rows, column by column (float fields: NaN where absent; string fields: null). */
export interface RollupSeries {
  readonly device: string;
  readonly time: Float64Array;
  readonly values: Readonly<Record<string, Float64Array | readonly (string | null)[]>>;
}

/** Sums of float fields per interval between edges on the bucket grid. */
export interface RollupSumQuery {
  readonly kind: RollupKind;
  readonly site: string;
  readonly devices?: readonly string[];
  /** Strictly ascending bucket boundaries, at least 2; interval `i` is `[edges[i], edges[i + 1])`. */
  readonly edges: readonly number[];
  /** Float fields to sum. */
  readonly fields: readonly string[];
}

/** One device's sums: `sums[field][i]` over interval i (0 where it has no row). */
export interface RollupSums {
  readonly device: string;
  readonly sums: Readonly<Record<string, Float64Array>>;
}

/** The last row of each device before an instant. */
export interface RollupLastQuery {
  readonly kind: RollupKind;
  readonly site: string;
  readonly devices?: readonly string[];
  /** Exclusive, epoch ms. */
  readonly before: number;
  readonly fields: readonly string[];
}

/**
 * Where rollups live: implemented by each store adapter beside its raw points (the contract suite
 * in tests/integration/store-contract.ts runs against both).
 */
export interface RollupStore {
  /** Apply the writes (DuckDB: one transaction); resolves once committed. */
  writeRollups(writes: readonly RollupWrite[]): Promise<void>;
  /** Rows of the devices in [from, to), ascending, one series per device that has any, sorted by device. */
  readRollups(query: RollupQuery): Promise<RollupSeries[]>;
  /** Sums per interval, one entry per device that has a row in the range, sorted by device. */
  sumRollups(query: RollupSumQuery): Promise<RollupSums[]>;
  /** The last row of each device before `before` (none for a device without one), sorted by device. */
  lastRollups(query: RollupLastQuery): Promise<RollupSeries[]>;
}

/** Checks a write against the schema (the message names the bad part). */
export function validateRollupWrite(write: RollupWrite): void {
  const schema = ROLLUPS[write.kind];
  if (!schema) throw new RangeError(`unknown rollup kind "${write.kind}"`);
  if (!write.site || !write.device)
    throw new RangeError(`${write.kind} rollup: site and device are required`);
  if (!Number.isSafeInteger(write.from))
    throw new RangeError(`${write.kind} rollup: from must be whole epoch ms`);
  let last = Number.NEGATIVE_INFINITY;
  for (const row of write.rows) {
    if (!Number.isSafeInteger(row.time) || row.time < write.from || row.time <= last) {
      throw new RangeError(
        `${write.kind} rollup of ${write.device}: row times must be whole epoch ms, ascending, from ${write.from} on (got ${row.time})`,
      );
    }
    last = row.time;
    for (const [field, value] of Object.entries(row.values)) {
      const type = schema.fields[field];
      if (type === undefined) throw new RangeError(`${write.kind} rollup: "${field}" is not a field`);
      if (type === 'string' ? typeof value !== 'string' : typeof value !== 'number') {
        throw new RangeError(
          `${write.kind} rollup: field "${field}" must be a ${type === 'string' ? 'string' : 'number'}`,
        );
      }
    }
  }
}

/** Checks sum edges: at least 2, strictly ascending, on the bucket grid. */
export function validateSumEdges(edges: readonly number[]): void {
  if (edges.length < 2) throw new RangeError('rollup sums need at least 2 edges');
  edges.forEach((edge, i) => {
    if (!Number.isSafeInteger(edge) || !onGrid(edge)) {
      throw new RangeError(`edges[${i}]: ${edge} is not on the ${BUCKET_MS / 60_000}-minute bucket grid`);
    }
    if (i > 0 && !(edge > (edges[i - 1] as number)))
      throw new RangeError(`edges[${i}]: not after edges[${i - 1}]`);
  });
}
