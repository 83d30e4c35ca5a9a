/**
 * Energy figures (docs/architecture.md "KPI definitions"; issues "Efficiency engine" and 9, "Figures")
 * as pure functions of per-interval consumption: what core/kpi/data.ts answers
 * for the edges of an {@link EnergyTimeline}, and what `vehicleEnergyIntervals` answers for the
 * official cars. Nothing here reads a store or a clock.
 *
 * **Inputs are taken as they come and never trusted.** Per meter and interval the store gives a
 * consumption and a covered time; a consumption that is not a finite number makes the interval
 * count as not covered (0, nothing known), and a covered time is kept inside [0, interval length].
 * Every figure is a finite number or `null` with its reason in the `nulls` map beside it
 * ({@link NullReason}): a result beyond the range of numbers (data of 1e308 kWh) is `null`,
 * `not-finite`, never Infinity or NaN.
 *
 * **Sources.** An item is a linear combination of sources (energy-scopes.ts): meters (kWh of
 * electricity, m³ of water and gas) and, for the site and departments, official cars (litres of
 * gasoline and diesel, kWh of electric cars, from their fuel counters).
 *
 * **Measured, covered, known.** A meter's *covered* time is where its readings are close enough
 * (core/register.ts); between two readings further apart the register still proves the total
 * consumed, but not when. An interval *shows data* when it has covered time or such proven
 * consumption. A meter's *known span* in a window runs from the first to the last interval that
 * shows data: inside it consumption is known in total (gaps bridged), every interval counts
 * whole, except the two end intervals, which count their covered time (whole when they have
 * none); before and after it nothing is known. A car's counter loses nothing between its
 * readings, so a car is known from the first to the last interval where it reported. Figures
 * over time never read what is not known as zero:
 * - *estimate over covered time* of a source over a window = its consumption in its known span ×
 *   the window's length ÷ the known span's length (exact when the window is known throughout);
 *   an item's = Σ weight × the sources' estimates, `null` (`meter-without-data`) when a source
 *   with a weight has no known span there, (`no-data`) when none has.
 *
 * Definitions (those the issues leave open are marked *chosen*):
 * - **Measured period** `[from, measuredTo)`: the requested period up to now (the service sets
 *   `measuredTo` = min(to, now)); the figures are measured over it, the answer says both.
 * - **Consumption** of an item per kind: Σ weight × meter consumption over the measured period,
 *   kWh (electricity) or m³ (water, gas): what was measured, with `coverage` saying how much of
 *   the period that is. `null` when the item has no meter of the kind (`not-metered`) or none of
 *   them shows data in the period (`no-data`); for a department (an allocation, weights other
 *   than 1) also when one of the meters it is split from shows none (`meter-without-data`): a
 *   silent department meter would otherwise pass its use to every department's common share.
 * - **kgce, CO2**: electricity × factor + gas × factor (the facility's `factors`) + the official
 *   cars' (`vehicles` line); water is not converted. Parts that are null are left out (the
 *   consumption figures and coverage say so); null only when every part is.
 * - **Vehicles** (site and departments): the cars' litres by fuel and kWh of electric cars in the
 *   period (null without a car of that energy: `no-vehicle`); kgce and CO2 with the gasoline,
 *   diesel and electricity factors of the facility; cost = litres × the fuel's price, and each
 *   kWh at the time-of-use price of the interval its counter rose in. `reporting` counts the
 *   cars that reported their counter in the period. Cars join kgce, CO2 and cost of the item
 *   (public-institution energy statistics count official cars' fuel in a compound's energy), not
 *   electricityKwh, which is the buildings' meters only (*chosen*: chargers are assumed not to be
 *   behind a building meter; were they, their kWh would be counted twice).
 * - **Cost**: electricity per interval × the price of its time-of-use period (so a day splits
 *   exactly across periods); water and gas × their unit price; the cars'. An energy used without
 *   a price in the tariffs makes the cost `null` (`no-price`): a partial cost is not a cost.
 * - **Intensities**: ÷ the item's floor area (m²; for a department its own area plus its share of
 *   common area, energy-scopes.ts) or headcount; `null` without one.
 * - **Off-hours share**: electricity measured in intervals outside working time ÷ all electricity
 *   measured (0–1), a share of what was measured; `null` when no electricity (`no-electricity`).
 * - **Coverage**: Σ covered ms of every meter behind the item ÷ (number of meters × period ms),
 *   in %: the time-weighted mean coverage of those meters (0 for an item without meters).
 *   `coverageByKind` is the same per kind.
 * - **Quota** (*chosen* details): for each annual quota of the item's scope (electricity, water,
 *   gas, gasoline, diesel, standard coal = kgce of meters and cars) whose year overlaps the
 *   measured period: `amount` = annual × (time of the measured period inside that local calendar
 *   year ÷ the year's length), i.e. days ÷ 365 (366); `used` the consumption measured there;
 *   `usedPercent` = the item's estimate over covered time of that part ÷ amount × 100 (equal to
 *   used ÷ amount when it is fully covered: missing days are neither zero nor charged).
 *   Year-to-date runs from the local 1 January to `asOf` = the measured end or the year's end:
 *   `usedToDate` is measured, `coverage` its % with data (the mean over the quota's sources of
 *   the meters' covered time and the cars' known span; `periodCoverage` the same of the part),
 *   `basis` `measured` when every source is known throughout it, else `partial`. **Projection** = Σ over sources of weight × (its use in
 *   its known span + for each day type — working days and non-working days of the facility
 *   calendar — its average per ms of that type's known time × the time of that type in the
 *   year not known: the days not measured so far and the days still to come). A source with no
 *   known time of a day type the rest of the year still has makes it `null`
 *   (`day-type-not-covered`). For a year already over it fills the gaps only.
 * - **Standard** (GB/T 51161, *chosen* for sites and departments): values of the buildings behind
 *   the item (energy-standard.ts); a site compares the electricity of its office buildings that
 *   have values over their floor area with their area-weighted values (other buildings are left
 *   out of both sides); a department only when all its spaces are in such buildings, over its
 *   area (own + common share), values weighted by that area in each. Rated only over 12
 *   consecutive months (from the 1st of a month) that are over, with coverage ≥ 90 %:
 *   `annualisedKwhPerM2` = the year's estimate over covered time ÷ area (`measured-year`);
 *   corrected for hours of use, × γ = 0.3 + 0.7 × 2500 ÷ T, T = working hours of the facility
 *   calendar over those 12 months; the corrected value is rated. Any other period gets an
 *   estimate and no rating: `last-year-profile` = this period's estimate × the 12 months before
 *   `from` ÷ the same part of the period a year earlier (both ≥ 90 % covered and the latter > 0;
 *   those 12 months hold last year's same part for any period up to a year), else `days` = × 365
 *   days ÷ the measured period's days. (Degree days need a weather source the product does not
 *   have yet.)
 * - **Comparisons** (环比 `previous`, 同比 `lastYear`; calendar-periods.ts picks the periods and
 *   the same elapsed part): the compared part's consumption and kgce, both sides' coverage of the
 *   meters behind kgce; `changePercent` = (current − compared) ÷ compared × 100 of the two kgce
 *   estimates over covered time, `null` when either side is under 90 % covered or the compared
 *   side is 0.
 * - **Rounding** (*chosen*): figures are kept exact until the item is built, then rounded:
 *   quantities (kWh, m³, L, kgce, kg) to 3 decimals, money to 2, per-m² and per-person figures and
 *   shares to 4, percentages, coverage, hours and γ to 2 (γ to 4).
 */
