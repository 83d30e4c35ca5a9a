/**
 * Small pure helpers over the facility's data: calendar dates in the site's time zone, names in
 * the page's language, the national air-conditioning set-point rule. No I/O, no Vue.
 */
import type { Name, RoomLive } from './api/types.ts';

export type Locale = 'zh-CN' | 'en';

/** A bilingual name in the page's language; a plain string as it is. */
export function nameOf(name: Name | string | null | undefined, locale: Locale, fallback = ''): string {
  if (name === null || name === undefined) return fallback;
  if (typeof name === 'string') return name;
  return locale === 'en' ? name.en : name.zh;
}

/** The calendar date (`YYYY-MM-DD`) of an instant in a time zone. */
export function dateInZone(instant: number, timezone: string): string {
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(instant);
}

/** `date` moved by `days` calendar days (`YYYY-MM-DD`). */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const moved = new Date(Date.UTC(y, m - 1, d + days));
  return moved.toISOString().slice(0, 10);
}

/** Days from `from` to `to` (`YYYY-MM-DD`), whole. */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** A period as the api takes it: dates are midnight in the site's time zone, `to` exclusive. */
export interface DatePeriod {
  readonly from: string;
  readonly to: string;
}

export type RangePreset = 'today' | 'yesterday' | '7d' | '30d' | 'month' | 'year';

/** The period a preset names, on the site's calendar, for `now`. */
export function presetPeriod(preset: RangePreset, now: number, timezone: string): DatePeriod {
  const today = dateInZone(now, timezone);
  const tomorrow = addDays(today, 1);
  switch (preset) {
    case 'today':
      return { from: today, to: tomorrow };
    case 'yesterday':
      return { from: addDays(today, -1), to: today };
    case '7d':
      return { from: addDays(today, -6), to: tomorrow };
    case '30d':
      return { from: addDays(today, -29), to: tomorrow };
    case 'month':
      return { from: `${today.slice(0, 8)}01`, to: tomorrow };
    case 'year':
      return { from: `${today.slice(0, 4)}-01-01`, to: tomorrow };
  }
}

/** The window of a series over a period: fine enough to see a day, coarse enough to stay small. */
export function seriesEvery(period: DatePeriod): '15m' | '1h' | '1d' {
  const days = daysBetween(period.from, period.to);
  if (days <= 2) return '15m';
  if (days <= 45) return '1h';
  return '1d';
}

/**
 * Whether a room breaks the national rule for air-conditioned public buildings (国办发〔2007〕42号):
 * cooling set no lower than 26 °C, heating no higher than 20 °C. Read on the room's temperature
 * while the HVAC cools or heats.
 */
export function setpointViolation(room: Pick<RoomLive, 'hvacMode' | 'temperatureC'>): boolean {
  if (room.temperatureC === null) return false;
  if (room.hvacMode === 'cool') return room.temperatureC < 26;
  if (room.hvacMode === 'heat') return room.temperatureC > 20;
  return false;
}

/** Occupancy as a share of the seats, 0–1 (null when unknown). */
export function occupancyShare(occupancy: number | null, capacity: number): number | null {
  if (occupancy === null || capacity <= 0) return null;
  return Math.max(0, Math.min(1, occupancy / capacity));
}

/** Points along a track at `t` (ms): the position, interpolated between the two fixes around it. */
export function positionAt(
  times: readonly number[],
  coordinates: readonly (readonly number[])[],
  t: number,
): readonly [number, number] | null {
  if (times.length === 0) return null;
  let lo = 0;
  let hi = times.length - 1;
  if (t <= (times[0] as number)) return point(coordinates[0]);
  if (t >= (times[hi] as number)) return point(coordinates[hi]);
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((times[mid] as number) <= t) lo = mid;
    else hi = mid;
  }
  const a = coordinates[lo] as readonly number[];
  const b = coordinates[hi] as readonly number[];
  const ta = times[lo] as number;
  const tb = times[hi] as number;
  const f = tb === ta ? 0 : (t - ta) / (tb - ta);
  return [
    (a[0] as number) + f * ((b[0] as number) - (a[0] as number)),
    (a[1] as number) + f * ((b[1] as number) - (a[1] as number)),
  ];
}

function point(c: readonly number[] | undefined): readonly [number, number] | null {
  return c === undefined ? null : [c[0] as number, c[1] as number];
}

/** Bounding box of some `[lon, lat]` points: `[[minLon, maxLat], [maxLon, minLat]]` as ECharts' geo wants. */
export function boundingCoords(
  points: readonly (readonly number[])[],
  margin = 0.08,
): [[number, number], [number, number]] {
  let minLon = Number.POSITIVE_INFINITY;
  let maxLon = Number.NEGATIVE_INFINITY;
  let minLat = Number.POSITIVE_INFINITY;
  let maxLat = Number.NEGATIVE_INFINITY;
  for (const [lon, lat] of points) {
    minLon = Math.min(minLon, lon as number);
    maxLon = Math.max(maxLon, lon as number);
    minLat = Math.min(minLat, lat as number);
    maxLat = Math.max(maxLat, lat as number);
  }
  const padLon = (maxLon - minLon) * margin;
  const padLat = (maxLat - minLat) * margin;
  return [
    [minLon - padLon, maxLat + padLat],
    [maxLon + padLon, minLat - padLat],
  ];
}
