/**
 * The meter model: cumulative registers that integrate a load curve.
 *
 * A meter's load (kW, or m³/h for water and gas) is fixed at every whole local hour (an
 * "anchor") and linear in between, so the energy between any two instants is a sum of
 * trapezoids: exact, cheap, and the same whichever range is generated. An anchor is
 *
 *   own load = Σ components (scale × profile level) × day factor (±6 %) × hour jitter (±4 %)
 *              + planted faults,
 *   load     = own load + Σ loads of the sub-meters,
 *
 * so a parent always measures its children plus its own remainder, and department figures and
 * common use come out positive. The register is the meter's initial reading at the first
 * simulated day plus the energy since; a planted reset subtracts the register at the reset.
 * `power` is the load at the reading's instant with ±1.5 % measurement noise.
 */
import type { Facility, Meter } from '../core/facility/schema.ts';
import type { MeterReading } from '../core/telemetry.ts';
import type { FaultSchedule, MeterFault } from './faults.ts';
import {
  annualUnitSum,
  isHvacProfile,
  type MeterSizing,
  nightBase,
  type ProfileId,
  profileLevel,
} from './meter-profiles.ts';
import { keyOf, signed, unit } from './random.ts';
import { HOUR_MS, type LocalDay, type SiteClock } from './site-clock.ts';
import { plantLoad, type Weather } from './weather.ts';

/** Anchors per meter and day: up to 25 hours (a daylight-saving day) and the closing anchor. */
const STRIDE = 26;
const DAY_FACTOR_SPREAD = 0.06;
const HOUR_JITTER = 0.04;
const POWER_NOISE = 0.015;
/** Load of an HVAC plant left on, × its working load at that hour (at least this floor). */
const LEFT_ON_SHARE = 0.6;
const LEFT_ON_FLOOR = 0.25;
const ANCHOR_CACHE_DAYS = 16;

interface MeterState {
  readonly meter: Meter;
  readonly index: number;
  readonly components: ReadonlyArray<{ readonly profile: ProfileId; readonly scale: number }>;
  /** Sum of the scales of HVAC components: the plant's full load, kW. */
  readonly hvacScale: number;
  /** Own load at the night base, kW or m³/h (sizes the creep fault). */
  readonly nightBase: number;
  readonly children: readonly number[];
  readonly building: string;
  /** Register at the start of day 0. */
  readonly initial: number;
  readonly dayKey: number;
  readonly hourKey: number;
  readonly noiseKey: number;
  readonly electric: boolean;
  readonly intervalMs: number;
}

/** One day's anchors of every meter, and the energy since midnight at each whole hour. */
interface DayAnchors {
  readonly day: LocalDay;
  /** `anchors[m * STRIDE + k]`: load of meter m at hour k (k = day.hours is next midnight). */
  readonly anchors: Float64Array;
  /** `prefix[m * STRIDE + k]`: energy of meter m from midnight to hour k. */
  readonly prefix: Float64Array;
}

/** Registers and loads of every meter of a facility. Pure in its outputs; caches internally. */
export class MeterModel {
  readonly #clock: SiteClock;
  readonly #weather: Weather;
  readonly #faults: FaultSchedule;
  readonly #states: MeterState[];
  readonly #byId: Map<string, MeterState>;
  /** Children before parents. */
  readonly #order: number[];
  readonly #eventKeys: Map<string, number>;
  readonly #days = new Map<number, DayAnchors>();
  /** `#cumulative[d * n + m]`: energy of meter m from day 0 to the start of day d. */
  #cumulative = new Float64Array(0);
  /** Days whose start is in {@link #cumulative} (0…#knownDays). */
  #knownDays = 0;

