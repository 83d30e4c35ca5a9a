/**
 * The management layer's pure maths (core/management/costs.ts, scorecard.ts, feedback.ts), each
 * figure worked out by hand in the comments, never copied from the code's output.
 */
import { describe, expect, it } from 'vitest';
import {
  accrued,
  budgetLine,
  depreciation,
  fleetCost,
  lifeSpan,
  replacementSignal,
  roomUseCost,
  spaceCost,
  vehicleCost,
} from '../../core/management/costs.ts';
import { measuredAt, normaliseComment, summariseFeedback } from '../../core/management/feedback.ts';
import { indicatorScore, ranks, weightedMean } from '../../core/management/scorecard.ts';

const ZONE = 'Asia/Shanghai';
/** Local midnight of a date in Chengdu (UTC+8), epoch ms. */
const day = (date: string) => Date.parse(`${date}T00:00:00+08:00`);

describe('depreciation (straight line)', () => {
  // 100,000 CNY, 10 % residual, 5 years from 2021-01-01: life ends 2026-01-01; it spans
  // 5 × 365 + 1 (2024 is a leap year) = 1826 days; the depreciable amount is 90,000.
  const asset = { value: 100_000, date: '2021-01-01', lifeYears: 5, residualPercent: 10 };

  it('spans the life from the date to the same date years later', () => {
    expect(lifeSpan(asset, ZONE)).toEqual({ from: day('2021-01-01'), to: day('2026-01-01') });
  });

  it.each([
    // 2023 (365 days): 90,000 × 365 / 1826 = 18,000 − 18,000/1826 = 17,990.1424
    ['a year inside the life', '2023-01-01', '2024-01-01', 17_990.1424],
    // 2020-12-01 .. 2021-01-31: only 30 days inside the life: 90,000 × 30 / 1826 = 1,478.6418
    ['a period straddling the start', '2020-12-01', '2021-01-31', 1_478.6418],
    // the whole life and more: the whole depreciable amount
    ['the whole life', '2019-01-01', '2030-01-01', 90_000],
    // after the end of life: nothing
    ['after the end of life', '2026-02-01', '2026-03-01', 0],
  ])('%s', (_name, from, to, expected) => {
    expect(depreciation(asset, { from: day(from), to: day(to) }, ZONE)).toBeCloseTo(expected, 4);
  });

  it('adds up over consecutive periods', () => {
    const a = depreciation(asset, { from: day('2022-01-01'), to: day('2022-07-01') }, ZONE);
    const b = depreciation(asset, { from: day('2022-07-01'), to: day('2023-01-01') }, ZONE);
    // a year of 365 days: 90,000 × 365 / 1826
    expect(a + b).toBeCloseTo((90_000 * 365) / 1826, 6);
  });
});

describe('yearly amounts accrue by the day', () => {
  it('insurance of 3,650 a year over November 2026 (30 of 365 days) is 300', () => {
    expect(accrued(3650, { from: day('2026-11-01'), to: day('2026-12-01') }, ZONE)).toBeCloseTo(300, 9);
  });
  it('from a purchase on 2026-11-16, 15 days: 150', () => {
    expect(
      accrued(3650, { from: day('2026-11-01'), to: day('2026-12-01') }, ZONE, day('2026-11-16')),
    ).toBeCloseTo(150, 9);
  });
  it('across a year boundary, each year by its own length', () => {
    // 3,660 a year: 2027-12-31 is 1 of 365 days (10.0274), 2028-01-01 1 of 366 days (10)
    expect(accrued(3660, { from: day('2027-12-31'), to: day('2028-01-02') }, ZONE)).toBeCloseTo(
      3660 / 365 + 3660 / 366,
      9,
    );
  });
});

