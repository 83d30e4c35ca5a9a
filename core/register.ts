/**
 * Register maths for cumulative meters (docs/architecture.md, "KPI definitions: Consumption").
 *
 * A meter reports its cumulative register `total` (kWh, m³ — the meter's unit; nothing here
 * converts units) about every `interval` seconds. A register only counts up, but what reaches the
 * platform does not always: a gateway sends a stray `0`, a corrupted `999999`, a reading that
 * steps back by the last digit, or the meter is replaced and starts again from zero. This module
 * tells those apart, reading by reading, and turns the readings it keeps into an *adjusted
 * register* R(t) that never goes down, from which every consumption figure is taken.
 *
 * ## The rules (per meter; {@link RegisterRules}, set in the facility file)
 *
 * Two readings a (earlier) and b **fit** when b continues a's register plausibly:
 * `a.total − resolution ≤ b.total ≤ a.total + maxRate × (b.time − a.time) + resolution`.
 *
 * A reading **breaks** the sequence when it does not fit the last kept reading.
 *
 * 1. **Outlier.** A break is left out when the readings around it agree: one of the next
 *    `outlierRun` readings fits the last kept reading again (the break, and any readings between,
 *    are outliers: a stray `0` or `999999`, or a run of up to `outlierRun` bad readings), or, once
 *    `outlierRun` readings have followed without that, the break fits one of the `outlierRun` kept
 *    readings before the last one (the kept readings after that one were a spike — even a
 *    plausible one such as 101 → 106 → 102 — and become outliers). Outliers are counted and
 *    listed (reason `register-outlier`), never consumed.
 * 2. **Jitter.** A kept reading within `resolution` below the register's level (the highest kept
 *    reading since the last reset) consumed nothing, and the level stays where it was: a water
 *    register flickering 500.60 → 500.59 → 500.60 consumed 0, not 0.01 per flicker.
 * 3. **Reset.** A break more than `resolution` below the last kept reading that is no outlier
 *    (the `outlierRun` readings after it go on from the lower value): the meter was replaced or
 *    rolled over. The register counts
 *    from zero, like Prometheus `increase()`: the step consumed the new reading itself (0 if
 *    negative). If the meter declares `rollover` (its register wraps at that value) and the
 *    previous level could have reached it, the step consumed `rollover − level + reading`.
 * 4. **Rate exceeded.** A break more than `maxRate` above the last kept reading that is no
 *    outlier is a lasting step: counted, but flagged (`rateExceeded`), which lowers the quality of
 *    any period holding it.
 * 5. **Pending.** A break with fewer than `outlierRun` readings after it, none of which fits the
 *    last kept reading, cannot be judged yet: it and every reading after it are *pending*, not
 *    counted until enough readings arrive. Only the newest readings of a meter can be pending.
 *
 * Readings are judged in one pass from the oldest, each rule looking at most `outlierRun` readings
 * ahead and `outlierRun` kept readings back, so a reading's status is settled once
 * {@link settledAfter} readings follow it; that is what lets a rollup be maintained as readings
 * arrive (core/rollup/meter.ts) with the same answers as this module over all readings.
 *
 * ## From kept readings to figures
 *
 * The adjusted register R equals the first kept reading and grows by each kept reading's step
 * (its increase over the level, 0 for jitter, the reset or rollover rule above). Between two kept
 * readings R is linear in time (the register proves how much was used between them, not when);
 * before the first and after the last kept reading it is flat (**no extrapolation**).
 * Consumption over `[a, b)` is `R(b) − R(a)`, so it splits exactly: for any `a < m < b`,
 * `consumption(a, m) + consumption(m, b) = consumption(a, b)` up to float rounding. A gap between
 * kept readings longer than {@link MAX_GAP_INTERVALS} × interval is not *covered*: its
 * consumption is spread over it, but coverage (%) says the data are missing there.
 *
 * Times are epoch milliseconds throughout, except intervals, in seconds as the facility file
 * gives them.
 */

/** One reading of a cumulative register. */
export interface Reading {
  /** Epoch milliseconds (UTC). */
  readonly time: number;
  /** The cumulative register in the meter's unit (kWh, m³…). */
  readonly total: number;
}

