/**
 * The time-series store port. Every store adapter (`storage/duckdb`, `storage/influx`)
 * implements {@link TimeSeriesStore}: raw points, and the rollups folded from them
 * (core/rollup/schema.ts); the contract suite in `tests/integration/store-contract` runs unchanged
 * against each of them.
 *
 * The model is deliberately small (measurement, fields, tag filter, time range, window,
 * aggregate, group-by) so that each adapter can translate it: SQL for DuckDB, InfluxQL over
 * `/query` for InfluxDB.
 */

import type { RollupStore } from './rollup/schema.ts';

/** The three measurements of the store model (docs/architecture.md, "Store model"). */
export type Measurement = 'meter' | 'vehicle' | 'sensor';

/** Storage type of a field. Aggregates other than first/last/count need `float`. */
export type FieldType = 'float' | 'boolean' | 'string';

export interface MeasurementSchema {
  /** Tag keys, in a fixed order. Tags are strings you filter or group by. */
  readonly tags: readonly string[];
  /**
   * The tag that names the device. With `site`, it identifies a series: the other tags are
   * attributes of the device (its building, department…), so a point written twice for the
   * same site, device and time is one point. The attribute tags of a device must not change
   * for times already written: InfluxDB keys a series on the full tag set, so a rewrite with
   * other attributes would leave two points there.
   */
  readonly key: string;
  /** Field names and their storage types. */
  readonly fields: Readonly<Record<string, FieldType>>;
}

export const MEASUREMENTS: Readonly<Record<Measurement, MeasurementSchema>> = {
  meter: {
    tags: ['site', 'building', 'department', 'meter', 'kind', 'system'],
    key: 'meter',
    fields: { total: 'float', power: 'float' },
  },
  vehicle: {
    tags: ['site', 'vehicle', 'department'],
    key: 'vehicle',
    fields: {
      lat: 'float',
      lon: 'float',
      speed: 'float',
      ignition: 'boolean',
      odometer: 'float',
      fuel: 'float',
    },
  },
  sensor: {
    tags: ['site', 'building', 'room', 'sensor'],
    key: 'sensor',
    fields: {
      occupancy: 'float',
      temperature: 'float',
      humidity: 'float',
      co2: 'float',
      hvac: 'string',
      lights: 'boolean',
    },
  },
};

export type FieldValue = number | boolean | string;

/** One point. Absent tags are stored as empty; absent fields are simply not set. */
export interface Point {
  readonly measurement: Measurement;
  readonly tags: Readonly<Record<string, string>>;
  readonly fields: Readonly<Record<string, FieldValue>>;
  /** Epoch milliseconds (UTC). */
  readonly time: number;
}

export type Aggregate = 'first' | 'last' | 'min' | 'max' | 'mean' | 'sum' | 'count';

export const AGGREGATES: readonly Aggregate[] = ['first', 'last', 'min', 'max', 'mean', 'sum', 'count'];

/** Window lengths the query model accepts: each divides a day, or is exactly one day. */
export type Every = '1m' | '5m' | '15m' | '30m' | '1h' | '1d';

export const EVERY_MS: Readonly<Record<Every, number>> = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '30m': 1_800_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
};

/** A tag filter: tag key → one value, or any of several values. */
export type TagFilter = Readonly<Record<string, string | readonly string[]>>;

export interface Query {
  readonly measurement: Measurement;
  /** Fields to return; each must belong to the measurement. */
  readonly fields: readonly string[];
  readonly where?: TagFilter;
  /** Inclusive start, epoch ms. */
  readonly from: number;
  /** Exclusive end, epoch ms. */
  readonly to: number;
  /**
   * Aggregate each field. Without `every`, over the whole range; with `every`, per window.
   * Without `aggregate`, raw points are returned (and `every` must be absent).
   */
  readonly aggregate?: Aggregate;
  /**
   * Window length. Windows are aligned to local midnight in `timezone` (so `1d` is a
   * calendar day of the site, and a day in Asia/Shanghai starts at 16:00 UTC the day
   * before). Only windows holding at least one point are returned.
   */
  readonly every?: Every;
  /** IANA time zone for window alignment; default `UTC`. */
  readonly timezone?: string;
  /** Tag keys to group by; one {@link Series} per distinct combination. */
  readonly groupBy?: readonly string[];
}

export interface Row {
  /** Epoch ms: the point's time for raw rows, the window start for windowed rows, `from` otherwise. */
  readonly time: number;
  /** One entry per queried field; `null` when the field has no value in this row. */
  readonly values: Readonly<Record<string, FieldValue | null>>;
}

