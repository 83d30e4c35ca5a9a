/**
 * What the page reads from the api and the live gateway, as JSON: only the fields it uses. The
 * authoritative shapes are the api's response schemas (api/schemas.ts) and the live gateway's
 * events; the page keeps its own copy so that it builds alone, with the browser's types.
 */

/** A name in both languages of the product. */
export interface Name {
  readonly zh: string;
  readonly en: string;
}

export type Role = 'admin' | 'operator' | 'viewer';

/** Who is signed in (a session) or whose token this is. */
export interface User {
  readonly username: string;
  readonly role: Role;
  readonly department: string | null;
}

/** `POST /api/v1/session` and `GET /api/v1/session`. */
export interface SessionAnswer {
  readonly user: User;
  readonly csrfToken: string;
  /** ISO-8601. */
  readonly expiresAt: string;
}

// ------------------------------------------------------------------ facility

export type LonLat = readonly [number, number];

export interface FacilityModel {
  readonly site: {
    readonly id: string;
    readonly name: Name;
    readonly timezone: string;
    readonly location: { readonly lat: number; readonly lon: number };
    readonly climateZone: string;
  };
  readonly calendar: { readonly workdays: readonly string[]; readonly workingHours: string };
  readonly geofences: readonly {
    readonly id: string;
    readonly name: Name;
    readonly polygon: readonly LonLat[];
  }[];
  readonly buildings: readonly {
    readonly id: string;
    readonly name: Name;
    readonly use: string;
    readonly floorArea: number;
    readonly floors: number;
    readonly basementFloors?: number;
  }[];
  readonly departments: readonly { readonly id: string; readonly name: Name; readonly headcount: number }[];
  readonly meters: readonly {
    readonly id: string;
    readonly name?: Name;
    readonly kind: 'electricity' | 'water' | 'gas';
    readonly building: string;
    readonly system: string;
    readonly department?: string;
  }[];
  readonly vehicles: readonly {
    readonly id: string;
    readonly plate: string;
    readonly department: string;
    readonly type: string;
    readonly energy: 'gasoline' | 'diesel' | 'electric';
    readonly seats: number;
  }[];
  readonly rooms: readonly {
    readonly id: string;
    readonly name: Name;
    readonly building: string;
    readonly floor: number;
    readonly type: string;
    readonly capacity: number;
    readonly area: number;
    readonly department?: string;
  }[];
  readonly sensors: readonly {
    readonly id: string;
    readonly room: string;
    readonly measures: readonly string[];
  }[];
  readonly tariffs: { readonly currency: string };
}

// ------------------------------------------------------------------ energy

/** Field name → why it is null. */
export type Nulls = Readonly<Record<string, string>>;

export interface QuotaFigure {
  readonly kind: string;
  readonly unit: string;
  readonly annual: number;
  readonly amount: number;
  readonly used: number | null;
  readonly usedPercent: number | null;
  readonly usedToDate: number | null;
  readonly projectedYearEnd: number | null;
  readonly projectedPercent: number | null;
  readonly basis: 'measured' | 'partial';
  readonly nulls: Nulls;
}

export interface StandardFigure {
  readonly source: string;
  readonly constraintKwhPerM2: number;
  readonly guideKwhPerM2: number;
  readonly annualisedKwhPerM2: number | null;
  readonly annualisedMethod: 'measured-year' | 'last-year-profile' | 'days';
  readonly estimate: boolean;
  readonly correctedKwhPerM2: number | null;
  readonly rating: 'below-guide' | 'between' | 'over-constraint' | null;
  readonly nulls: Nulls;
}

export interface EnergyItem {
  readonly id: string;
  readonly name: Name;
  readonly building?: string;
  /** A department row standing for a building's shared services (no department occupies it). */
  readonly sharedServices?: boolean;
  readonly electricityKwh: number | null;
  readonly waterM3: number | null;
  readonly gasM3: number | null;
  readonly kgce: number | null;
  readonly co2Kg: number | null;
  readonly costCny: number | null;
  readonly areaM2: number | null;
  readonly headcount: number | null;
  readonly kwhPerM2: number | null;
  readonly kgcePerM2: number | null;
  readonly kgcePerCapita: number | null;
  readonly offHoursShare: number | null;
  readonly coverage: number;
  readonly quota: readonly QuotaFigure[];
  readonly standard: StandardFigure | null;
  readonly nulls: Nulls;
}

export interface EnergySummary {
  readonly from: string;
  readonly to: string;
  readonly measuredTo: string;
  readonly groupBy: string;
  readonly items: readonly EnergyItem[];
}

