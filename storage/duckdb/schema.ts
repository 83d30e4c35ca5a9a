/**
 * The DuckDB layout of the store model. For each measurement `m`:
 *
 * - `m_series` — one row per distinct tag combination ever written: `sid`, `device` (one
 *   number per (site, device key tag) pair, which is what identifies a point with its time)
 *   and a VARCHAR column per tag, `''` when the tag is absent;
 * - `m_points` — one row per point: `sid`, `time` (BIGINT epoch ms) and a typed column per field;
 * - `m` — a view joining the two, with the tag columns, `time` and the fields: the one table
 *   per measurement that queries (and anyone reading the file with SQL) see.
 *
 * Why split, rather than one table with the tag columns: DuckDB pays per string value when it
 * commits and checkpoints. On the 2-core reference machine, inserting and committing 1,000,000
 * meter rows in batches of 50,000 took 1.9–4.8 s with six VARCHAR tag columns and 0.5–0.7 s
 * with a series number instead; the whole write path went from 115–140k to 640–920k points/s,
 * and the issue asks for 300k. The view's join with a table of a few hundred series costs a few
 * milliseconds per million points.
 *
 * Why BIGINT epoch milliseconds rather than TIMESTAMP: the port speaks epoch ms, so nothing is
 * converted on the way in or out and equality (idempotency) is exact; and windows come from
 * integer arithmetic with the zone's offsets (see `time-zone.ts`), which took 25–40 ms over a
 * million points where ICU's `time_bucket` on TIMESTAMPTZ took 45 ms hourly and 5–12 s daily.
 */
import { type FieldType, MEASUREMENTS, type Measurement, type MeasurementSchema } from '../../core/store.ts';
import { quote } from './query-sql.ts';

const COLUMN_TYPE: Readonly<Record<FieldType, string>> = {
  float: 'DOUBLE',
  boolean: 'BOOLEAN',
  string: 'VARCHAR',
};

export const seriesTable = (measurement: Measurement): string => `${measurement}_series`;
export const pointsTable = (measurement: Measurement): string => `${measurement}_points`;
/** A temporary table of the write connection, for batches that need deduplication. */
export const stageTable = (measurement: Measurement): string => `${measurement}_stage`;

/** Statements creating (or completing, after the model grew) the tables and view of a measurement. */
export function schemaSql(measurement: Measurement): string[] {
  const schema: MeasurementSchema = MEASUREMENTS[measurement];
  const series = quote(seriesTable(measurement));
  const points = quote(pointsTable(measurement));
  const tags = schema.tags.map(quote);
  const fields = Object.entries(schema.fields).map(([field, type]) => `${quote(field)} ${COLUMN_TYPE[type]}`);
  return [
    `CREATE TABLE IF NOT EXISTS ${series} ("sid" INTEGER NOT NULL, "device" INTEGER NOT NULL, ` +
      `${tags.map((tag) => `${tag} VARCHAR NOT NULL`).join(', ')})`,
    `CREATE TABLE IF NOT EXISTS ${points} ("sid" INTEGER NOT NULL, "time" BIGINT NOT NULL, ${fields.join(', ')})`,
    // A tag or field added to MEASUREMENTS later reaches files created before.
    ...tags.map((tag) => `ALTER TABLE ${series} ADD COLUMN IF NOT EXISTS ${tag} VARCHAR DEFAULT ''`),
    ...fields.map((field) => `ALTER TABLE ${points} ADD COLUMN IF NOT EXISTS ${field}`),
    `CREATE OR REPLACE VIEW ${quote(measurement)} AS SELECT ${tags.map((tag) => `s.${tag}`).join(', ')}, ` +
      `p."time", ${Object.keys(schema.fields)
        .map((field) => `p.${quote(field)}`)
        .join(', ')} FROM ${points} p JOIN ${series} s USING ("sid")`,
    `CREATE TEMP TABLE ${quote(stageTable(measurement))} ` +
      `("sid" INTEGER, "device" INTEGER, "seq" INTEGER, "time" BIGINT, ${fields.join(', ')})`,
  ];
}
