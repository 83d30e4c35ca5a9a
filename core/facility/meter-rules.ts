/**
 * The register rules of a meter (core/register.ts) from its facility entry, with the defaults of
 * its kind for what the entry leaves out. Defaults are deliberately generous: they must never
 * flag a real building's use, only a reading no meter can produce.
 *
 * - `resolution` 0.05 of the meter unit (kWh, m³): a backward step within it is jitter.
 * - `maxRate` per kind: electricity 10,000 kW (a 28,000 m² office building peaks near 1.5 MW),
 *   water 200 m³/h (a DN100 main at 2 m/s carries about 57 m³/h), gas 2,000 m³/h (a 10 MW boiler
 *   burns about 1,000 m³/h of natural gas).
 * - `outlierRun` 3 readings.
 * - `registerMax` 1e9: above it a reading is refused at ingest; the register rolls over there.
 */
import type { RegisterRules } from '../register.ts';
import type { Meter, MeterKind } from './schema.ts';

export const DEFAULT_RESOLUTION = 0.05;
export const DEFAULT_MAX_RATE: Readonly<Record<MeterKind, number>> = {
  electricity: 10_000,
  water: 200,
  gas: 2_000,
};
export const DEFAULT_OUTLIER_RUN = 3;
export const DEFAULT_REGISTER_MAX = 1e9;

/** The unit of a meter's `maxRate`. */
export const MAX_RATE_UNITS: Readonly<Record<MeterKind, string>> = {
  electricity: 'kW',
  water: 'm³/h',
  gas: 'm³/h',
};

/** The rules core/register.ts judges a meter's readings by. */
export function registerRules(
  meter: Pick<Meter, 'kind' | 'interval' | 'resolution' | 'maxRate' | 'outlierRun' | 'registerMax'>,
): RegisterRules {
  return {
    intervalSeconds: meter.interval,
    resolution: meter.resolution ?? DEFAULT_RESOLUTION,
    maxRatePerHour: meter.maxRate ?? DEFAULT_MAX_RATE[meter.kind],
    outlierRun: meter.outlierRun ?? DEFAULT_OUTLIER_RUN,
    rollover: meter.registerMax ?? DEFAULT_REGISTER_MAX,
  };
}

/** Rules for a meter the facility file does not list (readings stored before it was removed). */
export function unknownMeterRules(intervalSeconds: number): RegisterRules {
  return {
    intervalSeconds,
    resolution: DEFAULT_RESOLUTION,
    maxRatePerHour: DEFAULT_MAX_RATE.electricity,
    outlierRun: DEFAULT_OUTLIER_RUN,
    rollover: DEFAULT_REGISTER_MAX,
  };
}
