/**
 * What each alert rule sees: pure functions from a rule, the live state (core/live/state.ts), the
 * energy figures read from the rollups on a schedule, and `now`, to one {@link Observation} per
 * subject that has data. The life cycle (how long a condition must hold, hysteresis, one open
 * alert per rule and subject) is core/alerts/lifecycle.ts's business.
 *
 * An observation's `level` is `fire` (the condition holds), `clear` (it does not, past the
 * hysteresis band) or `hold` (in the band: an open alert stays open, none fires). `since` is the
 * data time the condition has held from, when the data say it (a room empty and conditioned since
 * its first such sample); without it the engine counts from when it first saw the condition.
 *
 * Definitions:
 *
 * - **energy-quota**: a scope's (site, building, department; core/kpi/energy-scopes.ts) consumption
 *   of a kind so far today (`period: day`) or this month (rows of the month before today + today)
 *   above its annual quota of that kind and year pro-rated to now (annual × elapsed ÷ the year's
 *   length, as the API pro-rates quotas) × (1 + margin).
 * - **energy-baseline**: a scope's consumption from local midnight to the last whole 15 minutes
 *   above its baseline — the mean of the same weekday over the previous `weeks` weeks, from that
 *   day's midnight to the same time of day — × (1 + margin) and by at least `minExcessKwh`
 *   (`minExcessM3`); judged once `minElapsedHours` of the day are over.
 * - **quota-forecast**: the year-end projection of the energy summary (projectedYearEnd: measured
 *   use plus the rest of the year at the covered days' average per day type) above the annual
 *   quota × (1 + margin).
 * - **off-hours-load**: outside working time (site calendar), a building's power (its total
 *   electricity meters) above `thresholdKw` (or its own under `buildings`), or above its usual level
 *   — the median, over the previous `days` days of the same kind (worked or off), of its mean power
 *   in the same local hour — × (1 + margin) and by at least `minExcessKw`. Working time clears it.
 * - **water-leak**: a leak shows as flow that never stops. The night judged is the latest `night`
 *   window with at least `minNightHours` of it over; its lowest 15-minute flow (m³/h) above the
 *   median of the same part of the previous `nights` nights by `minExcessM3h` and by `marginPercent`
 *   fires; not above clears. So a leak is found in the night it runs through, and its end in the
 *   next night.
 * - **room-empty-conditioned**: occupancy known and 0, with the HVAC known and not off (or the
 *   lights on, when `lights`), since the first sample of the run.
 * - **room-setpoint**: HVAC `cool` with the temperature below `coolingBelowC`, or `heat` above
 *   `heatingAboveC`.
 * - **room-co2**: CO2 above `thresholdPpm`; clears at or below the threshold − `hysteresisPpm`.
 * - **vehicle-off-hours**: a car with its ignition on outside working time, having moved in that run;
 *   over once it is parked in the `compound` geofence (without one: parked anywhere) or working time
 *   begins — a stop at the trip's destination keeps it open.
 * - **vehicle-geofence**: a car's newest fix outside the geofence.
 * - **vehicle-speeding**: a car above `limitKmh`; clears at or below the limit − `hysteresisKmh`.
 * - **device-offline**: no data for `intervals` × the device's interval (a parked car's tracker
 *   reports every `parkedVehicleSeconds`).
 * - **data-quality**: more than `maxPerHour` dead-lettered messages of a device in the last hour.
 */
import { DateTime, IANAZone } from 'luxon';
import { parseClockRange } from '../facility/dates.ts';
import { type LonLat, pointInPolygon } from '../facility/geometry.ts';
import type { Facility, MeterKind, Name, QuotaKind } from '../facility/schema.ts';
import { haversineM } from '../kpi/geo.ts';
import { type Fix, type LiveScope, LiveState, type RoomMoment } from '../live/state.ts';
import { BUCKET_MS, bucketOf } from '../rollup/schema.ts';
import type { Subject } from './alert.ts';
import type { AlertRule, RuleOf } from './rules.ts';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export interface Observation {
  readonly subject: Subject;
  readonly level: 'fire' | 'hold' | 'clear';
  /** Data time the condition holds from, when the data say it. */
  readonly since?: number;
  readonly value: number | null;
  readonly threshold: number | null;
  readonly unit: string | null;
  readonly title: Name;
  readonly detail: Name;
}

/** A year-end projection of a quota (from the energy summary). */
export interface Forecast {
  readonly scope: 'site' | 'building' | 'department';
  readonly id: string;
  readonly kind: QuotaKind;
  readonly unit: string;
  readonly year: number;
  readonly annual: number;
  readonly projected: number | null;
}

