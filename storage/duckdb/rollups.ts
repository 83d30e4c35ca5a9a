/**
 * Rollup rows (core/rollup/schema.ts) in the DuckDB file: one table per kind, `rollup_{kind}`,
 * with the site, the device, the time (BIGINT epoch ms) and a column per field. The device tags
 * Grafana filters on live in the facility file; DuckDB queries join them in the program.
 *
 * Writes replace a device's rows from an instant on (delete, then append through the Appender),
 * all writes of one call in one transaction on the write connection, so a reader never sees a
 * device half re-folded.
 *
 * **Hour tier.** The kinds kept per bucket (meters, cars, rooms) have a second table,
 * `rollup_{kind}_hour`: the sums of their number fields per device and whole hour (UTC hours, so
 * every local hour of a site whose offset is whole hours). The same transaction that writes
 * bucket rows sums the hours they touch again, so the tier never disagrees with its buckets; a
 * file from before the tier gets it built once when opened. A sum over a long period reads whole
 * hours from the tier and only the hours an edge cuts (a working day starting at 08:30, a zone at
 * +05:45) from the buckets: a quarter of the rows.
 */
import {
  DOUBLE,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
  LIST,
  listValue,
  VARCHAR,
} from '@duckdb/node-api';
import {
  BUCKET_MS,
  ROLLUPS,
  type RollupKind,
  type RollupLastQuery,
  type RollupQuery,
  type RollupSeries,
  type RollupSumQuery,
  type RollupSums,
  type RollupWrite,
  validateRollupWrite,
  validateSumEdges,
} from '../../core/rollup/schema.ts';
import type { HourBlock } from './hour-cache.ts';
import { quote } from './query-sql.ts';

const KINDS = Object.keys(ROLLUPS) as RollupKind[];

export const rollupTable = (kind: RollupKind): string => `rollup_${kind}`;

/** Length of a row of the hour tier, ms. */
export const HOUR_MS = 3_600_000;
/** Kinds kept per bucket, which have an hour tier (trips are kept per trip). */
export const TIERED: ReadonlySet<RollupKind> = new Set<RollupKind>(['meter', 'vehicle', 'room']);
export const hourTable = (kind: RollupKind): string => `rollup_${kind}_hour`;

/** Number fields of a kind: what the hour tier sums. */
export function floatFields(kind: RollupKind): string[] {
  return fieldsOf(kind)
    .filter(([, type]) => type === 'float')
    .map(([field]) => field);
}

/** SQL of the start of the UTC hour holding `column` (floor, also before 1970). */
const hourOf = (column: string) => `${column} - ((${column} % ${HOUR_MS}) + ${HOUR_MS}) % ${HOUR_MS}`;
const floorHour = (time: number) => time - (((time % HOUR_MS) + HOUR_MS) % HOUR_MS);
const ceilHour = (time: number) => floorHour(time) + (floorHour(time) === time ? 0 : HOUR_MS);

function fieldsOf(kind: RollupKind): Array<[string, 'float' | 'string']> {
  return Object.entries(ROLLUPS[kind].fields).map(([field, type]) => [
    field,
    type === 'string' ? 'string' : 'float',
  ]);
}

/**
 * Creates the rollup tables (idempotent; a field added later is added as a column), and builds
 * the hour tier of a file that has bucket rows but no tier yet, in one transaction.
 */
