/**
 * The figures of the efficiency engine as the API serves them (issue "Efficiency engine and API").
 * Field names are the public contract: camelCase, units in the name or documented here.
 *
 * The services that produce them (`core/kpi/*-service.ts`) read the store only through the
 * {@link TimeSeriesStore} port and do the maths in pure functions next to them.
 */
import type { Facility } from '../facility/schema.ts';
import type { TimeSeriesStore } from '../store.ts';
import type { KpiData } from './data.ts';

/** What every service needs: the facility model and the store. */
export interface KpiContext {
  readonly facility: Facility;
  readonly store: TimeSeriesStore;
  /** The real clock, epoch ms (for year-end projections); default `Date.now`. */
  readonly now?: () => number;
  /** Where the numbers come from (core/kpi/data.ts); default the store's rollups. */
  readonly data?: KpiData;
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

/**
 * Why a figure is `null`. Every object of an energy answer that holds a nullable figure carries a
 * `nulls` map beside its figures: field name → reason, one entry for each of its fields that is
 * `null` (and none for the others). A figure is never NaN or infinite: what the maths cannot
 * give is `null` with one of these reasons.
 */
export type NullReason =
  /** The item has no meter (or car) of this kind: nothing measures it. */
  | 'not-metered'
  /** Its meters show no data (readings) in the measured period, or the period has not begun. */
  | 'no-data'
  /**
   * A meter (or car) behind the figure has no data, and the figure needs every one: an estimate
   * over covered time, or a department's split of its building's common use.
   */
  | 'meter-without-data'
  /** The projection needs covered time of each day type (working, non-working) still to come. */
  | 'day-type-not-covered'
  /** A share of zero electricity. */
  | 'no-electricity'
  /** A per-m² figure of an item without a floor area. */
  | 'no-floor-area'
  /** A per-person figure of an item without a headcount. */
  | 'no-headcount'
  /** An energy was used that the facility's tariffs give no price for. */
  | 'no-price'
  /** The item has no car of this energy. */
  | 'no-vehicle'
  /** The building use and climate zone have no GB/T 51161 values we may use. */
  | 'no-standard'
  /** A comparison where either side is less than 90 % covered. */
  | 'coverage-under-90'
  /** A change against nothing (the compared period used 0). */
  | 'zero-base'
  /** GB/T 51161 rates 12 consecutive months only. */
  | 'not-a-year'
  /** Twelve months that reach past now: the year is not over. */
  | 'year-not-over'
  /** The calendar has no working hours in the year, so the γ correction has no T. */
  | 'no-hours-of-use'
  /** The period has not begun: nothing to compare yet. */
  | 'not-started'
  /** The result is beyond the range of numbers: the data behind it cannot be right. */
  | 'not-finite';

/** Field name → why it is null (see {@link NullReason}). */
export type Nulls = Readonly<Record<string, NullReason>>;

/** Every {@link NullReason}, with what it means (for the API documentation). */
export const NULL_REASONS: Readonly<Record<NullReason, string>> = {
  'not-metered': 'the item has no meter of this kind',
  'no-data': 'no readings in the measured period (or it has not begun)',
  'meter-without-data':
    'a meter (or car) behind it has no data: an estimate over covered time, or a department’s split of common use, needs every one',
  'day-type-not-covered': 'no covered time of a day type (working, non-working) the rest of the year has',
  'no-electricity': 'a share of zero electricity',
  'no-floor-area': 'no floor area',
  'no-headcount': 'no headcount',
  'no-price': 'an energy was used that the tariffs give no price for',
  'no-vehicle': 'no car of this energy',
  'no-standard': 'no GB/T 51161 values for this building use and climate zone',
  'coverage-under-90': 'either side of the comparison, or the year rated, is under 90 % covered',
  'zero-base': 'a change against 0',
  'not-a-year': 'GB/T 51161 rates 12 consecutive months only',
  'year-not-over': 'the 12 months reach past now',
  'no-hours-of-use': 'the calendar has no working hours in the year',
  'not-started': 'the period has not begun',
  'not-finite': 'beyond the range of numbers: the data behind it cannot be right',
};

/**
 * Quota of a scope for the period: the annual quota pro-rated by days over the elapsed part of
 * the period in the quota's year, with the year-to-date on covered time (energy.ts).
 */
export interface QuotaFigure {
  readonly kind: string;
  readonly unit: string;
  /** Annual amount and its year. */
  readonly annual: number;
  readonly year: number;
  /** Pro-rated to the elapsed part of the period inside the year (annual × its time ÷ the year's). */
  readonly amount: number;
  /** Consumption measured in that part, in `unit` (null without data). */
  readonly used: number | null;
  /** Coverage of that part, %. */
  readonly periodCoverage: number;
  /** Use at the measured rate over that part ÷ amount × 100 (= used ÷ amount when fully covered). */
  readonly usedPercent: number | null;
  /** End of the year-to-date: the period's measured end, or the year's end; ISO-8601. */
  readonly asOf: string;
  /** Consumption measured from the local 1 January to `asOf`, in `unit`. */
  readonly usedToDate: number | null;
  /** % of the year so far (1 January → asOf) with data. */
  readonly coverage: number;
  /** `measured`: the year so far is measured throughout; `partial`: part of it is estimated. */
  readonly basis: 'measured' | 'partial';
  /** Measured use + the rest of the year at the covered days' average per day type; and % of annual. */
  readonly projectedYearEnd: number | null;
  readonly projectedPercent: number | null;
  readonly nulls: Nulls;
}

/** GB/T 51161 figure of a building (or area-weighted for a site or department). */
export interface StandardFigure {
  readonly source: string;
  /** kWh/m²·a */
  readonly constraintKwhPerM2: number;
  readonly guideKwhPerM2: number;
  /** The floor area the intensity is over, m². */
  readonly areaM2: number;
  /** Coverage of the meters the intensity is measured by, over the measured period, %. */
  readonly coverage: number;
  /** kWh/m² of a year: measured (12 months) or estimated from the period (see `annualisedMethod`). */
  readonly annualisedKwhPerM2: number | null;
  /**
   * How `annualisedKwhPerM2` was obtained: `measured-year` (the period is 12 months),
   * `last-year-profile` (this period × the 12 months before it ÷ the same part of last year) or
   * `days` (× 365 days ÷ the period's days). Every method but `measured-year` is an estimate.
   */
  readonly annualisedMethod: 'measured-year' | 'last-year-profile' | 'days';
  readonly estimate: boolean;
  /** Annual hours of use T (working hours of the calendar over the 12 months), h. */
  readonly hoursOfUse: number | null;
  /** γ = 0.3 + 0.7 × 2500 ÷ T. */
  readonly gamma: number | null;
  /** annualisedKwhPerM2 × γ: what is rated. */
  readonly correctedKwhPerM2: number | null;
  /** 'below-guide' | 'between' | 'over-constraint'; null unless 12 months ≥ 90 % covered. */
  readonly rating: 'below-guide' | 'between' | 'over-constraint' | null;
  readonly nulls: Nulls;
}

/** A period compared with (环比 `previous`, 同比 `lastYear`) and the change against it. */
export interface PreviousFigure {
  /** The compared period as requested (a calendar period, or the equal-length range). */
  readonly from: string;
  readonly to: string;
  /** End of the part of it compared: the same elapsed part as the current period's. */
  readonly measuredTo: string;
  readonly electricityKwh: number | null;
  readonly waterM3: number | null;
  readonly gasM3: number | null;
  /** Standard coal, buildings and cars, kgce. */
  readonly kgce: number | null;
  /** Coverage of the meters behind kgce (electricity and gas) over the compared part, %. */
  readonly coverage: number;
  /** The same coverage of the current period's measured part, %. */
  readonly currentCoverage: number;
  /** % change of kgce on covered time; null when either side is under 90 % covered. */
  readonly changePercent: number | null;
  readonly nulls: Nulls;
}

/** The official cars of an item (site, department): a line of its own beside the buildings. */
export interface VehicleEnergyFigure {
  /** Cars of the item, and how many reported their fuel counter in the period. */
  readonly count: number;
  readonly reporting: number;
  /** Litres of gasoline and diesel, kWh of electric cars (null without a car of that energy). */
  readonly gasolineL: number | null;
  readonly dieselL: number | null;
  readonly electricKwh: number | null;
  readonly kgce: number | null;
  readonly co2Kg: number | null;
  /** Fuel at its price per litre; electricity at the time-of-use price of when the counter rose. */
  readonly costCny: number | null;
  readonly nulls: Nulls;
}

export interface EnergyItem {
  readonly id: string;
  readonly name: { readonly zh: string; readonly en: string };
  /** For groupBy=meter/system: the building; for departments: their department id. */
  readonly building?: string;
  readonly department?: string;
  /** groupBy=building/department: true for a building with no department (shared services). */
  readonly sharedServices?: boolean;
  /** Measured consumption (null: not metered, or no covered time). */
  readonly electricityKwh: number | null;
  readonly waterM3: number | null;
  readonly gasM3: number | null;
  /** Buildings and (site, departments) official cars. */
  readonly kgce: number | null;
  readonly co2Kg: number | null;
  readonly costCny: number | null;
  /** Electricity by time-of-use period, kWh and CNY (absent without an electricity tariff). */
  readonly tariff?: Readonly<Record<string, { readonly kwh: number; readonly costCny: number }>>;
  /** The denominator of the per-m² figures; for a department its own area + share of common area. */
  readonly areaM2: number | null;
  /** Departments: the area of its own spaces, and its share of its buildings' common area, m². */
  readonly ownAreaM2?: number;
  readonly commonAreaM2?: number;
  readonly headcount: number | null;
  readonly kwhPerM2: number | null;
  readonly kgcePerM2: number | null;
  readonly kgcePerCapita: number | null;
  readonly waterM3PerCapita: number | null;
  /** 0–1: share of electricity outside working time. */
  readonly offHoursShare: number | null;
  /** 0–100 %: mean data coverage of the meters behind the item. */
  readonly coverage: number;
  /** The same per kind, for the kinds the item has meters of. */
  readonly coverageByKind: Readonly<Partial<Record<EnergyKind, number>>>;
  readonly quota: readonly QuotaFigure[];
  readonly standard: StandardFigure | null;
  /** 环比: the previous calendar period (or equal-length range). */
  readonly previous: PreviousFigure | null;
  /** 同比: the same period a year earlier. */
  readonly lastYear: PreviousFigure | null;
  /** Site and departments: their official cars. */
  readonly vehicles?: VehicleEnergyFigure;
  /** How the readings of the meters behind the item were judged over the period measured. */
  readonly quality: DataQuality;
  readonly nulls: Nulls;
}

/** What a note on the quality of a figure is about (core/register.ts's judgement of readings). */
export type QualityReason = 'rate-exceeded' | 'register-outlier' | 'register-reset';

/** A meter whose readings in the period were judged other than normal. */
export interface QualityNote {
  readonly reason: QualityReason;
  readonly meter: string;
  /** Readings so judged, in the 15-minute buckets the period touches. */
  readonly readings: number;
  /** Whether the note lowers the figure's quality (`rate-exceeded` does: a doubtful rise is counted). */
  readonly lowersQuality: boolean;
  readonly message: { readonly zh: string; readonly en: string };
}

/**
 * How far the energy figures of an item can be trusted: `degraded` when a meter behind them had a
 * rise counted that exceeds its `maxRate`; otherwise `good`. Outliers (left out) and resets
 * (counted from zero) are noted without lowering it: the figures already account for them.
 */
export interface DataQuality {
  readonly status: 'good' | 'degraded';
  readonly notes: readonly QualityNote[];
}

export interface EnergySummary {
  readonly from: string;
  /** The requested end. */
  readonly to: string;
  /** Where measurement stops: `to`, or now for a period reaching into the future. */
  readonly measuredTo: string;
  /** The calendar period `[from, to)` was recognised as (or `range`); it picks `previous`. */
  readonly periodKind: 'day' | 'week' | 'month' | 'quarter' | 'year' | 'range';
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
  /** Where measurement stops: `to`, or now (windows after it have no data). */
  readonly measuredTo: string;
  /** One item per window, windows aligned to local midnight in the site's time zone. */
  readonly items: readonly {
    readonly start: string;
    readonly end: string;
    /** Measured consumption; null when no meter behind it shows data in the window. */
    readonly value: number | null;
    readonly coverage: number;
    readonly nulls: Nulls;
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