/** Figures read from the rollups on a schedule (alerts/energy-figures.ts). */
export interface EnergyFigures {
  /** Scope key (`site:cd`, `building:b1`…) and kind → rows from the month's start to today's midnight. */
  readonly monthBeforeToday: ReadonlyMap<string, number>;
  /** The local midnight `monthBeforeToday` ends at. */
  readonly monthTo: number;
  /** Scope key and kind → the baseline to `baselineUpTo` and the weeks it is the mean of. */
  readonly baseline: ReadonlyMap<string, { readonly value: number; readonly weeks: number }>;
  /** The bucket edge the baseline is taken up to (its time of day on each earlier week). */
  readonly baselineUpTo: number;
  readonly forecasts: readonly Forecast[];
}

export const NO_ENERGY_FIGURES: EnergyFigures = {
  monthBeforeToday: new Map(),
  monthTo: Number.NaN,
  baseline: new Map(),
  baselineUpTo: Number.NaN,
  forecasts: [],
};

/** Key of a scope's figure of one kind in {@link EnergyFigures}. */
export function figureKey(scope: Pick<LiveScope, 'kind' | 'id'>, kind: string): string {
  return `${scope.kind}:${scope.id}:${kind}`;
}

export interface EvaluationInput {
  readonly now: number;
  readonly live: LiveState;
  readonly energy: EnergyFigures;
  /**
   * When the engine began to watch the stream: a device silent since before then is given its
   * intervals from then on before it is called offline (a restart of the platform is no outage of
   * the devices), and an alert it has open stays open meanwhile.
   */
  readonly watchingSince?: number;
}

/** The observations of one rule (none for a disabled rule). */
export function evaluateRule(rule: AlertRule, input: EvaluationInput): Observation[] {
  if (!rule.enabled) return [];
  switch (rule.type) {
    case 'energy-quota':
      return energyQuota(rule, input);
    case 'energy-baseline':
      return energyBaseline(rule, input);
    case 'quota-forecast':
      return quotaForecast(rule, input);
    case 'off-hours-load':
      return offHoursLoad(rule, input);
    case 'water-leak':
      return waterLeak(rule, input);
    case 'room-empty-conditioned':
    case 'room-setpoint':
    case 'room-co2':
      return rooms(rule, input);
    case 'vehicle-off-hours':
    case 'vehicle-geofence':
    case 'vehicle-speeding':
      return vehicles(rule, input);
    case 'device-offline':
      return deviceOffline(rule, input);
    case 'data-quality':
      return dataQuality(rule, input);
  }
}

// ------------------------------------------------------------------------------------ subjects

/** The subject of a facility entity, with its names and department. */
export function subjectOf(facility: Facility, kind: Subject['kind'], id: string): Subject {
  const named = (name: Name | undefined, department: string | null): Subject => ({
    kind,
    id,
    name: name?.zh ?? id,
    nameEn: name?.en ?? id,
    department,
  });
  switch (kind) {
    case 'site':
      return named(facility.site.name, null);
    case 'building':
      return named(facility.buildings.find((b) => b.id === id)?.name, null);
    case 'department':
      return named(facility.departments.find((d) => d.id === id)?.name, id);
    case 'meter': {
      const meter = facility.meters.find((m) => m.id === id);
      return named(meter?.name, meter?.department ?? null);
    }
    case 'vehicle': {
      const vehicle = facility.vehicles.find((v) => v.id === id);
      return named(
        vehicle ? { zh: vehicle.plate, en: vehicle.plate } : undefined,
        vehicle?.department ?? null,
      );
    }
    case 'room': {
      const room = facility.rooms.find((r) => r.id === id);
      return named(room?.name, room?.department ?? null);
    }
    case 'device': {
      const sensor = facility.sensors.find((s) => s.id === id);
      const room = facility.rooms.find((r) => r.id === sensor?.room);
      return named(
        room ? { zh: `${room.name.zh}传感器 ${id}`, en: `sensor ${id} of ${room.name.en}` } : undefined,
        room?.department ?? null,
      );
    }
  }
}

/** The subject of a device of the telemetry contract: meters and cars as such, sensors as devices. */
export function deviceSubject(facility: Facility, kind: 'meter' | 'vehicle' | 'sensor', id: string): Subject {
  return subjectOf(facility, kind === 'sensor' ? 'device' : kind, id);
}

// ------------------------------------------------------------------------------------ formatting

const zhNumber = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 2 });
const enNumber = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
function n(value: number, digits = 1): { zh: string; en: string } {
  const f = 10 ** digits;
  const v = Math.round(value * f) / f;
  return { zh: zhNumber.format(v), en: enNumber.format(v) };
}

