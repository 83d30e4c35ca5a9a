/**
 * InfluxQL targets for Grafana's InfluxDB data source, and the pieces of InfluxQL the dashboards
 * are written with. The Foundation SDK has no InfluxDB query builder, so {@link InfluxQLQuery}
 * implements the SDK's `Dataquery` variant itself: a raw InfluxQL query (`rawQuery: true`), which
 * Grafana's InfluxDB data source runs as written for InfluxDB 1.x, 2.x (through its DBRP mapping)
 * and 3.x, after replacing its macros: `$timeFilter`, `$__interval`, `$__interval_ms`,
 * `${__range_s}` and the dashboard's template variables.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard';

/** The JSON of one InfluxQL target as Grafana's InfluxDB data source stores it. */
export interface InfluxQLTarget {
  readonly refId: string;
  readonly datasource: DataSourceRef;
  readonly query: string;
  readonly rawQuery: true;
  /** `time_series` (one frame per series) or `table` (tags as columns). */
  readonly resultFormat: 'time_series' | 'table';
  /** Series name; `$tag_x` is the value of tag x. */
  readonly alias?: string;
  readonly hide?: boolean;
}

/** A raw InfluxQL query, as the SDK's `Dataquery` variant. */
export class InfluxQLQuery implements cog.Builder<cog.Dataquery> {
  readonly #target: InfluxQLTarget;

  constructor(target: InfluxQLTarget) {
    this.#target = target;
  }

  build(): cog.Dataquery {
    return {
      ...this.#target,
      // The SDK's marker of a data query; a function, so JSON leaves it out.
      _implementsDataqueryVariant() {},
    } as cog.Dataquery;
  }
}

/** An identifier in double quotes (InfluxQL, "Identifiers"). */
export function ident(name: string): string {
  return `"${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** A string literal in single quotes. */
export function str(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** Escapes a value for a `/…/` regular expression, as Grafana's InfluxDB data source does. */
export function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
}

/** `"tag" =~ /^(a|b)$/` for a fixed list of values; `"tag" = 'a'` for one. */
export function tagIn(tag: string, values: readonly string[]): string {
  if (values.length === 1) return `${ident(tag)} = ${str(values[0] as string)}`;
  return `${ident(tag)} =~ /^(${values.map(escapeRegex).join('|')})$/`;
}

/** `"tag" =~ /^$variable$/`: a template variable (multi-value or All), as Grafana expands it. */
export function tagVar(tag: string, variable: string): string {
  return `${ident(tag)} =~ /^$${variable}$/`;
}

/** Joins conditions with AND; `$timeFilter` is always last. */
export function where(...conditions: ReadonlyArray<string | false | undefined>): string {
  return ['WHERE', [...conditions.filter((c): c is string => !!c), '$timeFilter'].join(' AND ')].join(' ');
}

/** `tz('Asia/Shanghai')`: days and hours of GROUP BY time() in the site's zone. */
export function tz(zone: string): string {
  return `tz(${str(zone)})`;
}

/** Every InfluxQL query of a dashboard's JSON, with the panel title and target refId. */
export function influxTargets(dashboard: {
  panels?: readonly unknown[];
}): Array<{ panel: string; refId: string; target: InfluxQLTarget }> {
  const out: Array<{ panel: string; refId: string; target: InfluxQLTarget }> = [];
  for (const panel of (dashboard.panels ?? []) as Array<{
    title?: string;
    targets?: readonly Record<string, unknown>[];
  }>) {
    for (const target of panel.targets ?? []) {
      if (typeof target.query === 'string' && target.rawQuery === true) {
        out.push({
          panel: panel.title ?? '',
          refId: String(target.refId ?? ''),
          target: target as unknown as InfluxQLTarget,
        });
      }
    }
  }
  return out;
}
