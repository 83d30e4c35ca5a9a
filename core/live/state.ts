/**
 * The live state of a facility: what every meter, car and room is doing now and today's
 * figures, folded from the points the store commits and the rollup rows folded from them. Pure:
 * no I/O, no clock (every question takes `now`); `core/live/load.ts` fills it from a store at
 * start, `live/feed.ts` feeds it as batches commit.
 *
 * - **A meter's consumption today** = the sum of its rollup rows (core/rollup/meter.ts) from local
 *   midnight, which the fold keeps equal to R(last kept reading) − R(midnight) of core/register.ts,
 *   plus the stream's tail: the step from that last kept reading to the newest reading when it fits
 *   the register rules (a break waits for the fold to judge it), the part after midnight when the
 *   step crosses it. Never a summary re-run per update.
 * - **Power**: an electricity meter's `power` field when its readings carry one, else the rate of
 *   its last step (kW); water and gas: the rate of the last step, m³/h.
 * - **A car**: its newest fix; `driving` (ignition on and at least 2 km/h), `idle` (ignition on,
 *   standing) or `parked` (ignition off); whether it is outside the service area and outside working
 *   time; km today from its odometer (the newest reading less the last one before midnight), or the
 *   GPS legs seen today without one.
 * - **A room**: each field of its sensors holds from its sample until the next one carrying it, for
 *   at most 3 × the sensor's interval (core/kpi/room.ts); conditioned while empty = occupancy known
 *   0 and HVAC known and not off, or lights known on.
 *
 * Recent history (fixes and merged room states of the last hours, meter rows of the last days) is
 * kept so that the alert rules can ask since when a condition holds (core/alerts/evaluate.ts).
 */
import { DateTime, IANAZone } from 'luxon';
import type { WorkCalendar } from '../facility/calendar.ts';
import { type LonLat, pointInPolygon } from '../facility/geometry.ts';
import { registerRules } from '../facility/meter-rules.ts';
import type { Facility, Meter, MeterKind, Room, Vehicle } from '../facility/schema.ts';
import { calendarOf, isoAt } from '../kpi/common.ts';
import { summaryScopes } from '../kpi/energy-scopes.ts';
import { haversineM } from '../kpi/geo.ts';
import { fits, type KeptReading, type RegisterRules } from '../register.ts';
import { BUCKET_MS, bucketOf, type RollupRow } from '../rollup/schema.ts';
import type { Point } from '../store.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Options of {@link LiveState}. */
export interface LiveStateOptions {
  readonly facility: Facility;
  /** Samples and fixes kept per room and car, ms. Default 3 h. */
  readonly historyMs?: number;
  /** Days of meter rows kept (the water-leak and off-hours rules look back up to 14 days). Default 16. */
  readonly rowDays?: number;
  /** Slowest speed that counts as moving, km/h. Default 2 (core/kpi/vehicle.ts). */
  readonly movingKmh?: number;
  /** A room field holds for this many sensor intervals. Default 3. */
  readonly holdIntervals?: number;
}

/** A car's fix as kept. */
export interface Fix {
  readonly time: number;
  readonly lat: number;
  readonly lon: number;
  readonly speed: number;
  readonly ignition: boolean;
  readonly odometer: number | null;
  readonly fuel: number | null;
}

/** A room's merged state after one of its samples. */
export interface RoomMoment {
  readonly time: number;
  readonly occupancy: number | null;
  readonly temperature: number | null;
  readonly co2: number | null;
  readonly hvac: string | null;
  readonly lights: boolean | null;
}

/** Units of a meter kind's consumption and rate. */
export const METER_UNITS: Readonly<Record<MeterKind, { readonly today: string; readonly power: string }>> = {
  electricity: { today: 'kWh', power: 'kW' },
  water: { today: 'm³', power: 'm³/h' },
  gas: { today: 'm³', power: 'm³/h' },
};

