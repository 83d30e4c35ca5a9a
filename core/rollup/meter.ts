/**
 * The meter rollup fold: a meter's readings from a bucket boundary on, judged by the register
 * rules (core/register.ts) from the register state at that boundary, turned into one row per
 * 15-minute bucket. A row's consumption is exactly the bucket's share of R(end) − R(start) — every
 * kept step spread evenly over the time since the kept reading before it, as R interpolates — and
 * its covered time the bucket's part of the covered gaps, so summing rows over whole buckets gives
 * what core/register.ts gives over all readings (up to float rounding), and a partial bucket at an
 * off-grid edge is computed from the same readings by {@link meterPartial}.
 *
 * Where a fold may start: a reading's status is settled once `settledAfter(rules)` readings follow
 * it (core/register.ts), so new readings at time T change nothing before the
 * {@link resumeDepth}-th reading before T. Folding again from the bucket holding that reading,
 * with the state stored in the last row before it, rewrites every row the new readings can change
 * and none that they cannot. Pure.
 */
import {
  classify,
  MAX_GAP_INTERVALS,
  READING_STATUS,
  type ReadingColumns,
  type RegisterRules,
  type RegisterState,
  settledAfter,
} from '../register.ts';
import { BUCKET_MS, bucketOf } from './schema.ts';

/** One meter bucket as the fold computes it (see ROLLUPS.meter for the stored fields). */
export interface MeterBucket {
  /** Bucket start, epoch ms. */
  readonly time: number;
  consumption: number;
  coveredMs: number;
  readings: number;
  kept: number;
  outliers: number;
  resets: number;
  rateExceeded: number;
  pending: number;
  /** The register state after the bucket (what a fold starting at the next bucket needs). */
  state: RegisterState;
}

export interface MeterFoldInput {
  readonly rules: RegisterRules;
  /** Every reading at or after `from`, sorted by time, unique times, finite totals. */
  readonly readings: ReadingColumns;
  /**
   * A bucket boundary: rows are produced from it on. Or, with `carry`, any instant: rows from its
   * bucket on, that bucket's row starting from `carry`.
   */
  readonly from: number;
  /** The register state after every reading before `from` (`[]` when there is none). */
  readonly state: RegisterState;
  /**
   * The row of the bucket holding `from` as a fold left it after the readings before `from`
   * (a {@link MeterCheckpoint}'s): a fold resuming inside a bucket.
   */
  readonly carry?: MeterBucket;
}

/**
 * Where a later fold may resume inside a bucket: the instant just after a settled reading, the
 * register state after it and its bucket's row up to it. A fold for readings that all come after
 * the newest one this fold saw, started here with this state and `carry`, gives the rows a fold
 * from the bucket boundary would (the same additions in the same order).
 */
export interface MeterCheckpoint {
  /** The settled reading's time + 1 ms (readings are whole epoch ms): the next fold's `from`. */
  readonly from: number;
  readonly state: RegisterState;
  readonly carry: MeterBucket;
}

/**
 * How many readings back from the earliest new one a fold must start: the settled horizon, plus
 * the run of outliers that may separate the first kept reading after the start from it, plus one.
 */
export function resumeDepth(rules: Pick<RegisterRules, 'outlierRun'>): number {
  return settledAfter(rules) + rules.outlierRun + 2;
}

/** The kept readings of a fold: each one's time, step and whether the gap before it is covered. */
interface Kept {
  readonly times: number[];
  readonly steps: number[];
  readonly covered: boolean[];
  /** Time of the kept reading before the first one here (from the state), or NaN. */
  readonly before: number;
}

function keptOf(input: MeterFoldInput, judged: ReturnType<typeof classify>): Kept {
  const { readings, rules, state } = input;
  const maxGapMs = MAX_GAP_INTERVALS * rules.intervalSeconds * 1000;
  const before = state.at(-1)?.time ?? Number.NaN;
  const times: number[] = [];
  const steps: number[] = [];
  const covered: boolean[] = [];
  let previous = before;
  for (let i = 0; i < readings.time.length; i++) {
    const s = judged.status[i];
    if (s !== READING_STATUS.ok && s !== READING_STATUS.reset) continue;
    const t = readings.time[i] as number;
    times.push(t);
    steps.push(judged.step[i] as number);
    covered.push(!Number.isNaN(previous) && t - previous <= maxGapMs);
    previous = t;
  }
  return { times, steps, covered, before };
}

/** The rows of buckets from `input.from` on that hold a reading, consumption or covered time. */
export function foldMeter(input: MeterFoldInput): MeterBucket[] {
  return foldMeterFrom(input).rows;
}

/**
 * {@link foldMeter}, and the checkpoint after the reading `resumeDepth` readings before the
 * last one (none with fewer readings, or when that reading is not a whole ms).
 */
