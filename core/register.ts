/**
 * Register maths for cumulative meters (docs/architecture.md, "KPI definitions: Consumption").
 *
 * A meter reports its cumulative register `total` (kWh, m³ — whatever the meter's unit is;
 * nothing here converts units) about every `interval` seconds. From a series of such readings
 * this module answers three questions, each in O(log n) after an O(n) preparation:
 *
 * - {@link AdjustedRegister.at}: the register at an instant (linear between readings);
 * - {@link AdjustedRegister.consumption}: how much was consumed over `[a, b)`;
 * - {@link AdjustedRegister.coverage}: how much of `[a, b)` the readings cover (%).
 *
 * **Counter resets** follow Prometheus `increase()`: when a reading is lower than the one before,
 * the register restarted from zero, so the increase across that step is the new reading itself
 * (1000 → 1004 → 3 → 7 consumed 4 + 3 + 4 = 11). The series is turned once into an *adjusted*
 * register that never decreases (raw reading + a running offset), and every query reads that.
 *
 * **No extrapolation.** Consumption counts only what the readings prove: a range reaching before
 * the first reading or after the last is clamped to them, and the shortfall shows as coverage
 * below 100 %. Because consumption over `[a, b)` is `register(b) − register(a)` on one clamped,
 * non-decreasing function, it splits exactly: for any `a < m < b`,
 * `consumption(a, m) + consumption(m, b) = consumption(a, b)` up to float rounding.
 *
 * Times are epoch milliseconds throughout, except the meter interval, which is in seconds as
 * the facility file gives it.
 */

/** One reading of a cumulative register. */
export interface Reading {
  /** Epoch milliseconds (UTC). */
  readonly time: number;
  /** The cumulative register in the meter's unit (kWh, m³…). */
  readonly total: number;
}

/**
 * A gap between consecutive readings longer than this many meter intervals is not covered:
 * the register proves what was consumed across it, but not when.
 */
export const MAX_GAP_INTERVALS = 3;

/** Options of {@link adjustRegister}. */
export interface RegisterOptions {
  /**
   * The meter's nominal reporting interval, in **seconds** (as in the facility file). Two
   * consecutive readings at most {@link MAX_GAP_INTERVALS} × this apart cover the time between
   * them. Must be finite and > 0.
   */
  readonly intervalSeconds: number;
}

/**
 * A series of readings prepared for queries: counter resets are folded into a non-decreasing
 * adjusted register, and covered time is summed, so each query is a binary search.
 *
 * All instants are epoch milliseconds; register values and consumption are in the meter's unit.
 */
export interface AdjustedRegister {
  /** Number of readings. */
  readonly size: number;
  /** Time of the first reading (epoch ms), or `undefined` when there are none. */
  readonly start: number | undefined;
  /** Time of the last reading (epoch ms), or `undefined` when there are none. */
  readonly end: number | undefined;
  /** Number of counter resets (drops between consecutive readings) in the series. */
  readonly resets: number;
  /**
   * The adjusted register at instant `t` (epoch ms), in the meter's unit: the adjusted reading at
   * `t` if there is one, else the linear interpolation between the readings around `t`.
   * `undefined` outside `[start, end]` (no extrapolation) and for an empty series or NaN `t`.
   *
   * The adjusted register equals the raw register until the first reset; after a reset it keeps
   * counting up from where the register was, so it is never lower than an earlier value.
   */
  at(t: number): number | undefined;
  /**
   * Consumption over `[a, b)` (epoch ms), in the meter's unit: `register(b) − register(a)`, with
   * `a` and `b` clamped to `[start, end]`. Never negative. 0 when `b ≤ a`, when the range does
   * not overlap the readings, or when there are fewer than 2 readings. `±Infinity` bounds are
   * allowed (`consumption(-Infinity, Infinity)` is the whole series).
   *
   * @throws RangeError if `a` or `b` is NaN.
   */
  consumption(a: number, b: number): number;
  /**
   * Data coverage of `[a, b)` (epoch ms), in percent (0–100): the share of the range that lies
   * between two consecutive readings at most {@link MAX_GAP_INTERVALS} × interval apart. Time
   * before the first reading, after the last, or inside a longer gap is not covered. 0 when
   * `b ≤ a` (an empty range has nothing covered).
   *
   * @throws RangeError if `a` or `b` is NaN.
   */
  coverage(a: number, b: number): number;
  /**
   * Consumption of each window between consecutive `boundaries` (epoch ms, non-decreasing), in
   * the meter's unit: element `i` is exactly `consumption(boundaries[i], boundaries[i + 1])`, so
   * the elements sum to `consumption(boundaries[0], boundaries[last])` up to float rounding.
   * Returns `boundaries.length − 1` numbers (none for fewer than 2 boundaries).
   *
   * @throws RangeError if a boundary is NaN or lower than the one before it.
   */
  consumptionByWindows(boundaries: readonly number[]): number[];
}

