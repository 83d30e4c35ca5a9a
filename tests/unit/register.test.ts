/**
 * Register maths: consumption with counter resets, interpolation at window edges, clamping and
 * coverage. Every expected figure in the tables is worked out by hand in the comment on its row;
 * the property tests at the end check the laws the KPIs rely on over random series.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  adjustRegister,
  normalizeReadings,
  READING_STATUS,
  type Reading,
  type RegisterRules,
  settledAfter,
} from '../../core/register.ts';

const DAY = Date.UTC(2026, 10, 2); // 2026-11-02T00:00:00Z

/**
 * Rules that judge nothing: no resolution, no outlier runs, no rate limit worth the name. Every
 * drop is then a reset decided at once, as Prometheus `increase()` reads a counter: the tables
 * below check interpolation, clamping, resets and coverage under those plain rules; the rules of
 * issue 9 (outliers, jitter, pending, rate) have their own tables further down.
 */
function legacy(intervalSeconds: number): RegisterRules {
  return { intervalSeconds, resolution: 0, maxRatePerHour: 1e15, outlierRun: 0 };
}
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
    const register = adjustRegister(readings, legacy(intervalSeconds));
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
    const value = adjustRegister(c.readings, legacy(60)).at(t(c.at));
    if (c.register === undefined) expect(value).toBeUndefined();
    else expect(value).toBeCloseTo(c.register, 9);
  });

  it('returns a reading exactly, without rounding', () => {
    expect(adjustRegister(FLOATS, legacy(60)).at(t('10:01'))).toBe(0.3);
  });

  it('describes the series', () => {
    const register = adjustRegister(RESET, legacy(60));
    expect(register.size).toBe(4);
    expect(register.start).toBe(t('10:00'));
    expect(register.end).toBe(t('10:03'));
    expect(register.counts.resets).toBe(1);
    const empty = adjustRegister([], legacy(60));
    expect([empty.size, empty.start, empty.end, empty.counts.resets]).toEqual([0, undefined, undefined, 0]);
  });

  it('takes infinite bounds as the whole series', () => {
    const register = adjustRegister(RESET, legacy(60));
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
    const register = adjustRegister(c.readings, legacy(60));
    const boundaries = c.boundaries.map(t);
    const split = register.consumptionByWindows(boundaries);
    expect(split).toHaveLength(c.consumption.length);
    split.forEach((value, i) => {
      expect(value).toBeCloseTo(c.consumption[i] as number, 9);
      expect(value).toBe(register.consumption(boundaries[i] as number, boundaries[i + 1] as number));
    });
  });

  it('rejects boundaries out of order', () => {
    const register = adjustRegister(OFFSET, legacy(60));
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
    expect(adjustRegister(readings, legacy(60)).consumption(t('10:00'), t('10:02'))).toBe(30);
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
    expect(() => adjustRegister(readings as Reading[], legacy(60))).toThrow(/normalizeReadings/);
  });

  it.each([0, -60, Number.NaN, Number.POSITIVE_INFINITY])('rejects interval %s', (intervalSeconds) => {
    expect(() => adjustRegister(ALIGNED, legacy(intervalSeconds))).toThrow(RangeError);
  });

  it('rejects NaN instants', () => {
    const register = adjustRegister(ALIGNED, legacy(60));
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
        const r = adjustRegister(readings, legacy(iv));
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
        expect(adjustRegister(readings, legacy(60)).consumption(a, b)).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('the whole series consumes the sum of step increases (Prometheus increase())', () => {
    fc.assert(
      fc.property(arbSeries, (readings) => {
        const r = adjustRegister(readings, legacy(60));
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
        const r = adjustRegister(readings, legacy(iv));
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
        const r = adjustRegister(readings, legacy(60));
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
        expect(() => adjustRegister(out, legacy(60))).not.toThrow();
      }),
    );
  });
});

/**
 * The rules of issue 9 ("a drop is not always a reset"), worked by hand. Readings one minute
 * apart from 10:00; interval 60 s; resolution 0.05; maxRate 600 per hour = 10 per minute (so two
 * readings a minute apart fit when the later is at most 0.05 below and at most 10.05 above the
 * earlier); outlierRun 3 unless the row says otherwise.
 */
const RULES: RegisterRules = { intervalSeconds: 60, resolution: 0.05, maxRatePerHour: 600, outlierRun: 3 };

function minutes(...totals: number[]): Reading[] {
  return totals.map((total, i) => ({ time: t('10:00') + i * MIN, total }));
}

const S = { ok: 'o', reset: 'R', outlier: 'x', pending: 'p' } as const;
function statusText(status: Uint8Array): string {
  const names = ['o', 'R', 'x', 'p'];
  return Array.from(status, (s) => names[s]).join('');
}

/** [name, readings, extra rules, to (from is 10:00), consumption, coverage %, statuses (o ok, R reset, x outlier, p pending)] */
type RuleRow = [string, Reading[], Partial<RegisterRules>, string, number, number, string];

