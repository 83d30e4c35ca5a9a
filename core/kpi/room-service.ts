/**
 * Room service: utilisation and indoor figures of rooms, read as raw sensor states through the
 * {@link TimeSeriesStore} port — one query per room (grouped by sensor, so each sample knows its
 * sensor's interval), a month of a room at 1-minute reports being some 45,000 rows, read column by
 * column (`queryColumns`), the next room's read running while this one is computed. The maths is
 * in `room.ts`, where every definition is written down.
 *
 * A room with several sensors merges their samples; each field holds until the next sample
 * carrying it, whichever sensor sent it. Rooms without a sensor are listed with zero hours and
 * null seat use and comfort (nothing is known about them, so nothing is claimed).
 */

import type { Room } from '../facility/schema.ts';
import { type ColumnSeries, numberColumn, queryColumns, stringColumn } from '../store.ts';
import { calendarOf, checkPeriod, isoAt, round } from './common.ts';
import { prefetched } from './prefetch.ts';
import {
  DEFAULT_ROOM_RULES,
  hvacCode,
  monthEdges,
  type RoomColumns,
  type RoomRules,
  roomFiguresOf,
} from './room.ts';
import {
  type KpiContext,
  KpiError,
  type Period,
  type RoomItem,
  type RoomUtilization,
  type RoomUtilizationParams,
} from './types.ts';

/** Thresholds and comfort bands; any left out take {@link DEFAULT_ROOM_RULES}. */
export interface RoomOptions {
  readonly holdIntervals?: number;
  readonly co2LimitPpm?: number;
  readonly coolingMinC?: number;
  readonly heatingMaxC?: number;
  readonly comfort?: Partial<RoomRules['comfort']>;
}

/** A {@link RoomItem} with the figures behind it (extra fields of the contract). */
export interface RoomItemDetail extends RoomItem {
  /** Occupied hours inside working time (the utilisation's numerator). */
  readonly occupiedWorkingHours: number;
  /** Working time of the period (the utilisation's denominator), hours. */
  readonly workingHours: number;
  /** Hours with a known occupancy (sensor reporting); the rest of the period is unknown. */
  readonly reportedHours: number;
}

const FIELDS = ['occupancy', 'temperature', 'co2', 'hvac', 'lights'] as const;
/** Interval assumed for a sensor no longer in the facility file, s. */
const UNKNOWN_SENSOR_INTERVAL_S = 300;

/** Figures of every room (of one building and/or department, if given), in facility order. */
export async function roomUtilization(
  ctx: KpiContext,
  params: RoomUtilizationParams,
  options: RoomOptions = {},
): Promise<RoomUtilization> {
  checkPeriod(params);
  const { facility } = ctx;
  if (params.building !== undefined && !facility.buildings.some((b) => b.id === params.building)) {
    throw new KpiError(`unknown building "${params.building}"`, { status: 400, parameter: 'building' });
  }
  if (params.department !== undefined && !facility.departments.some((d) => d.id === params.department)) {
    throw new KpiError(`unknown department "${params.department}"`, { status: 400, parameter: 'department' });
  }
  const rules = rulesOf(options);
  const calendar = calendarOf(facility);
  const zone = facility.site.timezone;
  const months = monthEdges(params, zone);
  const items: RoomItemDetail[] = [];
  const rooms = facility.rooms.filter(
    (room) =>
      (params.building === undefined || room.building === params.building) &&
      (params.department === undefined || room.department === params.department),
  );
  for await (const [room, samples] of prefetched(rooms, (room) => readSamples(ctx, room, params, rules))) {
    const f = roomFiguresOf(samples, params, { calendar, capacity: room.capacity, rules, months });
    items.push({
      id: room.id,
      name: room.name,
      building: room.building,
      ...(room.department !== undefined ? { department: room.department } : {}),
      capacity: room.capacity,
      occupiedHours: hours(f.occupiedMs),
      utilization: round(f.utilization, 4),
      seatUse: f.seatUse === null ? null : round(f.seatUse, 4),
      conditionedEmptyHours: hours(f.conditionedEmptyMs),
      setpointViolationHours: hours(f.setpointViolationMs),
      co2OverHours: hours(f.co2OverMs),
      comfort: f.comfort === null ? null : round(f.comfort, 4),
      occupiedWorkingHours: hours(f.occupiedWorkMs),
      workingHours: hours(f.workingMs),
      reportedHours: hours(f.occupancyKnownMs),
    });
  }
  return { from: isoAt(params.from, zone), to: isoAt(params.to, zone), items };
}