/**
 * Prepares readings for queries. O(n) time and memory.
 *
 * `readings` must be sorted ascending by time with unique, finite times and finite totals;
 * pass raw input through {@link normalizeReadings} first. A total lower than the one before is a
 * counter reset: the increase across that step is the new total (or 0 if it is negative, so
 * that consumption is never negative).
 *
 * @param readings - the series, times in epoch ms, totals in the meter's unit.
 * @param options - the meter's reporting interval in seconds (for coverage).
 * @throws RangeError if the readings are unsorted, repeat a time or hold a non-finite value, or
 *   if the interval is not a finite number > 0.
 */
export function adjustRegister(readings: readonly Reading[], options: RegisterOptions): AdjustedRegister {
  const { intervalSeconds } = options;
  if (!(Number.isFinite(intervalSeconds) && intervalSeconds > 0)) {
    throw new RangeError(`intervalSeconds must be a finite number > 0, got ${intervalSeconds}`);
  }
  const maxGapMs = MAX_GAP_INTERVALS * intervalSeconds * 1000;

  const n = readings.length;
  const times = new Float64Array(n);
  const adjusted = new Float64Array(n);
  // coveredBefore[i]: covered milliseconds between the first reading and reading i.
  const coveredBefore = new Float64Array(n);
  let resets = 0;
  let offset = 0;
  let prev: Reading | undefined;
  for (let i = 0; i < n; i++) {
    const r = readings[i] as Reading;
    if (!(Number.isFinite(r.time) && Number.isFinite(r.total))) {
      throw new RangeError(
        `reading ${i} has a non-finite time or total (${r.time}, ${r.total}); use normalizeReadings()`,
      );
    }
    times[i] = r.time;
    if (prev === undefined) {
      adjusted[i] = r.total;
    } else {
      if (!(r.time > prev.time)) {
        throw new RangeError(
          `reading ${i} (time ${r.time}) is not after reading ${i - 1} (time ${prev.time}); ` +
            'readings must be sorted by time with unique times: use normalizeReadings()',
        );
      }
      const before = adjusted[i - 1] as number;
      if (r.total < prev.total) {
        resets++;
        // Restarted from zero: shift by the adjusted value before the drop, so that the
        // step's increase is the new total itself. A negative total (not a real register) is
        // taken as an increase of 0, and the register counts on from it.
        offset = r.total >= 0 ? before : before - r.total;
      }
      // Raw + offset keeps the adjusted register equal to the raw one until the first reset
      // (no accumulated rounding); the max keeps it non-decreasing whatever the rounding.
      adjusted[i] = Math.max(before, r.total + offset);
      const gap = r.time - prev.time;
      coveredBefore[i] = (coveredBefore[i - 1] as number) + (gap <= maxGapMs ? gap : 0);
    }
    prev = r;
  }
  return new Register(times, adjusted, coveredBefore, maxGapMs, resets);
}

/**
 * Makes raw readings fit for {@link adjustRegister}: drops readings whose time or total is not a
 * finite number, sorts ascending by time, and of readings with equal times keeps the last one
 * in input order (a redelivered or corrected reading replaces the earlier one). Does not modify
 * its input.
 *
 * @param readings - raw readings, times in epoch ms, totals in the meter's unit, any order.
 * @returns a new array, sorted by time with unique times.
 */
