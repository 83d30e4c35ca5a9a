/**
 * Register maths: consumption with counter resets, interpolation at window edges, clamping and
 * coverage. Every expected figure in the tables is worked out by hand in the comment on its row;
 * the property tests at the end check the laws the KPIs rely on over random series.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adjustRegister, normalizeReadings, type Reading } from '../../core/register.ts';

const DAY = Date.UTC(2026, 10, 2); // 2026-11-02T00:00:00Z
const MIN = 60_000;

/** `'10:00:30'` → epoch ms on DAY (UTC). */
function t(hms: string): number {
  const [h = '0', m = '0', s = '0'] = hms.split(':');
  return DAY + ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000;
}

function series(...rows: readonly (readonly [string, number])[]): Reading[] {
  return rows.map(([hms, total]) => ({ time: t(hms), total }));
}

// Readings on the minute.
const ALIGNED = series(['10:00', 100], ['10:01', 110], ['10:02', 130]);
// Readings half a minute off the window edges.
const OFFSET = series(['10:00:30', 100], ['10:01:30', 106], ['10:02:30', 118]);
// Reset in the middle: adjusted register 1000, 1004, 1004 + 3 = 1007, 1007 + 4 = 1011.
const RESET = series(['10:00', 1000], ['10:01', 1004], ['10:02', 3], ['10:03', 7]);
// Reset in the step 10:00 → 10:01: adjusted 1000, 1004, 1004 + 6 = 1010, 1010 + 4 = 1014.
const RESET_STRADDLE = series(['09:59', 1000], ['10:00', 1004], ['10:01', 6], ['10:02', 10]);
const TWO = series(['10:00', 50], ['10:01', 60]);
// With a 60 s interval, the 5 min gap 10:01 → 10:06 is longer than 3 × 60 s.
const GAP = series(['10:00', 0], ['10:01', 1], ['10:06', 6], ['10:07', 7]);
const FLOATS = series(['10:00', 0.1], ['10:01', 0.3], ['10:02', 0.6]);
const FLOAT_RESET = series(['10:00', 12.5], ['10:01', 0.25], ['10:02', 1.75]);
const FLAT = series(['10:00', 5], ['10:01', 5], ['10:02', 5]);
const NEGATIVE_AFTER_DROP = series(['10:00', 5], ['10:01', -2], ['10:02', 1]);

/** [name, readings, from, to, consumption (meter unit), coverage (%), interval (s, default 60)] */
type RangeRow = [
  name: string,
  readings: readonly Reading[],
  from: string,
  to: string,
  consumption: number,
  coverage: number,
  intervalSeconds?: number,
];

