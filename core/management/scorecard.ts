/**
 * The department scorecard (平衡计分卡), pure: an indicator's value and target give a score 0–100;
 * weighted means give each perspective's score and the department's total; totals give the rank.
 *
 * **Score of an indicator** (linear between its target and its zero point):
 * - lower is better: 100 at or below the target, 0 at or above `zeroAt`, in between
 *   100 × (zeroAt − value) ÷ (zeroAt − target);
 * - higher is better: 100 at or above the target, 0 at or below `zeroAt`, in between
 *   100 × (value − zeroAt) ÷ (target − zeroAt).
 * A null value (or target) scores null, with its reason.
 *
 * **Perspective score** = Σ weight × score ÷ Σ weight over its indicators that have a score (an
 * indicator without one gives its weight to the others); null when none has one.
 * **Total** = the same over the four perspectives with their weights.
 * **Rank**: by total, highest first; equal totals (to 0.01) share a rank (1, 2, 2, 4); a department
 * without a total has no rank.
 */
import type { Name, ScorecardIndicator, ScorecardPerspective } from '../facility/schema.ts';
import type { CostNullReason } from './costs.ts';
import { type IndicatorSpec, indicatorsOf, PERSPECTIVES, type ScorecardConfig } from './model.ts';

export function indicatorScore(
  value: number | null,
  target: number | null,
  zeroAt: number | null,
  direction: 'lower' | 'higher',
): number | null {
  if (value === null || target === null || zeroAt === null || !Number.isFinite(value)) return null;
  if (direction === 'lower') {
    if (value <= target) return 100;
    if (value >= zeroAt) return 0;
    return (100 * (zeroAt - value)) / (zeroAt - target);
  }
  if (value >= target) return 100;
  if (value <= zeroAt) return 0;
  return (100 * (value - zeroAt)) / (target - zeroAt);
}

/** An indicator's measured value and, for budget-based ones, the target from the budget. */
export interface IndicatorValue {
  readonly value: number | null;
  /** Budget-based indicators: the target (budget per person); else the configured target is used. */
  readonly budgetTarget?: number | null;
  /** Why the value (or the budget target) is null. */
  readonly reason?: CostNullReason;
}

export interface IndicatorResult {
  readonly id: ScorecardIndicator;
  readonly name: Name;
  readonly unit: string;
  readonly direction: 'lower' | 'higher';
  readonly value: number | null;
  readonly target: number | null;
  readonly zeroAt: number | null;
  /** The target is the product's example default, not the compound's own. */
  readonly exampleTarget: boolean;
  readonly score: number | null;
  readonly weight: number;
  readonly nulls: Record<string, CostNullReason>;
}

export interface PerspectiveResult {
  readonly score: number | null;
  readonly weight: number;
  readonly indicators: readonly IndicatorResult[];
}

export interface DepartmentScore {
  readonly perspectives: Readonly<Record<ScorecardPerspective, PerspectiveResult>>;
  readonly total: number | null;
}

/** Weighted mean of the scored parts; null when none is scored (or every weight is 0). */
export function weightedMean(parts: readonly { score: number | null; weight: number }[]): number | null {
  let sum = 0;
  let weights = 0;
  for (const part of parts) {
    if (part.score === null) continue;
    sum += part.score * part.weight;
    weights += part.weight;
  }
  return weights > 0 ? sum / weights : null;
}

/** One indicator's result. */
export function indicatorResult(
  id: ScorecardIndicator,
  spec: IndicatorSpec,
  input: IndicatorValue,
  exampleTarget: boolean,
): IndicatorResult {
  const target = spec.budgetBased ? (input.budgetTarget ?? null) : spec.target;
  const zeroAt = spec.budgetBased ? (target === null ? null : target * spec.zeroAt) : spec.zeroAt;
  const score = indicatorScore(input.value, target, zeroAt, spec.direction);
  const nulls: Record<string, CostNullReason> = {};
  if (input.value === null) nulls.value = input.reason ?? 'no-data';
  if (target === null) nulls.target = spec.budgetBased ? 'no-budget' : (input.reason ?? 'no-data');
  if (score === null) nulls.score = nulls.value ?? nulls.target ?? 'no-data';
  return {
    id,
    name: spec.name,
    unit: spec.unit,
    direction: spec.direction,
    value: input.value,
    target,
    zeroAt,
    exampleTarget: spec.budgetBased ? false : exampleTarget,
    score,
    weight: spec.weight,
    nulls,
  };
}

/** A department's scores from its indicator values. `ownTargets` lists indicators whose target the file sets. */
export function departmentScore(
  config: ScorecardConfig,
  values: Readonly<Record<ScorecardIndicator, IndicatorValue>>,
  ownTargets: ReadonlySet<string> = new Set(),
): DepartmentScore {
  const perspectives = {} as Record<ScorecardPerspective, PerspectiveResult>;
  for (const perspective of PERSPECTIVES) {
    const indicators = indicatorsOf(perspective).map((id) =>
      indicatorResult(id, config.indicators[id], values[id], !ownTargets.has(id)),
    );
    perspectives[perspective] = {
      score: weightedMean(indicators),
      weight: config.weights[perspective],
      indicators,
    };
  }
  return {
    perspectives,
    total: weightedMean(PERSPECTIVES.map((p) => perspectives[p])),
  };
}

/** Competition ranks of the totals (1, 2, 2, 4), by total to 0.01; null totals get no rank. */
export function ranks(totals: readonly (number | null)[]): (number | null)[] {
  const key = (t: number) => Math.round(t * 100);
  return totals.map((total) => {
    if (total === null) return null;
    return 1 + totals.filter((other) => other !== null && key(other) > key(total)).length;
  });
}