const KIND_NAMES: Readonly<Record<string, Name>> = {
  electricity: { zh: '用电', en: 'electricity' },
  water: { zh: '用水', en: 'water' },
  gas: { zh: '用气', en: 'gas' },
  gasoline: { zh: '汽油', en: 'gasoline' },
  diesel: { zh: '柴油', en: 'diesel' },
  'standard-coal': { zh: '综合能耗', en: 'total energy' },
};
const UNIT_OF: Readonly<Record<string, string>> = {
  electricity: 'kWh',
  water: 'm³',
  gas: 'm³',
  gasoline: 'L',
  diesel: 'L',
  'standard-coal': 'kgce',
};

function levelOf(value: number, fire: number, clear: number): Observation['level'] {
  return value > fire ? 'fire' : value <= clear ? 'clear' : 'hold';
}

// ------------------------------------------------------------------------------------ energy

function localYearOf(now: number, zone: IANAZone): { year: number; start: number; end: number } {
  const local = DateTime.fromMillis(now, { zone });
  const start = local.startOf('year');
  return { year: local.year, start: start.toMillis(), end: start.plus({ years: 1 }).toMillis() };
}

function energyQuota(rule: RuleOf<'energy-quota'>, { now, live, energy }: EvaluationInput): Observation[] {
  const facility = live.facility;
  const zone = IANAZone.create(facility.site.timezone);
  const year = localYearOf(now, zone);
  const local = DateTime.fromMillis(now, { zone });
  const periodStart = (rule.period === 'day' ? local.startOf('day') : local.startOf('month')).toMillis();
  const out: Observation[] = [];
  for (const scope of live.scopes) {
    if (!(rule.scopes as readonly string[]).includes(scope.kind)) continue;
    for (const kind of rule.kinds) {
      const quota = facility.quotas.find(
        (q) => q.scope === scope.kind && q.id === scope.id && q.kind === kind && q.year === year.year,
      );
      if (!quota) continue;
      const today = live.scopeToday(scope, kind, now);
      let used = today;
      if (rule.period === 'month') {
        const before = energy.monthBeforeToday.get(figureKey(scope, kind));
        if (before === undefined || energy.monthTo !== live.dayStart(now)) continue;
        used += before;
      }
      const prorated = (quota.amount * (now - periodStart)) / (year.end - year.start);
      if (!(prorated > 0)) continue;
      const fireAt = prorated * (1 + rule.marginPercent / 100);
      const unit = UNIT_OF[kind] as string;
      const k = KIND_NAMES[kind] as Name;
      const period = rule.period === 'day' ? { zh: '今日', en: 'today' } : { zh: '本月', en: 'this month' };
      const u = n(used, 1);
      const p = n(prorated, 1);
      out.push({
        subject: subjectOf(facility, scope.kind, scope.id),
        level: levelOf(used, fireAt, fireAt * (1 - rule.hysteresisPercent / 100)),
        value: used,
        threshold: fireAt,
        unit,
        title: { zh: `${k.zh}超定额`, en: `${k.en} over quota` },
        detail: {
          zh: `${scope.name.zh}${period.zh}${k.zh} ${u.zh} ${unit}，定额按时折算 ${p.zh} ${unit}（超出 ${n((used / prorated - 1) * 100, 0).zh}%）`,
          en: `${scope.name.en}: ${k.en} ${period.en} ${u.en} ${unit}, quota pro-rated to now ${p.en} ${unit} (${n((used / prorated - 1) * 100, 0).en}% over)`,
        },
      });
    }
  }
  return out;
}