const RANGES: readonly RangeRow[] = [
  // 130 − 110 = 20; both ends are readings, 60 s apart ≤ 180 s.
  ['window edges on readings', ALIGNED, '10:01', '10:02', 20, 100],
  // 130 − 100 = 30.
  ['two whole steps', ALIGNED, '10:00', '10:02', 30, 100],
  // register(10:01:00) = 100 + (106 − 100) × 30/60 = 103; 103 − 100 = 3.
  ['edge between readings, left part', OFFSET, '10:00:30', '10:01', 3, 100],
  // register(10:02:00) = 106 + (118 − 106) × 30/60 = 112; 112 − 103 = 9.
  ['both edges between readings', OFFSET, '10:01', '10:02', 9, 100],
  // a clamped to 10:00:30 (100); 103 − 100 = 3; covered 10:00:30–10:01:00 = 30 s of 60 s = 50 %.
  ['window starting before the first reading', OFFSET, '10:00', '10:01', 3, 50],
  // b clamped to 10:02:30 (118); 118 − 112 = 6; covered 10:02:00–10:02:30 = 30 s of 60 s = 50 %.
  ['window ending after the last reading', OFFSET, '10:02', '10:03', 6, 50],
  // (1004 − 1000) + 3 + (7 − 3) = 11.
  ['reset in the middle of the window', RESET, '10:00', '10:03', 11, 100],
  // b clamped to 10:03: still 11; covered 10:00–10:03 = 180 s of 240 s = 75 %.
  ['reset, window past the last reading', RESET, '10:00', '10:04', 11, 75],
  // register(10:01:30) = 1004 + 3 × 1/2 = 1005.5; register(10:02:30) = 1007 + 4 × 1/2 = 1009; 1009 − 1005.5 = 3.5.
  ['reset inside, both edges interpolated', RESET, '10:01:30', '10:02:30', 3.5, 100],
  // register(09:59:30) = 1000 + 4/2 = 1002; register(10:00:30) = 1004 + 6/2 = 1007; 1007 − 1002 = 5.
  ['reset straddling the right edge', RESET_STRADDLE, '09:59:30', '10:00:30', 5, 100],
  // register(10:01:30) = 1010 + 4/2 = 1012; 1012 − 1007 = 5.
  ['reset straddling the left edge', RESET_STRADDLE, '10:00:30', '10:01:30', 5, 100],
  // Half of the reset step's increase of 6: 1007 − 1004 = 3.
  ['half of the reset step', RESET_STRADDLE, '10:00', '10:00:30', 3, 100],
  // Clamped to 10:00–10:01: 60 − 50 = 10; covered 60 s of 09:59–10:03 = 240 s = 25 %.
  ['range around all readings', TWO, '09:59', '10:03', 10, 25],
  // Both ends clamp to the first reading: 50 − 50 = 0; nothing covered.
  ['range before the first reading', TWO, '09:00', '09:59', 0, 0],
  // Both ends clamp to the last reading: 60 − 60 = 0.
  ['range after the last reading', TWO, '10:05', '10:10', 0, 0],
  // 7 − 0 = 7 (the gap's 5 counted); covered 10:00–10:01 and 10:06–10:07 = 120 s of 420 s = 200/7 %.
  ['gap longer than 3 intervals', GAP, '10:00', '10:07', 7, 200 / 7],
  // 6 − 1 = 5 proven by the register, but none of the 300 s is covered.
  ['window inside the gap', GAP, '10:01', '10:06', 5, 0],
  // register(10:00:30) = 0.5; register(10:01:30) = 1 + 5 × 30/300 = 1.5; 1; covered 10:00:30–10:01:00 = 30 s of 60 s.
  ['window reaching into the gap', GAP, '10:00:30', '10:01:30', 1, 50],
  // The gap is exactly 3 × 60 s = 180 s: covered. 3 − 0 = 3.
  ['gap of exactly 3 intervals', series(['10:00', 0], ['10:03', 3]), '10:00', '10:03', 3, 100],
  // 181 s > 180 s: not covered, still 3 − 0 = 3.
  ['gap just over 3 intervals', series(['10:00', 0], ['10:03:01', 3]), '10:00', '10:03:01', 3, 0],
  // Interval is in seconds: 600 s gap ≤ 3 × 300 s = 900 s, covered. 2 − 1 = 1.
  ['interval in seconds', series(['10:00', 1], ['10:10', 2]), '10:00', '10:10', 1, 100, 300],
  // 0.6 − 0.1 = 0.5.
  ['floating totals', FLOATS, '10:00', '10:02', 0.5, 100],
  // register(10:00:30) = 0.1 + 0.2/2 = 0.2; register(10:01:30) = 0.3 + 0.3/2 = 0.45; 0.45 − 0.2 = 0.25.
  ['floating totals interpolated', FLOATS, '10:00:30', '10:01:30', 0.25, 100],
  // Reset 12.5 → 0.25 counts 0.25, then 1.75 − 0.25 = 1.5; 0.25 + 1.5 = 1.75.
  ['floating reset', FLOAT_RESET, '10:00', '10:02', 1.75, 100],
  // An unchanged register is not a reset: 5 − 5 = 0.
  ['flat register', FLAT, '10:00', '10:02', 0, 100],
  // Drop to −2 counts max(−2, 0) = 0, then 1 − (−2) = 3.
  ['drop to a negative total', NEGATIVE_AFTER_DROP, '10:00', '10:02', 3, 100],
  // Empty range: a = b.
  ['empty range', ALIGNED, '10:01', '10:01', 0, 0],
  // Reversed range: b < a.
  ['reversed range', ALIGNED, '10:02', '10:00', 0, 0],
  // No readings at all.
  ['empty series', [], '10:00', '10:02', 0, 0],
  // One reading proves no consumption and covers no time.
  ['single reading', series(['10:01', 42]), '10:00', '10:02', 0, 0],
];

describe('consumption and coverage over [a, b)', () => {
  it.each(RANGES)('%s', (_name, readings, from, to, consumption, coverage, intervalSeconds = 60) => {
    const register = adjustRegister(readings, { intervalSeconds });
    expect(register.consumption(t(from), t(to))).toBeCloseTo(consumption, 9);
    expect(register.coverage(t(from), t(to))).toBeCloseTo(coverage, 9);
  });
});

interface AtCase {
  readonly name: string;
  readonly readings: readonly Reading[];
  readonly at: string;
  readonly register: number | undefined;
}

