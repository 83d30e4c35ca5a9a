/**
 * Room service: utilisation and indoor figures of rooms. The period is cut into pieces wholly
 * inside or outside working time and within one month; the integrals of each piece come from the
 * context's data (core/kpi/data.ts: the rollups' 15-minute buckets, raw samples only around
 * off-grid edges), and the figures are composed from them by the pure functions of `room.ts`,
 * where every definition is written down.
 *
 * A room with several sensors merges their samples; each field holds until the next sample
 * carrying it, whichever sensor sent it. Rooms without a sensor are listed with zero hours and
 * null seat use and comfort (nothing is known about them, so nothing is claimed).
 */

import { calendarOf, checkPeriod, isoAt, round } from './common.ts';
import { dataOf } from './data.ts';
import {
  composeRoomFigures,
  DEFAULT_ROOM_RULES,
  emptyIntegrals,
  monthEdges,
  type RoomRules,
  roomPieces,
} from './room.ts';
import {
  type KpiContext,
  KpiError,
  type RoomItem,
  type RoomUtilization,
  type RoomUtilizationParams,
} from './types.ts';

/** A {@link RoomItem} with the figures behind it (extra fields of the contract). */
export interface RoomItemDetail extends RoomItem {
  /** Occupied hours inside working time (the utilisation's numerator). */
  readonly occupiedWorkingHours: number;
  /** Working time of the period (the utilisation's denominator), hours. */
  readonly workingHours: number;
  /** Hours with a known occupancy (sensor reporting); the rest of the period is unknown. */
  readonly reportedHours: number;
}

/** The thresholds the rollups are folded with (core/rollup/rolling-store.ts uses the same defaults). */
const RULES: RoomRules = DEFAULT_ROOM_RULES;

/** Figures of every room (of one building and/or department, if given), in facility order. */
export async function roomUtilization(
  ctx: KpiContext,
  params: RoomUtilizationParams,
): Promise<RoomUtilization> {
  checkPeriod(params);
  const { facility } = ctx;
  if (params.building !== undefined && !facility.buildings.some((b) => b.id === params.building)) {
    throw new KpiError(`unknown building "${params.building}"`, { status: 400, parameter: 'building' });
  }
  if (params.department !== undefined && !facility.departments.some((d) => d.id === params.department)) {
    throw new KpiError(`unknown department "${params.department}"`, { status: 400, parameter: 'department' });
  }
  const calendar = calendarOf(facility);
  const zone = facility.site.timezone;
  const pieces = roomPieces(params, { calendar, months: monthEdges(params, zone) });
  const edges = [...pieces.map((p) => p.start), params.to];
  const rooms = facility.rooms.filter(
    (room) =>
      (params.building === undefined || room.building === params.building) &&
      (params.department === undefined || room.department === params.department),
  );
  const integrals = await dataOf(ctx).roomIntervals(rooms, edges);
  const items: RoomItemDetail[] = rooms.map((room) => {
    const f = composeRoomFigures(
      pieces,
      integrals.get(room.id) ?? pieces.map(() => emptyIntegrals()),
      room.capacity,
      RULES,
    );
    return {
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
    };
  });
  return { from: isoAt(params.from, zone), to: isoAt(params.to, zone), items };
}

const hours = (ms: number) => round(ms / 3_600_000, 4);