/**
 * A gap between consecutive kept readings longer than this many meter intervals is not covered:
 * the register proves what was consumed across it, but not when.
 */
export const MAX_GAP_INTERVALS = 3;

/** How a meter's readings are judged; see the module comment. */
export interface RegisterRules {
  /** The meter's nominal reporting interval, seconds (for coverage). Finite, > 0. */
  readonly intervalSeconds: number;
  /** Backward steps up to this are jitter, in the meter's unit. ≥ 0. */
  readonly resolution: number;
  /** The highest plausible rate of use, meter unit per hour (kW for electricity, m³/h). > 0. */
  readonly maxRatePerHour: number;
  /** The longest run of bad readings left out as outliers; also how many readings judge a break. ≥ 0. */
  readonly outlierRun: number;
  /** The value the register wraps at, when the meter declares one (its `registerMax`). */
  readonly rollover?: number;
}

/** What became of a reading. */
export const READING_STATUS = {
  /** Kept: a normal step, jitter, or a flagged rise. */
  ok: 0,
  /** Kept: the meter was reset or rolled over here. */
  reset: 1,
  /** Left out: broke the sequence while its neighbours agreed. */
  outlier: 2,
  /** Not judged yet: breaks the sequence with too few readings after it. */
  pending: 3,
} as const;
export type ReadingStatus = (typeof READING_STATUS)[keyof typeof READING_STATUS];

/** Whether the rules are usable; throws a RangeError naming the bad one. */
export function checkRules(rules: RegisterRules): void {
  const { intervalSeconds, resolution, maxRatePerHour, outlierRun, rollover } = rules;
  if (!(Number.isFinite(intervalSeconds) && intervalSeconds > 0)) {
    throw new RangeError(`intervalSeconds must be a finite number > 0, got ${intervalSeconds}`);
  }
  if (!(Number.isFinite(resolution) && resolution >= 0)) {
    throw new RangeError(`resolution must be a finite number ≥ 0, got ${resolution}`);
  }
  if (!(Number.isFinite(maxRatePerHour) && maxRatePerHour > 0)) {
    throw new RangeError(`maxRatePerHour must be a finite number > 0, got ${maxRatePerHour}`);
  }
  if (!(Number.isInteger(outlierRun) && outlierRun >= 0)) {
    throw new RangeError(`outlierRun must be a whole number ≥ 0, got ${outlierRun}`);
  }
  if (rollover !== undefined && !(Number.isFinite(rollover) && rollover > 0)) {
    throw new RangeError(`rollover must be a finite number > 0, got ${rollover}`);
  }
}

/** Readings column by column (what the store reads; no object per reading). */
export interface ReadingColumns {
  readonly time: ArrayLike<number>;
  readonly total: ArrayLike<number>;
}

/** Whether reading b (time tb, total vb) continues reading a plausibly (see the module comment). */
export function fits(ta: number, va: number, tb: number, vb: number, rules: RegisterRules): boolean {
  return (
    vb >= va - rules.resolution &&
    vb - va <= (rules.maxRatePerHour * (tb - ta)) / 3_600_000 + rules.resolution
  );
}

/** A kept reading and the register level after it. */
export interface KeptReading {
  readonly time: number;
  readonly total: number;
  /** The level after this reading: the highest kept reading since the last reset. */
  readonly level: number;
}

/**
 * What judging the next readings needs to know of the earlier ones: the last kept readings, newest
 * last (at most `outlierRun + 1` of them: rule 1 may take back up to `outlierRun` kept readings).
 * Empty before the first kept reading.
 */
export type RegisterState = readonly KeptReading[];

/**
 * How many readings after a reading settle its status for good: a break is judged with the
 * `outlierRun` readings after it, and judging it may take back up to `outlierRun` kept readings,
 * each of which may be followed by up to `outlierRun` left-out ones. Past this many readings, a
 * reading's status and step never change whatever arrives later (core/rollup/meter.ts relies on it).
 */