import { DateTime, IANAZone } from 'luxon';
import type { WorkCalendar } from '../facility/calendar.ts';
import {
  type Facility,
  type MeterKind,
  type QuotaKind,
  type TouPeriod,
  UNITS,
  type VehicleEnergy,
} from '../facility/schema.ts';
import type { MeterQuality } from '../rollup/query.ts';
import { dayTypeMs, isTwelveMonths } from './calendar-periods.ts';
import { calendarOf, isoAt, round } from './common.ts';
import type { EnergyScopeDef, StandardSpec, Terms } from './energy-scopes.ts';
import { GBT_51161_SOURCE, hoursOfUseCorrection, rateIntensity } from './energy-standard.ts';
import type { EnergyTimeline, TimelineInterval } from './energy-timeline.ts';
import { qualityOf } from './quality.ts';
import { ALL_TOU_PERIODS } from './tou-schedule.ts';
import type {
  EnergyItem,
  NullReason,
  Nulls,
  PreviousFigure,
  QuotaFigure,
  StandardFigure,
  VehicleEnergyFigure,
} from './types.ts';
import type { VehicleData, VehicleIntervals } from './vehicle-energy.ts';

export const ENERGY_KINDS = ['electricity', 'water', 'gas'] as const satisfies readonly MeterKind[];

/** Per-interval figures of one meter: consumption (meter unit) and covered ms per interval. */
export interface MeterIntervals {
  readonly consumption: readonly number[];
  readonly coveredMs: readonly number[];
}

/** Per meter id; a meter missing from it had no readings. */
export type MeterData = ReadonlyMap<string, MeterIntervals>;

/** What a source measures: a meter kind, or a car's energy. */
export type Carrier = MeterKind | VehicleEnergy;

/** One term of an item, its data cleaned (see "Inputs" in the module comment). */
export interface Source {
  readonly id: string;
  readonly carrier: Carrier;
  readonly weight: number;
  /** A car's fuel counter (known wherever read) rather than a meter. */
  readonly vehicle: boolean;
  /** Per interval: consumption in the carrier's unit, and covered ms (in [0, interval length]). */
  readonly consumption: Float64Array;
  readonly covered: Float64Array;
}

/** A figure on its way: a finite number, or why there is none. */
type Fig = number | NullReason;

const isNumber = (f: Fig): f is number => typeof f === 'number';
const finite = (value: number): Fig => (Number.isFinite(value) ? value : 'not-finite');

/** A value with its null reason written into `nulls` under `field`. */
function out(nulls: Record<string, NullReason>, field: string, f: Fig): number | null {
  if (isNumber(f)) return f;
  nulls[field] = f;
  return null;
}

/** Which reason of several wins when none of the parts gives a number. */
const REASON_ORDER: readonly NullReason[] = [
  'not-finite',
  'no-price',
  'meter-without-data',
  'day-type-not-covered',
  'no-data',
  'not-metered',
  'no-vehicle',
];

function strongest(reasons: readonly NullReason[]): NullReason {
  for (const reason of REASON_ORDER) if (reasons.includes(reason)) return reason;
  return reasons[0] ?? 'no-data';
}

/**
 * Σ of parts. A part whose reason is in `poison` makes the sum that reason; other null parts are
 * left out; a sum without any number is the strongest reason of its parts.
 */
function sumParts(parts: readonly Fig[], poison: readonly NullReason[] = ['not-finite']): Fig {
  const reasons = parts.filter((p): p is NullReason => !isNumber(p));
  const bad = reasons.find((r) => poison.includes(r));
  if (bad) return bad;
  const numbers = parts.filter(isNumber);
  if (numbers.length === 0) return strongest(reasons);
  return finite(numbers.reduce((sum, p) => sum + p, 0));
}

function times(f: Fig, factor: number): Fig {
  return isNumber(f) ? finite(f * factor) : f;
}

function divide(f: Fig, denominator: number | null, missing: NullReason): Fig {
  if (!isNumber(f)) return f;
  if (denominator === null || !(denominator > 0)) return missing;
  return finite(f / denominator);
}

// ------------------------------------------------------------------ sources

/**
 * Lengths of the intervals between consecutive edges. One array per edges array, so that what is
 * computed per source and spans (below) is computed once for every item of a request.
 */
const spansByEdges = new WeakMap<readonly number[], readonly number[]>();

function spansOf(edges: readonly number[]): readonly number[] {
  let spans = spansByEdges.get(edges);
  if (!spans) {
    spans = edges.slice(1).map((end, i) => end - (edges[i] as number));
    spansByEdges.set(edges, spans);
  }
  return spans;
}

type Series = { readonly consumption: Float64Array; readonly covered: Float64Array };

/**
 * The cleaned series of a meter's (or a car's) data for a spans array: every item of a request
 * (a department summary has 16) reads the same meters over the same intervals. Read-only.
 */
const cleaned = new WeakMap<object, { spans: readonly number[]; read: unknown; series: Series }>();

function cleanedOnce(data: object, spans: readonly number[], read: unknown, clean: () => Series): Series {
  const known = cleaned.get(data);
  if (known && known.spans === spans && known.read === read) return known.series;
  const series = clean();
  cleaned.set(data, { spans, read, series });
  return series;
}

/** Meter data cleaned for `spans` (interval lengths): see "Inputs" in the module comment. */
function cleanSeries(series: MeterIntervals | undefined, spans: readonly number[]): Series {
  if (series) return cleanedOnce(series, spans, undefined, () => cleanMeterSeries(series, spans));
  return cleanMeterSeries(undefined, spans);
}

function cleanMeterSeries(series: MeterIntervals | undefined, spans: readonly number[]): Series {
  const n = spans.length;
  const consumption = new Float64Array(n);
  const covered = new Float64Array(n);
  if (!series) return { consumption, covered };
  for (let i = 0; i < n; i++) {
    const value = Number(series.consumption[i] ?? 0);
    if (!Number.isFinite(value)) continue;
    const ms = Number(series.coveredMs[i] ?? 0);
    consumption[i] = value;
    covered[i] = Number.isFinite(ms) ? Math.min(Math.max(ms, 0), spans[i] as number) : 0;
  }
  return { consumption, covered };
}

/**
 * A car's data as a source: its counter's rises per interval, and as covered time the whole of
 * every interval from the first to the last one where it reported the counter (a counter loses
 * nothing between its readings; before the first and after the last nothing is known yet).
 */
function vehicleSeries(
  read: VehicleIntervals | undefined,
  spans: readonly number[],
  wasRead: (i: number) => boolean,
): Series {
  if (read) return cleanedOnce(read, spans, wasRead, () => cleanVehicleSeries(read, spans, wasRead));
  return cleanVehicleSeries(undefined, spans, wasRead);
}