describe('vehicle cost', () => {
  // depreciation 1,000 + insurance 300 + ledger (tyres 2,400 + repair 600) + fuel 700 = 5,000;
  // 400 km → 12.5 per km; 20 trips → 250 per trip; 8 working days in use → 625 per day.
  const car = vehicleCost({
    depreciationCny: 1000,
    insuranceCny: 300,
    ledgerCny: { tyres: 2400, repair: 600 },
    fuelCny: 700,
    distanceKm: 400,
    trips: 20,
    workingDaysInUse: 8,
  });

  it('adds the items and divides by distance, trips and days in use', () => {
    expect(car).toMatchObject({
      maintenanceCny: 3000,
      totalCny: 5000,
      perKm: 12.5,
      perTrip: 250,
      perWorkingDayInUse: 625,
      nulls: {},
    });
  });

  it('leaves an unknown fuel cost out of the total and says why; no distance → no cost per km', () => {
    const unknown = vehicleCost({
      depreciationCny: null,
      insuranceCny: 300,
      ledgerCny: {},
      fuelCny: null,
      fuelNull: 'no-data',
      distanceKm: 0,
      trips: 0,
      workingDaysInUse: 0,
    });
    // 300 (insurance) is all that is known
    expect(unknown.totalCny).toBe(300);
    expect(unknown.nulls).toEqual({
      depreciationCny: 'no-purchase',
      fuelCny: 'no-data',
      perKm: 'no-distance',
      perTrip: 'no-trips',
      perWorkingDayInUse: 'not-used',
    });
  });

  it('the fleet line divides the sums: (5,000 + 1,000) ÷ (400 + 100 km) = 12 per km', () => {
    const other = vehicleCost({
      depreciationCny: 500,
      insuranceCny: 100,
      ledgerCny: {},
      fuelCny: 400,
      distanceKm: 100,
      trips: 4,
      workingDaysInUse: 2,
    });
    const fleet = fleetCost([car, other]);
    expect(fleet.totalCny).toBe(6000);
    expect(fleet.perKm).toBe(12);
    // 6,000 ÷ 24 trips = 250
    expect(fleet.perTrip).toBe(250);
  });
});

describe('replacement signal', () => {
  it('flags a car above 1.5 × the fleet median cost per km, and one past its life', () => {
    // fleet 1.0, 1.2, 1.4, 3.0 → median (1.2 + 1.4) / 2 = 1.3; 1.5 × 1.3 = 1.95 < 3.0
    const signal = replacementSignal({
      lifeEnd: day('2025-01-01'),
      lifeEndsOn: '2025-01-01',
      now: day('2026-11-28'),
      last12MonthsPerKm: 3.0,
      fleetPerKm: [1.0, 1.2, 1.4, 3.0],
      multiple: 1.5,
    });
    expect(signal.replace).toBe(true);
    expect(signal.reasons).toEqual(['life-exceeded', 'cost-per-km']);
    expect(signal.fleetMedianPerKm).toBeCloseTo(1.3, 12);
    expect(signal.message.zh).toContain('已超过预计使用年限');
  });

  it('does not flag a car at 1.9 (under 1.95) within its life', () => {
    const signal = replacementSignal({
      lifeEnd: day('2030-01-01'),
      lifeEndsOn: '2030-01-01',
      now: day('2026-11-28'),
      last12MonthsPerKm: 1.9,
      fleetPerKm: [1.0, 1.2, 1.4, 3.0],
      multiple: 1.5,
    });
    expect(signal.replace).toBe(false);
    expect(signal.reasons).toEqual([]);
  });
});

