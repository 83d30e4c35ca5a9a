/** `from` / `to` of the API: instants with offset, site dates, DST, and the 400s naming the parameter. */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../api/errors.ts';
import { formatInstant, MAX_PERIOD_DAYS, parseInstant, parsePeriod } from '../../api/period.ts';

const SHANGHAI = 'Asia/Shanghai';
const NEW_YORK = 'America/New_York';

function failure(run: () => unknown): ApiError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('expected an ApiError');
}

describe('parseInstant', () => {
  it.each([
    // A date is local midnight: 2026-11-25 00:00 +08:00 = 2026-11-24 16:00 UTC.
    ['2026-11-25', SHANGHAI, Date.UTC(2026, 10, 24, 16)],
    ['2026-11-25T08:00:00+08:00', SHANGHAI, Date.UTC(2026, 10, 25, 0)],
    ['2026-11-25T08:00:00.250+0800', SHANGHAI, Date.UTC(2026, 10, 25, 0, 0, 0, 250)],
    ['2026-11-25T00:00Z', SHANGHAI, Date.UTC(2026, 10, 25)],
    ['2026-11-25T00:00:00z', SHANGHAI, Date.UTC(2026, 10, 25)],
    // New York, spring forward on 2026-03-08 (02:00 EST → 03:00 EDT): that day starts at
    // 00:00 EST = 05:00 UTC; the next starts at 00:00 EDT = 04:00 UTC, 23 hours later.
    ['2026-03-08', NEW_YORK, Date.UTC(2026, 2, 8, 5)],
    ['2026-03-09', NEW_YORK, Date.UTC(2026, 2, 9, 4)],
    // Fall back on 2026-11-01: the day starts 04:00 UTC (EDT), the next 05:00 UTC (EST), 25 h.
    ['2026-11-01', NEW_YORK, Date.UTC(2026, 10, 1, 4)],
    ['2026-11-02', NEW_YORK, Date.UTC(2026, 10, 2, 5)],
  ])('%s in %s', (text, zone, expected) => {
    expect(parseInstant('from', text, zone)).toBe(expected);
  });

  it.each([
    ['2026-13-01', /not a date/],
    ['2026-02-30', /not a date/],
    ['yesterday', /not a time/],
    ['2026-11-25T08:00:00', /give the UTC offset/],
    ['2026-11-25 08:00:00+08:00', /not a time/],
    ['1764000000000', /not a time/],
    ['2026-11-25T25:00:00+08:00', /not a time/],
  ])('refuses %s, naming the parameter', (text, message) => {
    const error = failure(() => parseInstant('to', text, SHANGHAI));
    expect(error.statusCode).toBe(400);
    expect(error.parameter).toBe('to');
    expect(error.message).toMatch(/^to: /);
    expect(error.message).toMatch(message);
  });
});

describe('parsePeriod', () => {
  it('reads a day in the site zone', () => {
    expect(parsePeriod({ from: '2026-11-25', to: '2026-11-26' }, SHANGHAI)).toEqual({
      from: Date.UTC(2026, 10, 24, 16),
      to: Date.UTC(2026, 10, 25, 16),
    });
  });

  it('refuses a reversed or empty period on `to`', () => {
    for (const query of [
      { from: '2026-11-26', to: '2026-11-25' },
      { from: '2026-11-25', to: '2026-11-25' },
      { from: '2026-11-25T00:00:00+08:00', to: '2026-11-24T16:00:00Z' },
    ]) {
      const error = failure(() => parsePeriod(query, SHANGHAI));
      expect(error.parameter).toBe('to');
      expect(error.message).toMatch(/must be after from/);
    }
  });

  it(`accepts ${MAX_PERIOD_DAYS} days and refuses more`, () => {
    expect(() => parsePeriod({ from: '2025-01-01', to: '2027-01-03' }, SHANGHAI)).not.toThrow(); // 732 days
    const error = failure(() => parsePeriod({ from: '2025-01-01', to: '2027-01-04' }, SHANGHAI));
    expect(error.parameter).toBe('to');
    expect(error.message).toMatch(/longer than 732 days/);
  });

  it('takes a shorter maximum', () => {
    const error = failure(() => parsePeriod({ from: '2026-11-01', to: '2026-12-03' }, SHANGHAI, 31));
    expect(error.message).toMatch(/longer than 31 days/);
  });
});

describe('formatInstant', () => {
  it('writes the site offset', () => {
    expect(formatInstant(Date.UTC(2026, 10, 24, 16), SHANGHAI)).toBe('2026-11-25T00:00:00+08:00');
    expect(formatInstant(Date.UTC(2026, 2, 9, 4), NEW_YORK)).toBe('2026-03-09T00:00:00-04:00');
  });
});