const AT: readonly AtCase[] = [
  // A reading's own value.
  { name: 'exact reading', readings: ALIGNED, at: '10:01', register: 110 },
  { name: 'first reading', readings: OFFSET, at: '10:00:30', register: 100 },
  { name: 'last reading', readings: OFFSET, at: '10:02:30', register: 118 },
  // 100 + (106 − 100) × 30/60 = 103.
  { name: 'between readings', readings: OFFSET, at: '10:01', register: 103 },
  // 100 + 6 × 15/60 = 101.5.
  { name: 'a quarter into a step', readings: OFFSET, at: '10:00:45', register: 101.5 },
  // Raw 3 after the reset, adjusted 1004 + 3 = 1007.
  { name: 'adjusted after a reset', readings: RESET, at: '10:02', register: 1007 },
  // 1004 + 6 × 30/60 = 1007.
  { name: 'inside the reset step', readings: RESET_STRADDLE, at: '10:00:30', register: 1007 },
  // No extrapolation either side.
  { name: 'before the first reading', readings: OFFSET, at: '10:00:29', register: undefined },
  { name: 'after the last reading', readings: OFFSET, at: '10:02:31', register: undefined },
  { name: 'empty series', readings: [], at: '10:00', register: undefined },
  { name: 'single reading, at it', readings: series(['10:01', 42]), at: '10:01', register: 42 },
  { name: 'single reading, elsewhere', readings: series(['10:01', 42]), at: '10:02', register: undefined },
];

describe('register at an instant', () => {
  it.each(AT)('$name', (c) => {
    const value = adjustRegister(c.readings, { intervalSeconds: 60 }).at(t(c.at));
    if (c.register === undefined) expect(value).toBeUndefined();
    else expect(value).toBeCloseTo(c.register, 9);
  });

  it('returns a reading exactly, without rounding', () => {
    expect(adjustRegister(FLOATS, { intervalSeconds: 60 }).at(t('10:01'))).toBe(0.3);
  });

  it('describes the series', () => {
    const register = adjustRegister(RESET, { intervalSeconds: 60 });
    expect(register.size).toBe(4);
    expect(register.start).toBe(t('10:00'));
    expect(register.end).toBe(t('10:03'));
    expect(register.resets).toBe(1);
    const empty = adjustRegister([], { intervalSeconds: 60 });
    expect([empty.size, empty.start, empty.end, empty.resets]).toEqual([0, undefined, undefined, 0]);
  });

  it('takes infinite bounds as the whole series', () => {
    const register = adjustRegister(RESET, { intervalSeconds: 60 });
    // 1011 − 1000 = 11; 180 s covered of an infinite range rounds to 0 %.
    expect(register.consumption(-Infinity, Infinity)).toBe(11);
    expect(register.coverage(-Infinity, Infinity)).toBe(0);
  });
});

interface WindowsCase {
  readonly name: string;
  readonly readings: readonly Reading[];
  readonly boundaries: readonly string[];
  readonly consumption: readonly number[];
}

const WINDOWS: readonly WindowsCase[] = [
  // 1007 − 1002 = 5 and 1012 − 1007 = 5 (see the straddle rows above).
  {
    name: 'reset straddling an edge',
    readings: RESET_STRADDLE,
    boundaries: ['09:59:30', '10:00:30', '10:01:30'],
    consumption: [5, 5],
  },
  // Before: 1000 − 1000 = 0; register(10:01:30) = 1004 + 3/2 = 1005.5, so 5.5; 1011 − 1005.5 = 5.5.
  {
    name: 'windows before, across and after the reset',
    readings: RESET,
    boundaries: ['09:58', '10:00', '10:01:30', '10:05'],
    consumption: [0, 5.5, 5.5],
  },
  // 103 − 100 = 3; a zero-length window is 0; 112 − 103 = 9.
  {
    name: 'zero-length window',
    readings: OFFSET,
    boundaries: ['10:00', '10:01', '10:01', '10:02'],
    consumption: [3, 0, 9],
  },
  { name: 'one boundary', readings: OFFSET, boundaries: ['10:00'], consumption: [] },
  { name: 'no boundaries', readings: OFFSET, boundaries: [], consumption: [] },
  { name: 'empty series', readings: [], boundaries: ['10:00', '10:01', '10:02'], consumption: [0, 0] },
  {
    name: 'single reading',
    readings: series(['10:01', 42]),
    boundaries: ['10:00', '10:01', '10:02'],
    consumption: [0, 0],
  },
];

