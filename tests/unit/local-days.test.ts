import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { atLocalMinute, localDayAt, localDays, localMinuteOf } from '../../core/facility/local-days.ts';

// Zones with daylight saving at 02:00 (New York, London), at midnight (Santiago, Havana: the
// local midnight itself is skipped), by 30 minutes (Lord Howe), none (Shanghai), and an offset
// of +05:45 (Kathmandu).
const ZONES = [
  'Asia/Shanghai',
  'America/New_York',
  'Europe/London',
  'America/Santiago',
  'America/Havana',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
];
const FROM = Date.UTC(1995, 0, 1);
const TO = Date.UTC(2040, 0, 1);

describe('local days of a zone', () => {
  it('holds every instant in the day of its wall-clock date, which starts at the first instant of that date', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer({ min: FROM, max: TO }), (zone, t) => {
        const luxon = DateTime.fromMillis(t, { zone });
        const day = localDayAt(zone, t);
        expect(day.start).toBeLessThanOrEqual(t);
        expect(day.end).toBeGreaterThan(t);
        expect(day.date).toBe(luxon.toISODate());
        expect([day.year, day.month, day.day, day.weekday]).toEqual([
          luxon.year,
          luxon.month,
          luxon.day,
          luxon.weekday,
        ]);
        const dateOf = (ms: number) => DateTime.fromMillis(ms, { zone }).toISODate();
        expect(dateOf(day.start)).toBe(day.date);
        expect(dateOf(day.start - 1)).not.toBe(day.date);
        expect(dateOf(day.end - 1)).toBe(day.date);
        expect(dateOf(day.end)).not.toBe(day.date);
        // On a day without a change the start is luxon's start of the day.
        if (day.plain) expect(day.start).toBe(luxon.startOf('day').toMillis());
        expect(localMinuteOf(zone, day, t)).toBeCloseTo(
          luxon.hour * 60 + luxon.minute + (luxon.second + luxon.millisecond / 1000) / 60,
          9,
        );
      }),
      { numRuns: 600 },
    );
  });

  it('starts a day whose midnight a change skips at the change (Havana, 1998-03-29)', () => {
    // At 00:00 CST (05:00 UTC) Havana went to 01:00 CDT: the 28th is 24 hours, the 29th 23.
    const day = localDayAt('America/Havana', Date.UTC(1998, 2, 29, 12));
    expect(day.date).toBe('1998-03-29');
    expect(day.start).toBe(Date.UTC(1998, 2, 29, 5));
    expect(day.end).toBe(Date.UTC(1998, 2, 30, 4));
    expect(day.plain).toBe(false);
    expect(localDayAt('America/Havana', day.start - 1).end).toBe(day.start);
  });

  it('lists the days of a range without gaps, across years', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: FROM, max: TO }),
        fc.integer({ min: 1, max: 800 * 86_400_000 }),
        (zone, from, length) => {
          const days = localDays(zone, from, from + length);
          expect(days[0]?.start).toBeLessThanOrEqual(from);
          expect(days[days.length - 1]?.end).toBeGreaterThanOrEqual(from + length);
          for (let i = 1; i < days.length; i++) expect(days[i]?.start).toBe(days[i - 1]?.end);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('puts a clock time where luxon does, also on the days of a change', () => {
    // 2026-03-08 in New York is 23 hours (02:00 → 03:00); 2026-11-01 is 25.
    for (const date of ['2026-03-08', '2026-11-01', '2026-06-15']) {
      const midnight = DateTime.fromISO(date, { zone: 'America/New_York' });
      const day = localDayAt('America/New_York', midnight.toMillis());
      expect(day.plain).toBe(date === '2026-06-15');
      for (const minutes of [0, 90, 150, 180, 540, 1439]) {
        expect(atLocalMinute('America/New_York', day, minutes)).toBe(
          midnight.set({ hour: Math.floor(minutes / 60), minute: minutes % 60 }).toMillis(),
        );
      }
      expect(atLocalMinute('America/New_York', day, 1440)).toBe(day.end);
    }
    // 02:30 does not exist on 2026-03-08: it moves forward by the gap, to 03:30 EDT.
    const day = localDayAt('America/New_York', Date.UTC(2026, 2, 8, 12));
    expect(atLocalMinute('America/New_York', day, 150)).toBe(Date.UTC(2026, 2, 8, 7, 30));
  });

  it('refuses a zone that does not exist and an instant that is not one', () => {
    expect(() => localDayAt('Mars/Olympus_Mons', 0)).toThrow(/unknown time zone "Mars\/Olympus_Mons"/);
    expect(() => localDayAt('Asia/Shanghai', Number.NaN)).toThrow(/not an instant/);
    expect(localDays('Asia/Shanghai', 10, 10)).toEqual([]);
  });
});