  constructor(
    facility: Facility,
    clock: SiteClock,
    weather: Weather,
    faults: FaultSchedule,
    sizing: ReadonlyMap<string, MeterSizing>,
    seed: number,
  ) {
    this.#clock = clock;
    this.#weather = weather;
    this.#faults = faults;
    const indexOf = new Map(facility.meters.map((meter, index) => [meter.id, index]));
    this.#states = facility.meters.map((meter, index) => {
      const sized = sizing.get(meter.id);
      const components = (sized?.components ?? []).map(({ profile, annual }) => ({
        profile,
        scale: annual / annualUnitSum(profile),
      }));
      return {
        meter,
        index,
        components,
        hvacScale: components.filter((c) => isHvacProfile(c.profile)).reduce((s, c) => s + c.scale, 0),
        nightBase: components
          .filter((c) => !isHvacProfile(c.profile))
          .reduce((s, c) => s + c.scale * nightBase(c.profile), 0),
        children: facility.meters
          .filter((child) => child.parent === meter.id)
          .map((child) => indexOf.get(child.id) as number),
        building: meter.building,
        // A meter in service for 0.5–3 years before the first simulated day.
        initial: Math.round((sized?.annual ?? 0) * (0.5 + 2.5 * unit(keyOf(seed, 'initial', meter.id), 0))),
        dayKey: keyOf(seed, 'meter-day', meter.id),
        hourKey: keyOf(seed, 'meter-hour', meter.id),
        noiseKey: keyOf(seed, 'meter-noise', meter.id),
        electric: meter.kind === 'electricity',
        intervalMs: meter.interval * 1000,
      };
    });
    this.#byId = new Map(this.#states.map((state) => [state.meter.id, state]));
    this.#order = [];
    const visit = (index: number, seen: Set<number>) => {
      if (seen.has(index)) return;
      seen.add(index);
      for (const child of (this.#states[index] as MeterState).children) visit(child, seen);
      this.#order.push(index);
    };
    const seen = new Set<number>();
    for (let i = 0; i < this.#states.length; i++) visit(i, seen);
    this.#eventKeys = new Map(facility.buildings.map((b) => [b.id, keyOf(seed, 'events', b.id)]));
  }

  /** Event level of a building on a day: 0.25–1 on worked days (conference load), 0 otherwise. */
  eventLevel(building: string, day: LocalDay): number {
    if (!day.worked) return 0;
    return 0.25 + 0.75 * unit(this.#eventKeys.get(building) ?? 0, day.index);
  }

  #state(id: string): MeterState {
    const state = this.#byId.get(id);
    if (!state) throw new RangeError(`no meter "${id}" in the facility`);
    return state;
  }

  /**
   * Own load of a meter at hour `k` after the midnight of `day` (k < day.hours), faults included.
   * On a daylight-saving day the profile runs an hour off the wall clock after the change (the
   * demo's Asia/Shanghai has none).
   */
  #ownLoad(state: MeterState, day: LocalDay, k: number, faults: readonly MeterFault[]): number {
    const outdoorC = this.#weather.temperature(day, k);
    const context = { day, hour: k, outdoorC, eventLevel: this.eventLevel(state.building, day) };
    let load = 0;
    for (const component of state.components)
      load += component.scale * profileLevel(component.profile, context);
    load *= 1 + DAY_FACTOR_SPREAD * signed(state.dayKey, day.index);
    load *= 1 + HOUR_JITTER * signed(state.hourKey, day.index * 32 + k);
    if (faults.length === 0) return load;
    const t = day.start + k * HOUR_MS;
    for (const fault of faults) {
      if (fault.meter !== state.meter.id || t < fault.from || t >= fault.to) continue;
      switch (fault.kind) {
        case 'hvac-left-on': {
          const working = Math.max(plantLoad(outdoorC), LEFT_ON_FLOOR);
          load = Math.max(load, state.hvacScale * LEFT_ON_SHARE * working);
          break;
        }
        case 'base-load-creep':
          if (k < 7 || k >= 20) {
            load += (fault.amount * state.nightBase * (t - fault.from)) / (fault.to - fault.from);
          }
          break;
        case 'water-leak':
          load += fault.amount;
          break;
        default:
          break;
      }
    }
    return load;
  }

  /** Anchors of every meter on local day `index`, and the energy prefix sums. */
  #dayAnchors(index: number): DayAnchors {
    const cached = this.#days.get(index);
    if (cached) return cached;
    const day = this.#clock.day(index);
    const next = this.#clock.day(index + 1);
    const faults = this.#faults
      .meterFaults(day.start, next.start + HOUR_MS)
      .filter((f) => f.kind !== 'meter-reset' && f.kind !== 'meter-silent');
    const n = this.#states.length;
    const anchors = new Float64Array(n * STRIDE);
    const prefix = new Float64Array(n * STRIDE);
    for (let k = 0; k <= day.hours; k++) {
      const [d, h] = k === day.hours ? [next, 0] : [day, k];
      for (const m of this.#order) {
        const state = this.#states[m] as MeterState;
        let load = this.#ownLoad(state, d, h, faults);
        for (const child of state.children) load += anchors[child * STRIDE + k] as number;
        anchors[m * STRIDE + k] = load;
      }
    }
    for (let m = 0; m < n; m++) {
      const base = m * STRIDE;
      for (let k = 1; k <= day.hours; k++) {
        prefix[base + k] =
          (prefix[base + k - 1] as number) +
          ((anchors[base + k - 1] as number) + (anchors[base + k] as number)) / 2;
      }
    }
    const result = { day, anchors, prefix };
    if (this.#days.size >= ANCHOR_CACHE_DAYS) {
      const oldest = this.#days.keys().next().value as number;
      this.#days.delete(oldest);
    }
    this.#days.set(index, result);
    return result;
  }

  /** Energy of meter `m` from day 0 to the start of day `index`. */
  #energyBefore(m: number, index: number): number {
    const n = this.#states.length;
    if (this.#cumulative.length < (index + 1) * n) {
      const grown = new Float64Array(Math.max((index + 1) * n, this.#cumulative.length * 2));
      grown.set(this.#cumulative);
      this.#cumulative = grown;
    }
    if (index > this.#knownDays) {
      for (let d = this.#knownDays; d < index; d++) {
        const { day, prefix } = this.#dayAnchors(d);
        for (let i = 0; i < n; i++) {
          this.#cumulative[(d + 1) * n + i] =
            (this.#cumulative[d * n + i] as number) + (prefix[i * STRIDE + day.hours] as number);
        }
      }
      this.#knownDays = index;
    }
    return this.#cumulative[index * n + m] as number;
  }

  /** Energy of meter `m` from the start of its day to `t`, with the day's anchors. */
  #energyInDay(m: number, anchors: DayAnchors, t: number): number {
    const x = (t - anchors.day.start) / HOUR_MS;
    const k = Math.min(Math.floor(x), anchors.day.hours - 1);
    const f = x - k;
    const base = m * STRIDE + k;
    const a = anchors.anchors[base] as number;
    const b = anchors.anchors[base + 1] as number;
    return (anchors.prefix[base] as number) + a * f + ((b - a) * f * f) / 2;
  }

  /** Load of meter `m` at `t`, kW or m³/h. */
  #loadAt(m: number, anchors: DayAnchors, t: number): number {
    const x = (t - anchors.day.start) / HOUR_MS;
    const k = Math.min(Math.floor(x), anchors.day.hours - 1);
    const f = x - k;
    const base = m * STRIDE + k;
    const a = anchors.anchors[base] as number;
    return a + ((anchors.anchors[base + 1] as number) - a) * f;
  }

  /** True register of a meter at `t` (no reset), in its unit. */
  #register(state: MeterState, t: number): number {
    const index = this.#clock.dayIndexOf(t);
    return (
      state.initial +
      this.#energyBefore(state.index, index) +
      this.#energyInDay(state.index, this.#dayAnchors(index), t)
    );
  }

  /**
   * What meter `id` really consumed in `[from, to)`, kWh or m³: the increase of its register with
   * no reset and no gap. For tests and for checking KPIs against the truth.
   */
  energy(id: string, from: number, to: number): number {
    const state = this.#state(id);
    this.#clock.assertSimulated(from, 'meter energy');
    return this.#register(state, to) - this.#register(state, from);
  }

  /** Load of meter `id` at `t`, kW (electricity) or m³/h, without measurement noise. */
  load(id: string, t: number): number {
    const state = this.#state(id);
    this.#clock.assertSimulated(t, 'meter load');
    return this.#loadAt(state.index, this.#dayAnchors(this.#clock.dayIndexOf(t)), t);
  }

  /**
   * Readings of meter `id` with `ts` in `[from, to)`, on its interval grid (multiples of
   * `interval` seconds since 1970), ascending; none while a planted silence lasts. `ts` is epoch
   * ms; `total` has 3 decimals, `power` (electricity) 2.
   */
  readings(id: string, from: number, to: number): MeterReading[] {
    const state = this.#state(id);
    this.#clock.assertSimulated(from, `readings of ${id}`);
    const out: MeterReading[] = [];
    const step = state.intervalMs;
    let t = Math.ceil(from / step) * step;
    if (t >= to) return out;
    const faults = this.#faults.meterFaults(from, to).filter((f) => f.meter === id);
    const silences = faults.filter((f) => f.kind === 'meter-silent');
    const resets = this.#faults.resetsUpTo(id, to - 1);
    let resetIndex = resets.filter((at) => at <= t).length;
    let offset = resetIndex > 0 ? this.#register(state, resets[resetIndex - 1] as number) : 0;
    let dayIndex = this.#clock.dayIndexOf(t);
    let anchors = this.#dayAnchors(dayIndex);
    let before = state.initial + this.#energyBefore(state.index, dayIndex);
    for (; t < to; t += step) {
      while (t >= anchors.day.end) {
        dayIndex++;
        anchors = this.#dayAnchors(dayIndex);
        before = state.initial + this.#energyBefore(state.index, dayIndex);
      }
      while (resetIndex < resets.length && (resets[resetIndex] as number) <= t) {
        offset = this.#register(state, resets[resetIndex] as number);
        resetIndex++;
      }
      if (silences.some((s) => t >= s.from && t < s.to)) continue;
      const register = before + this.#energyInDay(state.index, anchors, t);
      const total = Math.round((register - offset) * 1000) / 1000;
      if (state.electric) {
        const noise = 1 + POWER_NOISE * signed(state.noiseKey, t / step);
        const power = Math.round(Math.max(0, this.#loadAt(state.index, anchors, t) * noise) * 100) / 100;
        out.push({ ts: t, total, power });
      } else {
        out.push({ ts: t, total });
      }
    }
    return out;
  }
}