function cleanVehicleSeries(
  read: VehicleIntervals | undefined,
  spans: readonly number[],
  wasRead: (i: number) => boolean,
): Series {
  const n = spans.length;
  const consumption = new Float64Array(n);
  const covered = new Float64Array(n);
  if (!read) return { consumption, covered };
  let first = -1;
  let last = -1;
  for (let i = 0; i < n; i++) {
    if (!wasRead(i)) continue;
    const value = Number(read.energy[i] ?? 0);
    consumption[i] = Number.isFinite(value) ? value : 0;
    if (Number(read.readings[i] ?? 0) > 0) {
      if (first < 0) first = i;
      last = i;
    }
  }
  for (let i = Math.max(first, 0); first >= 0 && i <= last; i++)
    if (wasRead(i)) covered[i] = spans[i] as number;
  return { consumption, covered };
}

/** What building sources of an item (or a standard spec) and their cars are built from. */
export interface SourceInput {
  readonly facility: Pick<Facility, 'meters' | 'vehicles'>;
  readonly spans: readonly number[];
  readonly data: MeterData;
  readonly vehicles?: VehicleData | undefined;
  /** Whether the cars were read for interval `i` (default: every interval). */
  readonly vehiclesRead?: (i: number) => boolean;
}

const everyInterval = () => true;

/** The sources of `terms` (meters) and `vehicles` (cars), each with a non-zero weight. */
export function sourcesOf(terms: Terms, vehicles: readonly string[], input: SourceInput): Source[] {
  const kinds = new Map(input.facility.meters.map((m) => [m.id, m.kind]));
  const energies = new Map(input.facility.vehicles.map((v) => [v.id, v.energy]));
  const out: Source[] = [];
  for (const [id, weight] of terms) {
    const carrier = kinds.get(id);
    if (carrier === undefined || weight === 0 || !Number.isFinite(weight)) continue;
    out.push({ id, carrier, weight, vehicle: false, ...cleanSeries(input.data.get(id), input.spans) });
  }
  for (const id of vehicles) {
    const carrier = energies.get(id);
    if (carrier === undefined) continue;
    const series = vehicleSeries(input.vehicles?.get(id), input.spans, input.vehiclesRead ?? everyInterval);
    out.push({ id, carrier, weight: 1, vehicle: true, ...series });
  }
  return out;
}

const sumOver = (values: Float64Array, indices: readonly number[]) => {
  let sum = 0;
  for (const i of indices) sum += values[i] as number;
  return sum;
};

/**
 * A source's known span over `indices` (ascending, one contiguous window): consumption and known
 * ms, per group `group(i)` (0 or 1; e.g. the day type), see the module comment.
 */
function knownOf(
  source: Source,
  indices: readonly number[],
  spans: readonly number[],
  /** Split by day type: group 0 the intervals of working days, 1 the others. */
  dayTypes?: readonly TimelineInterval[],
): Known {
  // Once per source series, window and grouping: the items of a request share their meters.
  let known = knownSpans.get(source.consumption);
  if (!known) {
    known = [];
    knownSpans.set(source.consumption, known);
  }
  for (const k of known) {
    if (k.indices === indices && k.spans === spans && k.dayTypes === dayTypes && k.covered === source.covered)
      return k.result;
  }
  const group = dayTypes ? (i: number) => (dayTypes[i]?.workday ? 0 : 1) : () => 0 as const;
  const result = computeKnown(source, indices, spans, group);
  known.push({ indices, spans, dayTypes, covered: source.covered, result });
  return result;
}

/** What knownOf answers: read-only. */
interface Known {
  readonly used: readonly [number, number];
  readonly known: readonly [number, number];
}

const knownSpans = new WeakMap<
  Float64Array,
  Array<{
    indices: readonly number[];
    spans: readonly number[];
    dayTypes: readonly TimelineInterval[] | undefined;
    covered: Float64Array;
    result: Known;
  }>
>();

function computeKnown(
  source: Source,
  indices: readonly number[],
  spans: readonly number[],
  group: (i: number) => 0 | 1,
): Known {
  const used: [number, number] = [0, 0];
  const known: [number, number] = [0, 0];
  let first = -1;
  let last = -1;
  for (const i of indices) {
    if (showsData(source, i)) {
      if (first < 0) first = i;
      last = i;
    }
  }
  if (first < 0) return { used, known };
  for (const i of indices) {
    if (i < first || i > last) continue;
    const g = group(i);
    const covered = source.covered[i] as number;
    used[g] += source.consumption[i] as number;
    // Inside the span every interval is known (gaps bridged); at its two ends, the covered time
    // (or all of it when only bridged consumption shows there).
    known[g] += (i === first || i === last) && covered > 0 ? covered : (spans[i] as number);
  }
  return { used, known };
}

/**
 * Whether interval `i` of a source shows data: covered time, or consumption the register proves
 * across a gap (readings on both sides, not close enough to count as covered).
 */
function showsData(source: Source, i: number): boolean {
  return (source.covered[i] as number) > 0 || (source.consumption[i] as number) !== 0;
}

/** A source's estimate over covered time of the window `indices` (module comment). */
function estimateOf(source: Source, indices: readonly number[], spans: readonly number[]): Fig {
  let span = 0;
  for (const i of indices) span += spans[i] as number;
  if (span <= 0) return 0;
  const { used, known } = knownOf(source, indices, spans);
  const k = known[0];
  if (!(k > 0)) return 'meter-without-data';
  return finite(k >= span ? used[0] : (used[0] * span) / k);
}

/**
 * Σ weight × factor × `each(source)` over the sources with a factor; `no-data` when every source
 * lacks data, else the first failure's reason.
 */
function combineSources(
  sources: readonly Source[],
  factor: (carrier: Carrier) => number,
  each: (source: Source) => Fig,
): Fig {
  const parts: Fig[] = [];
  for (const source of sources) {
    const f = factor(source.carrier);
    if (f === 0) continue;
    parts.push(times(each(source), source.weight * f));
  }
  if (parts.length === 0) return 'not-metered';
  if (parts.every((p) => p === 'meter-without-data')) return 'no-data';
  const failed = parts.find((p) => !isNumber(p));
  if (failed !== undefined) return failed;
  return finite((parts as number[]).reduce((sum, p) => sum + p, 0));
}

/**
 * Measured consumption of the sources of `carrier` over `indices`: `not-metered` (or
 * `no-vehicle`) without any, `no-data` when no meter among them has covered time there.
 */
function measured(sources: readonly Source[], carrier: Carrier, indices: readonly number[]): Fig {
  const own = sources.filter((s) => s.carrier === carrier);
  if (own.length === 0) return isVehicleEnergy(carrier) ? 'no-vehicle' : 'not-metered';
  if (!own.some((s) => indices.some((i) => showsData(s, i)))) return 'no-data';
  if (unallocatable(own, indices)) return 'meter-without-data';
  return finite(own.reduce((sum, s) => sum + s.weight * sumOver(s.consumption, indices), 0));
}

/**
 * An allocation (a department: weights other than 1, common use = mains − department meters)
 * cannot be split when one of its meters shows no data at all: a silent department meter would
 * pass its use to the common share of every department.
 */
function unallocatable(sources: readonly Source[], indices: readonly number[]): boolean {
  return sources.some((s) => s.weight !== 1) && sources.some((s) => !indices.some((i) => showsData(s, i)));
}

