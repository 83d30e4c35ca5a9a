/**
 * The figures of the efficiency engine as the API serves them (issue "Efficiency engine and API").
 * Field names are the public contract: camelCase, units in the name or documented here.
 *
 * The services that produce them (`core/kpi/*-service.ts`) read the store only through the
 * {@link TimeSeriesStore} port and do the maths in pure functions next to them.
 */
import type { Facility } from '../facility/schema.ts';
import type { TimeSeriesStore } from '../store.ts';

/** What every service needs: the facility model and the store. */
export interface KpiContext {
  readonly facility: Facility;
  readonly store: TimeSeriesStore;
  /** The real clock, epoch ms (for year-end projections); default `Date.now`. */
  readonly now?: () => number;
}

/** A time range [from, to), epoch ms. The API turns ISO strings and site dates into this. */
export interface Period {
  readonly from: number;
  readonly to: number;
}

// ---------------------------------------------------------------- energy

export type EnergyGroupBy = 'site' | 'building' | 'department' | 'meter' | 'system';
export type EnergyKind = 'electricity' | 'water' | 'gas';

export interface EnergySummaryParams extends Period {
  readonly groupBy: EnergyGroupBy;
  /** Only this department's items (department-scoped tokens). */
  readonly department?: string;
}

/** Quota of a scope for the period: the annual quota pro-rated by days. */
export interface QuotaFigure {
  readonly kind: string;
  readonly unit: string;
  /** Annual amount and its year. */
  readonly annual: number;
  readonly year: number;
  /** Pro-rated to the period. */
  readonly amount: number;
  /** Consumption ÷ pro-rated amount × 100. */
  readonly usedPercent: number;
  /** Straight-line projection of the consumption to year end, and as % of the annual quota. */
  readonly projectedYearEnd: number;
  readonly projectedPercent: number;
}

/** GB/T 51161 figure of a building (or area-weighted for a site). */
export interface StandardFigure {
  readonly source: string;
  /** kWh/m²·a */
  readonly constraintKwhPerM2: number;
  readonly guideKwhPerM2: number;
  /** The period's kWh/m² annualised (× 365 / days of the period). */
  readonly annualisedKwhPerM2: number;
  /** 'below-guide' | 'between' | 'over-constraint' */
  readonly rating: 'below-guide' | 'between' | 'over-constraint';
}

/** The previous period of equal length and the change against it. */
export interface PreviousFigure {
  readonly from: string;
  readonly to: string;
  readonly electricityKwh: number;
  readonly waterM3: number;
  readonly gasM3: number;
  readonly kgce: number;
  /** % change of kgce (null when the previous period used nothing). */
  readonly changePercent: number | null;
}

export interface EnergyItem {
  readonly id: string;
  readonly name: { readonly zh: string; readonly en: string };
  /** For groupBy=meter/system: the building; for departments: their department id. */
  readonly building?: string;
  readonly department?: string;
  /** groupBy=building/department: true for a building with no department (shared services). */
  readonly sharedServices?: boolean;
  readonly electricityKwh: number;
  readonly waterM3: number;
  readonly gasM3: number;
  readonly kgce: number;
  readonly co2Kg: number;
  readonly costCny: number;
  /** Electricity by time-of-use period, kWh and CNY. */
  readonly tariff?: Readonly<Record<string, { readonly kwh: number; readonly costCny: number }>>;
  readonly areaM2: number | null;
  readonly headcount: number | null;
  readonly kwhPerM2: number | null;
  readonly kgcePerM2: number | null;
  readonly kgcePerCapita: number | null;
  readonly waterM3PerCapita: number | null;
  /** 0–1: share of electricity outside working time. */
  readonly offHoursShare: number | null;
  /** 0–100 %: mean data coverage of the meters behind the item. */
  readonly coverage: number;
  readonly quota: readonly QuotaFigure[];
  readonly standard: StandardFigure | null;
  readonly previous: PreviousFigure | null;
}

export interface EnergySummary {
  readonly from: string;
  readonly to: string;
  readonly groupBy: EnergyGroupBy;
  readonly items: readonly EnergyItem[];
}

export type EnergyScope = 'site' | 'building' | 'department' | 'meter';
export type SeriesEvery = '15m' | '1h' | '1d';

export interface EnergySeriesParams extends Period {
  readonly scope: EnergyScope;
  readonly id: string;
  readonly kind: EnergyKind;
  readonly every: SeriesEvery;
}

