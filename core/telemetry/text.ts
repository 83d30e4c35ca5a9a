/** How the decoder's messages show values and durations. */

const UNITS: ReadonlyArray<readonly [number, string]> = [
  [86_400_000, 'days'],
  [3_600_000, 'h'],
  [60_000, 'min'],
  [1000, 's'],
];

/**
 * `90000` → `1.5 min`: the largest unit of which there are at least 2 (or 1 for days), rounded
 * up to one decimal, so an excess just over a round limit reads as over it (`5.1 min`, not `5`).
 */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return 'forever';
  for (const [size, unit] of UNITS) {
    if (ms >= size * (unit === 'days' ? 1 : 2) || (unit === 's' && ms >= size)) {
      const value = Math.ceil((ms / size) * 10 - 1e-9) / 10;
      return `${value} ${unit === 'days' && value === 1 ? 'day' : unit}`;
    }
  }
  return `${ms} ms`;
}

/** A value as a message shows it: strings quoted and cut at 40 characters, objects by kind. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