interface MeterState {
  readonly meter: Meter;
  readonly rules: RegisterRules;
  /** Newest reading. */
  at: number | null;
  total: number | null;
  /** The reading before the newest one. */
  previousAt: number | null;
  previousTotal: number | null;
  /** The newest `power` field, and its time. */
  power: number | null;
  powerAt: number | null;
  /** Rollup rows by bucket: `rowTime[k]` holds the bucket start of `rowValue[k]` (NaN: empty). */
  readonly rowTime: Float64Array;
  readonly rowValue: Float64Array;
  /** The row's covered ms; NaN while readings of it are pending (not judged yet, core/register.ts). */
  readonly rowCovered: Float64Array;
  /** The last kept reading of the rows (the register state of the last row). */
  kept: KeptReading | null;
  /** Sum of the rows from `todayFrom` up to the bucket `todayBucket` (NaN: to be summed again). */
  todayFrom: number;
  todayBucket: number;
  todaySum: number;
}

interface VehicleState {
  readonly vehicle: Vehicle;
  readonly fixes: Fix[];
  /** Local midnight of the day `dayOdometer` and `dayGpsKm` belong to. */
  day: number;
  /** The odometer at the day's start (the last reading before midnight, or the first of the day). */
  dayOdometer: number | null;
  /** The fuel counter at the day's start. */
  dayFuel: number | null;
  /** GPS legs of the day, km, from the last accepted fix. */
  dayGpsKm: number;
  accepted: Fix | null;
}

interface FieldValue<T> {
  value: T;
  at: number;
  holdMs: number;
}

interface RoomState {
  readonly room: Room;
  readonly fields: {
    occupancy?: FieldValue<number>;
    temperature?: FieldValue<number>;
    co2?: FieldValue<number>;
    hvac?: FieldValue<string>;
    lights?: FieldValue<boolean>;
  };
  readonly history: RoomMoment[];
}

/** A device the facility lists, as the offline rule sees it. */
export interface DeviceSeen {
  readonly kind: 'meter' | 'vehicle' | 'sensor';
  readonly id: string;
  /** Its reporting interval, s. */
  readonly interval: number;
  /** Time of its newest point, epoch ms; null before any. */
  readonly lastSeen: number | null;
  /** A car: whether its newest fix had the ignition on. */
  readonly moving?: boolean;
}

/** An energy scope (site, building, department) as a sum of meters, kind by kind. */
export interface LiveScope {
  readonly kind: 'site' | 'building' | 'department';
  readonly id: string;
  readonly name: { readonly zh: string; readonly en: string };
  /** meter id → weight. */
  readonly terms: ReadonlyMap<string, number>;
}

/** What a meter event says (the live page's `meter`). */
export interface MeterEvent {
  readonly id: string;
  readonly building: string;
  readonly department: string | null;
  readonly kind: MeterKind;
  readonly at: string;
  readonly power: number | null;
  readonly powerUnit: string;
  readonly today: number;
  readonly todayUnit: string;
}

export class LiveState {
  readonly facility: Facility;
  readonly calendar: WorkCalendar;
  readonly #zone: IANAZone;
  readonly #historyMs: number;
  readonly #movingKmh: number;
  readonly #slots: number;
  readonly #meters = new Map<string, MeterState>();
  readonly #vehicles = new Map<string, VehicleState>();
  readonly #rooms = new Map<string, RoomState>();
  /** Sensor id → [room id, hold ms]. */
  readonly #sensors = new Map<string, readonly [string, number]>();
  /** `kind/id` → newest point time. */
  readonly #lastSeen = new Map<string, number>();
  /** `kind/id` → dead-letter times of the last hour (ascending). */
  readonly #rejected = new Map<string, number[]>();
  readonly #serviceArea: readonly LonLat[] | undefined;
  readonly #scopes: LiveScope[];
  #day = { start: Number.NaN, end: Number.NaN };

