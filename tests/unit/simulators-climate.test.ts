/**
 * The climate the simulators share, as pure functions with hand-worked cases: the plant's load
 * from degree-hours around the two balance points, the smooth seasonal multipliers, and an
 * outdoor temperature with no step at midnight, a month end or the new year.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEMO_FACILITY_PATH } from '../../core/facility/demo.ts';
import { loadFacility } from '../../core/facility/load.ts';
import { seasonalFactor } from '../../simulators/meter-profiles.ts';
import { SiteClock } from '../../simulators/site-clock.ts';
import {
  COOLING_BALANCE_C,
  HEATING_BALANCE_C,
  normalDayMean,
  plantDemand,
  plantLoad,
  plantMode,
  Weather,
} from '../../simulators/weather.ts';

describe('the plant', () => {
  it('balances at 15.5 °C and 22.5 °C: the set points 19.5 and 26.5 less 4 °C of free gains', () => {
    expect(HEATING_BALANCE_C).toBe(15.5);
    expect(COOLING_BALANCE_C).toBe(22.5);
  });

  it.each([
    // outdoor °C, mode, demand, load = 0.12 + 0.88 × demand
    [-10, 'heat', 1.25, 1.22], // (15.5 + 10) / 16.5 = 1.55, capped at 125 %
    [-1, 'heat', 1, 1], // winter design temperature: full load
    [7.25, 'heat', 0.5, 0.56], // (15.5 − 7.25) / 16.5 = 0.5
    [15, 'heat', 0.5 / 16.5, 0.12 + (0.88 * 0.5) / 16.5],
    [15.5, 'fan', 0, 0.12], // heating balance point
    [19, 'fan', 0, 0.12], // dead band: fans and fresh air only
    [22.5, 'fan', 0, 0.12], // cooling balance point
    [27.15, 'cool', 0.5, 0.56], // (27.15 − 22.5) / 9.3 = 0.5
    [31.8, 'cool', 1, 1], // summer design temperature: full load
    [40, 'cool', 1.25, 1.22],
  ] as const)('at %s °C outdoors it does %s, demand %s, load %s', (outdoor, mode, demand, load) => {
    expect(plantMode(outdoor)).toBe(mode);
    expect(plantDemand(outdoor)).toBeCloseTo(demand, 9);
    expect(plantLoad(outdoor)).toBeCloseTo(load, 9);
  });

  it('changes its load continuously with the outdoor temperature', () => {
    let worst = 0;
    for (let t = -10; t < 45; t += 0.01)
      worst = Math.max(worst, Math.abs(plantLoad(t + 0.01) - plantLoad(t)));
    // The steepest slope is cooling: 0.88 / 9.3 per °C, so under 0.001 per 0.01 °C.
    expect(worst).toBeLessThan(0.001);
  });
});

describe('seasonal multipliers', () => {
  const daylight = { by: 'daylight', winter: 1.06, summer: 0.96 } as const;
  const warmth = { by: 'warmth', cold: 1.35, warm: 0.7 } as const;

  it('follow day length and the normal temperature', () => {
    expect(seasonalFactor(daylight, 354)).toBeCloseTo(1.06, 6); // 21 December
    expect(seasonalFactor(daylight, 354 - 365.25 / 2)).toBeCloseTo(0.96, 6); // about 21 June
    // The middle of month m (0-based) is day (m + 0.5) × 365.25 / 12 − 0.5 of the year, where the
    // normal is that month's mean: January 5.6 °C and July 25.6 °C give the end values.
    const middle = (m: number) => ((m + 0.5) * 365.25) / 12 - 0.5;
    expect(normalDayMean(middle(0))).toBeCloseTo(5.6, 6);
    expect(seasonalFactor(warmth, middle(0))).toBeCloseTo(1.35, 6);
    expect(seasonalFactor(warmth, middle(6))).toBeCloseTo(0.7, 6);
    // Mid-April, 17.0 °C: (17 − 5.6) / 20 of the way from 1.35 to 0.7.
    expect(seasonalFactor(warmth, middle(3))).toBeCloseTo(1.35 - 0.65 * (11.4 / 20), 6);
    // Halfway between mid-November (12.6 °C) and mid-December (7.3 °C), about 30 November.
    expect(normalDayMean((middle(10) + middle(11)) / 2)).toBeCloseTo((12.6 + 7.3) / 2, 6);
  });

  it('do not step from one day to the next, month ends and the new year included', () => {
    for (const seasonal of [daylight, warmth]) {
      for (let day = 0; day < 365; day++) {
        const next = day === 364 ? 0 : day + 1;
        expect(
          Math.abs(seasonalFactor(seasonal, next) - seasonalFactor(seasonal, day)),
          `day ${day}`,
        ).toBeLessThan(0.01);
      }
    }
  });
});

describe('outdoor temperature', () => {
  const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo-facility.yaml');
  if (!loaded.ok) throw new Error('the demo facility does not load');
  const clock = new SiteClock(loaded.facility);
  const weather = new Weather(20_261_125);

  it('has no step at midnight, over three years', () => {
    for (let index = 1; index < 3 * 366; index++) {
      const day = clock.day(index);
      const next = clock.day(index + 1);
      expect(Math.abs(weather.temperature(day, 24) - weather.temperature(next, 0)), day.date).toBeLessThan(
        0.05,
      );
    }
  });

  it('keeps the anomaly of a day within the drawn spread and carries it over a few days', () => {
    const anomalies = Array.from({ length: 2000 }, (_, d) => weather.anomaly(d));
    expect(Math.max(...anomalies.map(Math.abs))).toBeLessThanOrEqual(5);
    const mean = anomalies.reduce((a, b) => a + b, 0) / anomalies.length;
    const variance = anomalies.reduce((a, b) => a + (b - mean) ** 2, 0) / anomalies.length;
    let lag1 = 0;
    for (let d = 1; d < anomalies.length; d++) {
      lag1 += ((anomalies[d] as number) - mean) * ((anomalies[d - 1] as number) - mean);
    }
    // Standard deviation about 1.4 °C, day-to-day correlation about 0.75 (see weather.ts).
    expect(Math.sqrt(variance)).toBeGreaterThan(1.1);
    expect(Math.sqrt(variance)).toBeLessThan(1.7);
    expect(lag1 / (anomalies.length - 1) / variance).toBeGreaterThan(0.65);
    expect(lag1 / (anomalies.length - 1) / variance).toBeLessThan(0.85);
  });
});