export function settledAfter(rules: Pick<RegisterRules, 'outlierRun'>): number {
  const k = rules.outlierRun;
  return (k + 1) * (k + 1) + k;
}

/** The status of every reading from `start` on, and the step each kept one adds to R. */
export interface Classified {
  /** {@link READING_STATUS} per reading (context readings before `start`: `ok`, unused). */
  readonly status: Uint8Array;
  /** 1 where a kept reading's rise exceeded maxRate (rule 4). */
  readonly rateExceeded: Uint8Array;
  /** Meter units each kept reading adds to R (0 for the first kept reading ever, and for the others). */
  readonly step: Float64Array;
  /** The state after the last kept reading (the one given when none was kept). */
  readonly state: RegisterState;
}

/**
 * Judges readings `start…` of a meter (sorted by time, unique times, finite totals) by the rules
 * of the module comment, given the state after the readings before `start` (`[]` when there are
 * none). Readings before `start` are not judged again. One pass, left to right:
 *
 * - a reading that fits the last kept one is kept (its step: the rise over the level, 0 for jitter);
 * - a break looks ahead up to `outlierRun` readings for one that fits the last kept reading:
 *   found, the readings before it are outliers;
 * - with fewer than `outlierRun` readings after it, the break and everything after are pending;
 * - otherwise, if it fits one of the `outlierRun` kept readings before the last kept one, the
 *   kept readings after that one were a spike: they become outliers and the break is kept after it;
 * - otherwise the break lasts: a drop is a reset, a rise is kept and flagged.
 */
export function classify(
  readings: ReadingColumns,
  rules: RegisterRules,
  start = 0,
  before: RegisterState = [],
): Classified {
  const { time, total } = readings;
  const n = time.length;
  const k = rules.outlierRun;
  const status = new Uint8Array(n);
  const rateExceeded = new Uint8Array(n);
  const step = new Float64Array(n);
  // The kept readings rule 1 may still take back, with their input index (−1: before `start`).
  const kept: Array<KeptReading & { readonly index: number }> = before
    .slice(-(k + 1))
    .map((r) => ({ ...r, index: -1 }));
  const keep = (i: number, level: number) => {
    kept.push({ time: time[i] as number, total: total[i] as number, level, index: i });
    if (kept.length > k + 1) kept.shift();
  };
  const fitsKept = (q: KeptReading, i: number) =>
    fits(q.time, q.total, time[i] as number, total[i] as number, rules);

  for (let i = start; i < n; i++) {
    const v = total[i] as number;
    const p = kept.at(-1);
    if (p === undefined) {
      keep(i, v);
      continue;
    }
    if (fitsKept(p, i)) {
      step[i] = Math.max(0, v - p.level);
      keep(i, Math.max(p.level, v));
      continue;
    }
    // A break. Does the sequence come back to the last kept reading within outlierRun readings?
    let back = -1;
    for (let m = i + 1; m <= Math.min(n - 1, i + k); m++) {
      if (fitsKept(p, m)) {
        back = m;
        break;
      }
    }
    if (back > 0) {
      for (let m = i; m < back; m++) status[m] = READING_STATUS.outlier;
      i = back - 1;
      continue;
    }
    if (n - 1 - i < k) {
      for (let m = i; m < n; m++) status[m] = READING_STATUS.pending;
      break;
    }
    // Was the last kept reading (and any after an earlier one) a spike that the break undoes?
    let earlier = -1;
    for (let q = kept.length - 2; q >= 0; q--) {
      if (fitsKept(kept[q] as KeptReading, i)) {
        earlier = q;
        break;
      }
    }
    if (earlier >= 0) {
      for (const undone of kept.splice(earlier + 1)) {
        if (undone.index < start) continue;
        status[undone.index] = READING_STATUS.outlier;
        step[undone.index] = 0;
        rateExceeded[undone.index] = 0;
      }
      const q = kept.at(-1) as KeptReading;
      step[i] = Math.max(0, v - q.level);
      keep(i, Math.max(q.level, v));
      continue;
    }
    if (v < p.total - rules.resolution) {
      status[i] = READING_STATUS.reset;
      const t = time[i] as number;
      const rolled =
        rules.rollover !== undefined &&
        p.level + (rules.maxRatePerHour * (t - p.time)) / 3_600_000 + rules.resolution >= rules.rollover;
      step[i] = (rolled ? Math.max(0, (rules.rollover as number) - p.level) : 0) + Math.max(0, v);
      keep(i, v);
    } else {
      rateExceeded[i] = 1;
      step[i] = Math.max(0, v - p.level);
      keep(i, Math.max(p.level, v));
    }
  }
  return {
    status,
    rateExceeded,
    step,
    state: kept.map(({ time, total, level }) => ({ time, total, level })),
  };
}

