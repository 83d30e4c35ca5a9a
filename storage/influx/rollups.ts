/**
 * Rollup rows (core/rollup/schema.ts) in InfluxDB: one measurement per kind, `rollup_{kind}`,
 * tagged with the site, the device and its other tags (building, department, kind, system) so that
 * Grafana panels can filter and group them in InfluxQL, with a field per value.
 *
 * InfluxDB 3.x has no DELETE in InfluxQL and 2.x has none in its v1 API, so removing a row is
 * writing it again with every number 0 and `rules` empty (a *void* row): reads skip void rows
 * (`"rules" != ''`), and sums are not changed by zeros. A write first asks which rows of the
 * devices exist from its `from` on, and voids those the new rows do not replace.
 */
import { escape as lineEscape } from '@influxdata/influxdb-client';
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
  validateSumEdges,
} from '../../core/rollup/schema.ts';
import type { InfluxResult } from './influxql.ts';
import { identifier, literal } from './influxql.ts';

export const rollupMeasurement = (kind: RollupKind): string => `rollup_${kind}`;

const NEEDS_ESCAPE = /[, =\n\r\t\\]/;

function tagText(value: string): string {
  return NEEDS_ESCAPE.test(value) ? lineEscape.tag(value) : value;
}

/** A line of line protocol for a rollup row; `values` undefined writes the void row. */
export function rollupLine(
  kind: RollupKind,
  tags: Readonly<Record<string, string>>,
  time: number,
  values: Readonly<Record<string, number | string>> | undefined,
): string {
  let line = rollupMeasurement(kind);
  for (const key of Object.keys(tags).sort()) {
    const value = tags[key];
    if (value) line += `,${key}=${tagText(value)}`;
  }
  const fields: string[] = [];
  for (const [field, type] of Object.entries(ROLLUPS[kind].fields)) {
    if (values === undefined) {
      fields.push(`${field}=${type === 'string' ? '""' : '0'}`);
      continue;
    }
    const value = values[field];
    if (type === 'string') {
      if (typeof value === 'string') fields.push(`${field}=${lineEscape.quoted(value)}`);
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      fields.push(`${field}=${value}`);
    }
  }
  return `${line} ${fields.join(',')} ${time}`;
}

/** The series tags of a write: site, the device key, and its other tags. */
export function writeTags(write: RollupWrite): Record<string, string> {
  const schema = ROLLUPS[write.kind];
  const tags: Record<string, string> = { site: write.site, [schema.key]: write.device };
  for (const tag of schema.tags) {
    const value = write.tags?.[tag];
    if (value) tags[tag] = value;
  }
  return tags;
}

function deviceCondition(kind: RollupKind, devices: readonly string[] | undefined): string | null {
  if (devices === undefined) return '';
  if (devices.length === 0) return null;
  const key = identifier(ROLLUPS[kind].key);
  return ` AND (${devices.map((d) => `${key} = ${literal(d)}`).join(' OR ')})`;
}

/** Which rows exist from `from` on, with all their tags: what a write may have to void. */
export function existingStatement(
  kind: RollupKind,
  site: string,
  devices: readonly string[],
  from: number,
): string {
  return (
    `SELECT ${identifier('rules')} FROM ${identifier(rollupMeasurement(kind))} WHERE ${identifier('site')} = ${literal(site)}` +
    `${deviceCondition(kind, devices)} AND time >= ${from}ms AND ${identifier('rules')} != '' GROUP BY *`
  );
}

/** Rows to void: existing rows of the written devices from their `from` on that the new rows do not replace exactly. */
export function voidLines(
  kind: RollupKind,
  writes: readonly RollupWrite[],
  existing: InfluxResult,
): string[] {
  const key = ROLLUPS[kind].key;
  const byDevice = new Map(writes.map((w) => [`${w.site}\u0000${w.device}`, w]));
  const lines: string[] = [];
  for (const series of existing.series ?? []) {
    const tags = { ...(series.tags ?? {}) };
    const write = byDevice.get(`${tags.site ?? ''}\u0000${tags[key] ?? ''}`);
    if (!write) continue;
    const newTags = writeTags(write);
    const sameSeries = sameTags(tags, newTags);
    const replaced = new Set(write.rows.map((r) => r.time));
    const time = series.columns.indexOf('time');
    for (const row of series.values) {
      const at = row[time] as number;
      if (at < write.from || at >= (write.to ?? Number.POSITIVE_INFINITY)) continue;
      if (sameSeries && replaced.has(at)) continue;
      lines.push(rollupLine(kind, tags, at, undefined));
    }
  }
  return lines;
}

function sameTags(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if ((a[k] ?? '') !== (b[k] ?? '')) return false;
  return true;
}