const isVehicleEnergy = (carrier: Carrier): carrier is VehicleEnergy =>
  carrier === 'gasoline' || carrier === 'diesel' || carrier === 'electric';

/**
 * Time-weighted mean coverage (%) of the meters among `sources` over `indices`; `vehiclesOnly`
 * (default 0) when there is no meter among them.
 */
function meterCoverage(
  sources: readonly Source[],
  indices: readonly number[],
  spans: readonly number[],
  vehiclesOnly = 0,
): number {
  const meters = new Map<string, Source>();
  for (const s of sources) if (!s.vehicle) meters.set(s.id, s);
  let span = 0;
  for (const i of indices) span += spans[i] as number;
  if (meters.size === 0) return sources.length > 0 ? vehiclesOnly : 0;
  if (span <= 0) return 0;
  let covered = 0;
  for (const s of meters.values()) covered += sumOver(s.covered, indices);
  return Math.min(100, (covered / (meters.size * span)) * 100);
}

/** Time-weighted mean coverage (%) of every source (meters' covered time, cars' known span). */
function sourceCoverage(
  sources: readonly Source[],
  indices: readonly number[],
  spans: readonly number[],
): number {
  let span = 0;
  for (const i of indices) span += spans[i] as number;
  if (sources.length === 0 || span <= 0) return 0;
  let covered = 0;
  for (const s of sources) covered += sumOver(s.covered, indices);
  return Math.min(100, (covered / (sources.length * span)) * 100);
}

// ------------------------------------------------------------------ helpers kept for the tests

/** Electricity prices by period (flat for a period the tariff prices not); null without a tariff. */
export type TouPrices = Readonly<Record<TouPeriod, number>>;

export function touPrices(facility: Pick<Facility, 'tariffs'>): TouPrices {
  const prices = facility.tariffs.electricity?.prices;
  const flat = prices?.flat ?? 0;
  return {
    flat,
    peak: prices?.peak ?? flat,
    valley: prices?.valley ?? flat,
    sharp: prices?.sharp ?? prices?.peak ?? flat,
  };
}

/** Electricity of the period split by time-of-use period, kWh and cost; periods not used are left out. */
export function touSplit(
  electricity: ArrayLike<number>,
  intervals: readonly TimelineInterval[],
  prices: TouPrices,
): Record<string, { kwh: number; costCny: number }> {
  const split: Record<string, { kwh: number; costCny: number }> = {};
  for (const period of ALL_TOU_PERIODS) {
    let kwh = 0;
    let used = false;
    intervals.forEach((interval, i) => {
      if (interval.inPeriod && interval.tou === period) {
        used = true;
        kwh += electricity[i] ?? 0;
      }
    });
    if (used) split[period] = { kwh, costCny: kwh * prices[period] };
  }
  return split;
}

/** Electricity outside working time ÷ all electricity of the period (0–1); null when none was used. */
export function offHoursShare(
  electricity: ArrayLike<number>,
  intervals: readonly TimelineInterval[],
): number | null {
  let all = 0;
  let off = 0;
  intervals.forEach((interval, i) => {
    if (!interval.inPeriod) return;
    all += electricity[i] ?? 0;
    if (!interval.working) off += electricity[i] ?? 0;
  });
  if (all === 0 || !Number.isFinite(all) || !Number.isFinite(off)) return null;
  return off / all;
}

/** [start, end) of a local calendar year, epoch ms. */
export function localYear(year: number, timezone: string): { start: number; end: number } {
  const zone = IANAZone.create(timezone);
  const start = DateTime.fromObject({ year, month: 1, day: 1 }, { zone });
  return { start: start.toMillis(), end: start.plus({ years: 1 }).toMillis() };
}

/**
 * Edges a quota figure needs before and inside the measured period `[from, to)`: the local
 * 1 January of every year it touches (year-to-date starts there).
 */
export function quotaLeadEdges(from: number, to: number, timezone: string): number[] {
  const edges: number[] = [];
  let year = DateTime.fromMillis(from, { zone: IANAZone.create(timezone) }).year;
  for (let y = localYear(year, timezone); y.start < to; y = localYear(++year, timezone)) edges.push(y.start);
  return edges;
}

/** The annual amount pro-rated to the part of [from, to) inside the year: annual × overlap ÷ year length. */
export function prorate(
  annual: number,
  from: number,
  to: number,
  year: { start: number; end: number },
): number {
  const overlap = Math.max(0, Math.min(to, year.end) - Math.max(from, year.start));
  return (annual * overlap) / (year.end - year.start);
}

// ------------------------------------------------------------------ the item

const QUOTA_KINDS_HERE: readonly QuotaKind[] = [
  'electricity',
  'water',
  'gas',
  'gasoline',
  'diesel',
  'standard-coal',
];

/** A compared window of the comparison data: `[from, to)` requested, measured to `measuredTo`. */
export interface ComparedWindow {
  readonly from: number;
  readonly to: number;
  readonly measuredTo: number;
  /** The cars' energy over `[from, measuredTo)` (one interval), when cars matter. */
  readonly vehicles?: VehicleData;
}

/** Per-meter data of the periods compared with, cut at `edges` (one store call for them all). */
export interface ComparisonInput {
  readonly edges: readonly number[];
  readonly data: MeterData;
  readonly previous: ComparedWindow;
  readonly lastYear: ComparedWindow;
  /** The twelve months before `from`, for the `last-year-profile` annualisation. */
  readonly twelveMonths?: { readonly from: number; readonly to: number };
}

/** Everything an item's figures are computed from. */
export interface EnergyItemInput {
  readonly facility: Facility;
  /** The facility's calendar (default: built from the facility). */
  readonly calendar?: WorkCalendar;
  readonly timeline: EnergyTimeline;
  /** Per meter, one value per interval of the timeline. */
  readonly data: MeterData;
  /** Per car, one value per interval of the timeline (site and department items). */
  readonly vehicles?: VehicleData;
  /** Whether the cars were read for timeline interval `i` (default: all). */
  readonly vehiclesRead?: (i: number) => boolean;
  /** The requested `[from, to)` and where measurement stops (default: the timeline's ends). */
  readonly period?: { readonly from: number; readonly to: number; readonly measuredTo: number };
  /** The compared periods; omitted: `previous` and `lastYear` null (`not-started`). */
  readonly comparisons?: ComparisonInput;
  /** How each meter's readings over the measured period were judged (omitted: none noted). */
  readonly quality?: ReadonlyMap<string, MeterQuality>;
}

