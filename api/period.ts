/**
 * `from` / `to` of the query string: ISO-8601 instants with a UTC offset, or calendar dates
 * (`2026-11-25`) meaning local midnight in the site's time zone. Zone maths is luxon's, so a date
 * on a daylight-saving change is still that day's first instant.
 */
import { DateTime } from 'luxon';
import type { Period } from '../core/kpi/types.ts';
import { badParameter } from './errors.ts';

const DAY_MS = 86_400_000;

/** Longest period a KPI endpoint answers: two years (732 days covers two leap-year spans). */
export const MAX_PERIOD_DAYS = 732;
/** Longest period of a raw vehicle track. */
export const MAX_TRACK_DAYS = 31;

/** What the OpenAPI document says of `from` and `to`. */
export const PERIOD_DESCRIPTION =
  'ISO-8601 instant with a UTC offset (2026-11-25T08:00:00+08:00, 2026-11-25T00:00:00Z), or a date ' +
  "2026-11-25 meaning midnight in the site's time zone. Required; the period is [from, to)";

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** A date, `T`, a time, and an offset (`Z`, `±HH:MM` or `±HHMM`). */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** Parse one bound; throws a 400 naming `parameter`. */
export function parseInstant(parameter: string, text: string, timezone: string): number {
  if (DATE.test(text)) {
    const day = DateTime.fromISO(text, { zone: timezone });
    if (!day.isValid)
      throw badParameter(parameter, `"${text}" is not a date (${day.invalidExplanation ?? 'invalid'})`);
    return day.startOf('day').toMillis();
  }
  if (!INSTANT.test(text)) {
    const hint = /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(text)
      ? ' — give the UTC offset, e.g. +08:00 or Z'
      : ' — write an ISO-8601 instant with offset (2026-11-25T08:00:00+08:00) or a date (2026-11-25)';
    throw badParameter(parameter, `"${text}" is not a time${hint}`);
  }
  const instant = DateTime.fromISO(text, { setZone: true });
  if (!instant.isValid) {
    throw badParameter(parameter, `"${text}" is not a time (${instant.invalidExplanation ?? 'invalid'})`);
  }
  return instant.toMillis();
}

/** Parse and check a period: `from` before `to`, at most `maxDays` long. */
export function parsePeriod(
  query: { readonly from: string; readonly to: string },
  timezone: string,
  maxDays: number = MAX_PERIOD_DAYS,
): Period {
  const from = parseInstant('from', query.from, timezone);
  const to = parseInstant('to', query.to, timezone);
  if (to <= from)
    throw badParameter('to', `must be after from (${query.from} .. ${query.to} is empty or reversed)`);
  if (to - from > maxDays * DAY_MS) {
    throw badParameter('to', `the period is longer than ${maxDays} days; ask for a shorter one`);
  }
  return { from, to };
}

/** An instant as the API writes it: ISO-8601 with the site's UTC offset. */
export function formatInstant(epochMs: number, timezone: string): string {
  return DateTime.fromMillis(epochMs, { zone: timezone }).toISO({ suppressMilliseconds: true }) ?? '';
}

/**
 * The period of a request's `from`/`to` for the response cache (api/cache.ts), or undefined when
 * they do not parse — the route itself then answers the 400.
 */
export function cachePeriod(timezone: string, maxDays: number = MAX_PERIOD_DAYS) {
  return (request: { readonly query: unknown }): Period | undefined => {
    const query = request.query as { from?: unknown; to?: unknown } | undefined;
    if (typeof query?.from !== 'string' || typeof query.to !== 'string') return undefined;
    try {
      return parsePeriod({ from: query.from, to: query.to }, timezone, maxDays);
    } catch {
      return undefined;
    }
  };
}