export interface EnergySeries {
  readonly scope: EnergyScope;
  readonly id: string;
  readonly kind: EnergyKind;
  readonly unit: string;
  readonly every: SeriesEvery;
  readonly from: string;
  readonly to: string;
  /** One item per window, windows aligned to local midnight in the site's time zone. */
  readonly items: readonly {
    readonly start: string;
    readonly end: string;
    readonly value: number;
    readonly coverage: number;
  }[];
}

// ---------------------------------------------------------------- vehicles

export interface VehicleUtilizationParams extends Period {
  readonly department?: string;
}

export interface VehicleItem {
  readonly id: string;
  readonly plate: string;
  readonly department: string;
  readonly trips: number;
  readonly distanceKm: number;
  readonly drivingHours: number;
  readonly idleHours: number;
  /** 0–1 */
  readonly utilization: number;
  readonly offHoursTrips: number;
  readonly geofenceExits: number;
  readonly speedingEvents: number;
  /** litres or kWh per 100 km (null without fuel data or distance); unit in energyUnit. */
  readonly energyPer100km: number | null;
  readonly energyUnit: string;
  readonly ratedPer100km: number;
  /** Cost ÷ distance; an electric car's kWh at the time-of-use price of when the counter rose. */
  readonly costPerKm: number | null;
  /** Energy cost of the period, CNY (null without energy data or a price). */
  readonly costCny: number | null;
}

export interface VehicleUtilization {
  readonly from: string;
  readonly to: string;
  readonly items: readonly VehicleItem[];
}

export interface Trip {
  readonly start: string;
  readonly end: string;
  readonly distanceKm: number;
  readonly durationMin: number;
  readonly maxSpeedKmh: number;
  readonly offHours: boolean;
  readonly leftServiceArea: boolean;
  readonly from: { readonly lat: number; readonly lon: number };
  readonly to: { readonly lat: number; readonly lon: number };
}

export interface VehicleTrips {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly items: readonly Trip[];
}

/** GeoJSON Feature with a LineString of [lon, lat] and the times of its points. */
export interface VehicleTrack {
  readonly type: 'Feature';
  readonly geometry: {
    readonly type: 'LineString';
    readonly coordinates: readonly (readonly [number, number])[];
  };
  readonly properties: {
    readonly id: string;
    readonly plate: string;
    readonly from: string;
    readonly to: string;
    readonly times: readonly string[];
  };
}

// ---------------------------------------------------------------- rooms

export interface RoomUtilizationParams extends Period {
  readonly building?: string;
  readonly department?: string;
}

export interface RoomItem {
  readonly id: string;
  readonly name: { readonly zh: string; readonly en: string };
  readonly building: string;
  readonly department?: string;
  readonly capacity: number;
  readonly occupiedHours: number;
  /** 0–1 */
  readonly utilization: number;
  /** 0–1 (null when never occupied) */
  readonly seatUse: number | null;
  readonly conditionedEmptyHours: number;
  readonly setpointViolationHours: number;
  readonly co2OverHours: number;
  /** 0–1 share of occupied time within the comfort band (null when never occupied or out of season). */
  readonly comfort: number | null;
}

export interface RoomUtilization {
  readonly from: string;
  readonly to: string;
  readonly items: readonly RoomItem[];
}

/** Thrown by services for a request they cannot answer (unknown id…); the API maps it to 400/404. */
export class KpiError extends Error {
  readonly status: 400 | 404;
  readonly parameter: string | undefined;
  constructor(message: string, options: { status: 400 | 404; parameter?: string }) {
    super(message);
    this.name = 'KpiError';
    this.status = options.status;
    this.parameter = options.parameter;
  }
}

/*
 * The services (one module each, taking a KpiContext):
 *   core/kpi/energy-service.ts   energySummary(ctx, EnergySummaryParams): Promise<EnergySummary>
 *                                energySeries(ctx, EnergySeriesParams): Promise<EnergySeries>
 *   core/kpi/vehicle-service.ts  vehicleUtilization(ctx, VehicleUtilizationParams): Promise<VehicleUtilization>
 *                                vehicleTrips(ctx, id, Period): Promise<VehicleTrips>
 *                                vehicleTrack(ctx, id, Period): Promise<VehicleTrack>
 *   core/kpi/room-service.ts     roomUtilization(ctx, RoomUtilizationParams): Promise<RoomUtilization>
 * Instants in responses are ISO-8601 strings with the site's UTC offset (e.g. 2026-11-25T00:00:00+08:00).
 */