function energyBaseline(
  rule: RuleOf<'energy-baseline'>,
  { now, live, energy }: EvaluationInput,
): Observation[] {
  const facility = live.facility;
  const upTo = energy.baselineUpTo;
  const midnight = live.dayStart(now);
  // The baseline is of today, up to a bucket edge that has passed.
  if (!(upTo > midnight && upTo <= now && upTo - midnight >= rule.minElapsedHours * HOUR_MS)) return [];
  const out: Observation[] = [];
  for (const scope of live.scopes) {
    if (!(rule.scopes as readonly string[]).includes(scope.kind)) continue;
    for (const kind of rule.kinds) {
      if (![...scope.terms.keys()].some((id) => live.meter(id)?.kind === kind)) continue;
      const base = energy.baseline.get(figureKey(scope, kind));
      if (!base || base.weeks === 0) continue;
      const used = live.scopeRows(scope, kind as MeterKind, midnight, upTo);
      const minExcess = kind === 'electricity' ? rule.minExcessKwh : rule.minExcessM3;
      const fireAt = Math.max(base.value * (1 + rule.marginPercent / 100), base.value + minExcess);
      const unit = UNIT_OF[kind] as string;
      const k = KIND_NAMES[kind] as Name;
      const time = DateTime.fromMillis(upTo, { zone: facility.site.timezone }).toFormat('HH:mm');
      const percent = base.value > 0 ? n((used / base.value - 1) * 100, 0) : undefined;
      out.push({
        subject: subjectOf(facility, scope.kind, scope.id),
        level: levelOf(used, fireAt, fireAt * (1 - rule.hysteresisPercent / 100)),
        value: used,
        threshold: fireAt,
        unit,
        title: { zh: `${k.zh}高于基线`, en: `${k.en} above baseline` },
        detail: {
          zh: `${scope.name.zh}今日至 ${time} ${k.zh} ${n(used).zh} ${unit}，前 ${base.weeks} 周同日同时段平均 ${n(base.value).zh} ${unit}${percent ? `（高 ${percent.zh}%）` : ''}`,
          en: `${scope.name.en}: ${k.en} today to ${time} ${n(used).en} ${unit}, the same weekday's mean over ${base.weeks} weeks ${n(base.value).en} ${unit}${percent ? ` (${percent.en}% above)` : ''}`,
        },
      });
    }
  }
  return out;
}

function quotaForecast(rule: RuleOf<'quota-forecast'>, { live, energy }: EvaluationInput): Observation[] {
  const out: Observation[] = [];
  for (const forecast of energy.forecasts) {
    if (!(rule.scopes as readonly string[]).includes(forecast.scope)) continue;
    if (!(rule.kinds as readonly string[]).includes(forecast.kind)) continue;
    if (forecast.projected === null) continue;
    const fireAt = forecast.annual * (1 + rule.marginPercent / 100);
    const subject = subjectOf(live.facility, forecast.scope, forecast.id);
    const k = KIND_NAMES[forecast.kind] as Name;
    const over = n((forecast.projected / forecast.annual - 1) * 100, 0);
    out.push({
      subject,
      level: forecast.projected > fireAt ? 'fire' : 'clear',
      value: forecast.projected,
      threshold: fireAt,
      unit: forecast.unit,
      title: { zh: `预计全年${k.zh}超定额`, en: `${k.en} projected over the annual quota` },
      detail: {
        zh: `${subject.name}${forecast.year}年${k.zh}预计 ${n(forecast.projected, 0).zh} ${forecast.unit}，年度定额 ${n(forecast.annual, 0).zh} ${forecast.unit}（${forecast.projected >= forecast.annual ? `超出 ${over.zh}%` : `差 ${n(-(forecast.projected / forecast.annual - 1) * 100, 0).zh}%`}）`,
        en: `${subject.nameEn}: ${k.en} ${forecast.year} projected at ${n(forecast.projected, 0).en} ${forecast.unit} against an annual quota of ${n(forecast.annual, 0).en} ${forecast.unit} (${over.en}%)`,
      },
    });
  }
  return out;
}