export function readStatement(query: RollupQuery, from: number, to: number): string | null {
  const devices = deviceCondition(query.kind, query.devices);
  if (devices === null) return null;
  const fields = query.fields.length > 0 ? query.fields.map(identifier).join(', ') : identifier('rules');
  return (
    `SELECT ${fields} FROM ${identifier(rollupMeasurement(query.kind))} WHERE ${identifier('site')} = ${literal(query.site)}` +
    `${devices} AND time >= ${from}ms AND time < ${to}ms AND ${identifier('rules')} != '' GROUP BY ${identifier(ROLLUPS[query.kind].key)}`
  );
}

export function lastStatement(query: RollupLastQuery): string | null {
  const devices = deviceCondition(query.kind, query.devices);
  if (devices === null) return null;
  const fields = query.fields.length > 0 ? query.fields.map(identifier).join(', ') : identifier('rules');
  return (
    `SELECT ${fields} FROM ${identifier(rollupMeasurement(query.kind))} WHERE ${identifier('site')} = ${literal(query.site)}` +
    `${devices} AND time < ${Math.ceil(query.before)}ms AND ${identifier('rules')} != '' ` +
    `GROUP BY ${identifier(ROLLUPS[query.kind].key)} ORDER BY time DESC LIMIT 1`
  );
}

/** Windows of GROUP BY time(): the longest of a day, an hour, half an hour or a bucket that every edge is a multiple of. */
export function sumGrid(edges: readonly number[]): number {
  for (const grid of [86_400_000, 3_600_000, 1_800_000, BUCKET_MS]) {
    if (edges.every((edge) => edge % grid === 0)) return grid;
  }
  return BUCKET_MS;
}

export function sumStatement(query: RollupSumQuery): string | null {
  validateSumEdges(query.edges);
  const devices = deviceCondition(query.kind, query.devices);
  if (devices === null) return null;
  const grid = sumGrid(query.edges);
  const sums = query.fields.map((f) => `sum(${identifier(f)}) AS ${identifier(f)}`).join(', ');
  return (
    `SELECT ${sums} FROM ${identifier(rollupMeasurement(query.kind))} WHERE ${identifier('site')} = ${literal(query.site)}` +
    `${devices} AND time >= ${query.edges[0]}ms AND time < ${query.edges.at(-1)}ms ` +
    `GROUP BY time(${grid}ms), ${identifier(ROLLUPS[query.kind].key)} fill(none)`
  );
}

/** The answer of {@link sumStatement}: each window added to the interval it falls in. */
export function toSums(query: RollupSumQuery, result: InfluxResult): RollupSums[] {
  const key = ROLLUPS[query.kind].key;
  const intervals = query.edges.length - 1;
  const out = new Map<string, RollupSums>();
  for (const series of result.series ?? []) {
    const device = series.tags?.[key] ?? '';
    const entry = out.get(device) ?? {
      device,
      sums: Object.fromEntries(query.fields.map((f) => [f, new Float64Array(intervals)])),
    };
    out.set(device, entry);
    const time = series.columns.indexOf('time');
    const columns = query.fields.map((f) => series.columns.indexOf(f));
    let i = 0;
    for (const row of series.values) {
      const at = row[time] as number;
      while (i + 1 < query.edges.length - 1 && at >= (query.edges[i + 1] as number)) i++;
      query.fields.forEach((field, f) => {
        const value = row[columns[f] as number];
        const sums = entry.sums[field] as Float64Array;
        if (typeof value === 'number') sums[i] = (sums[i] as number) + value;
      });
    }
  }
  return [...out.values()].sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
}

/** Rows of a read or last statement as series per device, merged across the device's tag sets. */
export function toRollupSeries(
  kind: RollupKind,
  fields: readonly string[],
  results: readonly InfluxResult[],
): RollupSeries[] {
  const key = ROLLUPS[kind].key;
  const schema = ROLLUPS[kind];
  const rows = new Map<string, Map<number, ReadonlyArray<unknown>>>();
  const columnsOf = new Map<string, readonly string[]>();
  for (const result of results) {
    for (const series of result.series ?? []) {
      const device = series.tags?.[key] ?? '';
      let byTime = rows.get(device);
      if (!byTime) {
        byTime = new Map();
        rows.set(device, byTime);
      }
      const time = series.columns.indexOf('time');
      const picked = fields.map((f) => series.columns.indexOf(f));
      for (const row of series.values)
        byTime.set(
          row[time] as number,
          picked.map((c) => (c >= 0 ? row[c] : null)),
        );
      columnsOf.set(device, fields);
    }
  }
  return [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([device, byTime]) => {
      const times = [...byTime.keys()].sort((a, b) => a - b);
      const values: Record<string, Float64Array | (string | null)[]> = {};
      fields.forEach((field, f) => {
        values[field] =
          schema.fields[field] === 'string'
            ? times.map((t) => {
                const v = (byTime.get(t) as ReadonlyArray<unknown>)[f];
                return typeof v === 'string' ? v : null;
              })
            : Float64Array.from(times, (t) => {
                const v = (byTime.get(t) as ReadonlyArray<unknown>)[f];
                return typeof v === 'number' ? v : Number.NaN;
              });
      });
      return { device, time: Float64Array.from(times), values };
    });
}
