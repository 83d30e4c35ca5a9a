/**
 * What every figure an endpoint answers must be: a finite number, or null with the reason in the
 * `nulls` beside it (and `nulls` naming only fields that are null).
 */

/** The places in an answer that break the rule, as JSON paths; empty when it holds. */
export function figureProblems(value: unknown, path = '$'): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [`${path} = ${value}`];
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => figureProblems(v, `${path}[${i}]`));
  const record = value as Record<string, unknown>;
  const found = Object.entries(record).flatMap(([k, v]) => figureProblems(v, `${path}.${k}`));
  if ('nulls' in record) {
    const nulls = record.nulls as Record<string, unknown>;
    for (const [k, v] of Object.entries(record)) {
      if (v === null && typeof nulls[k] !== 'string') found.push(`${path}.${k} is null without a reason`);
    }
    for (const k of Object.keys(nulls)) {
      if (record[k] !== null) found.push(`${path}.nulls.${k} names a field that is not null`);
    }
  }
  return found;
}