/**
 * A series of readings judged and prepared for queries: the adjusted register R at each kept
 * reading and the covered time before it, so each query is a binary search.
 *
 * All instants are epoch milliseconds; register values and consumption are in the meter's unit.
 */
export interface AdjustedRegister {
  /** Number of kept readings. */
  readonly size: number;
  /** Time of the first kept reading (epoch ms), or `undefined` when there are none. */
  readonly start: number | undefined;
  /** Time of the last kept reading (epoch ms), or `undefined` when there are none. */
  readonly end: number | undefined;
  /** Status of each input reading ({@link READING_STATUS}), in input order. */
  readonly status: Uint8Array;
  /** 1 for each input reading whose rise exceeded maxRate. */
  readonly rateExceeded: Uint8Array;
  /** Counts of resets, outliers, pending readings and flagged rises. */
  readonly counts: {
    readonly resets: number;
    readonly outliers: number;
    readonly pending: number;
    readonly rateExceeded: number;
  };
  /**
   * R at instant `t` (epoch ms): the first kept reading's total plus the steps since, linear
   * between kept readings, `undefined` outside `[start, end]` (no extrapolation) and for NaN.
   */
  at(t: number): number | undefined;
  /**
   * Consumption over `[a, b)`: `R(b) − R(a)` with `a` and `b` clamped to `[start, end]`. Never
   * negative; 0 when `b ≤ a` or with fewer than 2 kept readings. `±Infinity` bounds are allowed.
   *
   * @throws RangeError if `a` or `b` is NaN.
   */
  consumption(a: number, b: number): number;
  /**
   * Coverage of `[a, b)` in percent (0–100): the share of the range between two consecutive kept
   * readings at most {@link MAX_GAP_INTERVALS} × interval apart. 0 when `b ≤ a`.
   *
   * @throws RangeError if `a` or `b` is NaN.
   */
  coverage(a: number, b: number): number;
  /** Covered milliseconds of `[a, b)` (coverage × length). */
  coveredMs(a: number, b: number): number;
  /**
   * Consumption of each window between consecutive `boundaries` (non-decreasing): element `i` is
   * exactly `consumption(boundaries[i], boundaries[i + 1])`.
   *
   * @throws RangeError if a boundary is NaN or lower than the one before it.
   */
  consumptionByWindows(boundaries: readonly number[]): number[];
}

/**
 * Judges a meter's readings by the rules and prepares them for queries. O(n × outlierRun²).
 *
 * `readings` must be sorted ascending by time with unique, finite times and finite totals; pass
 * raw input through {@link normalizeReadings} first.
 *
 * @throws RangeError if the readings are unsorted, repeat a time or hold a non-finite value, or
 *   if a rule is unusable.
 */
