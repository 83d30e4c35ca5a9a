/**
 * The site calendar, against times worked out by hand. Asia/Shanghai is UTC+8 all year, so
 * local 09:00 is 01:00Z; Europe/Berlin is UTC+1 until 2026-03-29 02:00 local, then UTC+2 until
 * 2026-10-25 03:00 local.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCalendar, facilityCalendar } from '../../core/facility/calendar.ts';
import { DEMO_FACILITY_PATH } from '../../core/facility/demo.ts';
import { loadFacility } from '../../core/facility/load.ts';

const HOUR = 3_600_000;
const MIN = 60_000;

const loaded = loadFacility(readFileSync(DEMO_FACILITY_PATH, 'utf8'), 'demo');
if (!loaded.ok) throw new Error('the demo facility does not load');
const demo = facilityCalendar(loaded.facility);

/** Epoch ms of a Shanghai local time (UTC+8, no DST). */
const shanghai = (y: number, mo: number, d: number, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h - 8, mi);

describe('demo calendar (Asia/Shanghai, Mon–Fri 09:00-18:00, 2026 holidays)', () => {
  it.each([
    ['08:59 on a normal workday', shanghai(2026, 11, 3, 8, 59), false],
    ['09:00 (start inclusive)', shanghai(2026, 11, 3, 9, 0), true],
    ['17:59', shanghai(2026, 11, 3, 17, 59), true],
    ['17:59:59.999', shanghai(2026, 11, 3, 18, 0) - 1, true],
    ['18:00 (end exclusive)', shanghai(2026, 11, 3, 18, 0), false],
    ['a Saturday at 10:00', shanghai(2026, 10, 17, 10, 0), false],
    ['National Day 2026-10-01 (Thursday) at 10:00', shanghai(2026, 10, 1, 10, 0), false],
    ['make-up workday 2026-10-10 (Saturday) at 10:00', shanghai(2026, 10, 10, 10, 0), true],
    ['make-up workday at 18:00', shanghai(2026, 10, 10, 18, 0), false],
  ])('%s → working time %s', (_name, epochMs, expected) => {
    expect(demo.isWorkingTime(epochMs)).toBe(expected);
  });

  it('agrees with the hand conversion: 09:00 in Shanghai is 01:00Z', () => {
    expect(demo.isWorkingTime(Date.parse('2026-11-03T01:00:00Z'))).toBe(true);
    expect(demo.isWorkingTime(Date.parse('2026-11-03T00:59:59.999Z'))).toBe(false);
  });

  it.each([
    ['2026-11-03', 'workday'],
    ['2026-10-17', 'weekend'],
    ['2026-10-01', 'holiday'],
    ['2026-10-03', 'holiday'], // a Saturday inside the National Day holiday
    ['2026-10-10', 'extra-workday'],
    ['2026-02-28', 'extra-workday'],
    ['2026-01-01', 'holiday'],
    ['2026-01-04', 'extra-workday'], // a Sunday
  ] as const)('%s is a %s', (date, kind) => {
    expect(demo.dayKind(date)).toBe(kind);
    expect(demo.isWorkday(date)).toBe(kind === 'workday' || kind === 'extra-workday');
  });

  it('refuses a date that does not exist', () => {
    expect(() => demo.dayKind('2026-02-30')).toThrow(RangeError);
  });

  it('gives the local date of an instant', () => {
    expect(demo.localDate(Date.parse('2026-11-02T16:00:00Z'))).toBe('2026-11-03');
    expect(demo.localDate(Date.parse('2026-11-02T15:59:59.999Z'))).toBe('2026-11-02');
  });

  it('counts 36 h in the week of the Mid-Autumn holiday (Mon 21 – Sun 27 Sep 2026)', () => {
    // Mon–Thu 21–24 worked, 4 × 9 h; Fri 25 – Sun 27 holiday; the make-up day (Sun 20) is before.
    expect(demo.workingMs(shanghai(2026, 9, 21), shanghai(2026, 9, 28))).toBe(36 * HOUR);
  });

  it('counts 27 h in the week after National Day (Mon 5 – Sun 11 Oct 2026)', () => {
    // Mon–Wed 5–7 holiday; Thu 8 and Fri 9 worked; Sat 10 make-up workday; Sun 11 off: 3 × 9 h.
    expect(demo.workingMs(shanghai(2026, 10, 5), shanghai(2026, 10, 12))).toBe(27 * HOUR);
    expect(demo.workingIntervals(shanghai(2026, 10, 5), shanghai(2026, 10, 12))).toEqual([
      { start: Date.parse('2026-10-08T01:00:00Z'), end: Date.parse('2026-10-08T10:00:00Z') },
      { start: Date.parse('2026-10-09T01:00:00Z'), end: Date.parse('2026-10-09T10:00:00Z') },
      { start: Date.parse('2026-10-10T01:00:00Z'), end: Date.parse('2026-10-10T10:00:00Z') },
    ]);
  });

  it('clips intervals to the range', () => {
    // Tue 12:00 → Wed 10:30 local: 6 h on Tuesday, 1.5 h on Wednesday.
    const from = shanghai(2026, 11, 3, 12, 0);
    const to = shanghai(2026, 11, 4, 10, 30);
    expect(demo.workingIntervals(from, to)).toEqual([
      { start: from, end: shanghai(2026, 11, 3, 18, 0) },
      { start: shanghai(2026, 11, 4, 9, 0), end: to },
    ]);
    expect(demo.workingMs(from, to)).toBe(7.5 * HOUR);
  });

  it('has no working time in an empty or reversed range', () => {
    const t = shanghai(2026, 11, 3, 12, 0);
    expect(demo.workingIntervals(t, t)).toEqual([]);
    expect(demo.workingMs(t + HOUR, t)).toBe(0);
  });
});