function rulesOf(options: RoomOptions): RoomRules {
  const d = DEFAULT_ROOM_RULES;
  return {
    holdIntervals: options.holdIntervals ?? d.holdIntervals,
    co2LimitPpm: options.co2LimitPpm ?? d.co2LimitPpm,
    coolingMinC: options.coolingMinC ?? d.coolingMinC,
    heatingMaxC: options.heatingMaxC ?? d.heatingMaxC,
    comfort: {
      cooling: options.comfort?.cooling ?? d.comfort.cooling,
      heating: options.comfort?.heating ?? d.comfort.heating,
    },
  };
}

async function readSamples(
  ctx: KpiContext,
  room: Room,
  period: Period,
  rules: RoomRules,
): Promise<RoomColumns> {
  const { facility } = ctx;
  const intervals = new Map(
    facility.sensors.filter((s) => s.room === room.id).map((s) => [s.id, s.interval]),
  );
  const longest = Math.max(UNKNOWN_SENSOR_INTERVAL_S, ...intervals.values());
  const series = await queryColumns(ctx.store, {
    measurement: 'sensor',
    fields: FIELDS,
    where: { site: facility.site.id, room: room.id },
    groupBy: ['sensor'],
    // Look back one longest hold so the state at `from` is known.
    from: period.from - rules.holdIntervals * longest * 1000,
    to: period.to,
  });
  const holds = series.map(
    ({ tags }) =>
      rules.holdIntervals * (intervals.get(tags.sensor ?? '') ?? UNKNOWN_SENSOR_INTERVAL_S) * 1000,
  );
  return mergeSensors(series, holds);
}

/**
 * The samples of a room's sensors in one time order; samples at the same instant keep the order
 * of the sensors (a stable sort of the series one after the other).
 */
function mergeSensors(series: readonly ColumnSeries[], holds: readonly number[]): RoomColumns {
  const n = series.reduce((sum, s) => sum + s.time.length, 0);
  const out = {
    time: new Float64Array(n),
    holdMs: new Float64Array(n),
    occupancy: new Float64Array(n),
    temperature: new Float64Array(n),
    co2: new Float64Array(n),
    hvac: new Float64Array(n),
    lights: new Float64Array(n),
  };
  const inputs = series.map((s, i) => ({
    time: s.time,
    holdMs: holds[i] as number,
    occupancy: numberColumn(s, 'occupancy'),
    temperature: numberColumn(s, 'temperature'),
    co2: numberColumn(s, 'co2'),
    hvac: stringColumn(s, 'hvac'),
    lights: numberColumn(s, 'lights'),
  }));
  const only = inputs.length === 1 ? inputs[0] : undefined;
  if (only !== undefined) {
    out.time.set(only.time);
    out.holdMs.fill(only.holdMs);
    out.occupancy.set(only.occupancy);
    out.temperature.set(only.temperature);
    out.co2.set(only.co2);
    for (let k = 0; k < n; k++) out.hvac[k] = hvacCode(only.hvac[k] ?? null);
    out.lights.set(only.lights);
    return out;
  }
  const at = new Array<number>(inputs.length).fill(0);
  for (let k = 0; k < n; k++) {
    // The series whose next sample is earliest, the first one on a tie.
    let pick = -1;
    let earliest = Number.POSITIVE_INFINITY;
    inputs.forEach((input, i) => {
      const time = input.time[at[i] as number];
      if (time !== undefined && (pick < 0 || time < earliest)) {
        pick = i;
        earliest = time;
      }
    });
    const input = inputs[pick] as (typeof inputs)[number];
    const j = at[pick] as number;
    at[pick] = j + 1;
    out.time[k] = earliest;
    out.holdMs[k] = input.holdMs;
    out.occupancy[k] = input.occupancy[j] as number;
    out.temperature[k] = input.temperature[j] as number;
    out.co2[k] = input.co2[j] as number;
    out.hvac[k] = hvacCode(input.hvac[j] ?? null);
    out.lights[k] = input.lights[j] as number;
  }
  return out;
}

const hours = (ms: number) => round(ms / 3_600_000, 4);