const RULE_ROWS: readonly RuleRow[] = [
  // 0 breaks the sequence (0 < 101 − 0.05) while 101 and 102 fit each other: outlier. Kept
  // 100, 101, 102, 103, 104: 104 − 100 = 4. Kept gaps 1, 2, 1, 1 min, all ≤ 3 min: 100 %.
  ['a stray zero is an outlier', minutes(100, 101, 0, 102, 103, 104), {}, '10:05', 4, 100, 'ooxooo'],
  // 999999 − 101 is far over 10.05 a minute; 101 and 102 fit: outlier; 4 as above.
  ['a spike is an outlier', minutes(100, 101, 999999, 102, 103, 104), {}, '10:05', 4, 100, 'ooxooo'],
  // 106 fits after 101 (+5 ≤ 10.05) and is kept; 102 breaks (102 < 106 − 0.05), none of 103, 104,
  // 105 comes back to 106, and 102 fits the kept reading before 106 (101): 106 was a spike and
  // becomes an outlier. 105 − 100 = 5; kept gap 10:01 → 10:03 = 2 min: 100 %.
  [
    'a plausible spike the next readings undo',
    minutes(100, 101, 106, 102, 103, 104, 105),
    {},
    '10:06',
    5,
    100,
    'ooxoooo',
  ],
  // One reading fewer: 102 has only 2 readings after it, so it cannot be judged yet and 106 stands
  // for now: 106 − 100 = 6, covered 10:00–10:02 of 5 min = 40 %.
  [
    'the same spike before it is settled',
    minutes(100, 101, 106, 102, 103, 104),
    {},
    '10:05',
    6,
    40,
    'oooppp',
  ],
  // Two zeros between 101 and 102 (2 readings between ≤ outlierRun 3): both outliers. 103 − 100 = 3;
  // kept gap 10:01 → 10:04 = 3 min ≤ 3 × 60 s: covered, 100 %.
  ['a run of bad readings', minutes(100, 101, 0, 0, 102, 103), {}, '10:05', 3, 100, 'ooxxoo'],
  // Jitter: each step back is within 0.05 of the level 500.60, so it holds: steps 0, 0, 0, then
  // 500.61 − 500.60 = 0.01. (Read as resets they would have added 1001.2.)
  ['jitter holds the level', minutes(500.6, 500.59, 500.6, 500.59, 500.61), {}, '10:04', 0.01, 100, 'ooooo'],
  // Drifting down within the resolution each step: every reading fits the one before; the level
  // stays 100.04 until 100.10: 0.04 + 0.06 = 0.10 = 100.10 − 100.00.
  [
    'a slow drift down consumes nothing',
    minutes(100, 100.04, 100, 99.96, 99.92, 100.1),
    {},
    '10:05',
    0.1,
    100,
    'oooooo',
  ],
  // The meter is replaced: 3 fits nothing before it, and 4, 5, 6 go on from it (3 readings
  // after, = outlierRun): a reset counting from zero. 1 + 1 + 3 + 1 + 1 + 1 = 8.
  ['a replaced meter is a reset', minutes(1000, 1001, 1002, 3, 4, 5, 6), {}, '10:06', 8, 100, 'oooRooo'],
  // The same drop with one reading after it cannot be judged yet: 3 and 4 are pending. Kept
  // 1000…1002: 2; covered 10:00–10:02 of 10:00–10:04 = 50 %.
  ['a drop too new to judge is pending', minutes(1000, 1001, 1002, 3, 4), {}, '10:04', 2, 50, 'ooopp'],
  // A spike as the newest reading is pending too: 101 − 100 = 1; covered 1 min of 2 = 50 %.
  ['a spike too new to judge is pending', minutes(100, 101, 999999), {}, '10:02', 1, 50, 'oop'],
  // 5000 − 101 is over 10.05 a minute and 5001…5003 go on from 5000: a lasting step, counted and
  // flagged. 1 + 4899 + 1 + 1 + 1 = 4903.
  [
    'a lasting jump is counted and flagged',
    minutes(100, 101, 5000, 5001, 5002, 5003),
    {},
    '10:05',
    4903,
    100,
    'oooooo',
  ],
  // Rollover at 10000: from level 9999 the register could reach 10000 within a minute (9999 + 10
  // + 0.05 ≥ 10000), so the reset step is 10000 − 9999 + 1 = 2. Total 1 + 2 + 1 + 1 + 1 = 6.
  [
    'a rollover counts the wrap',
    minutes(9998, 9999, 1, 2, 3, 4),
    { rollover: 10_000 },
    '10:05',
    6,
    100,
    'ooRooo',
  ],
  // The same drop far below the rollover value is a plain reset: 1 + 1 + 1 + 1 + 1 = 5.
  [
    'a drop far from the rollover is a reset',
    minutes(5998, 5999, 1, 2, 3, 4),
    { rollover: 10_000 },
    '10:05',
    5,
    100,
    'ooRooo',
  ],
  // Four zeros are one more than outlierRun: no pair around them fits within 3 readings, so the
  // first zero is a reset (step 0) and 102 a flagged jump from 0 (step 102): 1 + 0 + 102 + 1 + 1
  // + 1 = 106. The limit is why outlierRun can be raised per meter.
  [
    'a run longer than outlierRun',
    minutes(100, 101, 0, 0, 0, 0, 102, 103, 104, 105),
    {},
    '10:09',
    106,
    100,
    'ooRooooooo',
  ],
  // outlierRun 5 covers the four zeros: 105 − 100 = 5; kept gap 10:01 → 10:06 = 5 min > 3 min:
  // covered 10:00–10:01 and 10:06–10:09 = 4 min of 9.
  [
    'the same run with outlierRun 5',
    minutes(100, 101, 0, 0, 0, 0, 102, 103, 104, 105),
    { outlierRun: 5 },
    '10:09',
    5,
    400 / 9,
    'ooxxxxoooo',
  ],
];