/** Figures of one item, unrounded. */
export function energyItem(def: EnergyScopeDef, input: EnergyItemInput): EnergyItem {
  const { facility, timeline } = input;
  const timezone = facility.site.timezone;
  const { intervals } = timeline;
  const period = input.period ?? { from: timeline.from, to: timeline.to, measuredTo: timeline.to };
  const spans = spansOf(timeline.edges);
  const sourceInput: SourceInput = {
    facility,
    spans,
    data: input.data,
    vehicles: input.vehicles,
    ...(input.vehiclesRead ? { vehiclesRead: input.vehiclesRead } : {}),
  };
  const sources = sourcesOf(def.terms, def.vehicles ?? [], sourceInput);
  const meters = sources.filter((s) => !s.vehicle);
  const cars = sources.filter((s) => s.vehicle);
  const inPeriod = indicesWhere(
    intervals,
    `in period to ${period.measuredTo}`,
    (i) => i.inPeriod && i.end <= period.measuredTo,
  );
  const nulls: Record<string, NullReason> = {};
  const { standardCoal, co2 } = facility.factors;

  const electricity = measured(meters, 'electricity', inPeriod);
  const water = measured(meters, 'water', inPeriod);
  const gas = measured(meters, 'gas', inPeriod);

  const vehicles = def.vehicles ? vehicleFigure(cars, def.vehicles.length, inPeriod, input) : undefined;
  const prices = facility.tariffs.electricity ? touPrices(facility) : null;
  const electricityPerInterval = combinedPerInterval(meters, 'electricity', intervals.length);
  const tariff =
    prices && isNumber(electricity) ? touSplit(electricityPerInterval, intervals, prices) : undefined;
  const tariffFinite = tariff && Object.values(tariff).every((t) => Number.isFinite(t.kwh + t.costCny));
  const electricityCost: Fig = !isNumber(electricity)
    ? electricity
    : electricity === 0
      ? 0
      : !prices
        ? 'no-price'
        : tariff && tariffFinite
          ? finite(Object.values(tariff).reduce((sum, t) => sum + t.costCny, 0))
          : 'not-finite';
  const unitCost = (quantity: Fig, price: number | undefined): Fig =>
    !isNumber(quantity)
      ? quantity
      : quantity === 0
        ? 0
        : price === undefined
          ? 'no-price'
          : finite(quantity * price);

  const kgce = sumParts([
    times(electricity, standardCoal.electricity),
    times(gas, standardCoal.gas),
    vehicles ? vehicles.kgce : 'no-vehicle',
  ]);
  const co2Kg = sumParts([
    times(electricity, co2.electricity),
    times(gas, co2.gas),
    vehicles ? vehicles.co2Kg : 'no-vehicle',
  ]);
  const costCny = sumParts(
    [
      electricityCost,
      unitCost(water, facility.tariffs.water?.price),
      unitCost(gas, facility.tariffs.gas?.price),
      vehicles ? vehicles.costCny : 'no-vehicle',
    ],
    ['not-finite', 'no-price'],
  );
  const area = def.areaM2;
  const headcount = def.headcount;

  const item: EnergyItem = {
    id: def.id,
    name: def.name,
    ...(def.building !== undefined ? { building: def.building } : {}),
    ...(def.department !== undefined ? { department: def.department } : {}),
    ...(def.sharedServices ? { sharedServices: true } : {}),
    electricityKwh: out(nulls, 'electricityKwh', electricity),
    waterM3: out(nulls, 'waterM3', water),
    gasM3: out(nulls, 'gasM3', gas),
    kgce: out(nulls, 'kgce', kgce),
    co2Kg: out(nulls, 'co2Kg', co2Kg),
    costCny: out(nulls, 'costCny', costCny),
    ...(tariff && tariffFinite ? { tariff } : {}),
    areaM2: out(nulls, 'areaM2', area !== null && area > 0 ? area : 'no-floor-area'),
    ...(def.ownAreaM2 !== undefined ? { ownAreaM2: def.ownAreaM2 } : {}),
    ...(def.commonAreaM2 !== undefined ? { commonAreaM2: def.commonAreaM2 } : {}),
    headcount: out(nulls, 'headcount', headcount !== null && headcount > 0 ? headcount : 'no-headcount'),
    kwhPerM2: out(nulls, 'kwhPerM2', divide(electricity, area, 'no-floor-area')),
    kgcePerM2: out(nulls, 'kgcePerM2', divide(kgce, area, 'no-floor-area')),
    kgcePerCapita: out(nulls, 'kgcePerCapita', divide(kgce, headcount, 'no-headcount')),
    waterM3PerCapita: out(nulls, 'waterM3PerCapita', divide(water, headcount, 'no-headcount')),
    offHoursShare: out(
      nulls,
      'offHoursShare',
      offHours(electricity, electricityPerInterval, intervals, inPeriod),
    ),
    coverage: meterCoverage(meters, inPeriod, spans),
    coverageByKind: coverageByKind(meters, inPeriod, spans),
    quota: quotaFigures(),
    standard: def.standard ? standardFigure(def.standard, input, inPeriod, spans, period) : null,
    previous: null,
    lastYear: null,
    ...(vehicles ? { vehicles: vehicles.figure } : {}),
    quality: qualityOf(facility, def.meters, input.quality),
    nulls,
  };
  if (!def.standard) nulls.standard = 'no-standard';
  const compared = comparisons();
  if (compared) return { ...item, previous: compared.previous, lastYear: compared.lastYear };
  nulls.previous = 'not-started';
  nulls.lastYear = 'not-started';
  return item;

  function comparisons(): { previous: PreviousFigure; lastYear: PreviousFigure } | null {
    const c = input.comparisons;
    if (!c) return null;
    const kgceFactor = (carrier: Carrier) => kgceFactorOf(facility, carrier);
    const kgceMeters = meters.filter((s) => kgceFactor(s.carrier) !== 0);
    const currentCoverage = meterCoverage(kgceMeters, inPeriod, spans, 100);
    const cSpans = spansOf(c.edges);
    const cMeters = sourcesOf(def.terms, [], { facility, spans: cSpans, data: c.data });
    const figure = (w: ComparedWindow): PreviousFigure => {
      const n: Record<string, NullReason> = {};
      const idx = edgesWithin(c.edges, w.from, w.measuredTo);
      // The cars over the window: one interval, their counters' totals.
      const span = Math.max(0, w.measuredTo - w.from);
      const wCars = sourcesOf(new Map(), def.vehicles ?? [], {
        facility,
        spans: [span],
        data: new Map(),
        vehicles: w.vehicles,
      });
      const e = measured(cMeters, 'electricity', idx);
      const wa = measured(cMeters, 'water', idx);
      const g = measured(cMeters, 'gas', idx);
      const carKgce = (['gasoline', 'diesel', 'electric'] as const).map((carrier) =>
        times(measured(wCars, carrier, [0]), kgceFactor(carrier)),
      );
      const k = sumParts([times(e, standardCoal.electricity), times(g, standardCoal.gas), ...carKgce]);
      const coverage = meterCoverage(
        cMeters.filter((s) => kgceFactor(s.carrier) !== 0),
        idx,
        cSpans,
        (def.vehicles ?? []).length > 0 ? 100 : 0,
      );
      // Cars known on neither side are left out of both; known on one side only: no change.
      const knownNow = new Set(cars.filter((s) => sumOver(s.covered, inPeriod) > 0).map((s) => s.id));
      const knownThen = new Set(wCars.filter((s) => (s.covered[0] as number) > 0).map((s) => s.id));
      const eitherSide = (list: readonly Source[]) =>
        list.filter((s) => !s.vehicle || knownNow.has(s.id) || knownThen.has(s.id));
      const currentKgce = combineSources(eitherSide(sources), kgceFactor, (s) =>
        estimateOf(s, inPeriod, spans),
      );
      const estimate = sumParts(
        [
          combineSources(cMeters, kgceFactor, (s) => estimateOf(s, idx, cSpans)),
          combineSources(eitherSide(wCars), kgceFactor, (s) => estimateOf(s, [0], [span])),
        ],
        ['not-finite', 'meter-without-data', 'day-type-not-covered'],
      );
      let change: Fig;
      if (coverage < 90 || currentCoverage < 90) change = 'coverage-under-90';
      else if (!isNumber(estimate)) change = estimate;
      else if (!isNumber(currentKgce)) change = currentKgce;
      else if (estimate === 0) change = 'zero-base';
      else change = finite(((currentKgce - estimate) / estimate) * 100);
      return {
        from: isoAt(w.from, timezone),
        to: isoAt(w.to, timezone),
        measuredTo: isoAt(w.measuredTo, timezone),
        electricityKwh: out(n, 'electricityKwh', e),
        waterM3: out(n, 'waterM3', wa),
        gasM3: out(n, 'gasM3', g),
        kgce: out(n, 'kgce', k),
        coverage,
        currentCoverage,
        changePercent: out(n, 'changePercent', change),
        nulls: n,
      };
    };
    return { previous: figure(c.previous), lastYear: figure(c.lastYear) };
  }

  function quotaFigures(): QuotaFigure[] {
    const scope = def.quotaScope;
    if (!scope) return [];
    const figures: QuotaFigure[] = [];
    for (const quota of facility.quotas) {
      if (quota.scope !== scope.scope || quota.id !== scope.id || !QUOTA_KINDS_HERE.includes(quota.kind))
        continue;
      const year = localYear(quota.year, timezone);
      const partFrom = Math.max(period.from, year.start);
      const asOf = Math.min(period.measuredTo, year.end);
      if (asOf <= partFrom) continue;
      const amount = prorate(quota.amount, partFrom, asOf, year);
      if (!(amount > 0)) continue;
      const factor = quotaFactor(facility, quota.kind);
      const own = sources.filter((s) => factor(s.carrier) !== 0);
      const n: Record<string, NullReason> = {};
      const part = indicesWhere(
        intervals,
        `${partFrom}/${asOf}`,
        (i) => i.start >= partFrom && i.end <= asOf,
      );
      const ytd = indicesWhere(
        intervals,
        `${year.start}/${asOf}`,
        (i) => i.start >= year.start && i.end <= asOf,
      );
      const measuredOver = (indices: readonly number[]): Fig => {
        if (own.length === 0) return 'not-metered';
        if (!own.some((s) => indices.some((i) => showsData(s, i)))) return 'no-data';
        const byCarrier = new Map<Carrier, Source[]>();
        for (const s of own) byCarrier.set(s.carrier, [...(byCarrier.get(s.carrier) ?? []), s]);
        if ([...byCarrier.values()].some((list) => unallocatable(list, indices))) return 'meter-without-data';
        return finite(
          own.reduce((sum, s) => sum + s.weight * factor(s.carrier) * sumOver(s.consumption, indices), 0),
        );
      };
      const estimate = combineSources(own, factor, (s) => estimateOf(s, part, spans));
      const yearTypes = dayTypeMs(year.start, year.end, input.calendar ?? calendarOf(facility));
      const projected = combineSources(own, factor, (s) => projectOf(s, ytd, spans, intervals, yearTypes));
      let ytdSpan = 0;
      for (const i of ytd) ytdSpan += spans[i] as number;
      const complete = own.every((s) => {
        const { known } = knownOf(s, ytd, spans);
        return known[0] >= ytdSpan - 1;
      });
      figures.push({
        kind: quota.kind,
        unit: UNITS[quota.kind],
        annual: quota.amount,
        year: quota.year,
        amount,
        used: out(n, 'used', measuredOver(part)),
        periodCoverage: sourceCoverage(own, part, spans),
        usedPercent: out(n, 'usedPercent', times(estimate, 100 / amount)),
        asOf: isoAt(asOf, timezone),
        usedToDate: out(n, 'usedToDate', measuredOver(ytd)),
        coverage: sourceCoverage(own, ytd, spans),
        basis: own.length > 0 && complete ? 'measured' : 'partial',
        projectedYearEnd: out(n, 'projectedYearEnd', projected),
        projectedPercent: out(n, 'projectedPercent', times(projected, 100 / quota.amount)),
        nulls: n,
      });
    }
    return figures;
  }
}

