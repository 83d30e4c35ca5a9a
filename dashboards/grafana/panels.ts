/** Small helpers the dashboard modules build their panels with. */
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  type Threshold,
  ThresholdsConfigBuilder,
  ThresholdsMode,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { InfluxQLQuery } from './influxql.ts';

/** A maker of InfluxQL targets on one data source. */
export function influxQuery(
  datasource: DataSourceRef,
): (
  refId: string,
  query: string,
  options?: { alias?: string; format?: 'time_series' | 'table' },
) => InfluxQLQuery {
  return (refId, query, options = {}) =>
    new InfluxQLQuery({
      refId,
      datasource,
      query,
      rawQuery: true,
      resultFormat: options.format ?? 'time_series',
      ...(options.alias === undefined ? {} : { alias: options.alias }),
    });
}

/** Absolute thresholds: a base colour, then `[value, colour]` steps. */
export function steps(
  base: string,
  ...rest: ReadonlyArray<readonly [number, string]>
): ThresholdsConfigBuilder {
  const list: Threshold[] = [
    { value: null, color: base },
    ...rest.map(([value, color]) => ({ value, color })),
  ];
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(list);
}

/** Refs A, B, C… for the n-th target. */
export function refId(index: number): string {
  let n = index;
  let out = '';
  do {
    out = String.fromCharCode(65 + (n % 26)) + out;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return out;
}
