/**
 * Backfill: N days of simulated history straight into a time-series store, without MQTT.
 *
 * Streams one chunk of time (a day by default) for every device at a time, so memory stays
 * bounded whatever the range, and writes big batches (50,000 points), generating the next batch
 * while the store commits the previous one. Points have the same tags and fields the ingest gives
 * the same payloads, so backfilled history and live data are one series; and since readings sit
 * on each device's grid, a backfill up to `t` and live publishing from `t` meet without a gap or
 * an overlap.
 */
import type { Point, TimeSeriesStore } from '../core/store.ts';
import type { DeviceKind } from '../core/telemetry.ts';
import { PointMaker } from './points.ts';
import type { Simulation } from './simulation.ts';
import { DAY_MS } from './site-clock.ts';

/** Options of {@link backfill}. */
export interface BackfillOptions {
  /** A started store. */
  readonly store: TimeSeriesStore;
  readonly simulation: Simulation;
  /** Start, epoch ms (inclusive). */
  readonly from: number;
  /** End, epoch ms (exclusive). */
  readonly to: number;
  /** Only these device ids; default every device of the facility. */
  readonly devices?: readonly string[];
  /** Length of the time chunk generated at once, ms. Default one day. */
  readonly chunkMs?: number;
  /** Points per `store.write()`. Default 50,000. */
  readonly batchSize?: number;
  /** Called after each committed batch, and once at the end with `fraction` 1. */
  readonly onProgress?: (progress: BackfillProgress) => void;
  /** Stops the backfill between batches (what was committed stays). */
  readonly signal?: AbortSignal;
}

/** Where a backfill is. */
export interface BackfillProgress {
  /** Share of the time range generated and committed, 0–1. */
  readonly fraction: number;
  /** Points committed so far. */
  readonly points: number;
}

/** What a backfill wrote. */
export interface BackfillResult {
  /** Points committed. */
  readonly points: number;
  /** Points committed, by measurement. */
  readonly byKind: Readonly<Record<DeviceKind, number>>;
  /** Wall time, ms. */
  readonly elapsedMs: number;
  /** Whether the signal stopped it before the end. */
  readonly aborted: boolean;
}

const DEFAULT_BATCH = 50_000;

/**
 * Generates `[from, to)` of every device (or those listed) into the store.
 *
 * @throws RangeError for a bad range or option; whatever the store throws on a write (nothing
 *   after the failed batch is written).
 */
export async function backfill(options: BackfillOptions): Promise<BackfillResult> {
  const { store, simulation, from, to } = options;
  const chunkMs = options.chunkMs ?? DAY_MS;
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  if (!Number.isFinite(from) || !Number.isFinite(to) || to < from) {
    throw new RangeError(`backfill: bad range [${from}, ${to})`);
  }
  if (!(chunkMs > 0) || !(batchSize >= 1))
    throw new RangeError('backfill: chunkMs and batchSize must be positive');
  const wanted = options.devices ? new Set(options.devices) : undefined;
  const devices = simulation.devices().filter((d) => wanted === undefined || wanted.has(d.id));
  if (wanted) {
    const known = new Set(devices.map((d) => d.id));
    const unknown = [...wanted].filter((id) => !known.has(id));
    if (unknown.length > 0) throw new RangeError(`backfill: no device ${unknown.join(', ')} in the facility`);
  }
  const maker = new PointMaker(simulation.facility);
  const started = performance.now();
  const byKind: Record<DeviceKind, number> = { meter: 0, vehicle: 0, sensor: 0 };
  let committed = 0;
  let writing: Promise<void> = Promise.resolve();
  let batch: Point[] = [];
  let aborted = false;

  /** Starts writing `points` once the previous write is committed. */
  const flush = async (points: Point[], fraction: number) => {
    await writing;
    writing = store.write(points).then(() => {
      committed += points.length;
      for (const point of points) byKind[point.measurement]++;
      options.onProgress?.({ fraction, points: committed });
    });
    // A failed write is reported where it is awaited (the next flush or the end), not as an
    // unhandled rejection while the next batch is generated.
    writing.catch(() => {});
  };

  for (let start = from; start < to; start += chunkMs) {
    if (options.signal?.aborted) {
      aborted = true;
      break;
    }
    const end = Math.min(to, start + chunkMs);
    const fraction = to > from ? (end - from) / (to - from) : 1;
    for (const device of devices) {
      maker.append(device.kind, device.id, simulation.readings(device.kind, device.id, start, end), batch);
      if (batch.length >= batchSize) {
        await flush(batch, fraction);
        batch = [];
      }
    }
    if (end === to && batch.length > 0) {
      await flush(batch, fraction);
      batch = [];
    }
  }
  if (batch.length > 0 && !aborted) await flush(batch, 1);
  await writing;
  if (!aborted) options.onProgress?.({ fraction: 1, points: committed });
  return {
    points: committed,
    byKind,
    elapsedMs: performance.now() - started,
    aborted,
  };
}