describe('budget line and projection', () => {
  // 2026 has 365 days; as of 2026-03-02 00:00, 31 + 28 + 1 = 60 days have passed.
  const year = { from: day('2026-01-01'), to: day('2027-01-01') };
  const asOf = day('2026-03-02');

  it('covered-rate: 54,000 over 90 % of 60 days (54 days) projects 54,000 × 365 / 54 = 365,000', () => {
    const line = budgetLine({
      budget: 365_000,
      year,
      asOf,
      actual: 54_000,
      method: 'covered-rate',
      coverage: 90,
    });
    // expected to date: 365,000 × 60 / 365 = 60,000; variance −6,000 = −10 %
    expect(line.expectedToDate).toBeCloseTo(60_000, 6);
    expect(line.variance).toBeCloseTo(-6_000, 6);
    expect(line.variancePercent).toBeCloseTo(-10, 6);
    expect(line.projectedYearEnd).toBeCloseTo(365_000, 6);
    expect(line.projectedPercent).toBeCloseTo(100, 6);
    expect(line.basis).toBe('partial');
    // the projection is not over the budget
    expect(line.status).toBe('on-track');
  });

  it('at-risk when the projection passes the budget: 61,000 in 60 covered days → 371,083.33', () => {
    const line = budgetLine({
      budget: 365_000,
      year,
      asOf,
      actual: 61_000,
      method: 'covered-rate',
      coverage: 100,
    });
    expect(line.projectedYearEnd).toBeCloseTo((61_000 * 365) / 60, 6);
    expect(line.status).toBe('at-risk');
  });

  it('over once actual passes the budget', () => {
    expect(budgetLine({ budget: 365_000, year, asOf, actual: 400_000, method: 'run-rate' }).status).toBe(
      'over',
    );
  });

  it('run-rate: 12,000 in 60 days → 73,000 a year', () => {
    expect(
      budgetLine({ budget: 100_000, year, asOf, actual: 12_000, method: 'run-rate' }).projectedYearEnd,
    ).toBeCloseTo(73_000, 6);
  });

  it('scheduled: the year’s fee 36,500 + upkeep 3,000 in 60 days at its run-rate (18,250) = 54,750', () => {
    // fee to date: 36,500 × 60 / 365 = 6,000; actual = fee 6,000 + upkeep 3,000 = 9,000
    const line = budgetLine({
      budget: 50_000,
      year,
      asOf,
      actual: 9_000,
      method: 'scheduled',
      scheduledYear: 36_500,
      scheduledToDate: 6_000,
    });
    expect(line.projectedYearEnd).toBeCloseTo(54_750, 6);
    expect(line.status).toBe('at-risk');
  });

  it('no data is no projection, not zero', () => {
    const line = budgetLine({ budget: 365_000, year, asOf, actual: 0, method: 'covered-rate', coverage: 0 });
    expect(line.projectedYearEnd).toBeNull();
    expect(line.nulls.projectedYearEnd).toBe('no-data');
  });
});

describe('space cost', () => {
  it('per m² and per workstation a year: 1,000 over 30 days → 12,166.67 a year', () => {
    // energy 500 + fee 300 + depreciation 200 = 1,000; × 365 / 30 = 12,166.67; ÷ 100 m² = 121.67; ÷ 10 = 1,216.67
    const cost = spaceCost({
      areaM2: 100,
      workstations: 10,
      energyCostCny: 500,
      propertyFeeCny: 300,
      depreciationCny: 200,
      ledgerCny: 0,
      period: { from: day('2026-11-01'), to: day('2026-12-01') },
    });
    expect(cost.totalCny).toBe(1000);
    expect(cost.perM2Year).toBeCloseTo(121.6667, 4);
    expect(cost.perWorkstationYear).toBeCloseTo(1216.6667, 4);
  });

  it('a room: cost per occupied hour, cost of empty hours, conditioned-while-empty', () => {
    // 1,000 ÷ 50 occupied h = 20 per h; 1,000 × 120 empty of 200 working h = 600;
    // 10 h × 60 m² × 0.02 CNY per m²·h = 12
    const use = roomUseCost({
      totalCny: 1000,
      hasSensor: true,
      occupiedHours: 50,
      workingHours: 200,
      emptyWorkingHours: 120,
      conditionedEmptyHours: 10,
      hvacCnyPerM2Hour: 0.02,
      areaM2: 60,
    });
    expect(use.costPerOccupiedHour).toBe(20);
    expect(use.emptyHoursCostCny).toBe(600);
    expect(use.conditionedEmptyCostCny).toBeCloseTo(12, 12);
  });
});

