/**
 * Room KPIs against figures worked out by hand. The sensors here report every 10 minutes, so a
 * value holds for at most 3 × 10 = 30 min; samples further apart leave unknown time.
 *
 * Site Asia/Shanghai (UTC+8), working hours Mon–Fri 09:00–18:00 = 540 min a day; 2026-11-03 is a
 * Tuesday; 2026-10-01..07 are holidays and 2026-10-10 (a Saturday) a make-up workday.
 */
import { describe, expect, it } from 'vitest';
import { buildCalendar } from '../../core/facility/calendar.ts';
import {
  DEFAULT_ROOM_RULES,
  monthEdges,
  type RoomEnv,
  type RoomRules,
  type RoomSample,
  roomFigures,
} from '../../core/kpi/room.ts';

const MIN = 60_000;
const HOLD = 30 * MIN;
const at = (day: string, time: string) => Date.parse(`${day}T${time}+08:00`);
const ZONE = 'Asia/Shanghai';

const calendar = buildCalendar({
  timezone: ZONE,
  workdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
  workingHours: '09:00-18:00',
  holidays: ['2026-10-01..2026-10-07'],
  extraWorkdays: ['2026-10-10'],
});

type State = Partial<Omit<RoomSample, 'time' | 'holdMs'>>;
function samples(day: string, rows: [string, State][]): RoomSample[] {
  return rows.map(([time, s]) => ({
    time: at(day, time),
    holdMs: HOLD,
    occupancy: s.occupancy ?? null,
    temperature: s.temperature ?? null,
    co2: s.co2 ?? null,
    hvac: s.hvac ?? null,
    lights: s.lights ?? null,
  }));
}

function figures(
  data: RoomSample[],
  from: number,
  to: number,
  capacity = 10,
  rules: RoomRules = DEFAULT_ROOM_RULES,
) {
  const period = { from, to };
  const env: RoomEnv = { calendar, capacity, rules, months: monthEdges(period, ZONE) };
  return roomFigures(data, period, env);
}
const day = (d: string) => [at(d, '00:00:00'), at(d, '00:00:00') + 86_400_000] as const;

describe('occupancy across the edges of working time', () => {
  const data = samples('2026-11-03', [
    ['08:40', { occupancy: 4 }],
    ['09:10', { occupancy: 6 }], // 30 min later: 4 held the whole 30 min
    ['09:20', { occupancy: 0 }], // 0 holds 30 min (to 09:50), then unknown until 17:50
    ['17:50', { occupancy: 2 }],
    ['18:10', { occupancy: 0 }],
    ['18:20', { occupancy: 0 }], // holds 30 min, to 18:50
  ]);
  const f = figures(data, ...day('2026-11-03'));

  it('occupied time is 08:40–09:20 and 17:50–18:10', () => {
    // 40 + 20 = 60 min
    expect(f.occupiedMs).toBe(60 * MIN);
  });

  it('utilisation counts only the part inside 09:00–18:00', () => {
    // 09:00–09:20 (20 min) + 17:50–18:00 (10 min) = 30 min; 30 / 540 = 0.055556
    expect(f.occupiedWorkMs).toBe(30 * MIN);
    expect(f.utilization).toBeCloseTo(30 / 540, 10);
  });

  it('seat use is the time-weighted mean occupancy while occupied, over capacity', () => {
    // 4 × 30 + 6 × 10 + 2 × 20 = 220 person·min over 60 min = 3.6667 people; ÷ 10 seats = 0.36667
    expect(f.seatUse).toBeCloseTo(220 / 60 / 10, 10);
  });

  it('the 8.5 h silence is unknown beyond 3 intervals, not empty', () => {
    // known: 08:40–09:50 (70 min) + 17:50–18:50 (60 min) = 130 min
    expect(f.occupancyKnownMs).toBe(130 * MIN);
  });

  it('a window cut inside a sample holds from the window start', () => {
    // 09:05–09:15: 4 people 09:05–09:10, 6 people 09:10–09:15 → 10 min occupied, all working time
    const g = figures(data, at('2026-11-03', '09:05'), at('2026-11-03', '09:15'));
    expect(g.occupiedMs).toBe(10 * MIN);
    expect(g.utilization).toBe(1);
    expect(g.seatUse).toBeCloseTo((4 * 5 + 6 * 5) / 10 / 10, 10);
  });
});

describe('a meeting, then HVAC and lights left on in the empty room', () => {
  const data = samples('2026-11-03', [
    ['14:00', { occupancy: 8, temperature: 26.5, hvac: 'cool', lights: true, co2: 800 }],
    ['14:20', { occupancy: 8, temperature: 26.4, hvac: 'cool', lights: true, co2: 1100 }],
    ['14:50', { occupancy: 8, temperature: 26.3, hvac: 'cool', lights: true, co2: 950 }],
    ['15:00', { occupancy: 0, temperature: 26.3, hvac: 'cool', lights: true, co2: 900 }],
    ['15:20', { occupancy: 0, temperature: 27.0, hvac: 'off', lights: false, co2: 700 }],
  ]);
  const f = figures(data, ...day('2026-11-03'));

  it('counts 20 min conditioned while empty (15:00–15:20)', () => {
    expect(f.conditionedEmptyMs).toBe(20 * MIN);
  });

  it('counts 30 min of CO2 over 1000 ppm (the 14:20 sample holds to 14:50)', () => {
    expect(f.co2OverMs).toBe(30 * MIN);
  });

  it('cooling at 26.3–26.5 °C is no set-point violation; November has no comfort season', () => {
    expect(f.setpointViolationMs).toBe(0);
    expect(f.occupiedMs).toBe(60 * MIN);
    expect(f.comfort).toBeNull();
  });

  it('lights alone, with the HVAC off, also count as conditioned while empty', () => {
    const lights = samples('2026-11-03', [
      ['19:00', { occupancy: 0, hvac: 'off', lights: true }],
      ['19:10', { occupancy: 0, hvac: 'off', lights: false }],
    ]);
    expect(figures(lights, ...day('2026-11-03')).conditionedEmptyMs).toBe(10 * MIN);
  });

  it('HVAC on with occupancy unknown is not counted (nobody knows the room was empty)', () => {
    const blind = samples('2026-11-03', [['19:00', { hvac: 'cool', lights: true }]]);
    expect(figures(blind, ...day('2026-11-03')).conditionedEmptyMs).toBe(0);
  });
});