describe('register rules (issue 9)', () => {
  it.each(RULE_ROWS)('%s', (_name, readings, extra, to, consumption, coverage, statuses) => {
    const register = adjustRegister(readings, { ...RULES, ...extra });
    expect(statusText(register.status)).toBe(statuses);
    expect(register.consumption(t('10:00'), t(to))).toBeCloseTo(consumption, 9);
    expect(register.coverage(t('10:00'), t(to))).toBeCloseTo(coverage, 9);
  });

  it('counts what it found', () => {
    const jump = adjustRegister(minutes(100, 101, 5000, 5001, 5002, 5003), RULES);
    expect(jump.counts).toEqual({ resets: 0, outliers: 0, pending: 0, rateExceeded: 1 });
    expect(Array.from(jump.rateExceeded)).toEqual([0, 0, 1, 0, 0, 0]);
    const mixed = adjustRegister(minutes(1000, 0, 1001, 1002, 3, 4, 5, 6, 999, 7), RULES);
    // 0 between 1000 and 1001: outlier. 3 after 1002 with 4, 5, 6 going on: reset. 999 between 6
    // and 7: outlier. No flagged rise, nothing pending.
    expect(statusText(mixed.status)).toBe('oxooRoooxo');
    expect(mixed.counts).toEqual({ resets: 1, outliers: 2, pending: 0, rateExceeded: 0 });
    // 1 + 1 + 3 + 1 + 1 + 1 + 1 = 9.
    expect(mixed.consumption(-Infinity, Infinity)).toBeCloseTo(9, 9);
  });

  it('keeps statuses as constants the rollups share', () => {
    expect(S).toEqual({ ok: 'o', reset: 'R', outlier: 'x', pending: 'p' });
    expect(READING_STATUS).toEqual({ ok: 0, reset: 1, outlier: 2, pending: 3 });
  });

  it.each([
    ['resolution', { resolution: -1 }],
    ['maxRatePerHour', { maxRatePerHour: 0 }],
    ['outlierRun', { outlierRun: 1.5 }],
    ['rollover', { rollover: Number.NaN }],
  ] as const)('rejects a bad %s', (name, extra) => {
    expect(() => adjustRegister(minutes(1, 2), { ...RULES, ...extra })).toThrow(new RegExp(name));
  });

  it('settles a reading once settledAfter readings follow it', () => {
    const arb = fc.array(
      fc.oneof(
        {
          arbitrary: fc.double({ min: 0, max: 5, noNaN: true }).map((d) => ({ kind: 'up' as const, d })),
          weight: 6,
        },
        { arbitrary: fc.constant({ kind: 'zero' as const, d: 0 }), weight: 1 },
        { arbitrary: fc.constant({ kind: 'spike' as const, d: 0 }), weight: 1 },
        {
          arbitrary: fc
            .double({ min: 0, max: 0.04, noNaN: true })
            .map((d) => ({ kind: 'jitter' as const, d })),
          weight: 1,
        },
      ),
      { minLength: 1, maxLength: 40 },
    );
    fc.assert(
      fc.property(arb, fc.nat(), (steps, cut) => {
        let total = 100;
        const readings = steps.map((s, i) => {
          if (s.kind === 'up') total += s.d;
          const value =
            s.kind === 'zero' ? 0 : s.kind === 'spike' ? 1e6 : s.kind === 'jitter' ? total - s.d : total;
          return { time: t('10:00') + i * MIN, total: value };
        });
        const whole = adjustRegister(readings, RULES);
        const n = cut % (readings.length + 1);
        const prefix = adjustRegister(readings.slice(0, n), RULES);
        // A reading with settledAfter readings after it in the prefix has its final status.
        for (let i = 0; i + settledAfter(RULES) < n; i++) expect(prefix.status[i]).toBe(whole.status[i]);
        expect(whole.consumption(-Infinity, Infinity)).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});
