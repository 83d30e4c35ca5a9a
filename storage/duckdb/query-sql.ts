/**
 * Translation of the store's query model to DuckDB SQL. Tag values travel as bound
 * parameters; the only literals written into the SQL are identifiers from `MEASUREMENTS` and
 * integers computed here (times, window lengths, offsets).
 */
import {
  type Aggregate,
  EVERY_MS,
  type LatestQuery,
  MEASUREMENTS,
  type Measurement,
  type Query,
  type TagFilter,
} from '../../core/store.ts';
import { pointsTable, seriesTable } from './schema.ts';
import type { OffsetSegment } from './time-zone.ts';

export interface Statement {
  readonly sql: string;
  readonly params: string[];
}

/**
 * Bounds of a stored time: the range of JavaScript dates, so that every stored time is a safe
 * integer and turns back into a `Date`.
 */
export const MAX_TIME = 8.64e15;

export function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** The table of a measurement, as written in SQL. */
export function table(measurement: Measurement): string {
  return quote(measurement);
}

/** An integer literal; refuses anything else so that no stray value ends up in the SQL. */
function int(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`not a safe integer: ${value}`);
  return String(value);
}

/** Times are whole milliseconds, so `time >= x` is `time >= ceil(x)` and `time < y` is `time < ceil(y)`. */
function bound(time: number): string {
  return int(Math.min(Math.max(Math.ceil(time), -MAX_TIME), MAX_TIME + 1));
}

const AGGREGATE_SQL: Readonly<Record<Aggregate, (field: string) => string>> = {
  // arg_min/arg_max skip rows where the field is NULL: the first/last value, like InfluxQL.
  first: (field) => `arg_min(${field}, "time")`,
  last: (field) => `arg_max(${field}, "time")`,
  min: (field) => `min(${field})`,
  max: (field) => `max(${field})`,
  mean: (field) => `avg(${field})`,
  sum: (field) => `sum(${field})`,
  // COUNT is BIGINT, which the client would read as a bigint.
  count: (field) => `count(${field})::DOUBLE`,
};

/** Conditions of a tag filter; tag values are pushed to `params` and referenced as `$n`. */
export function filterSql(where: TagFilter | undefined, params: string[]): string[] {
  const conditions: string[] = [];
  for (const [tag, wanted] of Object.entries(where ?? {})) {
    const values = typeof wanted === 'string' ? [wanted] : wanted;
    if (values.length === 0) {
      conditions.push('FALSE');
      continue;
    }
    const placeholders = values.map((value) => {
      params.push(value);
      return `$${params.length}`;
    });
    conditions.push(
      placeholders.length === 1
        ? `${quote(tag)} = ${placeholders[0]}`
        : `${quote(tag)} IN (${placeholders.join(', ')})`,
    );
  }
  return conditions;
}

/** At least one of the fields has a value: the rows InfluxQL would consider too. */
function anyFieldSql(fields: readonly string[]): string {
  return `(${fields.map((field) => `${quote(field)} IS NOT NULL`).join(' OR ')})`;
}

/** Columns of a query's answer, in order: group-by tags, then time if any, then fields. */
export interface QueryShape {
  readonly groupBy: readonly string[];
  readonly fields: readonly string[];
  /** Whether the answer has a time column (raw rows and windows); otherwise rows are at `from`. */
  readonly timed: boolean;
  /** Whether the time column holds local window starts to be turned into UTC instants. */
  readonly localWindows: boolean;
}

/**
 * The SELECT for a validated {@link Query}. With windows, `segments` gives the time zone's
 * offsets over the range; the time column then holds window starts in local milliseconds.
 */
