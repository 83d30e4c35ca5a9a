/**
 * Fills a {@link LiveState} from a store at start, so that the live page shows today's figures
 * and the alert rules judge what is already under way (a room conditioned and empty for the last
 * half hour, a car out of the area) from the first minute: the meters' rollup rows of the last days
 * and their register state, the last minutes of readings, the cars' and rooms' last hours, the
 * newest point of every device, and each car's odometer and fuel counter before midnight.
 */
import type { DeadLetter } from '../dead-letter.ts';
import { BUCKET_MS } from '../rollup/schema.ts';
import { numberColumn, type Point, queryColumns, stringColumn, type TimeSeriesStore } from '../store.ts';
import type { LiveState } from './state.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface LoadOptions {
  /** Days of meter rows read. Default 15. */
  readonly rowDays?: number;
  /** Readings of meters replayed, ms. Default 20 minutes. */
  readonly meterMs?: number;
  /** Fixes and room samples replayed, ms. Default 3 h. */
  readonly historyMs?: number;
}

/** Loads what the state needs to know at `now` from the store (and the dead-letter of the last hour). */
export async function loadLiveState(
  state: LiveState,
  store: TimeSeriesStore,
  now: number,
  options: LoadOptions = {},
  deadLetters?: { list(query: { limit: number }): Promise<DeadLetter[]> },
): Promise<void> {
  const facility = state.facility;
  const site = facility.site.id;
  // Rows and states up to a day ahead (the ingest refuses readings over 5 minutes ahead); not "the
  // end of time", which overflows InfluxQL's nanosecond durations.
  const ahead = now + DAY_MS;
  const rowsFrom = Math.floor((now - (options.rowDays ?? 15) * DAY_MS) / BUCKET_MS) * BUCKET_MS;
  const meters = facility.meters.map((m) => m.id);
  if (meters.length > 0) {
    const series = await store.readRollups({
      kind: 'meter',
      site,
      devices: meters,
      from: rowsFrom,
      to: ahead,
      fields: ['consumption', 'coveredMs', 'pending'],
    });
    for (const s of series) {
      const consumption = s.values.consumption as Float64Array;
      const coveredMs = s.values.coveredMs as Float64Array;
      const pending = s.values.pending as Float64Array;
      state.applyMeterRows(
        s.device,
        rowsFrom,
        Array.from(s.time, (time, k) => ({
          time,
          values: {
            consumption: consumption[k] as number,
            coveredMs: coveredMs[k] as number,
            pending: pending[k] as number,
          },
        })),
      );
    }
    const last = await store.lastRollups({
      kind: 'meter',
      site,
      devices: meters,
      before: ahead,
      fields: ['state'],
    });
    for (const s of last) {
      const text = (s.values.state as readonly (string | null)[])[0];
      const time = s.time[0];
      if (typeof text === 'string' && time !== undefined)
        state.applyMeterRows(s.device, time, [{ time, values: { state: text } }], time);
    }
  }

  const replay = async (
    measurement: 'meter' | 'vehicle' | 'sensor',
    fields: readonly string[],
    from: number,
  ) => {
    const series = await queryColumns(store, {
      measurement,
      fields,
      where: { site },
      groupBy: [measurement === 'meter' ? 'meter' : measurement === 'vehicle' ? 'vehicle' : 'sensor'],
      from,
      to: now + 5 * MINUTE_MS,
    });
    const points: Point[] = [];
    for (const s of series) {
      const columns = fields.map((field) => {
        const values = s.values[field];
        return values instanceof Float64Array ? numberColumn(s, field) : stringColumn(s, field);
      });
      for (let k = 0; k < s.time.length; k++) {
        const values: Record<string, number | boolean | string> = {};
        fields.forEach((field, f) => {
          const column = columns[f];
          const value = column?.[k];
          if (value === undefined || value === null || (typeof value === 'number' && Number.isNaN(value)))
            return;
          values[field] =
            (field === 'ignition' || field === 'lights') && typeof value === 'number' ? value === 1 : value;
        });
        points.push({ measurement, tags: { site, ...s.tags }, fields: values, time: s.time[k] as number });
      }
    }
    state.applyPoints(points);
  };

  // Each car's day starts from its last readings before local midnight.
  const midnight = state.dayStart(now);
  if (facility.vehicles.length > 0) {
    const before = await store.latest({
      measurement: 'vehicle',
      fields: ['odometer', 'fuel'],
      where: { site },
      before: midnight,
    });
    for (const point of before) {
      const odometer = point.values.odometer;
      const fuel = point.values.fuel;
      state.setVehicleDayStart(
        point.tags.vehicle ?? '',
        midnight,
        typeof odometer === 'number' ? odometer : null,
        typeof fuel === 'number' ? fuel : null,
      );
    }
  }

  const historyMs = options.historyMs ?? 3 * HOUR_MS;
  await replay('meter', ['total', 'power'], now - (options.meterMs ?? 20 * MINUTE_MS));
  await replay('vehicle', ['lat', 'lon', 'speed', 'ignition', 'odometer', 'fuel'], now - historyMs);
  await replay('sensor', ['occupancy', 'temperature', 'co2', 'hvac', 'lights'], now - historyMs);

  // When each device was last seen, however long ago.
  for (const [measurement, field, key] of [
    ['meter', 'total', 'meter'],
    ['vehicle', 'speed', 'vehicle'],
    ['sensor', 'occupancy', 'sensor'],
  ] as const) {
    const latest = await store.latest({ measurement, fields: [field], where: { site } });
    for (const point of latest) state.setLastSeen(measurement, point.tags[key] ?? '', point.time);
  }

  if (deadLetters) {
    const entries = await deadLetters.list({ limit: 10_000 });
    state.applyRejections(entries.filter((e) => e.time > now - HOUR_MS && e.time <= now));
  }
}
