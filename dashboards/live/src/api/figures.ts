/** The KPI routes the page reads, through the once-a-minute guard of client.ts. */

import type { DatePeriod } from '../domain.ts';
import { getFigures } from './client.ts';
import type {
  EnergySeries,
  EnergySummary,
  RoomUtilizationItem,
  Trip,
  VehicleUtilizationItem,
} from './types.ts';

export type GroupBy = 'site' | 'building' | 'department' | 'meter' | 'system';
export type EnergyKind = 'electricity' | 'water' | 'gas';

export function energySummary(period: DatePeriod, groupBy: GroupBy): Promise<EnergySummary> {
  return getFigures('/api/v1/energy/summary', { ...period, groupBy });
}

export function energySeries(
  period: DatePeriod,
  scope: 'site' | 'building' | 'department' | 'meter',
  id: string | undefined,
  kind: EnergyKind,
  every: '15m' | '1h' | '1d',
): Promise<EnergySeries> {
  return getFigures('/api/v1/energy/series', { ...period, scope, id, kind, every });
}

export async function vehicleUtilization(period: DatePeriod): Promise<VehicleUtilizationItem[]> {
  return (
    await getFigures<{ items: VehicleUtilizationItem[] }>('/api/v1/vehicles/utilization', { ...period })
  ).items;
}

export async function vehicleTrips(id: string, period: DatePeriod): Promise<Trip[]> {
  return (
    await getFigures<{ items: Trip[] }>(`/api/v1/vehicles/${encodeURIComponent(id)}/trips`, { ...period })
  ).items;
}

export async function roomUtilization(period: DatePeriod): Promise<RoomUtilizationItem[]> {
  return (await getFigures<{ items: RoomUtilizationItem[] }>('/api/v1/rooms/utilization', { ...period }))
    .items;
}
