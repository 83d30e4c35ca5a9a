/**
 * What Grafana's InfluxDB data source does to a raw InfluxQL query before sending it, for running
 * the dashboards' queries against a real influxd in tests: the macros `$timeFilter`, `$__interval`,
 * `$__interval_ms`, `${__range_s}`, and template variables — a multi-value (or All) variable inside
 * a regular expression becomes `(a|b)` with each value regex-escaped, as the data source's
 * `interpolateQueryExpr` does.
 */
import { escapeRegex } from '../../dashboards/grafana/influxql.ts';

export interface GrafanaQueryContext {
  /** Dashboard time range, epoch ms. */
  readonly from: number;
  readonly to: number;
  /** `$__interval` in ms (Grafana picks it from the range and the panel width; the panel's minimum applies). */
  readonly intervalMs: number;
  /** Values of each template variable (All = every value). */
  readonly variables: Readonly<Record<string, readonly string[]>>;
}

function duration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms}ms`;
}

/** The query as the data source sends it to InfluxDB. */
export function expandGrafanaMacros(query: string, context: GrafanaQueryContext): string {
  let text = query
    .replaceAll('$timeFilter', `time >= ${context.from}ms and time <= ${context.to}ms`)
    .replaceAll('$__interval_ms', String(context.intervalMs))
    .replaceAll('$__interval', duration(context.intervalMs))
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's macro, written as in a query
    .replaceAll('${__range_s}', String(Math.floor((context.to - context.from) / 1000)));
  for (const [name, values] of Object.entries(context.variables)) {
    const value =
      values.length === 1 ? escapeRegex(values[0] as string) : `(${values.map(escapeRegex).join('|')})`;
    text = text.replaceAll(`\${${name}}`, value).replace(new RegExp(`\\$${name}\\b`, 'g'), value);
  }
  const left = /\$\{?[A-Za-z_]+/.exec(text);
  if (left) throw new Error(`unexpanded macro or variable ${left[0]} in: ${text}`);
  return text;
}