/**
 * The indices of the intervals that pass `test`, computed once per intervals and `key` (which
 * must name the test): every item of a request asks for the same windows, and the known spans
 * (knownOf) are kept per indices array.
 */
function indicesWhere(
  intervals: readonly TimelineInterval[],
  key: string,
  test: (i: TimelineInterval) => boolean,
): readonly number[] {
  return indicesOnce(intervals, key, () => {
    const out: number[] = [];
    for (let i = 0; i < intervals.length; i++) if (test(intervals[i] as TimelineInterval)) out.push(i);
    return out;
  });
}

/** The intervals between `edges` that lie in [from, to), once per edges (see indicesWhere). */
function edgesWithin(edges: readonly number[], from: number, to: number): readonly number[] {
  return indicesOnce(edges, `${from}/${to}`, () => {
    const out: number[] = [];
    for (let i = 0; i + 1 < edges.length; i++) {
      if ((edges[i] as number) >= from && (edges[i + 1] as number) <= to) out.push(i);
    }
    return out;
  });
}

const indexSets = new WeakMap<object, Map<string, readonly number[]>>();

function indicesOnce(owner: object, key: string, build: () => readonly number[]): readonly number[] {
  let sets = indexSets.get(owner);
  if (!sets) {
    sets = new Map();
    indexSets.set(owner, sets);
  }
  let indices = sets.get(key);
  if (!indices) {
    indices = build();
    sets.set(key, indices);
  }
  return indices;
}

/** kgce per unit of a carrier (an electric car's kWh as electricity; water none). */
function kgceFactorOf(facility: Pick<Facility, 'factors'>, carrier: Carrier): number {
  const f = facility.factors.standardCoal;
  if (carrier === 'water') return 0;
  return carrier === 'electric' ? f.electricity : f[carrier];
}

function co2FactorOf(facility: Pick<Facility, 'factors'>, carrier: Carrier): number {
  const f = facility.factors.co2;
  if (carrier === 'water') return 0;
  return carrier === 'electric' ? f.electricity : f[carrier];
}

/** What a quota counts of each carrier: 1 of its own kind, or kgce per unit for standard coal. */
function quotaFactor(facility: Pick<Facility, 'factors'>, kind: QuotaKind): (carrier: Carrier) => number {
  if (kind === 'standard-coal') return (carrier) => kgceFactorOf(facility, carrier);
  return (carrier) => (carrier === kind ? 1 : 0);
}

/**
 * A source's year-end projection from the year-to-date `ytd` (module comment, "Projection"):
 * its use in its known span + per day type, its average per known ms × the type's unknown time
 * of the year (`yearTypes`: the whole year's ms of working and other days).
 */