describe('consumption by windows', () => {
  it.each(WINDOWS)('$name', (c) => {
    const register = adjustRegister(c.readings, { intervalSeconds: 60 });
    const boundaries = c.boundaries.map(t);
    const split = register.consumptionByWindows(boundaries);
    expect(split).toHaveLength(c.consumption.length);
    split.forEach((value, i) => {
      expect(value).toBeCloseTo(c.consumption[i] as number, 9);
      expect(value).toBe(register.consumption(boundaries[i] as number, boundaries[i + 1] as number));
    });
  });

  it('rejects boundaries out of order', () => {
    const register = adjustRegister(OFFSET, { intervalSeconds: 60 });
    expect(() => register.consumptionByWindows([t('10:01'), t('10:00')])).toThrow(RangeError);
    expect(() => register.consumptionByWindows([t('10:01'), Number.NaN])).toThrow(RangeError);
  });
});

describe('normalizeReadings', () => {
  it('sorts, drops non-finite values and keeps the last of equal times', () => {
    const raw: Reading[] = [
      { time: t('10:02'), total: 130 },
      { time: t('10:00'), total: 100 },
      { time: t('10:01'), total: 999 }, // replaced by the later 10:01 reading
      { time: Number.NaN, total: 5 },
      { time: t('10:01'), total: 110 },
      { time: t('10:03'), total: Number.NaN },
      { time: t('10:04'), total: Number.POSITIVE_INFINITY },
      { time: Number.POSITIVE_INFINITY, total: 1 },
    ];
    const copy = structuredClone(raw);
    const readings = normalizeReadings(raw);
    expect(readings).toEqual(ALIGNED);
    expect(raw).toEqual(copy);
    // 130 − 100 = 30, as for the clean series.
    expect(adjustRegister(readings, { intervalSeconds: 60 }).consumption(t('10:00'), t('10:02'))).toBe(30);
  });

  it('accepts any iterable', () => {
    function* gen(): Generator<Reading> {
      yield { time: 2, total: 20 };
      yield { time: 1, total: 10 };
    }
    expect(normalizeReadings(gen())).toEqual([
      { time: 1, total: 10 },
      { time: 2, total: 20 },
    ]);
  });

  it('returns nothing for nothing', () => {
    expect(normalizeReadings([])).toEqual([]);
  });
});

describe('input errors', () => {
  it.each([
    { name: 'unsorted', readings: [ALIGNED[1], ALIGNED[0]] },
    { name: 'duplicate time', readings: [ALIGNED[0], ALIGNED[0]] },
    { name: 'NaN total', readings: [{ time: t('10:00'), total: Number.NaN }] },
    { name: 'infinite time', readings: [{ time: Number.POSITIVE_INFINITY, total: 1 }] },
  ])('rejects $name readings and points to normalizeReadings', ({ readings }) => {
    expect(() => adjustRegister(readings as Reading[], { intervalSeconds: 60 })).toThrow(/normalizeReadings/);
  });

  it.each([0, -60, Number.NaN, Number.POSITIVE_INFINITY])('rejects interval %s', (intervalSeconds) => {
    expect(() => adjustRegister(ALIGNED, { intervalSeconds })).toThrow(RangeError);
  });

  it('rejects NaN instants', () => {
    const register = adjustRegister(ALIGNED, { intervalSeconds: 60 });
    expect(() => register.consumption(Number.NaN, t('10:01'))).toThrow(RangeError);
    expect(() => register.coverage(t('10:01'), Number.NaN)).toThrow(RangeError);
    expect(register.at(Number.NaN)).toBeUndefined();
  });
});