export function adjustRegister(
  readings: readonly Reading[] | ReadingColumns,
  rules: RegisterRules,
): AdjustedRegister {
  checkRules(rules);
  const columns = isColumns(readings) ? readings : toColumns(readings);
  const { time, total } = columns;
  const n = time.length;
  for (let i = 0; i < n; i++) {
    if (!(Number.isFinite(time[i]) && Number.isFinite(total[i]))) {
      throw new RangeError(
        `reading ${i} has a non-finite time or total (${time[i]}, ${total[i]}); use normalizeReadings()`,
      );
    }
    if (i > 0 && !((time[i] as number) > (time[i - 1] as number))) {
      throw new RangeError(
        `reading ${i} (time ${time[i]}) is not after reading ${i - 1} (time ${time[i - 1]}); ` +
          'readings must be sorted by time with unique times: use normalizeReadings()',
      );
    }
  }
  const judged = classify(columns, rules);
  const maxGapMs = MAX_GAP_INTERVALS * rules.intervalSeconds * 1000;
  const keptTimes: number[] = [];
  const adjusted: number[] = [];
  const coveredBefore: number[] = [];
  const counts = { resets: 0, outliers: 0, pending: 0, rateExceeded: 0 };
  for (let i = 0; i < n; i++) {
    const s = judged.status[i];
    if (s === READING_STATUS.outlier) counts.outliers++;
    else if (s === READING_STATUS.pending) counts.pending++;
    if (s === READING_STATUS.outlier || s === READING_STATUS.pending) continue;
    if (s === READING_STATUS.reset) counts.resets++;
    if (judged.rateExceeded[i] === 1) counts.rateExceeded++;
    const t = time[i] as number;
    const last = keptTimes.length - 1;
    if (last < 0) {
      adjusted.push(total[i] as number);
      coveredBefore.push(0);
    } else {
      const gap = t - (keptTimes[last] as number);
      adjusted.push((adjusted[last] as number) + (judged.step[i] as number));
      coveredBefore.push((coveredBefore[last] as number) + (gap <= maxGapMs ? gap : 0));
    }
    keptTimes.push(t);
  }
  return new Register(
    Float64Array.from(keptTimes),
    Float64Array.from(adjusted),
    Float64Array.from(coveredBefore),
    maxGapMs,
    judged.status,
    judged.rateExceeded,
    counts,
  );
}

/**
 * Makes raw readings fit for {@link adjustRegister}: drops readings whose time or total is not a
 * finite number, sorts ascending by time, and of readings with equal times keeps the last one
 * in input order (a redelivered or corrected reading replaces the earlier one). Does not modify
 * its input.
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

function isColumns(readings: readonly Reading[] | ReadingColumns): readings is ReadingColumns {
  return !Array.isArray(readings);
}

function toColumns(readings: readonly Reading[]): ReadingColumns {
  return {
    time: Float64Array.from(readings, (r) => r.time),
    total: Float64Array.from(readings, (r) => r.total),
  };
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
    readonly status: Uint8Array,
    readonly rateExceeded: Uint8Array,
    readonly counts: AdjustedRegister['counts'],
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
    if (!(b > a)) {
      checkInstant('a', a);
      checkInstant('b', b);
      return 0;
    }
    // Rounding must not push a fully covered range past 100 %.
    return Math.min(100, Math.max(0, (this.coveredMs(a, b) / (b - a)) * 100));
  }

  coveredMs(a: number, b: number): number {
    checkInstant('a', a);
    checkInstant('b', b);
    if (!(b > a) || this.size < 2) return 0;
    return Math.max(0, this.coveredUpTo(b) - this.coveredUpTo(a));
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

  /** Index of the last kept reading at or before `t`; `t` must lie in `[start, end]`. */
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

  /** R at `t`, which must lie in `[start, end]`. */
  private registerWithin(t: number): number {
    const j = this.segmentOf(t);
    const t0 = this.times[j] as number;
    const r0 = this.adjusted[j] as number;
    if (t === t0 || j === this.size - 1) return r0;
    const t1 = this.times[j + 1] as number;
    const r1 = this.adjusted[j + 1] as number;
    // The min keeps rounding from overshooting the next reading, so R stays non-decreasing in t.
    return Math.min(r1, r0 + (r1 - r0) * ((t - t0) / (t1 - t0)));
  }

  /** R at `t` clamped to `[start, end]`; needs at least one kept reading. */
  private clampedRegister(t: number): number {
    if (t <= (this.start as number)) return this.adjusted[0] as number;
    if (t >= (this.end as number)) return this.adjusted[this.size - 1] as number;
    return this.registerWithin(t);
  }

  /** Covered milliseconds from the first kept reading up to `t`; needs at least one kept reading. */
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