export interface EnergySeries {
  readonly scope: string;
  readonly id: string;
  readonly kind: string;
  readonly unit: string;
  readonly every: '15m' | '1h' | '1d';
  readonly measuredTo: string;
  readonly items: readonly {
    readonly start: string;
    readonly end: string;
    readonly value: number | null;
    readonly coverage: number;
  }[];
}

// ------------------------------------------------------------------ vehicles

export interface VehicleUtilizationItem {
  readonly id: string;
  readonly plate: string;
  readonly department: string;
  readonly trips: number;
  readonly distanceKm: number;
  readonly drivingHours: number;
  readonly idleHours: number;
  readonly utilization: number;
  readonly offHoursTrips: number;
  readonly geofenceExits: number;
  readonly speedingEvents: number;
  readonly energyPer100km: number | null;
  readonly energyUnit: string;
  readonly ratedPer100km: number;
  readonly costCny: number | null;
  readonly costPerKm: number | null;
}

export interface Trip {
  readonly start: string;
  readonly end: string;
  readonly distanceKm: number;
  readonly durationMin: number;
  readonly maxSpeedKmh: number;
  readonly offHours: boolean;
  readonly leftServiceArea: boolean;
}

export interface Track {
  readonly geometry: { readonly coordinates: readonly (readonly number[])[] };
  readonly properties: { readonly id: string; readonly plate: string; readonly times: readonly string[] };
}

// ------------------------------------------------------------------ rooms

export interface RoomUtilizationItem {
  readonly id: string;
  readonly name: Name;
  readonly building: string;
  readonly capacity: number;
  readonly occupiedHours: number;
  readonly utilization: number;
  readonly seatUse: number | null;
  readonly conditionedEmptyHours: number;
  readonly setpointViolationHours: number;
  readonly co2OverHours: number;
}

// ------------------------------------------------------------------ alerts

export type Severity = 'info' | 'warning' | 'critical';
export type AlertState = 'firing' | 'acknowledged' | 'resolved';

export interface AlertComment {
  readonly by: string;
  readonly at: string;
  readonly text: string;
}

export interface Alert {
  readonly id: string;
  readonly rule: string;
  readonly type: string;
  readonly severity: Severity;
  readonly state: AlertState;
  /** `name` is Chinese (or both languages); `nameEn` English, when the api gives it apart. */
  readonly subject: {
    readonly kind: string;
    readonly id: string;
    readonly name: Name | string | null;
    readonly nameEn?: string;
  };
  readonly firedAt: string;
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
  readonly resolvedAt: string | null;
  readonly value: number | null;
  readonly threshold: number | null;
  readonly unit: string | null;
  readonly title: Name;
  readonly detail: Name;
  readonly comments: readonly AlertComment[];
}

// ------------------------------------------------------------------ live events

export interface SiteLive {
  readonly at: string;
  readonly powerKw: number | null;
  readonly todayKwh: number | null;
  readonly todayQuotaKwh: number | null;
  readonly todayKgce: number | null;
  readonly todayCo2Kg: number | null;
  readonly todayCostYuan: number | null;
  readonly waterTodayM3: number | null;
  readonly gasTodayM3: number | null;
  readonly openAlerts: number;
}

export interface BuildingLive {
  readonly id: string;
  readonly at: string;
  readonly powerKw: number | null;
  readonly todayKwh: number | null;
}

export interface MeterLive {
  readonly id: string;
  readonly building: string;
  readonly department: string | null;
  readonly kind: string;
  readonly at: string;
  readonly power: number | null;
  readonly powerUnit: string;
  readonly today: number | null;
  readonly todayUnit: string;
}

export interface VehicleLive {
  readonly id: string;
  readonly at: string;
  readonly lat: number;
  readonly lon: number;
  readonly speedKmh: number;
  readonly heading: number | null;
  readonly state: 'driving' | 'idle' | 'parked';
  readonly offHours: boolean;
  readonly outsideServiceArea: boolean;
  readonly todayKm: number | null;
}

export type HvacMode = 'off' | 'cool' | 'heat' | 'fan';

export interface RoomLive {
  readonly id: string;
  readonly building: string;
  readonly floor: number;
  readonly at: string;
  readonly occupied: boolean | null;
  readonly occupancy: number | null;
  readonly temperatureC: number | null;
  readonly co2Ppm: number | null;
  /** HVAC running (any mode but off); null when the sensor does not report it. */
  readonly hvac: boolean | null;
  /** What the HVAC does. */
  readonly hvacMode: HvacMode | null;
  readonly lights: boolean | null;
  readonly conditionedWhileEmpty: boolean;
}

export interface IngestLive {
  readonly at: string;
  readonly status: string;
  readonly reason: string | null;
  readonly pointsPerSecond: number;
  readonly stored: number;
  readonly rejected: number;
  readonly spooled: number;
}