export function querySql(query: Query, segments: readonly OffsetSegment[]): Statement & QueryShape {
  const schema = MEASUREMENTS[query.measurement];
  const groupBy = [...new Set(query.groupBy ?? [])];
  const fields = [...new Set(query.fields)];
  const params: string[] = [];
  const conditions = [
    `"time" >= ${bound(query.from)}`,
    `"time" < ${bound(query.to)}`,
    ...filterSql(query.where, params),
    anyFieldSql(fields),
  ];
  const where = conditions.join(' AND ');
  const tags = groupBy.map(quote);
  const from = table(query.measurement);

  if (!query.aggregate) {
    const order = [...tags, '"time"', quote('site'), quote(schema.key)].join(', ');
    const columns = [...tags, '"time"::DOUBLE', ...fields.map(quote)].join(', ');
    return {
      sql: `SELECT ${columns} FROM ${from} WHERE ${where} ORDER BY ${order}`,
      params,
      groupBy,
      fields,
      timed: true,
      localWindows: false,
    };
  }

  const aggregate = AGGREGATE_SQL[query.aggregate];
  const values = fields.map((field) => aggregate(quote(field)));
  if (!query.every) {
    const list = tags.join(', ');
    // Without GROUP BY an aggregate over no rows is still one row (of NULLs); the model says none.
    const tail = tags.length > 0 ? ` GROUP BY ${list} ORDER BY ${list}` : ' HAVING count(*) > 0';
    return {
      sql: `SELECT ${[...tags, ...values].join(', ')} FROM ${from} WHERE ${where}${tail}`,
      params,
      groupBy,
      fields,
      timed: false,
      localWindows: false,
    };
  }

  const every = int(EVERY_MS[query.every]);
  const inner = [...tags, '"time"', ...fields.map(quote), `"time" + ${offsetSql(segments)} AS "local"`];
  // Floor modulo: `%` keeps the sign of the dividend, and local times before 1970 are negative.
  const window = `"local" - (("local" % ${every}) + ${every}) % ${every}`;
  const keys = [...tags, '"window"'].join(', ');
  return {
    sql:
      `SELECT ${[...tags, '"window"::DOUBLE', ...values].join(', ')} FROM (` +
      `SELECT *, ${window} AS "window" FROM (SELECT ${inner.join(', ')} FROM ${from} WHERE ${where})` +
      `) GROUP BY ${keys} ORDER BY ${keys}`,
    params,
    groupBy,
    fields,
    timed: true,
    localWindows: true,
  };
}

/** The offset to add to a UTC `"time"` to get local time, as a constant or a CASE over segments. */
function offsetSql(segments: readonly OffsetSegment[]): string {
  const [first, ...rest] = segments;
  if (!first) return '0';
  if (rest.length === 0) return int(first.offset);
  const cases = segments
    .slice(0, -1)
    .map(
      (segment, i) =>
        `WHEN "time" < ${int((segments[i + 1] as OffsetSegment).start)} THEN ${int(segment.offset)}`,
    );
  return `(CASE ${cases.join(' ')} ELSE ${int((segments.at(-1) as OffsetSegment).offset)} END)`;
}

/**
 * The SELECT for a {@link LatestQuery}: the last row of each device holding at least one of
 * the fields, with all tags, ordered by site and device like the InfluxDB adapter.
 *
 * In two steps, each device's last time and then the rows at those times, rather than ranking
 * all rows: the second scan only reads the row groups whose time range holds a last time, and
 * took 20–50 ms over a million points where `row_number()` took 55–160 ms.
 */
export function latestSql(query: LatestQuery): Statement & { readonly fields: readonly string[] } {
  const schema = MEASUREMENTS[query.measurement];
  const fields = [...new Set(query.fields)];
  const params: string[] = [];
  const conditions = [...filterSql(query.where, params), anyFieldSql(fields)];
  if (query.before !== undefined) conditions.push(`"time" < ${bound(query.before)}`);
  const view = table(query.measurement);
  const device = [quote('site'), quote(schema.key)];
  const columns = [
    ...schema.tags.map((tag) => `m.${quote(tag)}`),
    'm."time"::DOUBLE',
    ...fields.map((f) => `m.${quote(f)}`),
  ];
  const join = [...device, '"time"'].map((column) => `m.${column} = l.${column}`).join(' AND ');
  return {
    sql:
      `WITH "last" AS (SELECT ${device.join(', ')}, max("time") AS "time" FROM ${view} ` +
      `WHERE ${conditions.join(' AND ')} GROUP BY ${device.join(', ')}) ` +
      `SELECT ${columns.join(', ')} FROM ${view} m JOIN "last" l ON ${join} ` +
      `ORDER BY ${device.map((column) => `m.${column}`).join(', ')}`,
    params,
    fields,
  };
}

