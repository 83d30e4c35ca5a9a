/**
 * The efficiency services the routes call (core/kpi/*-service.ts), as one object so the app can
 * be handed them; `buildApp` uses {@link kpiServices} unless told otherwise.
 */
import { energySeries, energySummary } from '../core/kpi/energy-service.ts';
import { roomUtilization } from '../core/kpi/room-service.ts';
import type {
  EnergySeries,
  EnergySeriesParams,
  EnergySummary,
  EnergySummaryParams,
  KpiContext,
  Period,
  RoomUtilization,
  RoomUtilizationParams,
  VehicleTrack,
  VehicleTrips,
  VehicleUtilization,
  VehicleUtilizationParams,
} from '../core/kpi/types.ts';
import { vehicleTrack, vehicleTrips, vehicleUtilization } from '../core/kpi/vehicle-service.ts';

export interface KpiServices {
  energySummary(ctx: KpiContext, params: EnergySummaryParams): Promise<EnergySummary>;
  energySeries(ctx: KpiContext, params: EnergySeriesParams): Promise<EnergySeries>;
  vehicleUtilization(ctx: KpiContext, params: VehicleUtilizationParams): Promise<VehicleUtilization>;
  vehicleTrips(ctx: KpiContext, id: string, period: Period): Promise<VehicleTrips>;
  vehicleTrack(ctx: KpiContext, id: string, period: Period): Promise<VehicleTrack>;
  roomUtilization(ctx: KpiContext, params: RoomUtilizationParams): Promise<RoomUtilization>;
}

export const kpiServices: KpiServices = {
  energySummary,
  energySeries,
  vehicleUtilization,
  vehicleTrips,
  vehicleTrack,
  roomUtilization,
};