export interface Series {
  /** Values of the group-by tags (empty object when not grouped). */
  readonly tags: Readonly<Record<string, string>>;
  /** Rows in ascending time. */
  readonly rows: readonly Row[];
}

/**
 * Raw points of one series, column by column: what {@link TimeSeriesStore.queryColumns} returns.
 * Column `values[field][i]` belongs to the point at `time[i]`.
 */
export interface ColumnSeries {
  /** Values of the group-by tags (empty object when not grouped). */
  readonly tags: Readonly<Record<string, string>>;
  /** Epoch ms, ascending. */
  readonly time: Float64Array;
  /**
   * One column per queried field. `float` fields: the value, `NaN` where the point has none
   * (stored values are finite, so `NaN` is free); `boolean` fields: 1 or 0, `NaN` where none;
   * `string` fields: the value, or null where none.
   */
  readonly values: Readonly<Record<string, Float64Array | readonly (string | null)[]>>;
}

/**
 * A raw read for {@link TimeSeriesStore.queryColumns}: a {@link Query} without `aggregate`, and
 * optionally a later start per device (a fold resuming each meter where it stopped reads only
 * that meter's new points, not every meter's since the earliest).
 */
export interface ColumnQuery extends Query {
  /**
   * Per value of the measurement's device tag (`meter`, `vehicle`, `sensor`): an inclusive start
   * for that device's points, at or after `from` (devices not listed start at `from`). The
   * query must group by the device tag.
   */
  readonly startOf?: Readonly<Record<string, number>>;
}

export interface LatestQuery {
  readonly measurement: Measurement;
  readonly fields: readonly string[];
  readonly where?: TagFilter;
  /** Only consider points before this instant (exclusive, epoch ms); default: no bound. */
  readonly before?: number;
}

export interface LatestPoint {
  /** All tags of the series. */
  readonly tags: Readonly<Record<string, string>>;
  readonly time: number;
  readonly values: Readonly<Record<string, FieldValue | null>>;
}

/**
 * A time-series store. `start()` and `stop()` are idempotent.
 *
 * Errors that may succeed on retry (server down, timeout, 5xx, 429) are {@link StoreError}
 * with `retriable: true`; the ingest holds its acknowledgements and retries them.
 */