  constructor(options: LiveStateOptions) {
    const { facility } = options;
    this.facility = facility;
    this.calendar = calendarOf(facility);
    this.#zone = IANAZone.create(facility.site.timezone);
    this.#historyMs = options.historyMs ?? 3 * HOUR_MS;
    this.#movingKmh = options.movingKmh ?? 2;
    this.#slots = Math.ceil(((options.rowDays ?? 16) * DAY_MS) / BUCKET_MS);
    const holds = options.holdIntervals ?? 3;
    for (const meter of facility.meters) {
      this.#meters.set(meter.id, {
        meter,
        rules: registerRules(meter),
        at: null,
        total: null,
        previousAt: null,
        previousTotal: null,
        power: null,
        powerAt: null,
        rowTime: new Float64Array(this.#slots).fill(Number.NaN),
        rowValue: new Float64Array(this.#slots),
        rowCovered: new Float64Array(this.#slots),
        kept: null,
        todayFrom: Number.NaN,
        todayBucket: Number.NaN,
        todaySum: 0,
      });
    }
    for (const vehicle of facility.vehicles) {
      this.#vehicles.set(vehicle.id, {
        vehicle,
        fixes: [],
        day: Number.NaN,
        dayOdometer: null,
        dayFuel: null,
        dayGpsKm: 0,
        accepted: null,
      });
    }
    for (const room of facility.rooms) this.#rooms.set(room.id, { room, fields: {}, history: [] });
    for (const sensor of facility.sensors)
      this.#sensors.set(sensor.id, [sensor.room, holds * sensor.interval * 1000]);
    const area = facility.geofences.find((g) => g.id === 'service-area');
    this.#serviceArea = area?.polygon.map(([lon, lat]) => [lon, lat] as LonLat);
    this.#scopes = (['site', 'building', 'department'] as const).flatMap((groupBy) =>
      summaryScopes(facility, groupBy)
        // A shared-services building is a building scope of its own (it may have a quota), not a
        // department row.
        .filter((def) => groupBy !== 'department' || !def.sharedServices)
        .map(
          (def): LiveScope => ({
            kind: groupBy,
            id: def.id,
            name: def.name,
            terms: def.terms,
          }),
        ),
    );
  }

  // ---------------------------------------------------------------------------------- feeding

  /** Takes committed points (any order; a point older than what is known only updates what it can). */
  applyPoints(points: readonly Point[]): void {
    const site = this.facility.site.id;
    const sorted = [...points].sort((a, b) => a.time - b.time);
    for (const point of sorted) {
      if (point.tags.site !== site) continue;
      if (point.measurement === 'meter') this.#meterPoint(point);
      else if (point.measurement === 'vehicle') this.#vehiclePoint(point);
      else this.#sensorPoint(point);
    }
  }

  /**
   * Takes a meter's rollup rows replacing its rows in `[from, to)` (core/rollup/schema.ts
   * RollupWrite), with their `consumption` and register `state`.
   */
  applyMeterRows(id: string, from: number, rows: readonly RollupRow[], to = Number.POSITIVE_INFINITY): void {
    const state = this.#meters.get(id);
    if (!state) return;
    state.todayFrom = Number.NaN;
    for (let k = 0; k < this.#slots; k++) {
      const t = state.rowTime[k] as number;
      if (t >= from && t < to) state.rowTime[k] = Number.NaN;
    }
    let kept: KeptReading | null | undefined;
    for (const row of rows) {
      const consumption = row.values.consumption;
      if (typeof consumption === 'number') {
        const slot = this.#slot(row.time);
        const known = state.rowTime[slot] as number;
        if (Number.isNaN(known) || row.time >= known) {
          state.rowTime[slot] = row.time;
          state.rowValue[slot] = Number.isNaN(consumption) ? 0 : consumption;
          const covered = row.values.coveredMs;
          const pending = row.values.pending;
          state.rowCovered[slot] =
            typeof pending === 'number' && pending > 0
              ? Number.NaN
              : typeof covered === 'number' && !Number.isNaN(covered)
                ? covered
                : BUCKET_MS;
        }
      }
      const text = row.values.state;
      if (typeof text === 'string') {
        const parsed = parseState(text);
        if (parsed !== undefined) kept = parsed;
      }
    }
    // A fold writes from its resume point to the end: its last state is the newest. A bounded
    // write (a rebuild of a past range, a state read at start) is taken only when it is newer.
    if (kept === undefined) return;
    if (
      to === Number.POSITIVE_INFINITY ||
      state.kept === null ||
      (kept !== null && kept.time >= state.kept.time)
    ) {
      state.kept = kept;
    }
  }

  /** Counts dead-lettered messages of a device (`kind/id`) at their times. */
  applyRejections(
    entries: readonly {
      readonly device?: { readonly kind: string; readonly id: string };
      readonly time: number;
    }[],
  ): void {
    for (const entry of entries) {
      if (!entry.device) continue;
      const key = `${entry.device.kind}/${entry.device.id}`;
      const list = this.#rejected.get(key) ?? [];
      list.push(entry.time);
      if (list.length > 1 && (list.at(-2) as number) > entry.time) list.sort((a, b) => a - b);
      this.#rejected.set(key, list);
    }
  }

  #slot(time: number): number {
    const n = Math.floor(time / BUCKET_MS) % this.#slots;
    return n < 0 ? n + this.#slots : n;
  }

  #seen(kind: string, id: string, time: number): void {
    const key = `${kind}/${id}`;
    const known = this.#lastSeen.get(key);
    if (known === undefined || time > known) this.#lastSeen.set(key, time);
  }

  #meterPoint(point: Point): void {
    const id = point.tags.meter ?? '';
    const state = this.#meters.get(id);
    if (!state) return;
    this.#seen('meter', id, point.time);
    const power = point.fields.power;
    if (typeof power === 'number' && (state.powerAt === null || point.time >= state.powerAt)) {
      state.power = power;
      state.powerAt = point.time;
    }
    const total = point.fields.total;
    if (typeof total !== 'number') return;
    if (state.at !== null && point.time <= state.at) {
      if (point.time === state.at) state.total = total;
      return;
    }
    state.previousAt = state.at;
    state.previousTotal = state.total;
    state.at = point.time;
    state.total = total;
  }

  #vehiclePoint(point: Point): void {
    const id = point.tags.vehicle ?? '';
    const state = this.#vehicles.get(id);
    if (!state) return;
    const { lat, lon, speed, ignition, odometer, fuel } = point.fields;
    // A point without the contract's required fields is no fix (rolling-store.ts fixColumns).
    if (typeof lat !== 'number' || typeof lon !== 'number' || typeof speed !== 'number') return;
    if (typeof ignition !== 'boolean') return;
    this.#seen('vehicle', id, point.time);
    const fix: Fix = {
      time: point.time,
      lat,
      lon,
      speed,
      ignition,
      odometer: typeof odometer === 'number' ? odometer : null,
      fuel: typeof fuel === 'number' ? fuel : null,
    };
    const last = state.fixes.at(-1);
    if (last && fix.time <= last.time) return;
    const day = this.#dayOf(fix.time).start;
    if (day !== state.day) {
      // The day's start values: the last ones before midnight, else the first of the day.
      state.day = day;
      state.dayOdometer = last?.odometer ?? fix.odometer;
      state.dayFuel = last?.fuel ?? fix.fuel;
      state.dayGpsKm = 0;
      state.accepted = last ?? null;
    }
    state.dayOdometer ??= fix.odometer;
    state.dayFuel ??= fix.fuel;
    if (state.accepted === null) state.accepted = fix;
    else {
      const m = haversineM(state.accepted.lat, state.accepted.lon, fix.lat, fix.lon);
      if (m >= 20) {
        state.dayGpsKm += m / 1000;
        state.accepted = fix;
      }
    }
    state.fixes.push(fix);
    trim(state.fixes, fix.time - this.#historyMs);
  }

  /** Sets what a car's day starts from (the readings before midnight, from the store). */
  setVehicleDayStart(id: string, day: number, odometer: number | null, fuel: number | null): void {
    const state = this.#vehicles.get(id);
    if (!state) return;
    state.day = day;
    state.dayOdometer = odometer;
    state.dayFuel = fuel;
    state.dayGpsKm = 0;
  }

  #sensorPoint(point: Point): void {
    const sensor = point.tags.sensor ?? '';
    const entry = this.#sensors.get(sensor);
    if (!entry) return;
    const [roomId, holdMs] = entry;
    const state = this.#rooms.get(roomId);
    if (!state) return;
    this.#seen('sensor', sensor, point.time);
    const { fields } = state;
    const set = <K extends keyof RoomState['fields']>(
      key: K,
      value: RoomState['fields'][K] extends FieldValue<infer T> | undefined ? T : never,
    ) => {
      const known = fields[key];
      if (known && known.at > point.time) return;
      (fields as Record<string, FieldValue<unknown>>)[key] = { value, at: point.time, holdMs };
    };
    const f = point.fields;
    if (typeof f.occupancy === 'number') set('occupancy', f.occupancy);
    if (typeof f.temperature === 'number') set('temperature', f.temperature);
    if (typeof f.co2 === 'number') set('co2', f.co2);
    if (typeof f.hvac === 'string') set('hvac', f.hvac);
    if (typeof f.lights === 'boolean') set('lights', f.lights);
    const last = state.history.at(-1);
    if (last && point.time < last.time) return;
    const moment = this.#roomAt(state, point.time);
    if (last && last.time === point.time) state.history[state.history.length - 1] = moment;
    else state.history.push(moment);
    trim(state.history, point.time - this.#historyMs);
  }

  #roomAt(state: RoomState, t: number): RoomMoment {
    const value = <T>(field: FieldValue<T> | undefined): T | null =>
      field !== undefined && t >= field.at && t - field.at <= field.holdMs ? field.value : null;
    return {
      time: t,
      occupancy: value(state.fields.occupancy),
      temperature: value(state.fields.temperature),
      co2: value(state.fields.co2),
      hvac: value(state.fields.hvac),
      lights: value(state.fields.lights),
    };
  }

  // ---------------------------------------------------------------------------------- reading

  /** Local day `[start, end)` holding `t`. */
  #dayOf(t: number): { start: number; end: number } {
    if (t >= this.#day.start && t < this.#day.end) return this.#day;
    const start = DateTime.fromMillis(t, { zone: this.#zone }).startOf('day');
    this.#day = { start: start.toMillis(), end: start.plus({ days: 1 }).toMillis() };
    return this.#day;
  }

  /** ISO-8601 with the site's UTC offset (as the API writes instants). */
  iso(t: number): string {
    return isoAt(t, this.facility.site.timezone);
  }

  /** Local midnight of the day holding `t`. */
  dayStart(t: number): number {
    return this.#dayOf(t).start;
  }

  /** Ids of the meters, cars and rooms. */
  get meterIds(): string[] {
    return [...this.#meters.keys()];
  }
  get vehicleIds(): string[] {
    return [...this.#vehicles.keys()];
  }
  get roomIds(): string[] {
    return [...this.#rooms.keys()];
  }
  /** The site, its buildings and departments as sums of meters. */
  get scopes(): readonly LiveScope[] {
    return this.#scopes;
  }

  /** Sum of a meter's rows with bucket starts in `[from, to)`, for times within the kept days. */
  meterRows(id: string, from: number, to: number): number {
    const state = this.#meters.get(id);
    if (!state) return 0;
    let sum = 0;
    for (let t = bucketOf(from); t < to; t += BUCKET_MS) {
      if (t < from) continue;
      const k = this.#slot(t);
      if (state.rowTime[k] === t) sum += state.rowValue[k] as number;
    }
    return sum;
  }

  /** A meter's consumption in one bucket, or NaN when no row holds it. */
  meterBucket(id: string, bucket: number): number {
    const state = this.#meters.get(id);
    if (!state) return Number.NaN;
    const k = this.#slot(bucket);
    return state.rowTime[k] === bucket ? (state.rowValue[k] as number) : Number.NaN;
  }

  /**
   * A meter's consumption in one bucket when its row covers at least `share` of the bucket with
   * judged readings (none pending), else NaN: a rate taken from it is not understated by a gap or
   * by the readings the fold has not judged yet.
   */
  meterBucketCovered(id: string, bucket: number, share = 0.9): number {
    const state = this.#meters.get(id);
    if (!state) return Number.NaN;
    const k = this.#slot(bucket);
    if (state.rowTime[k] !== bucket) return Number.NaN;
    const covered = state.rowCovered[k] as number;
    return covered >= share * BUCKET_MS ? (state.rowValue[k] as number) : Number.NaN;
  }

  /** Time of a meter's last kept reading per its rows (null before any row). */
  meterFoldedTo(id: string): number | null {
    return this.#meters.get(id)?.kept?.time ?? null;
  }

  /**
   * A meter's consumption from local midnight to its newest reading: the rows since midnight and
   * the stream's tail (see the module comment). In its unit (kWh, m³).
   */
  meterToday(id: string, now: number): number {
    const state = this.#meters.get(id);
    if (!state) return 0;
    const { start } = this.#dayOf(now);
    // The rows' sum is kept until rows are applied or the bucket rolls over: the live feed asks
    // for it on every push of the meter, its building and the site.
    const bucket = bucketOf(now);
    if (state.todayFrom !== start || state.todayBucket !== bucket) {
      state.todaySum = this.meterRows(id, start, now + BUCKET_MS);
      state.todayFrom = start;
      state.todayBucket = bucket;
    }
    return state.todaySum + this.#tail(state, start);
  }

  /** The stream's part after the last kept reading, from `since` on. */
  #tail(state: MeterState, since: number): number {
    const { kept, at, total } = state;
    if (kept === null || at === null || total === null || at <= kept.time || at <= since) return 0;
    if (!fits(kept.time, kept.level, at, total, state.rules)) return 0;
    const step = Math.max(0, total - kept.level);
    if (kept.time >= since) return step;
    return (step * (at - since)) / (at - kept.time);
  }

  /** A meter's power: kW for electricity (its `power` field, else the last step's rate), m³/h otherwise; null when unknown or stale. */
  meterPower(id: string, now: number): number | null {
    const state = this.#meters.get(id);
    if (!state || state.at === null) return null;
    const stale = 3 * state.meter.interval * 1000;
    if (state.meter.kind === 'electricity' && state.power !== null && state.powerAt !== null) {
      return now - state.powerAt <= stale ? state.power : null;
    }
    if (state.previousAt === null || state.previousTotal === null || state.total === null) return null;
    if (now - state.at > stale) return null;
    const step = state.total - state.previousTotal;
    const hours = (state.at - state.previousAt) / HOUR_MS;
    if (!(hours > 0) || step < -state.rules.resolution) return null;
    return Math.max(0, step) / hours;
  }

  /** Newest reading time of a meter. */
  meterAt(id: string): number | null {
    return this.#meters.get(id)?.at ?? null;
  }

  meter(id: string): Meter | undefined {
    return this.#meters.get(id)?.meter;
  }

  /** The `meter` event of the live page. */
  meterEvent(id: string, now: number): MeterEvent | undefined {
    const state = this.#meters.get(id);
    if (!state) return undefined;
    const { meter } = state;
    const units = METER_UNITS[meter.kind];
    return {
      id,
      building: meter.building,
      department: meter.department ?? null,
      kind: meter.kind,
      at: this.iso(state.at ?? now),
      power: round(this.meterPower(id, now), 3),
      powerUnit: units.power,
      today: round(this.meterToday(id, now), 3) ?? 0,
      todayUnit: units.today,
    };
  }

  /** A scope's consumption of one kind today (Σ weight × meter today). */
  scopeToday(scope: LiveScope, kind: MeterKind, now: number): number {
    let sum = 0;
    for (const [id, weight] of scope.terms) {
      if (this.#meters.get(id)?.meter.kind === kind) sum += weight * this.meterToday(id, now);
    }
    return sum;
  }

  /** A scope's power of one kind (kW or m³/h): null when no meter of the kind behind it knows its power. */
  scopePower(scope: LiveScope, kind: MeterKind, now: number): number | null {
    let sum = 0;
    let known = false;
    for (const [id, weight] of scope.terms) {
      if (this.#meters.get(id)?.meter.kind !== kind) continue;
      const power = this.meterPower(id, now);
      if (power === null) continue;
      known = true;
      sum += weight * power;
    }
    return known ? sum : null;
  }

  /** A scope's rows of one kind with bucket starts in `[from, to)`. */
  scopeRows(scope: LiveScope, kind: MeterKind, from: number, to: number): number {
    let sum = 0;
    for (const [id, weight] of scope.terms) {
      if (this.#meters.get(id)?.meter.kind === kind) sum += weight * this.meterRows(id, from, to);
    }
    return sum;
  }

  /** Newest data time of the meters behind a scope (null when none has data). */
  scopeAt(scope: LiveScope): number | null {
    let at: number | null = null;
    for (const id of scope.terms.keys()) {
      const t = this.#meters.get(id)?.at ?? null;
      if (t !== null && (at === null || t > at)) at = t;
    }
    return at;
  }

  scope(kind: LiveScope['kind'], id: string): LiveScope | undefined {
    return this.#scopes.find((s) => s.kind === kind && s.id === id);
  }

  /** A car's fixes of the kept history, oldest first. */
  fixes(id: string): readonly Fix[] {
    return this.#vehicles.get(id)?.fixes ?? [];
  }

  vehicle(id: string): Vehicle | undefined {
    return this.#vehicles.get(id)?.vehicle;
  }

  /** Whether a position lies outside the service area (false without one). */
  outsideServiceArea(lat: number, lon: number): boolean {
    return this.#serviceArea !== undefined && !pointInPolygon([lon, lat], this.#serviceArea);
  }

  /** driving, idle or parked, from a fix. */
  vehicleStateOf(fix: Fix): 'driving' | 'idle' | 'parked' {
    if (!fix.ignition) return 'parked';
    return fix.speed >= this.#movingKmh ? 'driving' : 'idle';
  }

  /** Km a car drove today. */
  vehicleTodayKm(id: string, now: number): number {
    const state = this.#vehicles.get(id);
    const last = state?.fixes.at(-1);
    if (!state || !last || state.day !== this.#dayOf(now).start) return 0;
    if (last.odometer !== null && state.dayOdometer !== null && last.odometer >= state.dayOdometer) {
      return last.odometer - state.dayOdometer;
    }
    return state.dayGpsKm;
  }

  /** Litres or kWh a car used today (its fuel counter), or null without one. */
  vehicleTodayEnergy(id: string, now: number): number | null {
    const state = this.#vehicles.get(id);
    const last = state?.fixes.at(-1);
    if (!state || !last || state.day !== this.#dayOf(now).start) return 0;
    if (last.fuel === null || state.dayFuel === null) return null;
    return last.fuel >= state.dayFuel ? last.fuel - state.dayFuel : last.fuel;
  }

  /** The `vehicle` event of the live page, or undefined before its first fix. */
  vehicleEvent(id: string, now: number) {
    const state = this.#vehicles.get(id);
    const fix = state?.fixes.at(-1);
    if (!state || !fix) return undefined;
    const status = this.vehicleStateOf(fix);
    return {
      id,
      at: this.iso(fix.time),
      lat: fix.lat,
      lon: fix.lon,
      speedKmh: fix.speed,
      heading: null,
      state: status,
      offHours: status !== 'parked' && !this.calendar.isWorkingTime(fix.time),
      outsideServiceArea: this.outsideServiceArea(fix.lat, fix.lon),
      todayKm: round(this.vehicleTodayKm(id, now), 2) ?? 0,
    };
  }

  /** A room's merged states after each sample of the kept history, oldest first. */
  roomHistory(id: string): readonly RoomMoment[] {
    return this.#rooms.get(id)?.history ?? [];
  }

  /** A room's state at `now` (fields past their hold are null). */
  roomNow(id: string, now: number): RoomMoment | undefined {
    const state = this.#rooms.get(id);
    return state ? this.#roomAt(state, now) : undefined;
  }

  room(id: string): Room | undefined {
    return this.#rooms.get(id)?.room;
  }

  /** Whether a room state is conditioned while empty (HVAC on, or lights on when `lights`). */
  static conditionedEmpty(moment: RoomMoment, lights = true): boolean {
    if (moment.occupancy === null || moment.occupancy > 0) return false;
    return (moment.hvac !== null && moment.hvac !== 'off') || (lights && moment.lights === true);
  }

  /** The `room` event of the live page, or undefined before any sample. */
  roomEvent(id: string, now: number) {
    const state = this.#rooms.get(id);
    const last = state?.history.at(-1);
    if (!state || !last) return undefined;
    const moment = this.#roomAt(state, Math.max(now, last.time));
    const hvac = moment.hvac;
    return {
      id,
      building: state.room.building,
      floor: state.room.floor,
      at: this.iso(last.time),
      occupied: moment.occupancy === null ? null : moment.occupancy > 0,
      occupancy: moment.occupancy,
      temperatureC: moment.temperature,
      co2Ppm: moment.co2,
      hvac: hvac === null ? null : hvac !== 'off',
      hvacMode: hvac,
      lights: moment.lights,
      conditionedWhileEmpty: LiveState.conditionedEmpty(moment),
    };
  }

  /** Every device the facility lists, with when it was last seen. */
  devices(): DeviceSeen[] {
    const out: DeviceSeen[] = [];
    for (const meter of this.facility.meters) {
      out.push({
        kind: 'meter',
        id: meter.id,
        interval: meter.interval,
        lastSeen: this.#lastSeen.get(`meter/${meter.id}`) ?? null,
      });
    }
    for (const vehicle of this.facility.vehicles) {
      const fix = this.#vehicles.get(vehicle.id)?.fixes.at(-1);
      out.push({
        kind: 'vehicle',
        id: vehicle.id,
        interval: vehicle.interval,
        lastSeen: this.#lastSeen.get(`vehicle/${vehicle.id}`) ?? null,
        moving: fix?.ignition ?? false,
      });
    }
    for (const sensor of this.facility.sensors) {
      out.push({
        kind: 'sensor',
        id: sensor.id,
        interval: sensor.interval,
        lastSeen: this.#lastSeen.get(`sensor/${sensor.id}`) ?? null,
      });
    }
    return out;
  }

  /** Sets when a device was last seen (from the store at start). */
  setLastSeen(kind: 'meter' | 'vehicle' | 'sensor', id: string, time: number): void {
    this.#seen(kind, id, time);
  }

  /** Dead-lettered messages of a device (`kind/id`) in `(now − 1 h, now]`; older ones are forgotten. */
  rejectedLastHour(key: string, now: number): number {
    const list = this.#rejected.get(key);
    if (!list) return 0;
    trimTimes(list, now - HOUR_MS);
    if (list.length === 0) this.#rejected.delete(key);
    return list.filter((t) => t <= now).length;
  }

  /** Devices (`kind/id`) with dead-lettered messages in the last hour. */
  rejectedDevices(): string[] {
    return [...this.#rejected.keys()];
  }
}

/** Drops the entries older than `before` from the front of a time-ordered list. */
function trim(list: { time: number }[], before: number): void {
  let k = 0;
  // Keep one older entry: it is the state in force at `before`.
  while (k + 1 < list.length && (list[k + 1] as { time: number }).time <= before) k++;
  if (k > 0) list.splice(0, k);
}

function trimTimes(list: number[], after: number): void {
  let k = 0;
  while (k < list.length && (list[k] as number) <= after) k++;
  if (k > 0) list.splice(0, k);
}

function parseState(text: string): KeptReading | null | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) return undefined;
    const last = parsed.at(-1) as KeptReading | undefined;
    if (last === undefined) return null;
    return typeof last.time === 'number' && typeof last.level === 'number' && typeof last.total === 'number'
      ? { time: last.time, total: last.total, level: last.level }
      : undefined;
  } catch {
    return undefined;
  }
}

/** `value` rounded to `digits` decimals; null stays null. */
export function round(value: number | null, digits: number): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