describe('scorecard scoring', () => {
  it.each([
    // lower is better, target 100, zero at 130: 115 is half-way → 50
    [115, 100, 130, 'lower', 50],
    [90, 100, 130, 'lower', 100],
    [140, 100, 130, 'lower', 0],
    // higher is better, target 30, zero at 5: 17.5 is half-way → 50
    [17.5, 30, 5, 'higher', 50],
    [3, 30, 5, 'higher', 0],
    // satisfaction 3.0 with target 4.5, zero at 2.5: (3 − 2.5) / 2 = 25
    [3, 4.5, 2.5, 'higher', 25],
  ] as const)(
    'value %d, target %d, zero at %d, %s is better → %d',
    (value, target, zeroAt, direction, score) => {
      expect(indicatorScore(value, target, zeroAt, direction)).toBeCloseTo(score, 9);
    },
  );

  it('a missing score gives its weight to the others: (80 × 1 + 50 × 2) ÷ 3 = 60', () => {
    expect(
      weightedMean([
        { score: 80, weight: 1 },
        { score: null, weight: 1 },
        { score: 50, weight: 2 },
      ]),
    ).toBe(60);
    expect(weightedMean([{ score: null, weight: 1 }])).toBeNull();
  });

  it('ranks: equal totals share a rank, the next skips (1, 2, 2, 4); no total, no rank', () => {
    expect(ranks([80, 90, 80, null, 70])).toEqual([2, 1, 2, null, 4]);
  });
});

describe('feedback', () => {
  const answer = (id: number, score: number, categories: string[]) => ({
    id,
    time: 1000 * id,
    subjectKind: 'room' as const,
    subject: 'r1',
    score,
    categories: categories as never,
    comment: '',
  });

  it('sums up answers with what the sensor measured at the comfort complaints', () => {
    const answers = [
      answer(1, 2, ['too-cold']),
      answer(2, 4, []),
      answer(3, 5, []),
      answer(4, 1, ['too-cold', 'stuffy']),
    ];
    const measured = new Map([
      [1, { temperatureC: 17, co2Ppm: 800, at: 1000 }],
      [4, { temperatureC: 19, co2Ppm: 1200, at: 4000 }],
    ]);
    const summary = summariseFeedback(answers, measured);
    // (2 + 4 + 5 + 1) / 4 = 3
    expect(summary.count).toBe(4);
    expect(summary.meanScore).toBe(3);
    expect(summary.distribution).toEqual({ '1': 1, '2': 1, '3': 0, '4': 1, '5': 1 });
    expect(summary.topCategories).toEqual([
      { category: 'too-cold', count: 2 },
      { category: 'stuffy', count: 1 },
    ]);
    // too cold at 17 and 19 °C: mean 18; CO2 800 and 1200: mean 1000
    expect(summary.comfort['too-cold']).toEqual({
      count: 2,
      measured: 2,
      meanTemperatureC: 18,
      minTemperatureC: 17,
      maxTemperatureC: 19,
      meanCo2Ppm: 1000,
      maxCo2Ppm: 1200,
    });
    expect(summary.comfort.stuffy?.meanCo2Ppm).toBe(1200);
  });

  it('no answers: a count of 0 and no mean', () => {
    expect(summariseFeedback([]).meanScore).toBeNull();
  });

  it('the sensor value is the last one at or before the answer, within the hold', () => {
    // samples at 0, 60 and 120 s; at 150 s with a 180 s hold: temperature 21 (at 120 s), CO2 600 (at 60 s)
    const samples = {
      time: [0, 60_000, 120_000],
      temperature: [20, Number.NaN, 21],
      co2: [500, 600, Number.NaN],
    };
    expect(measuredAt(samples, 150_000, 180_000)).toEqual({ temperatureC: 21, co2Ppm: 600, at: 120_000 });
    // 10 minutes later, nothing within the 3-minute hold
    expect(measuredAt(samples, 720_000, 180_000)).toEqual({ temperatureC: null, co2Ppm: null, at: null });
  });

  it('keeps a comment as text: control characters become spaces, markup stays as written', () => {
    expect(normaliseComment('  <script>alert(1)</script>\u0000ok\r\nnext  ')).toBe(
      '<script>alert(1)</script> ok\nnext',
    );
  });
});