export function normalizeReadings(readings: Iterable<Reading>): Reading[] {
  const finite: Reading[] = [];
  for (const r of readings) {
    if (Number.isFinite(r.time) && Number.isFinite(r.total)) finite.push(r);
  }
  // Array.prototype.sort is stable, so equal times stay in input order and the last one wins.
  finite.sort((x, y) => x.time - y.time);
  const out: Reading[] = [];
  for (const r of finite) {
    const last = out[out.length - 1];
    if (last !== undefined && last.time === r.time) out[out.length - 1] = r;
    else out.push(r);
  }
  return out;
}

class Register implements AdjustedRegister {
  readonly size: number;
  readonly start: number | undefined;
  readonly end: number | undefined;

  constructor(
    private readonly times: Float64Array,
    private readonly adjusted: Float64Array,
    private readonly coveredBefore: Float64Array,
    private readonly maxGapMs: number,
    readonly resets: number,
  ) {
    this.size = times.length;
    this.start = times.length > 0 ? times[0] : undefined;
    this.end = times.length > 0 ? times[times.length - 1] : undefined;
  }

  at(t: number): number | undefined {
    if (this.size === 0 || !(t >= (this.start as number) && t <= (this.end as number))) return undefined;
    return this.registerWithin(t);
  }

  consumption(a: number, b: number): number {
    checkInstant('a', a);
    checkInstant('b', b);
    if (!(b > a) || this.size < 2) return 0;
    return this.clampedRegister(b) - this.clampedRegister(a);
  }

  coverage(a: number, b: number): number {
    checkInstant('a', a);
    checkInstant('b', b);
    if (!(b > a) || this.size < 2) return 0;
    const covered = this.coveredUpTo(b) - this.coveredUpTo(a);
    // Rounding must not push a fully covered range past 100 %.
    return Math.min(100, Math.max(0, (covered / (b - a)) * 100));
  }

  consumptionByWindows(boundaries: readonly number[]): number[] {
    const registers: number[] = [];
    let before = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < boundaries.length; i++) {
      const t = boundaries[i] as number;
      checkInstant(`boundaries[${i}]`, t);
      if (t < before) {
        throw new RangeError(`boundaries must be non-decreasing: boundaries[${i}] = ${t} < ${before}`);
      }
      before = t;
      registers.push(this.size < 2 ? 0 : this.clampedRegister(t));
    }
    const out: number[] = [];
    for (let i = 1; i < registers.length; i++) {
      out.push((registers[i] as number) - (registers[i - 1] as number));
    }
    return out;
  }

  /** Index of the last reading at or before `t`; `t` must lie in `[start, end]`. */
  private segmentOf(t: number): number {
    let lo = 0;
    let hi = this.size - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.times[mid] as number) <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The adjusted register at `t`, which must lie in `[start, end]`. */
  private registerWithin(t: number): number {
    const j = this.segmentOf(t);
    const t0 = this.times[j] as number;
    const r0 = this.adjusted[j] as number;
    if (t === t0 || j === this.size - 1) return r0;
    const t1 = this.times[j + 1] as number;
    const r1 = this.adjusted[j + 1] as number;
    // The min keeps rounding from overshooting the next reading, so the register stays
    // non-decreasing in t and consumption is never negative.
    return Math.min(r1, r0 + (r1 - r0) * ((t - t0) / (t1 - t0)));
  }

  /** The adjusted register at `t` clamped to `[start, end]`; needs at least one reading. */
  private clampedRegister(t: number): number {
    if (t <= (this.start as number)) return this.adjusted[0] as number;
    if (t >= (this.end as number)) return this.adjusted[this.size - 1] as number;
    return this.registerWithin(t);
  }

  /** Covered milliseconds from the first reading up to `t`; needs at least one reading. */
  private coveredUpTo(t: number): number {
    if (t <= (this.start as number)) return 0;
    if (t >= (this.end as number)) return this.coveredBefore[this.size - 1] as number;
    const j = this.segmentOf(t);
    const t0 = this.times[j] as number;
    const base = this.coveredBefore[j] as number;
    const gap = (this.times[j + 1] as number) - t0;
    return gap <= this.maxGapMs ? base + (t - t0) : base;
  }
}

function checkInstant(name: string, t: number): void {
  if (Number.isNaN(t)) throw new RangeError(`${name} must be an instant in epoch ms, got NaN`);
}
