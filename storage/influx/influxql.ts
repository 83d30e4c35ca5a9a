/**
 * Translation of the store's query model to InfluxQL, and of InfluxQL's JSON answers back to
 * {@link Series}. InfluxQL over `/query` is answered by InfluxDB 1.x, by 2.x through its v1 API
 * and by 3.x, so this is the one query language of the adapter.
 */
import {
  type FieldValue,
  type LatestPoint,
  type LatestQuery,
  MEASUREMENTS,
  type Query,
  type Row,
  type Series,
  StoreError,
  type TagFilter,
} from '../../core/store.ts';

/** An identifier in double quotes. InfluxQL's scanner reads `\"` and `\\` inside quotes. */
export function identifier(name: string): string {
  return `"${name.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n')}"`;
}

/** A string literal in single quotes, escaped the same way as identifiers. */
export function literal(value: string): string {
  return `'${value.replace(/[\\']/g, '\\$&').replace(/\n/g, '\\n')}'`;
}

/** Epoch milliseconds as an InfluxQL time literal. */
function epochMs(time: number): string {
  return `${Math.ceil(time)}ms`;
}

/**
 * The tag conditions of a filter, or `null` when the filter cannot match anything (a tag with
 * an empty list of values), in which case no query needs to be sent.
 */
export function tagConditions(where: TagFilter | undefined): string[] | null {
  const conditions: string[] = [];
  for (const [tag, value] of Object.entries(where ?? {})) {
    const values: readonly string[] = typeof value === 'string' ? [value] : value;
    if (values.length === 0) return null;
    // `tag = ''` also matches points without the tag: absent tags read as empty, as in the model.
    const terms = values.map((v) => `${identifier(tag)} = ${literal(v)}`);
    conditions.push(terms.length === 1 ? (terms[0] as string) : `(${terms.join(' OR ')})`);
  }
  return conditions;
}

/** The SELECT statement for a (validated) query, or `null` when it cannot match anything. */
export function selectStatement(query: Query): string | null {
  const tags = tagConditions(query.where);
  if (tags === null) return null;
  const aggregate = query.aggregate?.toUpperCase();
  const columns = query.fields.map((field) =>
    aggregate ? `${aggregate}(${identifier(field)}) AS ${identifier(field)}` : `${identifier(field)}::field`,
  );
  const conditions = [`time >= ${epochMs(query.from)}`, `time < ${epochMs(query.to)}`, ...tags];
  let statement = `SELECT ${columns.join(', ')} FROM ${identifier(query.measurement)} WHERE ${conditions.join(' AND ')}`;
  const groupBy = (query.groupBy ?? []).map(identifier);
  if (query.every) groupBy.unshift(`time(${query.every})`);
  if (groupBy.length > 0) statement += ` GROUP BY ${groupBy.join(', ')}`;
  if (query.every) {
    statement += ' fill(none)';
    // tz() moves window boundaries to local midnight (and keeps 1d a calendar day across DST).
    if (query.timezone) statement += ` tz(${literal(query.timezone)})`;
  }
  return statement;
}

/**
 * The statement for {@link LatestQuery}: the newest row of each (site, device) series, with the
 * remaining tags selected as columns so the caller gets every tag of the point.
 */
export function latestStatement(query: LatestQuery): string | null {
  const tags = tagConditions(query.where);
  if (tags === null) return null;
  const schema = MEASUREMENTS[query.measurement];
  const columns = [
    ...query.fields.map((field) => `${identifier(field)}::field`),
    ...schema.tags.filter((tag) => !seriesTags(query).includes(tag)).map((tag) => `${identifier(tag)}::tag`),
  ];
  const conditions = query.before === undefined ? tags : [`time < ${epochMs(query.before)}`, ...tags];
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  return `SELECT ${columns.join(', ')} FROM ${identifier(query.measurement)}${where} GROUP BY ${seriesTags(
    query,
  )
    .map(identifier)
    .join(', ')} ORDER BY time DESC LIMIT 1`;
}