describe('a zone with daylight saving (Europe/Berlin)', () => {
  const berlin = buildCalendar({
    timezone: 'Europe/Berlin',
    workdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
    workingHours: '09:00-18:00',
  });

  it('starts work at 09:00 local on both sides of the change of 2026-03-29', () => {
    // Friday 27 March, CET (UTC+1): 09:00 local = 08:00Z.
    expect(berlin.isWorkingTime(Date.parse('2026-03-27T07:59:00Z'))).toBe(false);
    expect(berlin.isWorkingTime(Date.parse('2026-03-27T08:00:00Z'))).toBe(true);
    expect(berlin.isWorkingTime(Date.parse('2026-03-27T16:59:00Z'))).toBe(true);
    expect(berlin.isWorkingTime(Date.parse('2026-03-27T17:00:00Z'))).toBe(false);
    // Monday 30 March, CEST (UTC+2): 09:00 local = 07:00Z.
    expect(berlin.isWorkingTime(Date.parse('2026-03-30T06:59:00Z'))).toBe(false);
    expect(berlin.isWorkingTime(Date.parse('2026-03-30T07:00:00Z'))).toBe(true);
    expect(berlin.isWorkingTime(Date.parse('2026-03-30T15:59:00Z'))).toBe(true);
    expect(berlin.isWorkingTime(Date.parse('2026-03-30T16:00:00Z'))).toBe(false);
  });

  it('gives 9 h days across the change, not 8 or 10', () => {
    // Fri 27 00:00 CET (26T23:00Z) → Tue 31 00:00 CEST (30T22:00Z).
    expect(
      berlin.workingIntervals(Date.parse('2026-03-26T23:00:00Z'), Date.parse('2026-03-30T22:00:00Z')),
    ).toEqual([
      { start: Date.parse('2026-03-27T08:00:00Z'), end: Date.parse('2026-03-27T17:00:00Z') },
      { start: Date.parse('2026-03-30T07:00:00Z'), end: Date.parse('2026-03-30T16:00:00Z') },
    ]);
    expect(berlin.workingMs(Date.parse('2026-03-26T23:00:00Z'), Date.parse('2026-03-30T22:00:00Z'))).toBe(
      18 * HOUR,
    );
  });

  const allWeek = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

  it('has a 23 h day on 2026-03-29 and a 25 h day on 2026-10-25 for round-the-clock work', () => {
    const always = buildCalendar({
      timezone: 'Europe/Berlin',
      workdays: allWeek,
      workingHours: '00:00-24:00',
    });
    expect(always.workingMs(Date.parse('2026-03-28T23:00:00Z'), Date.parse('2026-03-29T22:00:00Z'))).toBe(
      23 * HOUR,
    );
    expect(always.workingMs(Date.parse('2026-10-24T22:00:00Z'), Date.parse('2026-10-25T23:00:00Z'))).toBe(
      25 * HOUR,
    );
    // Consecutive whole days join into one interval.
    expect(
      always.workingIntervals(Date.parse('2026-03-28T00:00:00Z'), Date.parse('2026-03-31T00:00:00Z')),
    ).toEqual([{ start: Date.parse('2026-03-28T00:00:00Z'), end: Date.parse('2026-03-31T00:00:00Z') }]);
  });

  it('skips the missing hour: 01:00-04:00 local on 2026-03-29 is 2 h', () => {
    const night = buildCalendar({
      timezone: 'Europe/Berlin',
      workdays: allWeek,
      workingHours: '01:00-04:00',
    });
    // 01:00 CET = 00:00Z; 04:00 CEST = 02:00Z.
    expect(
      night.workingIntervals(Date.parse('2026-03-28T23:00:00Z'), Date.parse('2026-03-29T22:00:00Z')),
    ).toEqual([{ start: Date.parse('2026-03-29T00:00:00Z'), end: Date.parse('2026-03-29T02:00:00Z') }]);
    expect(night.isWorkingTime(Date.parse('2026-03-29T01:30:00Z'))).toBe(true); // 03:30 CEST
    expect(night.isWorkingTime(Date.parse('2026-03-29T02:00:00Z'))).toBe(false); // 04:00 CEST
  });

  it('answers isWorkingTime exactly as workingIntervals does, at any instant of 2026', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const end = Date.parse('2027-01-01T00:00:00Z');
    fc.assert(
      fc.property(fc.integer({ min: start, max: end }), (t) => {
        const inInterval = berlin
          .workingIntervals(t - 24 * HOUR, t + 24 * HOUR)
          .some((interval) => interval.start <= t && t < interval.end);
        return berlin.isWorkingTime(t) === inInterval;
      }),
      { numRuns: 300 },
    );
  });
});

describe('building a calendar', () => {
  it('refuses an unknown zone and overnight working hours', () => {
    expect(() =>
      buildCalendar({ timezone: 'Mars/Olympus', workdays: ['mon'], workingHours: '09:00-18:00' }),
    ).toThrow(RangeError);
    expect(() => buildCalendar({ timezone: 'UTC', workdays: ['mon'], workingHours: '22:00-06:00' })).toThrow(
      RangeError,
    );
  });

  it('caches nothing wrong when asked out of order', () => {
    const monday = Date.parse('2026-11-02T01:00:00Z'); // 09:00 Shanghai
    expect(demo.isWorkingTime(monday + 30 * MIN)).toBe(true);
    expect(demo.isWorkingTime(monday - 2 * 24 * HOUR)).toBe(false); // Saturday
    expect(demo.isWorkingTime(monday + 30 * MIN)).toBe(true);
  });
});
