/**
 * Rollup rows (core/rollup/schema.ts) in the DuckDB file: one table per kind, `rollup_{kind}`,
 * with the site, the device, the time (BIGINT epoch ms) and a column per field. The device tags
 * Grafana filters on live in the facility file; DuckDB queries join them in the program.
 *
 * Writes replace a device's rows from an instant on (delete, then append through the Appender),
 * all writes of one call in one transaction on the write connection, so a reader never sees a
 * device half re-folded.
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
import { quote } from './query-sql.ts';

const KINDS = Object.keys(ROLLUPS) as RollupKind[];

export const rollupTable = (kind: RollupKind): string => `rollup_${kind}`;

function fieldsOf(kind: RollupKind): Array<[string, 'float' | 'string']> {
  return Object.entries(ROLLUPS[kind].fields).map(([field, type]) => [
    field,
    type === 'string' ? 'string' : 'float',
  ]);
}

/** Statements creating the rollup tables (idempotent; a field added later is added as a column). */
export function rollupSchemaSql(): string[] {
  return KINDS.flatMap((kind) => {
    const table = quote(rollupTable(kind));
    const columns = fieldsOf(kind).map(
      ([field, type]) => `${quote(field)} ${type === 'string' ? 'VARCHAR' : 'DOUBLE'}`,
    );
    return [
      `CREATE TABLE IF NOT EXISTS ${table} ("site" VARCHAR NOT NULL, "device" VARCHAR NOT NULL, "time" BIGINT NOT NULL, ${columns.join(', ')})`,
      ...columns.map((column) => `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${column}`),
    ];
  });
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
    // One DELETE per kind: the (site, device, from) triples as a joined list.
    const sites = list.map((w) => w.site);
    const devices = list.map((w) => w.device);
    const froms = list.map((w) => w.from);
    const tos = list.map((w) => w.to ?? 8.64e15 + 1);
    await connection.run(
      `DELETE FROM ${table} t USING (SELECT unnest($1::VARCHAR[]) AS "site", unnest($2::VARCHAR[]) AS "device", ` +
        `unnest($3::DOUBLE[]) AS "from", unnest($4::DOUBLE[]) AS "to") d ` +
        `WHERE t."site" = d."site" AND t."device" = d."device" AND t."time" >= d."from" AND t."time" < d."to"`,
      [listValue(sites), listValue(devices), listValue(froms), listValue(tos)],
      [LIST(VARCHAR), LIST(VARCHAR), LIST(DOUBLE), LIST(DOUBLE)],
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
  }
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

/** SQL summing fields per interval: each row goes to the interval its time falls in (ASOF join). */
export function sumRollupsSql(query: RollupSumQuery): Built {
  checkFields(query.kind, query.fields, true);
  validateSumEdges(query.edges);
  const values: DuckDBValue[] = [];
  const types: DuckDBType[] = [];
  const filter = where(query, values, types);
  values.push(listValue([...query.edges]));
  types.push(LIST(DOUBLE));
  const edges = `$${values.length}`;
  const first = safe(query.edges[0] as number);
  const last = safe(query.edges.at(-1) as number);
  const sums = query.fields.map((field) => `coalesce(sum(r.${quote(field)}), 0)`).join(', ');
  return {
    sql:
      `WITH "e" AS (SELECT unnest(${edges}::BIGINT[]) AS "t", generate_subscripts(${edges}::BIGINT[], 1) - 1 AS "i"), ` +
      `"r" AS (SELECT * FROM ${quote(rollupTable(query.kind))} WHERE ${filter} AND "time" >= ${first} AND "time" < ${last}) ` +
      `SELECT r."device", e."i"::DOUBLE${sums ? `, ${sums}` : ''} FROM "r" r ASOF JOIN "e" e ON r."time" >= e."t" ` +
      `GROUP BY r."device", e."i" ORDER BY r."device", e."i"`,
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

/** Rows of {@link sumRollupsSql} as sums per device. */
export function toRollupSums(query: RollupSumQuery, rows: readonly DuckDBValue[][]): RollupSums[] {
  const intervals = query.edges.length - 1;
  const out: RollupSums[] = [];
  let current: { device: string; sums: Record<string, Float64Array> } | undefined;
  for (const row of rows) {
    const device = row[0] as string;
    if (current?.device !== device) {
      current = {
        device,
        sums: Object.fromEntries(query.fields.map((field) => [field, new Float64Array(intervals)])),
      };
      out.push(current);
    }
    const i = row[1] as number;
    query.fields.forEach((field, f) => {
      (current?.sums[field] as Float64Array)[i] = row[2 + f] as number;
    });
  }
  return out;
}

function safe(value: number): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`not whole epoch milliseconds: ${value}`);
  return String(value);
}