/** The tags that identify a series in the model: site and the device key. */
function seriesTags(query: LatestQuery): readonly string[] {
  return ['site', MEASUREMENTS[query.measurement].key];
}

/** One statement's answer in InfluxDB's `/query` JSON. */
export interface InfluxResult {
  readonly statement_id?: number;
  readonly error?: string;
  readonly partial?: boolean;
  readonly series?: readonly InfluxSeries[];
}

export interface InfluxSeries {
  readonly name: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly columns: readonly string[];
  readonly values: ReadonlyArray<ReadonlyArray<FieldValue | null>>;
  readonly partial?: boolean;
}

/** The single result of a one-statement `/query` answer; statement errors become StoreErrors. */
export function singleResult(body: unknown): InfluxResult {
  const results = (body as { results?: InfluxResult[] } | undefined)?.results;
  const result = results?.[0];
  if (!result) {
    throw new StoreError(`InfluxDB query failed: unexpected answer ${JSON.stringify(body)?.slice(0, 200)}`, {
      code: 'REJECTED',
      retriable: false,
    });
  }
  if (result.error) {
    throw new StoreError(`InfluxDB query failed: ${result.error}`, { code: 'REJECTED', retriable: false });
  }
  if (result.partial || result.series?.some((s) => s.partial)) {
    // A non-chunked answer cut at the server's [http] max-row-limit; returning it would be wrong.
    throw new StoreError(
      'InfluxDB query failed: the answer was truncated by the server (max-row-limit); narrow the query',
      { code: 'REJECTED', retriable: false },
    );
  }
  return result;
}

/** Map InfluxQL series to the model's series, sorted by their group-by tag values. */
export function toSeries(query: Query, result: InfluxResult): Series[] {
  const groupBy = query.groupBy ?? [];
  const series = (result.series ?? []).map((s): Series => {
    const tags: Record<string, string> = {};
    for (const tag of groupBy) tags[tag] = s.tags?.[tag] ?? '';
    const index = query.fields.map((field) => s.columns.indexOf(field));
    const rows = s.values.map((values): Row => {
      const row: Record<string, FieldValue | null> = {};
      query.fields.forEach((field, i) => {
        const value = values[index[i] as number] ?? null;
        // InfluxQL leaves COUNT empty in a window where the field has no value; the model says 0.
        row[field] = value === null && query.aggregate === 'count' ? 0 : value;
      });
      // Without windows, selectors (FIRST, MIN…) answer the selected point's time; the model says `from`.
      const time = query.aggregate && !query.every ? query.from : (values[0] as number);
      return { time, values: row };
    });
    return { tags, rows };
  });
  return series.sort((a, b) => compareTags(a.tags, b.tags, groupBy));
}

/** Map the answer of {@link latestStatement} to one point per series, sorted by site and device. */
export function toLatest(query: LatestQuery, result: InfluxResult): LatestPoint[] {
  const schema = MEASUREMENTS[query.measurement];
  const points: LatestPoint[] = [];
  for (const s of result.series ?? []) {
    const values = s.values[0];
    if (!values) continue;
    const tags: Record<string, string> = {};
    const fields: Record<string, FieldValue | null> = {};
    for (const tag of schema.tags) {
      const column = s.columns.indexOf(tag);
      // InfluxDB drops empty tag values from line protocol, so an absent tag reads as null here.
      tags[tag] = String(s.tags?.[tag] ?? (column >= 0 ? values[column] : null) ?? '');
    }
    for (const field of query.fields) fields[field] = values[s.columns.indexOf(field)] ?? null;
    points.push({ tags, time: values[0] as number, values: fields });
  }
  const order = seriesTags(query);
  return points.sort((a, b) => compareTags(a.tags, b.tags, order));
}

function compareTags(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
  keys: readonly string[],
): number {
  for (const key of keys) {
    const x = a[key] ?? '';
    const y = b[key] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
