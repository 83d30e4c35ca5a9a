/**
 * GB/T 51161-2016 《民用建筑能耗标准》 energy-use intensity values, as the platform's reference
 * of standards gives them: office buildings in the hot-summer-cold-winter zone only (Liu & Ren
 * 2018, *Energy, Sustainability and Society* 8, doi 10.1186/s13705-018-0165-0, table 7; read in
 * that secondary source, one copy). Values for other zones and other building uses are not verified, so they are
 * not invented: such a building simply has no standard (`null`).
 */
import type { Building, ClimateZone, VentilationClass } from '../facility/schema.ts';
import type { StandardFigure } from './types.ts';

/** Where the values come from, shown next to the figure. */
export const GBT_51161_SOURCE =
  'GB/T 51161-2016, office buildings, hot-summer-cold-winter zone (Liu & Ren 2018, table 7; secondary)';

/** kWh/m²·a by office class, hot-summer-cold-winter zone. */
const HSCW_OFFICE: Readonly<Record<VentilationClass, { constraint: number; guide: number }>> = {
  A: { constraint: 85, guide: 70 },
  B: { constraint: 110, guide: 80 },
};

/** Constraint and guide values of a building, or `null` when the standard has none we may use. */
export function standardValues(
  building: Pick<Building, 'use' | 'ventilationClass'>,
  climateZone: ClimateZone,
): { constraint: number; guide: number } | null {
  if (building.use !== 'office' || climateZone !== 'hot-summer-cold-winter') return null;
  if (building.ventilationClass === undefined) return null;
  return HSCW_OFFICE[building.ventilationClass];
}

/**
 * Values of several floor areas under the standard (a site's office buildings, a department's
 * spaces), weighted by area: Σ areaᵢ × valueᵢ ÷ Σ areaᵢ.
 */
export function areaWeightedValues(
  parts: readonly { readonly area: number; readonly constraint: number; readonly guide: number }[],
): { constraint: number; guide: number } | null {
  let area = 0;
  let constraint = 0;
  let guide = 0;
  for (const part of parts) {
    area += part.area;
    constraint += part.area * part.constraint;
    guide += part.area * part.guide;
  }
  return area > 0 ? { constraint: constraint / area, guide: guide / area } : null;
}

/** The period's kWh/m² annualised: × 365 ÷ the period's length in days (86 400 000 ms each). */
export function annualise(kwhPerM2: number, periodMs: number): number {
  return (kwhPerM2 * 365 * 86_400_000) / periodMs;
}

/** Annual hours of use the GB/T 51161 office values assume, h. */
export const STANDARD_HOURS_OF_USE = 2500;

/**
 * GB/T 51161's correction of a measured office intensity for the building's actual annual hours
 * of use T (the standard's office values assume 2 500 h; read in one secondary source, as the
 * values above): γ = 0.3 + 0.7 × (2500 ÷ T); the corrected value is the measured one × γ, so a building used longer than 2 500 h a year is rated on a
 * lower figure, one used less on a higher. Null for T ≤ 0.
 */
export function hoursOfUseCorrection(hoursOfUse: number): number | null {
  if (!(hoursOfUse > 0) || !Number.isFinite(hoursOfUse)) return null;
  return 0.3 + 0.7 * (STANDARD_HOURS_OF_USE / hoursOfUse);
}

/**
 * Rating of an annualised intensity: at or below the guide value `below-guide`, above the
 * constraint value `over-constraint`, otherwise `between`.
 */
export function rateIntensity(
  annualised: number,
  values: { constraint: number; guide: number },
): NonNullable<StandardFigure['rating']> {
  if (annualised <= values.guide) return 'below-guide';
  if (annualised > values.constraint) return 'over-constraint';
  return 'between';
}