describe('set-point rule (cooling below 26 °C, heating above 20 °C)', () => {
  it('counts cool < 26 and heat > 20 only, not fan, not exactly 26', () => {
    const data = samples('2026-11-03', [
      ['10:00', { temperature: 25.5, hvac: 'cool' }], // violation 10 min
      ['10:10', { temperature: 26.0, hvac: 'cool' }], // at 26: fine
      ['10:20', { temperature: 21.0, hvac: 'heat' }], // violation 10 min
      ['10:30', { temperature: 18.0, hvac: 'fan' }], // fan never violates
      ['10:40', { temperature: 25.0, hvac: 'off' }],
    ]);
    expect(figures(data, ...day('2026-11-03')).setpointViolationMs).toBe(20 * MIN);
  });
});

describe('comfort by season', () => {
  it('July (cooling season, 24–28 °C): 30 of 40 occupied minutes in the band = 0.75', () => {
    const data = samples('2026-07-14', [
      ['10:00', { occupancy: 5, temperature: 27.0 }], // in band, 20 min
      ['10:20', { occupancy: 5, temperature: 28.0 }], // 28 is in (inclusive), 10 min
      ['10:30', { occupancy: 5, temperature: 29.0 }], // out, 10 min
      ['10:40', { occupancy: 0, temperature: 23.0 }], // empty: not counted
    ]);
    expect(figures(data, ...day('2026-07-14')).comfort).toBeCloseTo(30 / 40, 10);
  });

  it('January (heating season, 16–22 °C): 21 °C in, 23 °C out → 0.5', () => {
    const data = samples('2026-01-13', [
      ['10:00', { occupancy: 3, temperature: 21.0 }],
      ['10:20', { occupancy: 3, temperature: 23.0 }],
      ['10:40', { occupancy: 0 }],
    ]);
    expect(figures(data, ...day('2026-01-13')).comfort).toBeCloseTo(0.5, 10);
  });

  it('bands are configurable', () => {
    const data = samples('2026-07-14', [
      ['10:00', { occupancy: 5, temperature: 27.0 }],
      ['10:20', { occupancy: 0 }],
    ]);
    const strict: RoomRules = {
      ...DEFAULT_ROOM_RULES,
      comfort: { ...DEFAULT_ROOM_RULES.comfort, cooling: { months: [7], min: 24, max: 26 } },
    };
    expect(figures(data, ...day('2026-07-14'), 10, strict).comfort).toBe(0);
  });

  it('a period across 31 May → 1 June judges each instant by its own month', () => {
    // 23:40–00:00 on 31 May (shoulder: not counted), 00:00–00:20 on 1 June at 27 °C (in band)
    const data = samples('2026-05-31', [
      ['23:40', { occupancy: 2, temperature: 30.0 }],
      ['23:50', { occupancy: 2, temperature: 30.0 }],
    ]).concat(
      samples('2026-06-01', [
        ['00:00', { occupancy: 2, temperature: 27.0 }],
        ['00:20', { occupancy: 0 }],
      ]),
    );
    const f = figures(data, at('2026-05-31', '12:00'), at('2026-06-01', '12:00'));
    expect(f.comfortBaseMs).toBe(20 * MIN);
    expect(f.comfort).toBe(1);
  });
});

describe('holiday and make-up workday', () => {
  // 10:00–11:00 occupied on the National Day holiday (Thu 10-01) and on the make-up Saturday 10-10
  const meeting = (d: string) =>
    samples(d, [
      ['10:00', { occupancy: 6 }],
      ['10:30', { occupancy: 6 }],
      ['11:00', { occupancy: 0 }],
    ]);
  const data = [...meeting('2026-10-01'), ...meeting('2026-10-10')];
  const f = figures(data, at('2026-10-01', '00:00'), at('2026-10-11', '00:00'));

  it('both hours are occupied time; only the make-up day is working time', () => {
    expect(f.occupiedMs).toBe(120 * MIN);
    // working days: Thu 10-08, Fri 10-09, Sat 10-10 = 3 × 540 = 1,620 min; occupied in them: 60 min
    expect(f.workingMs).toBe(1620 * MIN);
    expect(f.utilization).toBeCloseTo(60 / 1620, 10);
  });

  it('a holiday alone has no working time: utilisation 0, occupied hours still counted', () => {
    const g = figures(data, ...day('2026-10-01'));
    expect(g.workingMs).toBe(0);
    expect(g.utilization).toBe(0);
    expect(g.occupiedMs).toBe(60 * MIN);
  });
});