function projectOf(
  source: Source,
  ytd: readonly number[],
  spans: readonly number[],
  intervals: readonly TimelineInterval[],
  yearTypes: { work: number; off: number },
): Fig {
  const { used, known } = knownOf(source, ytd, spans, intervals);
  if (!(known[0] + known[1] > 0)) return 'meter-without-data';
  let total = used[0] + used[1];
  const whole = [yearTypes.work, yearTypes.off] as const;
  for (const t of [0, 1] as const) {
    const rest = whole[t] - known[t];
    if (rest <= 1) continue;
    if (!(known[t] > 0)) return 'day-type-not-covered';
    total += (used[t] / known[t]) * rest;
  }
  return finite(total);
}

/** Per interval, Σ weight × consumption of the sources of a carrier. */
function combinedPerInterval(sources: readonly Source[], carrier: Carrier, n: number): Float64Array {
  const values = new Float64Array(n);
  for (const s of sources) {
    if (s.carrier !== carrier) continue;
    for (let i = 0; i < n; i++) values[i] = (values[i] as number) + s.weight * (s.consumption[i] as number);
  }
  return values;
}

function offHours(
  electricity: Fig,
  perInterval: Float64Array,
  intervals: readonly TimelineInterval[],
  inPeriod: readonly number[],
): Fig {
  if (!isNumber(electricity)) return electricity;
  if (electricity === 0) return 'no-electricity';
  let off = 0;
  for (const i of inPeriod) if (!intervals[i]?.working) off += perInterval[i] as number;
  return finite(off / electricity);
}

function coverageByKind(
  meters: readonly Source[],
  indices: readonly number[],
  spans: readonly number[],
): Partial<Record<MeterKind, number>> {
  const byKind: Partial<Record<MeterKind, number>> = {};
  for (const kind of ENERGY_KINDS) {
    const own = meters.filter((s) => s.carrier === kind);
    if (own.length > 0) byKind[kind] = meterCoverage(own, indices, spans);
  }
  return byKind;
}

/** The vehicles line of an item, and its parts as figures for the item's totals. */
function vehicleFigure(
  cars: readonly Source[],
  count: number,
  inPeriod: readonly number[],
  input: EnergyItemInput,
): { figure: VehicleEnergyFigure; kgce: Fig; co2Kg: Fig; costCny: Fig } {
  const { facility, timeline } = input;
  const nulls: Record<string, NullReason> = {};
  const gasoline = measured(cars, 'gasoline', inPeriod);
  const diesel = measured(cars, 'diesel', inPeriod);
  const electric = measured(cars, 'electric', inPeriod);
  const kgce = sumParts([
    times(gasoline, kgceFactorOf(facility, 'gasoline')),
    times(diesel, kgceFactorOf(facility, 'diesel')),
    times(electric, kgceFactorOf(facility, 'electric')),
  ]);
  const co2Kg = sumParts([
    times(gasoline, co2FactorOf(facility, 'gasoline')),
    times(diesel, co2FactorOf(facility, 'diesel')),
    times(electric, co2FactorOf(facility, 'electric')),
  ]);
  const fuelCost = (quantity: Fig, price: number | undefined): Fig =>
    !isNumber(quantity)
      ? quantity
      : quantity === 0
        ? 0
        : price === undefined
          ? 'no-price'
          : finite(quantity * price);
  let electricCost: Fig = electric;
  if (isNumber(electric) && electric !== 0) {
    if (!facility.tariffs.electricity) electricCost = 'no-price';
    else {
      const prices = touPrices(facility);
      const perInterval = combinedPerInterval(cars, 'electric', timeline.intervals.length);
      let cost = 0;
      for (const i of inPeriod) {
        const interval = timeline.intervals[i] as TimelineInterval;
        cost += (perInterval[i] as number) * prices[interval.tou];
      }
      electricCost = finite(cost);
    }
  }
  const costCny = sumParts(
    [
      fuelCost(gasoline, facility.tariffs.gasoline?.price),
      fuelCost(diesel, facility.tariffs.diesel?.price),
      electricCost,
    ],
    ['not-finite', 'no-price'],
  );
  const reporting = new Set<string>();
  for (const car of cars) {
    const read = input.vehicles?.get(car.id);
    if (read && inPeriod.some((i) => (read.readings[i] ?? 0) > 0)) reporting.add(car.id);
  }
  const figure: VehicleEnergyFigure = {
    count,
    reporting: reporting.size,
    gasolineL: out(nulls, 'gasolineL', gasoline),
    dieselL: out(nulls, 'dieselL', diesel),
    electricKwh: out(nulls, 'electricKwh', electric),
    kgce: out(nulls, 'kgce', kgce),
    co2Kg: out(nulls, 'co2Kg', co2Kg),
    costCny: out(nulls, 'costCny', costCny),
    nulls,
  };
  return { figure, kgce, co2Kg, costCny };
}

function standardFigure(
  spec: StandardSpec,
  input: EnergyItemInput,
  inPeriod: readonly number[],
  spans: readonly number[],
  period: { from: number; to: number; measuredTo: number },
): StandardFigure {
  const { facility, comparisons } = input;
  const calendar = input.calendar ?? calendarOf(facility);
  const timezone = facility.site.timezone;
  const nulls: Record<string, NullReason> = {};
  const electricityOnly = (carrier: Carrier) => (carrier === 'electricity' ? 1 : 0);
  const sources = sourcesOf(spec.terms, [], { facility, spans, data: input.data }).filter(
    (s) => s.carrier === 'electricity',
  );
  const coverage = meterCoverage(sources, inPeriod, spans);
  const kwh = combineSources(sources, electricityOnly, (s) => estimateOf(s, inPeriod, spans));
  const twelve = isTwelveMonths(period.from, period.to, timezone);
  const over = period.measuredTo >= period.to;
  let method: StandardFigure['annualisedMethod'];
  let annualised: Fig;
  if (twelve && over) {
    method = 'measured-year';
    annualised = divide(kwh, spec.areaM2, 'no-floor-area');
  } else {
    const profile = lastYearProfile();
    if (profile !== null) {
      method = 'last-year-profile';
      annualised = times(divide(kwh, spec.areaM2, 'no-floor-area'), profile);
    } else {
      method = 'days';
      const measuredMs = period.measuredTo - period.from;
      annualised =
        measuredMs > 0
          ? times(divide(kwh, spec.areaM2, 'no-floor-area'), (365 * 86_400_000) / measuredMs)
          : 'no-data';
    }
  }
  let hours: Fig;
  let gamma: Fig;
  let corrected: Fig;
  let rating: Fig | StandardFigure['rating'];
  if (twelve && over) {
    const t = calendar.workingMs(period.from, period.to) / 3_600_000;
    hours = finite(t);
    const g = hoursOfUseCorrection(t);
    gamma = g === null ? 'no-hours-of-use' : g;
    corrected = isNumber(gamma) ? times(annualised, gamma) : gamma;
    if (coverage < 90) rating = 'coverage-under-90';
    else if (!isNumber(corrected)) rating = corrected;
    else rating = rateIntensity(corrected, { constraint: spec.constraint, guide: spec.guide });
  } else {
    const reason: NullReason = twelve ? 'year-not-over' : 'not-a-year';
    hours = reason;
    gamma = reason;
    corrected = reason;
    rating = reason;
  }
  const ratingValue =
    rating === 'below-guide' || rating === 'between' || rating === 'over-constraint' ? rating : null;
  if (ratingValue === null) nulls.rating = rating as NullReason;
  return {
    source: GBT_51161_SOURCE,
    constraintKwhPerM2: spec.constraint,
    guideKwhPerM2: spec.guide,
    areaM2: spec.areaM2,
    coverage,
    annualisedKwhPerM2: out(nulls, 'annualisedKwhPerM2', annualised),
    annualisedMethod: method,
    estimate: method !== 'measured-year',
    hoursOfUse: out(nulls, 'hoursOfUse', hours),
    gamma: out(nulls, 'gamma', gamma),
    correctedKwhPerM2: out(nulls, 'correctedKwhPerM2', corrected),
    rating: ratingValue,
    nulls,
  };

  /** this period × twelve months before ÷ last year's same part, or null when it cannot apply. */
  function lastYearProfile(): number | null {
    if (!comparisons?.twelveMonths) return null;
    const c = comparisons;
    const cSpans = spansOf(c.edges);
    const cSources = sourcesOf(spec.terms, [], { facility, spans: cSpans, data: c.data }).filter(
      (s) => s.carrier === 'electricity',
    );
    const window = (from: number, to: number) => edgesWithin(c.edges, from, to);
    const year = window(c.twelveMonths?.from ?? 0, c.twelveMonths?.to ?? 0);
    const last = window(c.lastYear.from, c.lastYear.measuredTo);
    if (year.length === 0 || last.length === 0) return null;
    if (meterCoverage(cSources, year, cSpans) < 90 || meterCoverage(cSources, last, cSpans) < 90) return null;
    const yearKwh = combineSources(cSources, electricityOnly, (s) => estimateOf(s, year, cSpans));
    const lastKwh = combineSources(cSources, electricityOnly, (s) => estimateOf(s, last, cSpans));
    if (!isNumber(yearKwh) || !isNumber(lastKwh) || !(lastKwh > 0) || !(yearKwh >= 0)) return null;
    const ratio = yearKwh / lastKwh;
    return Number.isFinite(ratio) ? ratio : null;
  }
}