export interface TimeSeriesStore extends RollupStore {
  /** A short name for logs and benchmarks, e.g. `duckdb` or `influxdb 1.6.7`. */
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Write points; resolves once they are committed (durable per the store's own rules).
   * Writing the same series and time twice leaves one point: the later write wins.
   */
  write(points: readonly Point[]): Promise<void>;
  /** Run a query of the store model. Series are sorted by their tag values. */
  query(query: Query): Promise<Series[]>;
  /**
   * The raw points of a query without `aggregate` (the rows {@link query} would return, in the
   * same series and order), column by column: no object per point, for reads of hundreds of
   * thousands of points. Optional: {@link queryColumns} falls back on `query()`.
   */
  queryColumns?(query: ColumnQuery): Promise<ColumnSeries[]>;
  /** The latest point of each series matching the filter (one per device), sorted by site, then device. */
  latest(query: LatestQuery): Promise<LatestPoint[]>;
}

/** An error from a store. `retriable` says whether the same call may succeed later. */
export class StoreError extends Error {
  readonly retriable: boolean;
  readonly code: string;
  constructor(message: string, options: { code: string; retriable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.code = options.code;
    this.retriable = options.retriable;
  }
}

/**
 * Check a query against the store model before an adapter translates it, so both
 * adapters reject the same mistakes with the same messages.
 */
export function validateQuery(query: Query): void {
  const schema = MEASUREMENTS[query.measurement];
  if (!schema) throw invalid(`unknown measurement "${query.measurement}"`);
  if (query.fields.length === 0) throw invalid('fields: at least one field is needed');
  for (const field of query.fields) {
    const type = schema.fields[field];
    if (!type) {
      throw invalid(
        `fields: "${field}" is not a field of ${query.measurement} (${Object.keys(schema.fields).join(', ')})`,
      );
    }
    if (query.aggregate && !['first', 'last', 'count'].includes(query.aggregate) && type !== 'float') {
      throw invalid(`aggregate: ${query.aggregate} needs a numeric field; "${field}" is ${type}`);
    }
  }
  validateTags(query.measurement, [...Object.keys(query.where ?? {}), ...(query.groupBy ?? [])]);
  if (!Number.isFinite(query.from) || !Number.isFinite(query.to)) throw invalid('from/to: not a time');
  if (query.to < query.from) throw invalid('to: must not be before from');
  if (query.timezone !== undefined && !isTimeZone(query.timezone)) {
    throw invalid(`timezone: "${query.timezone}" is not an IANA time zone`);
  }
  if (query.every !== undefined) {
    if (!(query.every in EVERY_MS))
      throw invalid(`every: "${query.every}" is not one of ${Object.keys(EVERY_MS).join(', ')}`);
    if (!query.aggregate) throw invalid('every: windows need an aggregate');
  }
}

/** Check a {@link ColumnQuery}: a raw {@link Query}, and its device starts. */
export function validateColumnQuery(query: ColumnQuery): void {
  validateQuery(query);
  if (query.aggregate) throw invalid('queryColumns: raw points only, without aggregate');
  if (query.startOf === undefined) return;
  const key = MEASUREMENTS[query.measurement].key;
  if (!(query.groupBy ?? []).includes(key)) throw invalid(`startOf: the query must group by "${key}"`);
  for (const [device, start] of Object.entries(query.startOf)) {
    if (!Number.isFinite(start)) throw invalid(`startOf: the start of "${device}" is not a time`);
  }
}

/**
 * The series of a raw read with each device's points before its {@link ColumnQuery.startOf}
 * left out: for a store that cannot leave them out as it reads.
 */
export function fromStarts(query: ColumnQuery, series: ColumnSeries[]): ColumnSeries[] {
  const starts = query.startOf;
  if (starts === undefined) return series;
  const key = MEASUREMENTS[query.measurement].key;
  const out: ColumnSeries[] = [];
  for (const s of series) {
    const device = s.tags[key] ?? '';
    const start = Object.hasOwn(starts, device) ? starts[device] : undefined;
    if (start === undefined || start <= query.from) {
      out.push(s);
      continue;
    }
    let low = 0;
    let high = s.time.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((s.time[mid] as number) < start) low = mid + 1;
      else high = mid;
    }
    if (low === s.time.length) continue; // none left: no series, as a read without them gives
    if (low === 0) {
      out.push(s);
      continue;
    }
    const values: Record<string, Float64Array | readonly (string | null)[]> = {};
    for (const [field, column] of Object.entries(s.values)) {
      values[field] = column instanceof Float64Array ? column.subarray(low) : column.slice(low);
    }
    out.push({ tags: s.tags, time: s.time.subarray(low), values });
  }
  return out;
}

/** Check a {@link LatestQuery} against the store model. */
export function validateLatest(query: LatestQuery): void {
  validateQuery({ measurement: query.measurement, fields: query.fields, from: 0, to: 0 });
  validateTags(query.measurement, Object.keys(query.where ?? {}));
  if (query.before !== undefined && !Number.isFinite(query.before)) throw invalid('before: not a time');
}

const timeZones = new Map<string, boolean>();

/** Whether `name` is an IANA time zone this runtime knows. */
export function isTimeZone(name: string): boolean {
  let known = timeZones.get(name);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: name });
      known = true;
    } catch {
      known = false;
    }
    timeZones.set(name, known);
  }
  return known;
}

export function validateTags(measurement: Measurement, tags: readonly string[]): void {
  const schema = MEASUREMENTS[measurement];
  for (const tag of tags) {
    if (!schema.tags.includes(tag)) {
      throw invalid(`"${tag}" is not a tag of ${measurement} (${schema.tags.join(', ')})`);
    }
  }
}

function invalid(message: string): StoreError {
  return new StoreError(message, { code: 'INVALID_QUERY', retriable: false });
}

/** The JavaScript date range, ±8.64e15 ms (ECMA-262 §21.4.1.1). */
const MAX_TIME_MS = 8.64e15;

/**
 * Tag values no adapter may accept, so that every store keeps the same points: InfluxDB 1.x
 * unescapes only `\,` `\=` `\ ` in tags, so a backslash before one of those, before another
 * backslash or at the end comes back changed, and control characters cannot be escaped at all.
 */
const UNREPRESENTABLE_TAG = /[\u0000-\u001f\u007f]|\\(?=[\\, =]|$)/;

/** Tag values already found representable (a few hundred devices' ids, over and over). */
const representable = new Set<string>();

function isRepresentable(value: string): boolean {
  if (representable.has(value)) return true;
  if (UNREPRESENTABLE_TAG.test(value)) return false;
  if (representable.size >= 10_000) representable.clear();
  representable.add(value);
  return true;
}