/** Median of a list (undefined when empty). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function offHoursLoad(rule: RuleOf<'off-hours-load'>, { now, live }: EvaluationInput): Observation[] {
  const facility = live.facility;
  const calendar = live.calendar;
  const zone = IANAZone.create(facility.site.timezone);
  const out: Observation[] = [];
  const local = DateTime.fromMillis(now, { zone });
  const hourStart = local.startOf('hour');
  const worked = calendar.isWorkday(local.toISODate() as string);
  for (const scope of live.scopes) {
    if (scope.kind !== 'building') continue;
    const subject = subjectOf(facility, 'building', scope.id);
    const power = live.scopePower(scope, 'electricity', now);
    if (power === null) continue;
    if (calendar.isWorkingTime(now)) {
      out.push({
        subject,
        level: 'clear',
        value: power,
        threshold: null,
        unit: 'kW',
        title: OFF_HOURS_TITLE,
        detail: { zh: `${subject.name}工作时间`, en: `${subject.nameEn}: working time` },
      });
      continue;
    }
    // The usual level: the same local hour of the previous days of the same kind.
    const levels: number[] = [];
    for (let d = 1; d <= rule.days; d++) {
      const then = hourStart.minus({ days: d });
      if (calendar.isWorkday(then.toISODate() as string) !== worked) continue;
      const from = then.toMillis();
      const to = then.plus({ hours: 1 }).toMillis();
      let known = true;
      for (let t = from; t < to; t += BUCKET_MS) {
        for (const id of scope.terms.keys()) {
          if (live.meter(id)?.kind === 'electricity' && Number.isNaN(live.meterBucketCovered(id, t)))
            known = false;
        }
      }
      if (known) levels.push(live.scopeRows(scope, 'electricity', from, to) / ((to - from) / HOUR_MS));
    }
    const usual = levels.length >= 2 ? median(levels) : undefined;
    const thresholds: number[] = [];
    const absolute = rule.buildings[scope.id] ?? rule.thresholdKw;
    if (absolute !== null && absolute !== undefined) thresholds.push(absolute);
    if (usual !== undefined && rule.usualMarginPercent !== null) {
      thresholds.push(Math.max(usual * (1 + rule.usualMarginPercent / 100), usual + rule.minExcessKw));
    }
    if (thresholds.length === 0) continue;
    const fireAt = Math.min(...thresholds);
    const p = n(power, 0);
    out.push({
      subject,
      level: levelOf(power, fireAt, fireAt * (1 - rule.hysteresisPercent / 100)),
      value: power,
      threshold: fireAt,
      unit: 'kW',
      title: OFF_HOURS_TITLE,
      detail: {
        zh: `${subject.name}非工作时间功率 ${p.zh} kW${usual === undefined ? '' : `，通常同时段 ${n(usual, 0).zh} kW`}，阈值 ${n(fireAt, 0).zh} kW`,
        en: `${subject.nameEn}: ${p.en} kW outside working time${usual === undefined ? '' : `, usually ${n(usual, 0).en} kW at this hour`}, threshold ${n(fireAt, 0).en} kW`,
      },
    });
  }
  return out;
}
const OFF_HOURS_TITLE: Name = { zh: '非工作时间能耗过高', en: 'High load outside working hours' };

/** The latest night window `[start, end)` with at least `minMs` of it before `now`. */
export function judgedNight(
  now: number,
  night: string,
  minMs: number,
  zone: string,
): { start: number; end: number } | undefined {
  const parsed = parseClockRange(night);
  if (!parsed.ok) return undefined;
  const { start: startMin, end: endMin } = parsed.value;
  const today = DateTime.fromMillis(now, { zone }).startOf('day');
  for (let d = 0; d <= 2; d++) {
    const day = today.minus({ days: d });
    const start = day.plus({ minutes: startMin }).toMillis();
    const endDay = endMin > startMin ? day : day.plus({ days: 1 });
    const end = endDay.plus({ minutes: endMin }).toMillis();
    if (start + minMs <= now) return { start, end };
  }
  return undefined;
}

/**
 * The lowest 15-minute flow (meter unit per hour) of a meter over the whole buckets in `[from, to)`
 * whose rows are covered (core/live/state.ts meterBucketCovered); undefined when under half are.
 */
function lowestFlow(live: LiveState, id: string, from: number, to: number): number | undefined {
  let lowest = Number.POSITIVE_INFINITY;
  let known = 0;
  let all = 0;
  for (let t = bucketOf(from + BUCKET_MS - 1); t + BUCKET_MS <= to; t += BUCKET_MS) {
    all++;
    const value = live.meterBucketCovered(id, t);
    if (Number.isNaN(value)) continue;
    known++;
    lowest = Math.min(lowest, (value * HOUR_MS) / BUCKET_MS);
  }
  return all > 0 && known * 2 >= all ? lowest : undefined;
}

function waterLeak(rule: RuleOf<'water-leak'>, { now, live }: EvaluationInput): Observation[] {
  const facility = live.facility;
  const zone = facility.site.timezone;
  const window = judgedNight(now, rule.night, rule.minNightHours * HOUR_MS, zone);
  if (!window) return [];
  const end = Math.min(window.end, bucketOf(now));
  const out: Observation[] = [];
  for (const meter of facility.meters) {
    if (meter.kind !== 'water') continue;
    const lowest = lowestFlow(live, meter.id, window.start, end);
    if (lowest === undefined) continue;
    const usualNights: number[] = [];
    for (let k = 1; k <= rule.nights; k++) {
      const shift = (t: number) => DateTime.fromMillis(t, { zone }).minus({ days: k }).toMillis();
      const value = lowestFlow(live, meter.id, shift(window.start), shift(end));
      if (value !== undefined) usualNights.push(value);
    }
    const usual = median(usualNights);
    if (usual === undefined || usualNights.length < Math.min(3, rule.nights)) continue;
    const fireAt = Math.max(usual + rule.minExcessM3h, usual * (1 + rule.marginPercent / 100));
    const subject = subjectOf(facility, 'meter', meter.id);
    const building = facility.buildings.find((b) => b.id === meter.building)?.name;
    const where = {
      zh: `${building?.zh ?? meter.building}水表 ${meter.id}`,
      en: `water meter ${meter.id} of ${building?.en ?? meter.building}`,
    };
    const hours = DateTime.fromMillis(window.start, { zone }).toFormat('MM-dd HH:mm');
    out.push({
      subject,
      level: lowest > fireAt ? 'fire' : 'clear',
      since: window.start,
      value: lowest,
      threshold: fireAt,
      unit: 'm³/h',
      title: { zh: '疑似漏水：夜间持续流量', en: 'Suspected water leak: flow all night' },
      detail: {
        zh: `${where.zh}自 ${hours} 起夜间最小流量 ${n(lowest, 2).zh} m³/h，通常 ${n(usual, 2).zh} m³/h`,
        en: `${where.en}: lowest night flow since ${hours} ${n(lowest, 2).en} m³/h, usually ${n(usual, 2).en} m³/h`,
      },
    });
  }
  return out;
}

