/**
 * The live feed: keeps the facility's {@link LiveState} current from the committed points and the
 * rollup rows folded from them (or, in a process that folds nothing, from the store's rows read
 * again every minute), and tells its listeners which subjects changed. The live page's socket.io
 * gateway (api/live-gateway.ts) and the alert engine (alerts/engine.ts) listen; each subject's
 * event is built from the state when it is sent, so a burst is one event with the latest figures.
 *
 * Subjects: `site`, `building:<id>`, `meter:<id>`, `vehicle:<id>`, `room:<id>`, `ingest`.
 */
import { DateTime } from 'luxon';
import type { Logger } from 'pino';
import type { DeadLetter, NewDeadLetter } from '../core/dead-letter.ts';
import type { Facility } from '../core/facility/schema.ts';
import { touPrices } from '../core/kpi/energy.ts';
import { touSchedule } from '../core/kpi/tou-schedule.ts';
import { loadLiveState } from '../core/live/load.ts';
import { LiveState, round } from '../core/live/state.ts';
import type { RollupChange } from '../core/rollup/rolling-store.ts';
import { BUCKET_MS } from '../core/rollup/schema.ts';
import type { Point, TimeSeriesStore } from '../core/store.ts';

export type LiveTopic = 'site' | 'building' | 'meter' | 'vehicle' | 'room' | 'ingest';

/** A subject whose state changed. */
export interface LiveUpdate {
  readonly topic: LiveTopic;
  /** Its id; the site's id for `site`, `ingest` for `ingest`. */
  readonly id: string;
}

/** What the feed reads of an ingest's counters (the ingest's stats, or the workers' sum). */
export interface IngestCounters {
  readonly connected?: boolean;
  readonly points?: { readonly stored?: number };
  readonly messages?: { readonly rejected?: number };
  readonly problems?: readonly string[];
  /** Points held in the in-process ingest's spool, not yet in the store. */
  readonly spooled?: number;
}

export interface LiveFeedOptions {
  readonly facility: Facility;
  readonly store: TimeSeriesStore;
  /** Committed batches of points (RollingStore.subscribePoints, or a broker subscription). */
  readonly points?: (listener: (points: readonly Point[]) => void) => () => void;
  /** Rollup rows as the folds commit them (RollingStore.subscribe). Without it, rows are read again every `refreshMs`. */
  readonly rollups?: (listener: (changes: readonly RollupChange[]) => void) => () => void;
  /** Dead-lettered messages as they are committed (for the data-quality rule). */
  readonly rejections?: (listener: (entries: readonly NewDeadLetter[]) => void) => () => void;
  /** The dead-letter of the last hour, read at start. */
  readonly deadLetters?: { list(query: { limit: number }): Promise<DeadLetter[]> };
  /** The ingest's counters, read every second for the `ingest` event. */
  readonly ingestStats?: () => IngestCounters | undefined;
  /** How often rows are read again from the store when no fold feeds them, ms. Default 60 s. */
  readonly refreshMs?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
}

