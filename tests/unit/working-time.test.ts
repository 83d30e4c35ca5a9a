/**
 * WorkingTime (core/facility/calendar.ts) answers working time of parts of a range from one walk
 * of the calendar: it must give the calendar's own answers, across weekends, holidays, make-up
 * workdays and the range's edges.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCalendar, WorkingTime } from '../../core/facility/calendar.ts';

const calendar = buildCalendar({
  timezone: 'Asia/Shanghai',
  workdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
  workingHours: '09:00-17:30',
  holidays: ['2026-10-01..2026-10-07'],
  extraWorkdays: ['2026-09-27', '2026-10-10'],
});
const FROM = Date.UTC(2026, 8, 25, 16); // 2026-09-26 00:00 +08:00
const TO = Date.UTC(2026, 9, 14, 16); // 2026-10-15 00:00 +08:00
const HOUR = 3_600_000;

describe('WorkingTime', () => {
  const working = new WorkingTime(calendar, FROM, TO);

  it('holds the calendar working intervals of the range and their total', () => {
    expect(working.intervals).toEqual(calendar.workingIntervals(FROM, TO));
    expect(working.totalMs).toBe(calendar.workingMs(FROM, TO));
    // 2026-10-09 (Fri) 09:00-17:30 +08:00 is 01:00-09:30 UTC.
    expect(working.workingMs(Date.UTC(2026, 9, 9, 0), Date.UTC(2026, 9, 9, 12))).toBe(8.5 * HOUR);
    // National Day week: nothing.
    expect(working.workingMs(Date.UTC(2026, 8, 30, 16), Date.UTC(2026, 9, 7, 16))).toBe(0);
  });

  it('answers workingMs and isWorkingTime as the calendar does, inside and outside its range', () => {
    const instant = fc.integer({ min: FROM - 2 * 86_400_000, max: TO + 2 * 86_400_000 });
    fc.assert(
      fc.property(instant, instant, (a, b) => {
        expect(working.workingMs(a, b)).toBe(calendar.workingMs(a, b));
        expect(working.isWorkingTime(a)).toBe(calendar.isWorkingTime(a));
      }),
      { numRuns: 2000 },
    );
    for (const t of working.intervals.flatMap(({ start, end }) => [start - 1, start, end - 1, end])) {
      expect(working.isWorkingTime(t)).toBe(calendar.isWorkingTime(t));
    }
  });
});