// ------------------------------------------------------------------ rounding

const roundOrNull = (value: number | null, digits: number) => (value === null ? null : round(value, digits));

/** An item rounded for display (see "Rounding" in the module comment). */
export function roundEnergyItem(item: EnergyItem): EnergyItem {
  const q = (v: number | null) => roundOrNull(v, 3);
  const pct = (v: number) => round(v, 2);
  const compared = (c: PreviousFigure | null): PreviousFigure | null =>
    c
      ? {
          ...c,
          electricityKwh: q(c.electricityKwh),
          waterM3: q(c.waterM3),
          gasM3: q(c.gasM3),
          kgce: q(c.kgce),
          coverage: pct(c.coverage),
          currentCoverage: pct(c.currentCoverage),
          changePercent: roundOrNull(c.changePercent, 2),
        }
      : null;
  return {
    ...item,
    electricityKwh: q(item.electricityKwh),
    waterM3: q(item.waterM3),
    gasM3: q(item.gasM3),
    kgce: q(item.kgce),
    co2Kg: q(item.co2Kg),
    costCny: roundOrNull(item.costCny, 2),
    ...(item.tariff
      ? {
          tariff: Object.fromEntries(
            Object.entries(item.tariff).map(([period, t]) => [
              period,
              { kwh: round(t.kwh, 3), costCny: round(t.costCny, 2) },
            ]),
          ),
        }
      : {}),
    areaM2: roundOrNull(item.areaM2, 2),
    ...(item.ownAreaM2 !== undefined ? { ownAreaM2: round(item.ownAreaM2, 2) } : {}),
    ...(item.commonAreaM2 !== undefined ? { commonAreaM2: round(item.commonAreaM2, 2) } : {}),
    headcount: roundOrNull(item.headcount, 2),
    kwhPerM2: roundOrNull(item.kwhPerM2, 4),
    kgcePerM2: roundOrNull(item.kgcePerM2, 4),
    kgcePerCapita: roundOrNull(item.kgcePerCapita, 4),
    waterM3PerCapita: roundOrNull(item.waterM3PerCapita, 4),
    offHoursShare: roundOrNull(item.offHoursShare, 4),
    coverage: pct(item.coverage),
    coverageByKind: Object.fromEntries(Object.entries(item.coverageByKind).map(([k, v]) => [k, pct(v)])),
    quota: item.quota.map((f) => ({
      ...f,
      amount: round(f.amount, 3),
      used: q(f.used),
      periodCoverage: pct(f.periodCoverage),
      usedPercent: roundOrNull(f.usedPercent, 2),
      usedToDate: q(f.usedToDate),
      coverage: pct(f.coverage),
      projectedYearEnd: q(f.projectedYearEnd),
      projectedPercent: roundOrNull(f.projectedPercent, 2),
    })),
    standard: item.standard
      ? {
          ...item.standard,
          constraintKwhPerM2: round(item.standard.constraintKwhPerM2, 2),
          guideKwhPerM2: round(item.standard.guideKwhPerM2, 2),
          areaM2: round(item.standard.areaM2, 2),
          coverage: pct(item.standard.coverage),
          annualisedKwhPerM2: roundOrNull(item.standard.annualisedKwhPerM2, 2),
          hoursOfUse: roundOrNull(item.standard.hoursOfUse, 2),
          gamma: roundOrNull(item.standard.gamma, 4),
          correctedKwhPerM2: roundOrNull(item.standard.correctedKwhPerM2, 2),
        }
      : null,
    previous: compared(item.previous),
    lastYear: compared(item.lastYear),
    ...(item.vehicles
      ? {
          vehicles: {
            ...item.vehicles,
            gasolineL: q(item.vehicles.gasolineL),
            dieselL: q(item.vehicles.dieselL),
            electricKwh: q(item.vehicles.electricKwh),
            kgce: q(item.vehicles.kgce),
            co2Kg: q(item.vehicles.co2Kg),
            costCny: roundOrNull(item.vehicles.costCny, 2),
          },
        }
      : {}),
  };
}

// ------------------------------------------------------------------ series

/** One window of a series: consumption (null without data) and coverage, with the null reasons. */
export interface SeriesValue {
  readonly value: number | null;
  readonly coverage: number;
  readonly nulls: Nulls;
}

/**
 * Consumption of one kind of an item per window, with each window's coverage (%): Σ weight ×
 * consumption of its meters of that kind; `null` when it has none (`not-metered`) or none of them
 * shows data in the window (`no-data`), as the summary's consumption.
 */
export function seriesValues(
  def: EnergyScopeDef,
  kind: MeterKind,
  facility: Pick<Facility, 'meters' | 'vehicles'>,
  intervals: readonly Pick<TimelineInterval, 'start' | 'end'>[],
  data: MeterData,
): SeriesValue[] {
  const spans = intervals.map((i) => i.end - i.start);
  const sources = sourcesOf(def.terms, [], { facility, spans, data }).filter((s) => s.carrier === kind);
  return intervals.map((_, i) => {
    const nulls: Record<string, NullReason> = {};
    const value = out(nulls, 'value', measured(sources, kind, [i]));
    return { value, coverage: meterCoverage(sources, [i], spans), nulls };
  });
}