describe('properties', () => {
  const T0 = DAY + 10 * 3_600_000;
  const value = fc.double({ min: 0, max: 1000, noNaN: true });
  // Mostly increments, sometimes a jump to a fresh value (a reset when lower).
  const step = fc.record({
    dt: fc.integer({ min: 1, max: 20 * MIN }),
    reset: fc.oneof(
      { arbitrary: fc.constant(false), weight: 4 },
      { arbitrary: fc.constant(true), weight: 1 },
    ),
    value,
  });
  const arbSeries = fc
    .record({
      first: fc.double({ min: 0, max: 1e6, noNaN: true }),
      steps: fc.array(step, { maxLength: 40 }),
    })
    .map(({ first, steps }) => {
      const readings: Reading[] = [{ time: T0, total: first }];
      for (const s of steps) {
        const prev = readings[readings.length - 1] as Reading;
        readings.push({ time: prev.time + s.dt, total: s.reset ? s.value : prev.total + s.value });
      }
      return readings;
    });
  // Instants reaching an hour either side of any series, fractional milliseconds included.
  const instant = fc.double({ min: T0 - 3_600_000, max: T0 + 40 * 20 * MIN + 3_600_000, noNaN: true });
  const interval = fc.integer({ min: 1, max: 900 });

  /** Prometheus-style reference: the sum of each step's increase, a drop counting its new value. */
  function naiveIncrease(readings: readonly Reading[]): number {
    let sum = 0;
    for (let i = 1; i < readings.length; i++) {
      const prev = (readings[i - 1] as Reading).total;
      const cur = (readings[i] as Reading).total;
      sum += cur >= prev ? cur - prev : cur;
    }
    return sum;
  }

  /** Float tolerance proportional to the largest register value in play. */
  function tolerance(readings: readonly Reading[]): number {
    const scale = (readings[0]?.total ?? 0) + naiveIncrease(readings);
    return 16 * Number.EPSILON * (1 + scale);
  }

  it('consumption splits: c(a, m) + c(m, b) = c(a, b)', () => {
    fc.assert(
      fc.property(arbSeries, interval, fc.tuple(instant, instant, instant), (readings, iv, triple) => {
        const [a, m, b] = [...triple].sort((x, y) => x - y) as [number, number, number];
        fc.pre(a < m && m < b);
        const r = adjustRegister(readings, { intervalSeconds: iv });
        const whole = r.consumption(a, b);
        expect(Math.abs(r.consumption(a, m) + r.consumption(m, b) - whole)).toBeLessThanOrEqual(
          tolerance(readings),
        );
      }),
    );
  });

  it('consumption is never negative', () => {
    fc.assert(
      fc.property(arbSeries, instant, instant, (readings, a, b) => {
        expect(adjustRegister(readings, { intervalSeconds: 60 }).consumption(a, b)).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('the whole series consumes the sum of step increases (Prometheus increase())', () => {
    fc.assert(
      fc.property(arbSeries, (readings) => {
        const r = adjustRegister(readings, { intervalSeconds: 60 });
        expect(Math.abs(r.consumption(-Infinity, Infinity) - naiveIncrease(readings))).toBeLessThanOrEqual(
          tolerance(readings),
        );
      }),
    );
  });

  it('coverage stays within [0, 100] and splits by duration', () => {
    fc.assert(
      fc.property(arbSeries, interval, fc.tuple(instant, instant, instant), (readings, iv, triple) => {
        const [a, m, b] = [...triple].sort((x, y) => x - y) as [number, number, number];
        const r = adjustRegister(readings, { intervalSeconds: iv });
        for (const [x, y] of [
          [a, m],
          [m, b],
          [a, b],
          [b, a],
        ] as const) {
          const c = r.coverage(x, y);
          expect(c).toBeGreaterThanOrEqual(0);
          expect(c).toBeLessThanOrEqual(100);
        }
        fc.pre(a < m && m < b);
        // Covered milliseconds add up: cov(a, m)·(m − a) + cov(m, b)·(b − m) = cov(a, b)·(b − a).
        const parts = (r.coverage(a, m) * (m - a) + r.coverage(m, b) * (b - m)) / 100;
        expect(parts).toBeCloseTo((r.coverage(a, b) * (b - a)) / 100, 3);
      }),
    );
  });

  it('consumptionByWindows equals consumption per window and sums to the whole', () => {
    fc.assert(
      fc.property(arbSeries, fc.array(instant, { minLength: 2, maxLength: 30 }), (readings, raw) => {
        const boundaries = [...raw].sort((x, y) => x - y);
        const r = adjustRegister(readings, { intervalSeconds: 60 });
        const split = r.consumptionByWindows(boundaries);
        expect(split).toHaveLength(boundaries.length - 1);
        split.forEach((v, i) => {
          expect(v).toBe(r.consumption(boundaries[i] as number, boundaries[i + 1] as number));
        });
        const whole = r.consumption(boundaries[0] as number, boundaries[boundaries.length - 1] as number);
        const sum = split.reduce((s, v) => s + v, 0);
        expect(Math.abs(sum - whole)).toBeLessThanOrEqual(boundaries.length * tolerance(readings));
      }),
    );
  });

  it('normalizeReadings yields sorted unique times, the last of each time winning', () => {
    const raw = fc.array(
      fc.record({
        time: fc.oneof(
          fc.integer({ min: 0, max: 20 }),
          fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY),
        ),
        total: fc.oneof(fc.double({ min: 0, max: 100, noNaN: true }), fc.constant(Number.NaN)),
      }),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(raw, (input) => {
        const out = normalizeReadings(input);
        const valid = input.filter((r) => Number.isFinite(r.time) && Number.isFinite(r.total));
        const lastByTime = new Map(valid.map((r) => [r.time, r]));
        expect(out).toEqual([...lastByTime.values()].sort((x, y) => x.time - y.time));
        expect(() => adjustRegister(out, { intervalSeconds: 60 })).not.toThrow();
      }),
    );
  });
});