export function foldMeterFrom(input: MeterFoldInput): { rows: MeterBucket[]; checkpoint?: MeterCheckpoint } {
  const { readings, rules, from } = input;
  const judged = classify(readings, rules, 0, input.state);
  const rows = new Map<number, MeterBucket>();
  if (input.carry) rows.set(input.carry.time, { ...input.carry });
  const at = readings.time.length - 1 - resumeDepth(rules);
  let checkpoint: MeterCheckpoint | undefined;
  const row = (bucket: number, state: RegisterState): MeterBucket => {
    let r = rows.get(bucket);
    if (!r) {
      r = {
        time: bucket,
        consumption: 0,
        coveredMs: 0,
        readings: 0,
        kept: 0,
        outliers: 0,
        resets: 0,
        rateExceeded: 0,
        pending: 0,
        state,
      };
      rows.set(bucket, r);
    }
    return r;
  };

  // The state after each reading, replayed from the kept readings' levels (the same the judging
  // kept); a bucket's end state is the state after its last reading.
  const k = rules.outlierRun;
  let state: RegisterState = input.state.slice(-(k + 1));
  const maxGapMs = MAX_GAP_INTERVALS * rules.intervalSeconds * 1000;
  let previous = state.at(-1);
  for (let i = 0; i < readings.time.length; i++) {
    const t = readings.time[i] as number;
    const v = readings.total[i] as number;
    const s = judged.status[i];
    const kept = s === READING_STATUS.ok || s === READING_STATUS.reset;
    if (kept && previous !== undefined) {
      // Spread the step over [previous, t); the buckets it crosses without a reading keep the
      // state before this reading.
      spread(
        rows,
        row,
        state,
        previous.time,
        t,
        judged.step[i] as number,
        t - previous.time <= maxGapMs,
        from,
      );
    }
    if (kept) {
      const level = s === READING_STATUS.reset || previous === undefined ? v : Math.max(previous.level, v);
      previous = { time: t, total: v, level };
      state = [...state, previous].slice(-(k + 1));
    }
    const r = row(bucketOf(t), state);
    r.readings++;
    if (kept) r.kept++;
    if (s === READING_STATUS.reset) r.resets++;
    else if (s === READING_STATUS.outlier) r.outliers++;
    else if (s === READING_STATUS.pending) r.pending++;
    if (judged.rateExceeded[i] === 1) r.rateExceeded++;
    r.state = state;
    if (i === at && Number.isSafeInteger(t)) checkpoint = { from: t + 1, state, carry: { ...r } };
  }
  const first = bucketOf(from);
  const out = [...rows.values()].filter((r) => r.time >= first).sort((a, b) => a.time - b.time);
  return checkpoint ? { rows: out, checkpoint } : { rows: out };
}

/** Adds `step` spread evenly over [a, b) to the buckets from `from` on, and the covered time. */
function spread(
  rows: Map<number, MeterBucket>,
  row: (bucket: number, state: RegisterState) => MeterBucket,
  state: RegisterState,
  a: number,
  b: number,
  step: number,
  covered: boolean,
  from: number,
): void {
  const span = b - a;
  for (let bucket = bucketOf(Math.max(a, from)); bucket < b; bucket += BUCKET_MS) {
    const overlap = Math.min(b, bucket + BUCKET_MS) - Math.max(a, bucket);
    if (overlap <= 0) continue;
    const r = rows.get(bucket) ?? row(bucket, state);
    r.consumption += (step * overlap) / span;
    if (covered) r.coveredMs += overlap;
  }
}

/**
 * Consumption and covered time over `[input.from, until)` (`until` inside the bucket starting at
 * `input.from`, or later): R(until) − R(from) from the same readings and state as {@link foldMeter}.
 * `readings` must reach far enough past `until` that the kept reading after it is settled.
 */
export function meterPartial(
  input: MeterFoldInput,
  until: number,
): { consumption: number; coveredMs: number } {
  const judged = classify(input.readings, input.rules, 0, input.state);
  const kept = keptOf(input, judged);
  const a = input.from;
  let consumption = 0;
  let coveredMs = 0;
  let previous = kept.before;
  for (let j = 0; j < kept.times.length; j++) {
    const t = kept.times[j] as number;
    if (!Number.isNaN(previous) && previous < until && t > a) {
      const overlap = Math.min(t, until) - Math.max(previous, a);
      if (overlap > 0) {
        consumption += ((kept.steps[j] as number) * overlap) / (t - previous);
        if (kept.covered[j]) coveredMs += overlap;
      }
    }
    if (t >= until) break;
    previous = t;
  }
  return { consumption, coveredMs };
}
