/**
 * Line protocol for the store's points, formatted with `@influxdata/influxdb-client`'s escape
 * rules. Timestamps are epoch milliseconds (write with `precision=ms`).
 */
import { Point as LinePoint, escape as lineEscape } from '@influxdata/influxdb-client';
import { MEASUREMENTS, type Measurement, type Point } from '../../core/store.ts';

/** Characters that make a tag value need escaping; most values have none, and skip the escaper. */
const NEEDS_ESCAPE = /[, =\n\r\t\\]/;

/**
 * Formats points of the store model. Tag keys are sorted once per measurement (InfluxDB's
 * canonical order, so the server does not sort them again) and empty tag values are left out,
 * as InfluxDB does not store them.
 */
export class LineFormatter {
  readonly #tagKeys: Readonly<Record<Measurement, readonly string[]>>;

  constructor() {
    const sorted = (m: Measurement) => [...MEASUREMENTS[m].tags].sort();
    this.#tagKeys = { meter: sorted('meter'), vehicle: sorted('vehicle'), sensor: sorted('sensor') };
  }

  /** Lines for `points[start..end)`, each ending with a newline. */
  lines(points: readonly Point[], start: number, end: number): string {
    let body = '';
    for (let i = start; i < end; i++) body += `${this.line(points[i] as Point)}\n`;
    return body;
  }

  line(point: Point): string {
    let line: string = point.measurement;
    const tags = point.tags;
    for (const key of this.#tagKeys[point.measurement]) {
      const value = tags[key];
      if (value) line += `,${key}=${NEEDS_ESCAPE.test(value) ? lineEscape.tag(value) : value}`;
    }
    let separator = ' ';
    const fields = point.fields;
    for (const key in fields) {
      const value = fields[key];
      // Numbers are always floats (no `i` suffix), so a field never changes type between writes.
      line += `${separator}${key}=${typeof value === 'number' ? value : typeof value === 'boolean' ? (value ? 'T' : 'F') : lineEscape.quoted(value as string)}`;
      separator = ',';
    }
    return `${line} ${Math.floor(point.time)}`;
  }
}

/** The same line built with the client's {@link LinePoint} (slower; kept for comparison in benches). */
export function pointLine(point: Point): string | undefined {
  const line = new LinePoint(point.measurement);
  for (const [key, value] of Object.entries(point.tags)) line.tag(key, value);
  for (const [key, value] of Object.entries(point.fields)) {
    if (typeof value === 'number') line.floatField(key, value);
    else if (typeof value === 'boolean') line.booleanField(key, value);
    else line.stringField(key, value);
  }
  return line.timestamp(Math.floor(point.time)).toLineProtocol();
}