function invalidPoint(index: number, point: Point, problem: string): StoreError {
  return new StoreError(`point ${index} (${point.measurement ?? '?'}): ${problem}`, {
    code: 'INVALID_POINT',
    retriable: false,
  });
}

/**
 * Check points against the store model; the message names the point and the bad part. Runs for
 * every point the ingest writes (hundreds of thousands a second), so it allocates nothing for a
 * good point.
 */
export function validatePoints(points: readonly Point[]): void {
  for (let index = 0; index < points.length; index++) {
    const point = points[index];
    if (point === undefined) continue;
    const schema = MEASUREMENTS[point.measurement];
    if (!schema) throw invalidPoint(index, point, 'unknown measurement');
    if (!Number.isInteger(point.time) || Math.abs(point.time) > MAX_TIME_MS) {
      throw invalidPoint(index, point, 'time must be whole epoch milliseconds within the date range');
    }
    for (const tag in point.tags) {
      if (!Object.hasOwn(point.tags, tag)) continue;
      const value = point.tags[tag];
      if (typeof value === 'string' && !isRepresentable(value)) {
        throw invalidPoint(
          index,
          point,
          `tag "${tag}" holds a control character, or a backslash before a backslash, comma, space, equals sign or the end, which InfluxDB's line protocol cannot carry unchanged`,
        );
      }
      if (!schema.tags.includes(tag)) {
        throw invalidPoint(index, point, `"${tag}" is not a tag of ${point.measurement}`);
      }
    }
    if (!point.tags[schema.key] || !point.tags.site) {
      throw invalidPoint(index, point, `tags "site" and "${schema.key}" are required`);
    }
    let count = 0;
    for (const field in point.fields) {
      if (!Object.hasOwn(point.fields, field)) continue;
      const value = point.fields[field];
      const type = schema.fields[field];
      const ok =
        type === 'float'
          ? typeof value === 'number' && Number.isFinite(value)
          : type === 'boolean'
            ? typeof value === 'boolean'
            : type === 'string' && typeof value === 'string';
      if (!ok) {
        throw invalidPoint(
          index,
          point,
          type
            ? `field "${field}" must be ${type === 'float' ? 'a finite number' : `a ${type}`}`
            : `"${field}" is not a field of ${point.measurement}`,
        );
      }
      count++;
    }
    if (count === 0) throw invalidPoint(index, point, 'no fields');
  }
}

/** `store.queryColumns(query)`, or `store.query(query)` turned into columns when the store has no such method. */
export async function queryColumns(store: TimeSeriesStore, query: ColumnQuery): Promise<ColumnSeries[]> {
  if (store.queryColumns) return store.queryColumns(query);
  validateColumnQuery(query);
  return fromStarts(query, toColumns(query, await store.query(query)));
}

/** Raw series of a query (no aggregate) as {@link ColumnSeries}. */
export function toColumns(query: Query, series: readonly Series[]): ColumnSeries[] {
  if (query.aggregate) throw invalid('queryColumns: raw points only, without aggregate');
  const schema = MEASUREMENTS[query.measurement];
  const fields = [...new Set(query.fields)];
  return series.map(({ tags, rows }) => {
    const time = new Float64Array(rows.length);
    rows.forEach((row, i) => {
      time[i] = row.time;
    });
    const values: Record<string, Float64Array | (string | null)[]> = {};
    for (const field of fields) {
      if (schema.fields[field] === 'string') {
        values[field] = rows.map((row) => {
          const value = row.values[field];
          return typeof value === 'string' ? value : null;
        });
      } else {
        const column = new Float64Array(rows.length);
        rows.forEach((row, i) => {
          const value = row.values[field];
          column[i] =
            typeof value === 'number' ? value : typeof value === 'boolean' ? Number(value) : Number.NaN;
        });
        values[field] = column;
      }
    }
    return { tags, time, values };
  });
}

/** The column of a float or boolean field in a {@link ColumnSeries}. */
export function numberColumn(series: ColumnSeries, field: string): Float64Array {
  const column = series.values[field];
  if (!(column instanceof Float64Array)) throw new TypeError(`"${field}" is not a numeric column`);
  return column;
}

/** The column of a string field in a {@link ColumnSeries}. */
export function stringColumn(series: ColumnSeries, field: string): readonly (string | null)[] {
  const column = series.values[field];
  if (column === undefined || column instanceof Float64Array) {
    throw new TypeError(`"${field}" is not a string column`);
  }
  return column;
}