// ------------------------------------------------------------------------------------ rooms

/** The time of the first moment of the run of moments satisfying `test` that reaches the newest. */
function runStart<T extends { readonly time: number }>(
  history: readonly T[],
  test: (item: T) => boolean,
): number | undefined {
  let since: number | undefined;
  for (let k = history.length - 1; k >= 0; k--) {
    const item = history[k] as T;
    if (!test(item)) break;
    since = item.time;
  }
  return since;
}

function rooms(
  rule: RuleOf<'room-empty-conditioned'> | RuleOf<'room-setpoint'> | RuleOf<'room-co2'>,
  { now, live }: EvaluationInput,
): Observation[] {
  const facility = live.facility;
  const out: Observation[] = [];
  for (const id of live.roomIds) {
    const current = live.roomNow(id, now);
    const history = live.roomHistory(id);
    if (!current || history.length === 0) continue;
    const subject = subjectOf(facility, 'room', id);
    const room = { zh: subject.name, en: subject.nameEn };
    if (rule.type === 'room-empty-conditioned') {
      if (current.occupancy === null || (current.hvac === null && current.lights === null)) continue;
      const test = (m: RoomMoment) => LiveState.conditionedEmpty(m, rule.lights);
      const on = test(current);
      const since = on ? (runStart(history, test) ?? now) : undefined;
      const minutes = since === undefined ? 0 : (now - since) / MINUTE_MS;
      const what =
        current.hvac !== null && current.hvac !== 'off'
          ? { zh: `空调（${current.hvac}）`, en: `HVAC (${current.hvac})` }
          : { zh: '照明', en: 'lights' };
      out.push({
        subject,
        level: on ? 'fire' : 'clear',
        ...(since === undefined ? {} : { since }),
        value: on ? Math.round(minutes) : 0,
        threshold: rule.forMinutes,
        unit: 'min',
        title: { zh: '无人房间空调或照明未关', en: 'HVAC or lights on in an empty room' },
        detail: on
          ? {
              zh: `${room.zh}无人，${what.zh}已开 ${n(minutes, 0).zh} 分钟`,
              en: `${room.en}: nobody there, ${what.en} on for ${n(minutes, 0).en} min`,
            }
          : { zh: `${room.zh}已无空调或照明空开`, en: `${room.en}: nothing on in an empty room` },
      });
    } else if (rule.type === 'room-setpoint') {
      if (current.hvac === null || current.temperature === null) continue;
      const test = (m: RoomMoment) =>
        m.temperature !== null &&
        ((m.hvac === 'cool' && m.temperature < rule.coolingBelowC) ||
          (m.hvac === 'heat' && m.temperature > rule.heatingAboveC));
      const on = test(current);
      const since = on ? runStart(history, test) : undefined;
      const cooling = current.hvac === 'cool';
      out.push({
        subject,
        level: on ? 'fire' : 'clear',
        ...(since === undefined ? {} : { since }),
        value: current.temperature,
        threshold: cooling ? rule.coolingBelowC : rule.heatingAboveC,
        unit: '°C',
        title: { zh: '空调温度设置不合规', en: 'Air-conditioning set point breached' },
        detail: cooling
          ? {
              zh: `${room.zh}制冷至 ${n(current.temperature).zh} °C，低于 ${rule.coolingBelowC} °C`,
              en: `${room.en}: cooled to ${n(current.temperature).en} °C, below ${rule.coolingBelowC} °C`,
            }
          : {
              zh: `${room.zh}制热至 ${n(current.temperature).zh} °C，高于 ${rule.heatingAboveC} °C`,
              en: `${room.en}: heated to ${n(current.temperature).en} °C, above ${rule.heatingAboveC} °C`,
            },
      });
    } else {
      if (current.co2 === null) continue;
      const co2 = current.co2;
      const test = (m: RoomMoment) => m.co2 !== null && m.co2 > rule.thresholdPpm;
      const since = test(current) ? runStart(history, test) : undefined;
      out.push({
        subject,
        level: levelOf(co2, rule.thresholdPpm, rule.thresholdPpm - rule.hysteresisPpm),
        ...(since === undefined ? {} : { since }),
        value: co2,
        threshold: rule.thresholdPpm,
        unit: 'ppm',
        title: { zh: '二氧化碳浓度超标', en: 'CO2 above the limit' },
        detail: {
          zh: `${room.zh}二氧化碳 ${n(co2, 0).zh} ppm，限值 ${rule.thresholdPpm} ppm`,
          en: `${room.en}: CO2 ${n(co2, 0).en} ppm, limit ${rule.thresholdPpm} ppm`,
        },
      });
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------ vehicles

function vehicles(
  rule: RuleOf<'vehicle-off-hours'> | RuleOf<'vehicle-geofence'> | RuleOf<'vehicle-speeding'>,
  { now, live }: EvaluationInput,
): Observation[] {
  const facility = live.facility;
  const calendar = live.calendar;
  const out: Observation[] = [];
  const fence =
    rule.type === 'vehicle-geofence' ? facility.geofences.find((g) => g.id === rule.geofence) : undefined;
  const polygon = fence?.polygon.map(([lon, lat]) => [lon, lat] as LonLat);
  if (rule.type === 'vehicle-geofence' && !polygon) return [];
  const compound = facility.geofences
    .find((g) => g.id === 'compound')
    ?.polygon.map(([lon, lat]) => [lon, lat] as LonLat);
  for (const id of live.vehicleIds) {
    const fixes = live.fixes(id);
    const fix = fixes.at(-1);
    if (!fix) continue;
    const subject = subjectOf(facility, 'vehicle', id);
    const plate = subject.name;
    if (rule.type === 'vehicle-off-hours') {
      const test = (f: Fix) => f.ignition && !calendar.isWorkingTime(f.time);
      const since = test(fix) ? runStart(fixes, test) : undefined;
      const moved =
        since !== undefined && fixes.some((f) => f.time >= since && live.vehicleStateOf(f) === 'driving');
      const on = since !== undefined && moved;
      const minutes = on ? (now - since) / MINUTE_MS : 0;
      // Over when the car is back in the compound, or when working time begins; a stop elsewhere
      // (the trip's destination) is still part of the trip.
      const home = compound !== undefined && !fix.ignition && pointInPolygon([fix.lon, fix.lat], compound);
      const over = home || calendar.isWorkingTime(now) || (compound === undefined && !fix.ignition);
      out.push({
        subject,
        level: on ? 'fire' : over ? 'clear' : 'hold',
        ...(on ? { since } : {}),
        value: Math.round(minutes),
        threshold: rule.forMinutes,
        unit: 'min',
        title: { zh: '公务用车非工作时间行驶', en: 'Official car driving outside working hours' },
        detail: on
          ? {
              zh: `${plate}非工作时间出车 ${n(minutes, 0).zh} 分钟，当前 ${n(fix.speed, 0).zh} km/h`,
              en: `${plate}: on the road outside working hours for ${n(minutes, 0).en} min, now ${n(fix.speed, 0).en} km/h`,
            }
          : over
            ? {
                zh: `${plate}已回到机关或进入工作时间`,
                en: `${plate}: back at the compound, or working time`,
              }
            : { zh: `${plate}停在外面`, en: `${plate}: stopped away from the compound` },
      });
    } else if (rule.type === 'vehicle-geofence') {
      const area = polygon as LonLat[];
      const test = (f: Fix) => !pointInPolygon([f.lon, f.lat], area);
      const outside = test(fix);
      const since = outside ? runStart(fixes, test) : undefined;
      const km = haversineM(facility.site.location.lat, facility.site.location.lon, fix.lat, fix.lon) / 1000;
      const name = fence?.name ?? { zh: rule.geofence, en: rule.geofence };
      out.push({
        subject,
        level: outside ? 'fire' : 'clear',
        ...(since === undefined ? {} : { since }),
        value: Math.round(km * 10) / 10,
        threshold: null,
        unit: 'km',
        title: { zh: '公务用车驶出服务区域', en: 'Official car outside the service area' },
        detail: outside
          ? {
              zh: `${plate}在${name.zh}以外，距机关 ${n(km).zh} km`,
              en: `${plate}: outside the ${name.en}, ${n(km).en} km from the compound`,
            }
          : { zh: `${plate}已回到${name.zh}`, en: `${plate}: back inside the ${name.en}` },
      });
    } else {
      const speed = fix.ignition ? fix.speed : 0;
      const test = (f: Fix) => f.ignition && f.speed > rule.limitKmh;
      const since = test(fix) ? runStart(fixes, test) : undefined;
      const peak =
        since === undefined ? speed : Math.max(...fixes.filter((f) => f.time >= since).map((f) => f.speed));
      out.push({
        subject,
        level: levelOf(speed, rule.limitKmh, rule.limitKmh - rule.hysteresisKmh),
        ...(since === undefined ? {} : { since }),
        value: speed,
        threshold: rule.limitKmh,
        unit: 'km/h',
        title: { zh: '公务用车超速', en: 'Official car speeding' },
        detail: {
          zh: `${plate}车速 ${n(speed, 0).zh} km/h（最高 ${n(peak, 0).zh} km/h），限速 ${rule.limitKmh} km/h`,
          en: `${plate}: ${n(speed, 0).en} km/h (top ${n(peak, 0).en} km/h), limit ${rule.limitKmh} km/h`,
        },
      });
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------ devices

function deviceOffline(
  rule: RuleOf<'device-offline'>,
  { now, live, watchingSince = Number.NEGATIVE_INFINITY }: EvaluationInput,
): Observation[] {
  const facility = live.facility;
  const out: Observation[] = [];
  for (const device of live.devices()) {
    if (!(rule.kinds as readonly string[]).includes(device.kind) || device.lastSeen === null) continue;
    const interval =
      device.kind === 'vehicle' && !device.moving ? rule.parkedVehicleSeconds : device.interval;
    const limit = rule.intervals * interval * 1000;
    const silent = now - device.lastSeen;
    // Silent since before the engine watched, and not yet for its intervals since: wait, judge nothing.
    if (silent > limit && device.lastSeen < watchingSince && now - watchingSince <= limit) continue;
    const offline = silent > limit;
    const subject = deviceSubject(facility, device.kind, device.id);
    const last = DateTime.fromMillis(device.lastSeen, { zone: facility.site.timezone }).toFormat(
      'MM-dd HH:mm:ss',
    );
    out.push({
      subject,
      level: offline ? 'fire' : 'clear',
      ...(offline ? { since: device.lastSeen + limit } : {}),
      value: Math.round(silent / 6000) / 10,
      threshold: Math.round(limit / 6000) / 10,
      unit: 'min',
      title: { zh: '设备离线', en: 'Device offline' },
      detail: offline
        ? {
            zh: `${subject.name}自 ${last} 起无数据（${n(silent / MINUTE_MS).zh} 分钟，超过 ${rule.intervals} 个上报周期）`,
            en: `${subject.nameEn}: no data since ${last} (${n(silent / MINUTE_MS).en} min, over ${rule.intervals} reporting intervals)`,
          }
        : { zh: `${subject.name}数据已恢复`, en: `${subject.nameEn}: data again` },
    });
  }
  return out;
}

function dataQuality(rule: RuleOf<'data-quality'>, { now, live }: EvaluationInput): Observation[] {
  const facility = live.facility;
  const out: Observation[] = [];
  const known = new Set([
    ...facility.meters.map((m) => `meter/${m.id}`),
    ...facility.vehicles.map((v) => `vehicle/${v.id}`),
    ...facility.sensors.map((s) => `sensor/${s.id}`),
  ]);
  for (const key of known) {
    const count = live.rejectedLastHour(key, now);
    const [kind, id] = key.split('/') as ['meter' | 'vehicle' | 'sensor', string];
    const subject = deviceSubject(facility, kind, id);
    out.push({
      subject,
      level: count > rule.maxPerHour ? 'fire' : 'clear',
      value: count,
      threshold: rule.maxPerHour,
      unit: '/h',
      title: { zh: '设备数据异常', en: 'Bad data from a device' },
      detail: {
        zh: `${subject.name}近一小时 ${count} 条消息被拒收（上限 ${rule.maxPerHour}），请检查表计或网关配置`,
        en: `${subject.nameEn}: ${count} messages dead-lettered in the last hour (limit ${rule.maxPerHour}); check the meter or its gateway`,
      },
    });
  }
  return out;
}

/** Whether a local instant is in the night window (for tests and the docs). */
export function inNight(t: number, night: string, zone: string): boolean {
  const parsed = parseClockRange(night);
  if (!parsed.ok) return false;
  const local = DateTime.fromMillis(t, { zone });
  const minute = local.hour * 60 + local.minute;
  const { start, end } = parsed.value;
  return end > start ? minute >= start && minute < end : minute >= start || minute < end;
}

void DAY_MS;