export async function createRollupTables(connection: DuckDBConnection): Promise<void> {
  const existing = new Set(
    (
      await connection.runAndReadAll(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'",
      )
    )
      .getRows()
      .map(([name]) => name as string),
  );
  await connection.run('BEGIN TRANSACTION');
  try {
    for (const statement of rollupSchemaSql()) await connection.run(statement);
    for (const kind of TIERED) {
      if (existing.has(hourTable(kind)) || !existing.has(rollupTable(kind))) continue;
      const fields = floatFields(kind);
      await connection.run(
        `INSERT INTO ${quote(hourTable(kind))} ("site", "device", "time", ${fields.map(quote).join(', ')}) ` +
          `SELECT "site", "device", ${hourOf('"time"')}, ${fields.map((f) => `sum(${quote(f)})`).join(', ')} ` +
          `FROM ${quote(rollupTable(kind))} GROUP BY ALL`,
      );
    }
    await connection.run('COMMIT');
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function rollupSchemaSql(): string[] {
  const tiers = [...TIERED].flatMap((kind) => {
    const table = quote(hourTable(kind));
    const columns = floatFields(kind).map((field) => `${quote(field)} DOUBLE`);
    return [
      `CREATE TABLE IF NOT EXISTS ${table} ("site" VARCHAR NOT NULL, "device" VARCHAR NOT NULL, "time" BIGINT NOT NULL, ${columns.join(', ')})`,
      ...columns.map((column) => `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${column}`),
    ];
  });
  return KINDS.flatMap((kind) => {
    const table = quote(rollupTable(kind));
    const columns = fieldsOf(kind).map(
      ([field, type]) => `${quote(field)} ${type === 'string' ? 'VARCHAR' : 'DOUBLE'}`,
    );
    return [
      `CREATE TABLE IF NOT EXISTS ${table} ("site" VARCHAR NOT NULL, "device" VARCHAR NOT NULL, "time" BIGINT NOT NULL, ${columns.join(', ')})`,
      ...columns.map((column) => `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${column}`),
    ];
  }).concat(tiers);
}

/** Applies writes inside the caller's transaction on the write connection. */
export async function writeRollupRows(
  connection: DuckDBConnection,
  writes: readonly RollupWrite[],
): Promise<void> {
  for (const write of writes) validateRollupWrite(write);
  const byKind = new Map<RollupKind, RollupWrite[]>();
  for (const write of writes) {
    const list = byKind.get(write.kind);
    if (list) list.push(write);
    else byKind.set(write.kind, [write]);
  }
  for (const [kind, list] of byKind) {
    const table = quote(rollupTable(kind));
    // One DELETE per kind: the (site, device, from, to) ranges as a joined list.
    const replaced = deviceRanges(
      list.map((w) => ({ site: w.site, device: w.device, from: w.from, to: w.to ?? END_OF_TIME })),
    );
    await connection.run(
      `DELETE FROM ${table} t USING ${replaced.table} WHERE ${replaced.condition}`,
      replaced.values,
      replaced.types,
    );
    const fields = fieldsOf(kind);
    const appender = await connection.createAppender(rollupTable(kind), 'main');
    try {
      for (const write of list) {
        for (const row of write.rows) {
          appender.appendVarchar(write.site);
          appender.appendVarchar(write.device);
          appender.appendBigInt(BigInt(row.time));
          for (const [field, type] of fields) {
            const value = row.values[field];
            if (type === 'string') {
              if (typeof value === 'string') appender.appendVarchar(value);
              else appender.appendNull();
            } else if (typeof value === 'number' && Number.isFinite(value)) appender.appendDouble(value);
            else appender.appendNull();
          }
          appender.endRow();
        }
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    if (TIERED.has(kind)) await refreshHours(connection, kind, list);
  }
}

/**
 * Sums the hours that writes touched again from their buckets (on the write connection, inside the
 * caller's transaction). The touched hours of each device are merged first, so that a bucket
 * joins one range at most.
 */
async function refreshHours(
  connection: DuckDBConnection,
  kind: RollupKind,
  writes: readonly RollupWrite[],
): Promise<void> {
  const byDevice = new Map<string, Array<{ site: string; device: string; from: number; to: number }>>();
  for (const w of writes) {
    const key = `${w.site}\u0000${w.device}`;
    const list = byDevice.get(key) ?? [];
    list.push({
      site: w.site,
      device: w.device,
      from: floorHour(w.from),
      to: w.to === undefined ? END_OF_TIME : ceilHour(w.to),
    });
    byDevice.set(key, list);
  }
  const merged: Array<{ site: string; device: string; from: number; to: number }> = [];
  for (const list of byDevice.values()) {
    list.sort((a, b) => a.from - b.from);
    let current = { ...(list[0] as (typeof list)[number]) };
    for (const next of list.slice(1)) {
      if (next.from <= current.to) current.to = Math.max(current.to, next.to);
      else {
        merged.push(current);
        current = { ...next };
      }
    }
    merged.push(current);
  }
  const touched = deviceRanges(merged);
  const tier = quote(hourTable(kind));
  const sums = floatFields(kind);
  await connection.run(
    `DELETE FROM ${tier} t USING ${touched.table} WHERE ${touched.condition}`,
    touched.values,
    touched.types,
  );
  await connection.run(
    `INSERT INTO ${tier} ("site", "device", "time", ${sums.map(quote).join(', ')}) ` +
      `SELECT t."site", t."device", ${hourOf('t."time"')}, ${sums.map((f) => `sum(t.${quote(f)})`).join(', ')} ` +
      `FROM ${quote(rollupTable(kind))} t JOIN ${touched.table} ON ${touched.condition} GROUP BY ALL`,
    touched.values,
    touched.types,
  );
}

/** The end of the range a write without `to` replaces. */
const END_OF_TIME = 8.64e15 + 1;

/**
 * A table `d` of (site, device, from, to) ranges and the condition that a row `t` lies in one, for
 * `DELETE … USING` and `JOIN`. Bounded below by the earliest range too, so DuckDB skips the row groups before it.
 */
function deviceRanges(ranges: ReadonlyArray<{ site: string; device: string; from: number; to: number }>): {
  readonly table: string;
  readonly condition: string;
  readonly values: DuckDBValue[];
  readonly types: DuckDBType[];
} {
  const low = safe(Math.ceil(ranges.reduce((a, r) => Math.min(a, r.from), Number.POSITIVE_INFINITY)));
  return {
    table:
      '(SELECT unnest($1::VARCHAR[]) AS "site", unnest($2::VARCHAR[]) AS "device", ' +
      'unnest($3::DOUBLE[]) AS "from", unnest($4::DOUBLE[]) AS "to") d',
    condition: `t."site" = d."site" AND t."device" = d."device" AND t."time" >= d."from" AND t."time" < d."to" AND t."time" >= ${low}`,
    values: [
      listValue(ranges.map((r) => r.site)),
      listValue(ranges.map((r) => r.device)),
      listValue(ranges.map((r) => r.from)),
      listValue(ranges.map((r) => r.to)),
    ],
    types: [LIST(VARCHAR), LIST(VARCHAR), LIST(DOUBLE), LIST(DOUBLE)],
  };
}

interface Built {
  readonly sql: string;
  readonly values: DuckDBValue[];
  readonly types: DuckDBType[];
}

function where(
  query: { site: string; devices?: readonly string[] | undefined },
  values: DuckDBValue[],
  types: DuckDBType[],
): string {
  values.push(query.site);
  types.push(VARCHAR);
  let sql = `"site" = $${values.length}`;
  if (query.devices !== undefined) {
    values.push(listValue([...query.devices]));
    types.push(LIST(VARCHAR));
    sql += ` AND list_contains($${values.length}::VARCHAR[], "device")`;
  }
  return sql;
}

function checkFields(kind: RollupKind, fields: readonly string[], floatOnly = false): void {
  const schema = ROLLUPS[kind];
  if (!schema) throw new RangeError(`unknown rollup kind "${kind}"`);
  for (const field of fields) {
    const type = schema.fields[field];
    if (type === undefined) throw new RangeError(`${kind} rollup: "${field}" is not a field`);
    if (floatOnly && type !== 'float') throw new RangeError(`${kind} rollup: "${field}" is not a number`);
  }
}

/** SQL reading rows of a time range. */
export function readRollupsSql(query: RollupQuery): Built {
  checkFields(query.kind, query.fields);
  const values: DuckDBValue[] = [];
  const types: DuckDBType[] = [];
  const filter = where(query, values, types);
  const columns = query.fields.map(quote).join(', ');
  return {
    sql:
      `SELECT "device", "time"::DOUBLE${columns ? `, ${columns}` : ''} FROM ${quote(rollupTable(query.kind))} ` +
      `WHERE ${filter} AND "time" >= ${safe(Math.ceil(query.from))} AND "time" < ${safe(Math.ceil(query.to))} ORDER BY "device", "time"`,
    values,
    types,
  };
}

/** SQL of the last row of each device before an instant, within the days given (null: any time before). */
export function lastRollupsSql(query: RollupLastQuery, withinMs: number | null): Built {
  checkFields(query.kind, query.fields);
  const values: DuckDBValue[] = [];
  const types: DuckDBType[] = [];
  const filter = where(query, values, types);
  const before = safe(Math.ceil(query.before));
  const low = withinMs === null ? '' : ` AND "time" >= ${safe(Math.ceil(query.before) - withinMs)}`;
  const columns = query.fields.map(quote).join(', ');
  return {
    sql:
      `SELECT "device", "time"::DOUBLE${columns ? `, ${columns}` : ''} FROM ${quote(rollupTable(query.kind))} ` +
      `WHERE ${filter} AND "time" < ${before}${low} QUALIFY row_number() OVER (PARTITION BY "device" ORDER BY "time" DESC) = 1 ORDER BY "device"`,
    values,
    types,
  };
}

/** Checks a sum query's kind, fields and edges (a RangeError names what is wrong). */
export function checkSumQuery(query: RollupSumQuery): void {
  checkFields(query.kind, query.fields, true);
  validateSumEdges(query.edges);
}

/**
 * Rows of one table a sum reads, as lists that {@link RollupSumsBuilder} adds up per interval
 * (see {@link sumRollupsPlan}).
 */
export interface ListRead {
  /**
   * One row per device with rows in the read: its index in `devices` (a DOUBLE), then lists of the
   * same length of its rows' times and of each field's values (DOUBLE, NULL read as 0), unordered.
   * One statement per batch of devices.
   */
  readonly batches: readonly Built[];
  /** The first slot (bucket or hour) read, epoch ms. */
  readonly from: number;
  /** The table's row length, ms: a bucket or an hour. */
  readonly step: number;
  /** Whether the read is of the hour tier (whose blocks the store may keep, hour-cache.ts). */
  readonly tier: boolean;
  /** Per slot from `from` on, the interval its row goes to; -1 for a slot read elsewhere. */
  readonly interval: Int32Array;
}

/** Most rows one batch of a {@link ListRead} reads by default (devices × slots): 16 MB per field. */
export const ROWS_PER_BATCH = 2_000_000;

/**
 * How to sum fields per interval between edges: the reads of a {@link RollupSumsBuilder}.
 *
 * A row goes to the interval its bucket (or hour) falls in. For a kind with an hour tier, whole
 * hours that no edge cuts are read from the tier and only the other buckets from the bucket table;
 * a kind without one reads every bucket. Rows come back as one list per device and field, and
 * each finds its interval here through a table of the slots between the edges: DuckDB hands a year
 * of 19 meters' hours (166,000 rows) over in one chunk in 15–25 ms, where mapping them to 2,800
 * intervals by joins and summing them in SQL took 35–40 ms, and the SQL needs no list of edges.
 */
export function sumRollupsPlan(
  query: RollupSumQuery & { readonly devices: readonly string[] },
  rowsPerBatch = ROWS_PER_BATCH,
): ListRead[] {
  checkSumQuery(query);
  const edges = query.edges;
  const first = edges[0] as number;
  const last = edges.at(-1) as number;
  /** The read of `table`'s slots of `step` in [from, to) that `wanted` keeps, `only` added to its filter. */
  const read = (
    table: string,
    step: number,
    from: number,
    to: number,
    wanted: (slot: number) => boolean,
    only = '',
  ): ListRead => {
    const count = (to - from) / step;
    const interval = new Int32Array(count);
    for (let k = 0, i = 0; k < count; k++) {
      const t = from + k * step;
      while ((edges[i + 1] as number) <= t) i++;
      interval[k] = wanted(t) ? i : -1;
    }
    const batches = listsSql({ ...query, table, from, to, only }, count, rowsPerBatch);
    return { batches, from, step, tier: table === hourTable(query.kind), interval };
  };
  if (!TIERED.has(query.kind)) return [read(rollupTable(query.kind), BUCKET_MS, first, last, () => true)];
  // Hours an edge cuts, and the part-hours at both ends: read by bucket.
  const cut = new Set<number>();
  for (const edge of edges) if (floorHour(edge) !== edge) cut.add(floorHour(edge));
  const reads: ListRead[] = [];
  if (cut.size > 0) {
    const hours = [...cut].sort((a, b) => a - b);
    const from = Math.max(first, hours[0] as number);
    const to = Math.min(last, (hours.at(-1) as number) + HOUR_MS);
    reads.push(
      read(
        rollupTable(query.kind),
        BUCKET_MS,
        from,
        to,
        (t) => cut.has(floorHour(t)),
        ` AND ${hourOf('"time"')} IN (SELECT unnest(${bigints(hours)}))`,
      ),
    );
  }
  const [hoursFrom, hoursTo] = [ceilHour(first), floorHour(last)];
  if (hoursTo > hoursFrom) {
    reads.push(read(hourTable(query.kind), HOUR_MS, hoursFrom, hoursTo, (t) => !cut.has(t)));
  }
  return reads;
}

/**
 * Statements reading the rows of `devices` in `table` over [from, to) as one row per device with
 * rows: its index in `devices` (a DOUBLE), then lists of the same length of its rows' times and of
 * each field's values (DOUBLE, NULL read as 0), unordered. One statement per batch of devices,
 * each reading at most `rowsPerBatch` rows of `slots` per device.
 */
export function listsSql(
  read: {
    readonly table: string;
    readonly site: string;
    readonly devices: readonly string[];
    readonly fields: readonly string[];
    readonly from: number;
    readonly to: number;
    /** More of the filter, starting with AND. */
    readonly only?: string;
  },
  slots: number,
  rowsPerBatch: number,
): Built[] {
  const lists = read.fields.map((field) => `, list(coalesce(${quote(field)}, 0)::DOUBLE)`).join('');
  const batch = Math.max(1, Math.floor(rowsPerBatch / Math.max(1, slots)));
  const batches: Built[] = [];
  for (let d = 0; d < read.devices.length; d += batch) {
    const values: DuckDBValue[] = [];
    const types: DuckDBType[] = [];
    const filter = where({ site: read.site, devices: read.devices.slice(d, d + batch) }, values, types);
    // The device's index in the whole list: in the batch's list (the last parameter), plus where it starts.
    batches.push({
      sql:
        `SELECT (list_position($${values.length}::VARCHAR[], "device") - 1 + ${d})::DOUBLE, list("time"::DOUBLE)${lists} ` +
        `FROM ${quote(read.table)} WHERE ${filter} AND "time" >= ${safe(read.from)} AND "time" < ${safe(read.to)}` +
        `${read.only ?? ''} GROUP BY "device"`,
      values,
      types,
    });
  }
  return batches;
}

/** SQL of the devices that have rows in [from, to), sorted: what a sum over every device reads. */
export function rollupDevicesSql(query: RollupSumQuery): Built {
  checkSumQuery(query);
  const values: DuckDBValue[] = [];
  const types: DuckDBType[] = [];
  const filter = where({ site: query.site }, values, types);
  return {
    sql:
      `SELECT DISTINCT "device" FROM ${quote(rollupTable(query.kind))} WHERE ${filter} ` +
      `AND "time" >= ${safe(query.edges[0] as number)} AND "time" < ${safe(query.edges.at(-1) as number)} ORDER BY "device"`,
    values,
    types,
  };
}

/** Rows of {@link readRollupsSql} / {@link lastRollupsSql} as series per device. */
export function toRollupSeries(
  kind: RollupKind,
  fields: readonly string[],
  rows: readonly DuckDBValue[][],
): RollupSeries[] {
  const out: RollupSeries[] = [];
  const schema = ROLLUPS[kind];
  for (let start = 0; start < rows.length; ) {
    const device = (rows[start] as DuckDBValue[])[0] as string;
    let end = start + 1;
    while (end < rows.length && (rows[end] as DuckDBValue[])[0] === device) end++;
    const slice = rows.slice(start, end);
    const values: Record<string, Float64Array | (string | null)[]> = {};
    fields.forEach((field, f) => {
      values[field] =
        schema.fields[field] === 'string'
          ? slice.map((row) => (row[2 + f] as string | null) ?? null)
          : Float64Array.from(slice, (row) => (row[2 + f] as number | null) ?? Number.NaN);
    });
    out.push({ device, time: Float64Array.from(slice, (row) => row[1] as number), values });
    start = end;
  }
  return out;
}

/**
 * Sums per device and interval, filled from the rows of the reads of {@link sumRollupsPlan}: per device (in the order
 * of `devices`) a column per field, a device without rows in the range left out.
 */
export class RollupSumsBuilder {
  readonly #query: RollupSumQuery & { readonly devices: readonly string[] };
  readonly #byDevice: (Float64Array[] | undefined)[];
  #slots = new Int32Array(0);

  constructor(query: RollupSumQuery & { readonly devices: readonly string[] }) {
    this.#query = query;
    this.#byDevice = new Array(query.devices.length);
  }

  #sums(device: number): Float64Array[] {
    let sums = this.#byDevice[device];
    if (!sums) {
      const intervals = this.#query.edges.length - 1;
      sums = Array.from({ length: this.#query.fields.length }, () => new Float64Array(intervals));
      this.#byDevice[device] = sums;
    }
    return sums;
  }

  /**
   * One device's row of a {@link ListRead}: its rows' times and each field's values, element `k` of
   * each list at `offset + k` of its array (a list column's values share one array).
   */
  addRows(
    read: ListRead,
    device: number,
    times: { readonly values: Float64Array; readonly offset: number; readonly length: number },
    fields: readonly { readonly values: Float64Array; readonly offset: number }[],
  ): void {
    const sums = this.#sums(device);
    const { from, step, interval } = read;
    // Each row's interval, found once for every field.
    if (this.#slots.length < times.length) this.#slots = new Int32Array(times.length);
    const slots = this.#slots;
    for (let k = 0; k < times.length; k++) {
      // A row off the grid (a trip starts at any instant) goes to the slot it falls in.
      slots[k] = interval[Math.floor(((times.values[times.offset + k] as number) - from) / step)] ?? -1;
    }
    for (let f = 0; f < sums.length; f++) {
      const target = sums[f] as Float64Array;
      const { values, offset } = fields[f] as { values: Float64Array; offset: number };
      for (let k = 0; k < times.length; k++) {
        const i = slots[k] as number;
        if (i >= 0) target[i] = (target[i] as number) + (values[offset + k] as number);
      }
    }
  }

  /**
   * A device's block of one field of the hour tier (hour-cache.ts) starting at `start`, for a read of
   * the tier: the hours of the block inside the read, into the sums of field `f` of the query. A
   * device without a row there adds nothing (and is left out if it has none elsewhere).
   */
  addBlock(read: ListRead, device: number, f: number, start: number, block: HourBlock): void {
    const { from, interval } = read;
    const first = Math.max(0, (from - start) / HOUR_MS);
    const last = Math.min(block.present.length, (from + interval.length * HOUR_MS - start) / HOUR_MS);
    const offset = (start - from) / HOUR_MS;
    let target: Float64Array | undefined;
    for (let h = first; h < last; h++) {
      if (block.present[h] !== 1) continue;
      target ??= this.#sums(device)[f] as Float64Array;
      const i = interval[offset + h] as number;
      if (i >= 0) target[i] = (target[i] as number) + (block.values[h] as number);
    }
  }

  result(): RollupSums[] {
    const out: RollupSums[] = [];
    this.#byDevice.forEach((sums, d) => {
      if (!sums) return;
      out.push({
        device: this.#query.devices[d] as string,
        sums: Object.fromEntries(this.#query.fields.map((field, f) => [field, sums[f] as Float64Array])),
      });
    });
    return out;
  }
}

/** A list of whole epoch ms as a SQL literal. */
function bigints(values: readonly number[]): string {
  return `[${values.map(safe).join(', ')}]::BIGINT[]`;
}

function safe(value: number): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`not whole epoch milliseconds: ${value}`);
  return String(value);
}