export class LiveFeed {
  readonly state: LiveState;
  readonly #options: LiveFeedOptions;
  readonly #now: () => number;
  readonly #listeners = new Set<(updates: readonly LiveUpdate[]) => void>();
  readonly #unsubscribe: Array<() => void> = [];
  readonly #timers: NodeJS.Timeout[] = [];
  /** Building ids each meter counts in (its weight non-zero there), and whether it counts in the site. */
  readonly #meterScopes = new Map<string, { buildings: string[]; site: boolean }>();
  readonly #sensorRoom: Map<string, string>;
  #openAlerts = 0;
  #ingest: { at: number; stored: number; rate: number; samples: Array<[number, number]> } = {
    at: Number.NaN,
    stored: 0,
    rate: 0,
    samples: [],
  };
  #started = false;

  constructor(options: LiveFeedOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.state = new LiveState({ facility: options.facility });
    for (const meter of options.facility.meters)
      this.#meterScopes.set(meter.id, { buildings: [], site: false });
    for (const scope of this.state.scopes) {
      for (const [id, weight] of scope.terms) {
        const entry = this.#meterScopes.get(id);
        if (!entry || weight === 0) continue;
        if (scope.kind === 'building') entry.buildings.push(scope.id);
        if (scope.kind === 'site') entry.site = true;
      }
    }
    this.#sensorRoom = new Map(options.facility.sensors.map((s) => [s.id, s.room]));
  }

  /** Calls `listener` with the subjects that changed (a batch at a time). */
  onUpdate(listener: (updates: readonly LiveUpdate[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async start(): Promise<void> {
    if (this.#started) return;
    const { store, facility } = this.#options;
    await loadLiveState(this.state, store, this.#now(), {}, this.#options.deadLetters);
    this.#started = true;
    const { points, rollups, rejections } = this.#options;
    if (points) this.#unsubscribe.push(points((batch) => this.#guard(() => this.#points(batch))));
    if (rollups) this.#unsubscribe.push(rollups((changes) => this.#guard(() => this.#rows(changes))));
    else {
      const refresh = setInterval(() => void this.#refreshRows(), this.#options.refreshMs ?? 60_000);
      refresh.unref();
      this.#timers.push(refresh);
    }
    if (rejections)
      this.#unsubscribe.push(rejections((entries) => this.#guard(() => this.state.applyRejections(entries))));
    if (this.#options.ingestStats) {
      const poll = setInterval(() => this.#guard(() => this.#pollIngest()), 1000);
      poll.unref();
      this.#timers.push(poll);
      this.#pollIngest();
    }
    void facility;
  }

  async stop(): Promise<void> {
    for (const stop of this.#unsubscribe.splice(0)) stop();
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    this.#started = false;
  }

  /** Sets the count of open alerts (the site event shows it). */
  setOpenAlerts(count: number): void {
    if (count === this.#openAlerts) return;
    this.#openAlerts = count;
    this.#emit([{ topic: 'site', id: this.#options.facility.site.id }]);
  }

  #guard(task: () => void): void {
    try {
      task();
    } catch (error) {
      // Bad input never stops the stream: the batch is logged and the feed goes on.
      this.#options.logger?.warn({ err: error }, 'live feed: a batch could not be applied');
    }
  }

  #emit(updates: readonly LiveUpdate[]): void {
    if (updates.length === 0) return;
    for (const listener of this.#listeners) {
      try {
        listener(updates);
      } catch (error) {
        this.#options.logger?.warn({ err: error }, 'live feed: a listener failed');
      }
    }
  }

  #points(points: readonly Point[]): void {
    this.state.applyPoints(points);
    const site = this.#options.facility.site.id;
    const seen = new Set<string>();
    const updates: LiveUpdate[] = [];
    const add = (topic: LiveTopic, id: string) => {
      const key = `${topic}:${id}`;
      if (seen.has(key)) return;
      seen.add(key);
      updates.push({ topic, id });
    };
    for (const point of points) {
      if (point.tags.site !== site) continue;
      if (point.measurement === 'meter') {
        const id = point.tags.meter ?? '';
        const scopes = this.#meterScopes.get(id);
        if (!scopes) continue;
        add('meter', id);
        for (const building of scopes.buildings) add('building', building);
        if (scopes.site) add('site', site);
      } else if (point.measurement === 'vehicle') {
        const id = point.tags.vehicle ?? '';
        if (!this.state.vehicle(id)) continue;
        add('vehicle', id);
        add('site', site);
      } else {
        const room = this.#sensorRoom.get(point.tags.sensor ?? '');
        if (room !== undefined) add('room', room);
      }
    }
    this.#emit(updates);
  }

  #rows(changes: readonly RollupChange[]): void {
    const site = this.#options.facility.site.id;
    const now = this.#now();
    const updates: LiveUpdate[] = [];
    for (const change of changes) {
      if (change.rollup !== 'meter') continue;
      // A fold usually takes in the reading already pushed, whose step the stream's tail counted:
      // today's figure stays what it was, and the meter is not pushed a second time.
      const before = round(this.state.meterToday(change.device, now), 3);
      this.state.applyMeterRows(
        change.device,
        change.from,
        change.rows,
        change.to ?? Number.POSITIVE_INFINITY,
      );
      if (round(this.state.meterToday(change.device, now), 3) === before) continue;
      updates.push({ topic: 'meter', id: change.device });
      const scopes = this.#meterScopes.get(change.device);
      for (const building of scopes?.buildings ?? []) updates.push({ topic: 'building', id: building });
      if (scopes?.site) updates.push({ topic: 'site', id: site });
    }
    this.#emit(dedupe(updates));
  }

  /** Reads today's and the last days' rows again (a process whose store another process folds). */
  async #refreshRows(): Promise<void> {
    const { store, facility } = this.#options;
    const now = this.#now();
    const from = Math.floor((now - 15 * 86_400_000) / BUCKET_MS) * BUCKET_MS;
    try {
      const series = await store.readRollups({
        kind: 'meter',
        site: facility.site.id,
        devices: this.state.meterIds,
        from,
        // Rows are never a day ahead of the clock; a bounded range is one read (core/live/load.ts).
        to: now + 86_400_000,
        fields: ['consumption', 'coveredMs', 'pending'],
      });
      const last = await store.lastRollups({
        kind: 'meter',
        site: facility.site.id,
        devices: this.state.meterIds,
        before: now + 86_400_000,
        fields: ['state'],
      });
      const states = new Map(last.map((s) => [s.device, s]));
      const changes: RollupChange[] = series.map((s) => {
        const consumption = s.values.consumption as Float64Array;
        const rows = Array.from(s.time, (time, k) => ({
          time,
          values: { consumption: consumption[k] as number },
        }));
        const state = states.get(s.device);
        const text = (state?.values.state as readonly (string | null)[] | undefined)?.[0];
        const lastRow = rows.at(-1);
        if (typeof text === 'string' && lastRow && state?.time[0] === lastRow.time) {
          rows[rows.length - 1] = { time: lastRow.time, values: { ...lastRow.values, state: text } as never };
        }
        return { kind: 'meter', device: s.device, from, rollup: 'meter', rows };
      });
      this.#rows(changes);
    } catch (error) {
      this.#options.logger?.warn(
        { err: error },
        'live feed: reading the rollups again failed; trying again later',
      );
    }
  }

  #pollIngest(): void {
    const stats = this.#options.ingestStats?.();
    if (!stats) return;
    const now = this.#now();
    const stored = stats.points?.stored ?? 0;
    const samples = this.#ingest.samples;
    samples.push([now, stored]);
    while (samples.length > 6) samples.shift();
    const first = samples[0] as [number, number];
    const rate = now > first[0] ? ((stored - first[1]) * 1000) / (now - first[0]) : 0;
    this.#ingest = { at: now, stored, rate: Math.max(0, rate), samples };
    this.#emit([{ topic: 'ingest', id: 'ingest' }]);
  }

  // ------------------------------------------------------------------------------------ events

  /** The `site` event. */
  siteEvent(now = this.#now()) {
    const state = this.state;
    const facility = this.#options.facility;
    const site = state.scope('site', facility.site.id);
    if (!site) return undefined;
    const todayKwh = state.scopeToday(site, 'electricity', now);
    const water = state.scopeToday(site, 'water', now);
    const gas = state.scopeToday(site, 'gas', now);
    const midnight = state.dayStart(now);
    const yearStart = DateTime.fromMillis(now, { zone: facility.site.timezone }).startOf('year');
    const yearMs = yearStart.plus({ years: 1 }).toMillis() - yearStart.toMillis();
    const quota = facility.quotas.find(
      (q) =>
        q.scope === 'site' &&
        q.id === facility.site.id &&
        q.kind === 'electricity' &&
        q.year === yearStart.year,
    );
    // The day's share of the annual quota, pro-rated to now (as the API pro-rates quotas).
    const todayQuotaKwh = quota ? (quota.amount * (now - midnight)) / yearMs : null;
    // Official cars' energy today counts in the site's coal, carbon and cost, as in the energy summary.
    const cars = { gasoline: 0, diesel: 0, electric: 0 };
    let carsKnown = true;
    for (const vehicle of facility.vehicles) {
      const used = state.vehicleTodayEnergy(vehicle.id, now);
      if (used === null) carsKnown = false;
      else cars[vehicle.energy] += used;
    }
    const factors = facility.factors;
    const kgce =
      (todayKwh + cars.electric) * factors.standardCoal.electricity +
      gas * factors.standardCoal.gas +
      cars.gasoline * factors.standardCoal.gasoline +
      cars.diesel * factors.standardCoal.diesel;
    const co2 =
      (todayKwh + cars.electric) * factors.co2.electricity +
      gas * factors.co2.gas +
      cars.gasoline * factors.co2.gasoline +
      cars.diesel * factors.co2.diesel;
    const at = state.scopeAt(site) ?? now;
    return {
      at: state.iso(at),
      powerKw: round(state.scopePower(site, 'electricity', now), 1),
      todayKwh: round(todayKwh, 1) ?? 0,
      todayQuotaKwh: round(todayQuotaKwh, 1),
      todayKgce: round(kgce, 1) ?? 0,
      todayCo2Kg: round(co2, 1) ?? 0,
      todayCostYuan: round(this.#costToday(now, water, gas, cars), 2),
      waterTodayM3: round(water, 2) ?? 0,
      gasTodayM3: round(gas, 2) ?? 0,
      openAlerts: this.#openAlerts,
      vehiclesKnown: carsKnown,
    };
  }

  /** Today's cost of the site's energy: electricity per 15 minutes at its time-of-use price; null when a used energy has no price. */
  #costToday(
    now: number,
    water: number,
    gas: number,
    cars: { gasoline: number; diesel: number; electric: number },
  ): number | null {
    const facility = this.#options.facility;
    const state = this.state;
    const site = state.scope('site', facility.site.id);
    if (!site) return null;
    const tariffs = facility.tariffs;
    const schedule = touSchedule(tariffs.electricity, facility.site.timezone);
    const prices = touPrices(facility);
    const midnight = state.dayStart(now);
    let cost = 0;
    let counted = 0;
    for (let t = midnight; t <= now; t += BUCKET_MS) {
      let bucket = 0;
      for (const [id, weight] of site.terms) {
        if (state.meter(id)?.kind !== 'electricity') continue;
        const value = state.meterBucket(id, t);
        if (!Number.isNaN(value)) bucket += weight * value;
      }
      counted += bucket;
      cost += bucket * prices[schedule.periodAt(t)];
    }
    const kwh = state.scopeToday(site, 'electricity', now);
    // The stream's tail after the folded rows, at the price of now.
    cost += Math.max(0, kwh - counted) * prices[schedule.periodAt(now)];
    if (kwh + cars.electric > 0 && tariffs.electricity === undefined) return null;
    cost += cars.electric * prices[schedule.periodAt(now)];
    const priced: Array<[number, { price: number } | undefined]> = [
      [water, tariffs.water],
      [gas, tariffs.gas],
      [cars.gasoline, tariffs.gasoline],
      [cars.diesel, tariffs.diesel],
    ];
    for (const [amount, tariff] of priced) {
      if (amount <= 0) continue;
      if (!tariff) return null;
      cost += amount * tariff.price;
    }
    return cost;
  }

  /** The `building` event. */
  buildingEvent(id: string, now = this.#now()) {
    const scope = this.state.scope('building', id);
    if (!scope) return undefined;
    return {
      id,
      at: this.state.iso(this.state.scopeAt(scope) ?? now),
      powerKw: round(this.state.scopePower(scope, 'electricity', now), 1),
      todayKwh: round(this.state.scopeToday(scope, 'electricity', now), 1) ?? 0,
    };
  }

  meterEvent(id: string, now = this.#now()) {
    return this.state.meterEvent(id, now);
  }

  vehicleEvent(id: string, now = this.#now()) {
    return this.state.vehicleEvent(id, now);
  }

  roomEvent(id: string, now = this.#now()) {
    return this.state.roomEvent(id, now);
  }

  /** The `ingest` event, or undefined when no ingest's counters are known here. */
  ingestEvent() {
    const stats = this.#options.ingestStats?.();
    if (!stats) return undefined;
    const problems = stats.problems ?? [];
    const degraded = stats.connected === false || problems.length > 0;
    return {
      at: this.state.iso(Number.isNaN(this.#ingest.at) ? this.#now() : this.#ingest.at),
      status: degraded ? ('degraded' as const) : ('ok' as const),
      reason: degraded ? (problems[0] ?? 'the ingest is not connected to the broker') : null,
      pointsPerSecond: round(this.#ingest.rate, 1) ?? 0,
      stored: stats.points?.stored ?? 0,
      rejected: stats.messages?.rejected ?? 0,
      spooled: stats.spooled ?? 0,
    };
  }
}

function dedupe(updates: readonly LiveUpdate[]): LiveUpdate[] {
  const seen = new Set<string>();
  return updates.filter((u) => {
    const key = `${u.topic}:${u.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