/**
 * First step of a columnar raw read: the series of the measurement matching the tag filter, as
 * `sid` then every tag in the schema's order. A few hundred rows at most.
 */
export function seriesSql(query: Query): Statement {
  const schema = MEASUREMENTS[query.measurement];
  const params: string[] = [];
  const conditions = filterSql(query.where, params);
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  return {
    sql: `SELECT "sid", ${schema.tags.map(quote).join(', ')} FROM ${quote(seriesTable(query.measurement))}${where}`,
    params,
  };
}

/** Where a series' points go in a columnar read: its group's number and its rank among the group's devices. */
export interface SeriesSlot {
  readonly sid: number;
  readonly group: number;
  readonly rank: number;
  /** A later inclusive start for this series' points than the query's `from` (ColumnQuery.startOf). */
  readonly start?: number | null;
}

/** The points of a columnar read: its time range, series and a field's values (`field IS NOT NULL`). */
function pointConditions(query: Query, slots: readonly SeriesSlot[], fields: readonly string[]): string {
  return [
    `p."time" >= ${bound(query.from)}`,
    `p."time" < ${bound(query.to)}`,
    `p."sid" IN (${slots.map(({ sid }) => int(sid)).join(', ')})`,
    `(${fields.map((field) => `p.${quote(field)} IS NOT NULL`).join(' OR ')})`,
  ].join(' AND ');
}

/**
 * Second step, for each string field: its distinct values among the points to read (a handful,
 * such as HVAC modes), so that the points can carry a number instead of a string.
 */
export function distinctSql(query: Query, slots: readonly SeriesSlot[], field: string): string {
  return (
    `SELECT DISTINCT p.${quote(field)} FROM ${quote(pointsTable(query.measurement))} p ` +
    `WHERE ${pointConditions(query, slots, [field])}`
  );
}

/**
 * Third step: the raw points of the given series, read straight from the points table (the tags
 * are known from the first step, so no string per point), in the order of {@link querySql}:
 * group, time, device. Every column is DOUBLE, so that the client hands out each vector's own
 * Float64Array: the group number, the time, then each field with NaN for none — a boolean as
 * 1 / 0, a string as its index in `dictionaries[field]` (the values travel as parameters).
 */
export function pointColumnsSql(
  query: Query,
  slots: readonly SeriesSlot[],
  dictionaries: Readonly<Record<string, readonly string[]>>,
): Statement {
  const schema = MEASUREMENTS[query.measurement];
  const fields = [...new Set(query.fields)];
  const params: string[] = [];
  const number = (field: string): string => {
    if (schema.fields[field] !== 'string') return `p.${quote(field)}::DOUBLE`;
    const cases = (dictionaries[field] ?? []).map((value, i) => {
      params.push(value);
      return `WHEN $${params.length} THEN ${int(i)}`;
    });
    return cases.length > 0 ? `(CASE p.${quote(field)} ${cases.join(' ')} END)::DOUBLE` : 'NULL::DOUBLE';
  };
  const columns = [
    'g."group"::DOUBLE',
    'p."time"::DOUBLE',
    ...fields.map((field) => `coalesce(${number(field)}, 'NaN'::DOUBLE)`),
  ];
  const starts = slots.some(({ start }) => start !== undefined && start !== null);
  const values = slots
    .map(({ sid, group, rank, start }) => {
      const later = starts
        ? `, ${start === undefined || start === null ? bound(query.from) : bound(start)}`
        : '';
      return `(${int(sid)}, ${int(group)}, ${int(rank)}${later})`;
    })
    .join(', ');
  return {
    sql:
      `SELECT ${columns.join(', ')} FROM ${quote(pointsTable(query.measurement))} p ` +
      `JOIN (VALUES ${values}) g("sid", "group", "rank"${starts ? ', "start"' : ''}) ON p."sid" = g."sid" ` +
      `WHERE ${pointConditions(query, slots, fields)}${starts ? ' AND p."time" >= g."start"' : ''} ` +
      `ORDER BY g."group", p."time", g."rank"`,
    params,
  };
}
