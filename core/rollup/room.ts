/**
 * The room rollup fold: a room's sensor samples turned into one row per 15-minute bucket holding
 * the calendar-free integrals of core/kpi/room.ts ({@link roomIntegrals}) over the bucket. A
 * sample's values hold until the next sample carrying them, for at most its hold time (3 × its
 * sensor's interval), so a bucket depends only on the samples of the bucket and of one hold before
 * it: a fold from `from` needs the samples from `from` − the longest hold on. A new sample at time
 * T changes what holds only from T on (it ends the hold of the one before it there), so the rows
 * to fold again are those from `bucketOf(T)` on. Pure.
 */
import { type RoomColumns, type RoomIntegrals, type RoomRules, roomIntegrals } from '../kpi/room.ts';
import { BUCKET_MS, bucketOf } from './schema.ts';

export interface RoomBucket extends RoomIntegrals {
  readonly time: number;
  /** Samples in the bucket. */
  readonly samples: number;
}

/** The longest hold of any sample, ms. */
export function longestHold(columns: RoomColumns): number {
  let longest = 0;
  for (let k = 0; k < columns.holdMs.length; k++) longest = Math.max(longest, columns.holdMs[k] as number);
  return longest;
}

/**
 * Rows of the buckets from `from` (a bucket boundary) until the last sample's values stop
 * holding, for those holding a sample or any time. `columns` must hold every sample from `from`
 * − the longest hold on, sorted by time.
 */
export function foldRoom(columns: RoomColumns, from: number, rules: RoomRules): RoomBucket[] {
  const { time } = columns;
  const n = time.length;
  if (n === 0) return [];
  const end = (time[n - 1] as number) + longestHold(columns);
  const rows: RoomBucket[] = [];
  let k = 0;
  while (k < n && (time[k] as number) < from) k++;
  for (let bucket = from; bucket <= end; bucket += BUCKET_MS) {
    let samples = 0;
    while (k < n && (time[k] as number) < bucket + BUCKET_MS) {
      samples++;
      k++;
    }
    const integrals = roomIntegrals(columns, bucket, bucket + BUCKET_MS, rules);
    if (
      samples > 0 ||
      integrals.occupancyKnownMs > 0 ||
      integrals.co2OverMs > 0 ||
      integrals.setpointViolationMs > 0
    ) {
      rows.push({ time: bucket, samples, ...integrals });
    }
  }
  return rows;
}

/** Where a fold for samples arriving from `earliest` on must start. */
export function roomResume(earliest: number): number {
  return bucketOf(earliest);
}
